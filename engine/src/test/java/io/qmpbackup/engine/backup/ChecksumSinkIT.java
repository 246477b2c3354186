package io.qmpbackup.engine.backup;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpbackup.engine.qmp.QmpClient;
import io.qmpbackup.engine.repository.ChainManifest;
import io.qmpbackup.engine.repository.ChecksumRecord;
import io.qmpbackup.engine.repository.FileSum;
import io.qmpbackup.engine.testing.Chains;
import io.qmpbackup.engine.testing.CliProcess;
import io.qmpbackup.engine.testing.Coreutils;
import io.qmpbackup.engine.testing.GuestWriter;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.RecordingLog;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Backups whose checksum is taken on the way through the NBD sink ({@code --checksum sink}): the
 * chain is exact under guest writes, the record is what the coreutils one-liner prints, a flipped
 * byte anywhere (a data cluster, qcow2 metadata) fails verify, and an old folder whose record holds
 * whole-file SHA-256 values, extended with sink backups, still verifies both ways.
 */
class ChecksumSinkIT {
    private static final long MIB = 1 << 20;
    private static final long DISK = 64 * MIB;
    private static final TargetIo SINK = new TargetIo(TargetIo.Cache.DIRECT, null, TargetIo.Checksum.SINK);

    @TempDir
    Path tmp;

    private final RecordingLog log = new RecordingLog();

    private BackupOptions sink(BackupLevel level, Path target) {
        return BackupOptions.builder(level, target).targetIo(SINK).build();
    }

