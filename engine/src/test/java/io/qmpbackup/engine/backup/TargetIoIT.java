package io.qmpbackup.engine.backup;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpbackup.engine.repository.AtomicFiles;
import io.qmpbackup.engine.repository.ChainManifest;
import io.qmpbackup.engine.testing.Chains;
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
 * Every way of writing the target (--target-cache, --blockdev-aio) gives the same exact chain
 * with a checksum that matches the file: a page-cache target is read back from the cache, an
 * O_DIRECT one with O_DIRECT, and both are durable before they are renamed.
 */
class TargetIoIT {
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"DIRECT, threads", "DIRECT, native", "DIRECT, io_uring", "BUFFERED, threads", "BUFFERED, io_uring"})
    void eachTargetModeWritesAnExactChain(TargetIo.Cache cache, String aio) throws Exception {
        Path img = QemuTools.createQcow2(tmp.resolve("disk1.qcow2"), "32M");
        QemuTools.write(img, "qcow2", 0, 8 * MIB, 0x41);
        DiskSpec disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        Path target = tmp.resolve("backup");
        TargetIo io = new TargetIo(cache, aio);
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
                assertThat(m.entries.get(i).sha256).as(chain.get(i).toString())
                        .isEqualTo(AtomicFiles.sha256(chain.get(i)));
            }
        }
    }
}
