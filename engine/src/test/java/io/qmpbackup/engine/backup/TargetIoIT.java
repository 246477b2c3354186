package io.qmpbackup.engine.backup;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpbackup.engine.repository.AtomicFiles;
import io.qmpbackup.engine.repository.ChainManifest;
import io.qmpbackup.engine.repository.FileSum;
import io.qmpbackup.engine.testing.Chains;
import io.qmpbackup.engine.testing.Coreutils;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.RecordingLog;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every way of writing the target (--target-cache, --blockdev-aio, --checksum) gives the same exact
 * chain with a checksum that matches the file: read back, a page-cache target is read from the
 * cache, an O_DIRECT one with O_DIRECT; through the sink, it is the chunked value the coreutils
 * one-liner prints; every file is durable before it is renamed.
 */
class TargetIoIT {
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0} {1} {2}")
    @CsvSource({"DIRECT, threads, READ_BACK", "DIRECT, native, READ_BACK", "DIRECT, io_uring, READ_BACK",
        "BUFFERED, threads, READ_BACK", "BUFFERED, io_uring, READ_BACK", "DIRECT, , SINK", "BUFFERED, , SINK"})
    void eachTargetModeWritesAnExactChain(TargetIo.Cache cache, String aio, TargetIo.Checksum checksum)
            throws Exception {
        Path img = QemuTools.createQcow2(tmp.resolve("disk1.qcow2"), "32M");
        QemuTools.write(img, "qcow2", 0, 8 * MIB, 0x41);
        DiskSpec disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        Path target = tmp.resolve("backup");
        TargetIo io = new TargetIo(cache, aio, checksum);
        try (TestVm vm = TestVm.start(tmp, List.of(disk))) {
            Chains.backup(vm, BackupOptions.builder(BackupLevel.FULL, target).targetIo(io).build(), new RecordingLog());
            vm.guestWrite(disk, 20L * MIB, 2L * MIB, 0x42);
            Chains.backup(vm, BackupOptions.builder(BackupLevel.INC, target).targetIo(io).build(), new RecordingLog());
            vm.flush(disk);
            List<Path> chain = Chains.currentChain(target, "disk1.qcow2");
            Path rebuilt = QemuTools.reconstruct(chain, tmp.resolve("rebuild"), tmp.resolve("rebuilt.qcow2"));
            QemuTools.Result cmp = QemuTools.compare(img, "qcow2", rebuilt, "qcow2");
            assertThat(cmp.exit()).as(cmp.out()).isZero();
            ChainManifest m = ChainManifest.read(target.resolve("disk1.qcow2.chain.json")).orElseThrow();
            for (int i = 0; i < chain.size(); i++) {
                String expected = checksum == TargetIo.Checksum.SINK ? FileSum.chunked(Coreutils.chunkSum(chain.get(i)))
                        : AtomicFiles.sha256(chain.get(i));
                assertThat(m.entries.get(i).recorded()).as(chain.get(i).toString()).isEqualTo(expected);
            }
        }
    }
}