    @Test
    void chainUnderGuestWritesIsExactAndItsRecordIsTheCoreutilsOneLiner() throws Exception {
        Path img = QemuTools.createQcow2(tmp.resolve("disk1.qcow2"), "64M");
        QemuTools.write(img, "qcow2", 0, 24 * MIB, 0x41);
        DiskSpec disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        Path target = tmp.resolve("backup");
        try (TestVm vm = TestVm.start(tmp, List.of(disk))) {
            try (QmpClient writerQmp = QmpClient.connect(vm.qmpSocket3(), Duration.ofSeconds(10));
                    GuestWriter writer = new GuestWriter(writerQmp, List.of(disk), DISK, 13)) {
                for (BackupLevel level : List.of(BackupLevel.FULL, BackupLevel.INC, BackupLevel.INC)) {
                    long before = writer.writes();
                    Chains.backup(vm, sink(level, target), log);
                    Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> writer.writes() > before);
                }
            }
            Chains.backup(vm, sink(BackupLevel.INC, target), log);
            vm.flush(disk);
            List<Path> chain = Chains.currentChain(target, "disk1.qcow2");
            assertThat(chain).hasSize(4);
            Path rebuilt = QemuTools.reconstruct(chain, tmp.resolve("rebuild"), tmp.resolve("rebuilt.qcow2"));
            QemuTools.Result cmp = QemuTools.compare(img, "qcow2", rebuilt, "qcow2");
            assertThat(cmp.exit()).as(cmp.out()).isZero();

            Path folder = target.resolve("disk1.qcow2");
            assertThat(ChecksumRecord.of(folder, "disk1.qcow2")).as("no whole-file record").doesNotExist();
            Map<String, String> recorded = ChecksumRecord.readSums(ChecksumRecord.chunksOf(folder, "disk1.qcow2"));
            ChainManifest m = ChainManifest.read(target.resolve("disk1.qcow2.chain.json")).orElseThrow();
            for (int i = 0; i < chain.size(); i++) {
                Path f = chain.get(i);
                String oneLiner = Coreutils.chunkSum(f);
                assertThat(recorded.get(f.getFileName().toString())).as(f.toString())
                        .isEqualTo(FileSum.chunked(oneLiner));
                assertThat(m.entries.get(i).chunkSha256).isEqualTo(oneLiner);
                assertThat(m.entries.get(i).sha256).isNull();
                assertThat(QemuTools.exec("qemu-img", "check", "-q", f.toString()).exit()).isZero();
            }
            assertThat(log.debugs).anyMatch(d -> d.contains("chunks hashed on the way"));
            log.debugs.stream().filter(d -> d.contains("chunks hashed")).forEach(System.out::println);
            assertNoSinkLeft();
            flippedBytesFailVerify(folder, chain);
        }
    }

    /** A byte flipped in a data cluster (hashed on the way) or in qcow2 metadata (read back) fails verify. */
    private void flippedBytesFailVerify(Path folder, List<Path> chain) throws Exception {
        assertThat(verify(folder).exitCode()).isZero();
        for (Path f : chain) {
            // near the end: a data cluster; 0x10000 + 4000: the refcount table's unused tail, which
            // qemu-img check does not look at; 0x30000 + 8: the L1 table
            for (long offset : List.of(Files.size(f) - 4096 - 17, 0x10000L + 4000, 0x30000L + 8)) {
                flip(f, offset);
                CliProcess damaged = verify(folder);
                assertThat(damaged.exitCode()).as(f + " @" + offset + ": " + damaged).isEqualTo(1);
                assertThat(damaged.stderr()).contains(f.getFileName().toString());
                assertThat(Coreutils.chunkSum(f)).isNotEqualTo(FileSum.hex(ChecksumRecord.read(folder,
                        "disk1.qcow2").get(f.getFileName().toString())));
                flip(f, offset);
            }
        }
        assertThat(verify(folder).exitCode()).isZero();
    }

    @Test
    void anOldFolderExtendedThroughTheSinkKeepsBothRecordsChecking() throws Exception {
        Path img = QemuTools.createQcow2(tmp.resolve("disk1.qcow2"), "64M");
        QemuTools.write(img, "qcow2", 0, 8 * MIB, 0x51);
        DiskSpec disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        Path target = tmp.resolve("backup");
        try (TestVm vm = TestVm.start(tmp, List.of(disk))) {
            BackupOptions readBack = BackupOptions.builder(BackupLevel.FULL, target)
                    .targetIo(new TargetIo(TargetIo.Cache.DIRECT, null, TargetIo.Checksum.READ_BACK)).build();
            Chains.backup(vm, readBack, log);
            vm.guestWrite(disk, 30 * MIB, 3 * MIB, 0x52);
            Chains.backup(vm, sink(BackupLevel.INC, target), log);
        }
        Path folder = target.resolve("disk1.qcow2");
        Path old = ChecksumRecord.of(folder, "disk1.qcow2");
        assertThat(Files.readAllLines(old)).hasSize(1).first().asString().contains("FULL-");
        assertThat(Files.readAllLines(ChecksumRecord.chunksOf(folder, "disk1.qcow2"))).hasSize(1).first().asString()
                .contains("INC-");
        assertThat(QemuTools.exec("sh", "-c", "cd '" + folder + "' && sha256sum -c --quiet " + old.getFileName())
                .exit()).as("the old record stays sha256sum's").isZero();
        CliProcess ok = verify(folder);
        assertThat(ok.exitCode()).as(ok.toString()).isZero();
        assertThat(ok.stdout()).contains("2 file(s) sound, 2 matched");
        Path full = Chains.currentChain(target, "disk1.qcow2").get(0);
        flip(full, Files.size(full) - 4096 - 17);
        assertThat(verify(folder).exitCode()).isEqualTo(1);
    }

    private CliProcess verify(Path folder) throws Exception {
        return CliProcess.runTool(tmp, "qmprestore", "verify", "--dir", folder.toString());
    }

    private void assertNoSinkLeft() throws Exception {
        try (Stream<Path> s = Files.walk(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".sink"))
                    .noneMatch(n -> n.endsWith(".partial"));
        }
    }

    static void flip(Path f, long offset) throws Exception {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, offset);
            b.put(0, (byte) (b.get(0) ^ 0x01));
            ch.write(b.rewind(), offset);
        }
    }
}
