package io.qmpbackup.engine.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpbackup.engine.qmp.Json;
import io.qmpbackup.engine.testing.Chains;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.RecordingLog;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Correctness property 3: when the chain's bitmap is missing or inconsistent, inc refuses with
 * a message that says to run full or auto, and auto falls back to a full with a warning.
 * (The inconsistent case, QEMU killed while the bitmap was in use, is in {@link FailureIT}.)
 */
class LostBitmapIT {
    @TempDir
    Path tmp;

    @Test
    void bitmapLostWithTheQemuProcess() throws Exception {
        Path img = QemuTools.createQcow2(tmp.resolve("disk1.qcow2"), "32M");
        DiskSpec disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        Path target = tmp.resolve("backup");
        RecordingLog log = new RecordingLog();
        try (TestVm vm = TestVm.start(tmp, List.of(disk))) {
            Chains.backup(vm, BackupOptions.builder(BackupLevel.FULL, target).build(), log);
            // a new bitmap reaches the image only when QEMU closes it: a crash loses it
            vm.kill();
        }
        try (TestVm vm = TestVm.start(tmp, List.of(disk))) {
            vm.guestWrite(disk, 0, 65536, 0x21);
            assertThatThrownBy(() -> Chains.backup(vm, BackupOptions.builder(BackupLevel.INC, target).build(), log))
                    .isInstanceOf(BackupException.class)
                    .hasMessageContaining("disk node-vda")
                    .hasMessageContaining("is missing")
                    .hasMessageContaining("run --level full");
            BackupResult auto = Chains.backup(vm, BackupOptions.builder(BackupLevel.AUTO, target).build(), log);
            assertThat(auto.level()).isEqualTo(BackupLevel.FULL);
            assertThat(log.warnings).anyMatch(w -> w.contains("is missing") && w.contains("taking a full backup"));
        }
    }

    @Test
    void bitmapRemovedBySomeoneElse() throws Exception {
        Path img = QemuTools.createQcow2(tmp.resolve("disk1.qcow2"), "32M");
        DiskSpec disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        Path target = tmp.resolve("backup");
        RecordingLog log = new RecordingLog();
        try (TestVm vm = TestVm.start(tmp, List.of(disk))) {
            BackupResult full = Chains.backup(vm, BackupOptions.builder(BackupLevel.FULL, target).build(), log);
            vm.control().execute("block-dirty-bitmap-remove", Json.obj("node", "node-vda", "name",
                    "qmpbackup-" + full.chainId()));
            vm.guestWrite(disk, 1 << 20, 65536, 0x22);
            assertThatThrownBy(() -> Chains.backup(vm, BackupOptions.builder(BackupLevel.INC, target).build(), log))
                    .hasMessageContaining("is missing").hasMessageContaining("--level auto");
            assertThat(Chains.backup(vm, BackupOptions.builder(BackupLevel.AUTO, target).build(), log).level())
                    .isEqualTo(BackupLevel.FULL);
            vm.guestWrite(disk, 2 << 20, 65536, 0x23);
            assertThat(Chains.backup(vm, BackupOptions.builder(BackupLevel.AUTO, target).build(), log).level())
                    .isEqualTo(BackupLevel.INC);
            vm.flush(disk);
            Path rebuilt = QemuTools.reconstruct(Chains.currentChain(target, "disk1.qcow2"), tmp.resolve("rb"),
                    tmp.resolve("rebuilt.qcow2"));
            assertThat(QemuTools.compare(img, "qcow2", rebuilt, "qcow2").exit()).isZero();
        }
    }
}
