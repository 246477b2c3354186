package io.qmpbackup.engine.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpbackup.engine.repository.AtomicFiles;
import io.qmpbackup.engine.testing.Chains;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.RecordingLog;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A backup never lands on the VM's own images, and two disks never share one chain: a target
 * that is the images' folder, and two disks with the same image name, are refused before any
 * file is written or anything is added to the VM. Real QEMU.
 */
class TargetOverlapIT {
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    private final RecordingLog log = new RecordingLog();

    @Test
    void aTargetThatIsTheFolderOfTheVmsImageIsRefusedAndTheImageIsUntouched() throws Exception {
        Path vmDir = Files.createDirectories(tmp.resolve("vm"));
        Path img = QemuTools.createQcow2(vmDir.resolve("disk.qcow2"), "32M");
        QemuTools.write(img, "qcow2", 0, 4 * MIB, 0x5a);
        DiskSpec disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        try (TestVm vm = TestVm.start(tmp, List.of(disk))) {
            vm.guestWrite(disk, 8L * MIB, MIB, 0x6b);
            vm.flush(disk);
            Object inode = Files.readAttributes(img, "unix:ino").get("ino");
            String before = AtomicFiles.sha256(img);
            // the default layout: the disk's folder would be the image itself
            assertThatThrownBy(() -> Chains.backup(vm, BackupOptions.builder(BackupLevel.FULL, vmDir).build(), log))
                    .isInstanceOf(BackupException.class)
                    .hasMessageContaining("which is a file (the VM's disk image)")
                    .hasMessageContaining("give a --target that is not the folder of the VM's images");
            // --no-subdir --no-timestamp: a full named as the image, in the image's folder
            assertThatThrownBy(() -> Chains.backup(vm, BackupOptions.builder(BackupLevel.FULL, vmDir).noSubdir(true)
                    .noTimestamp(true).build(), log))
                    .isInstanceOf(BackupException.class)
                    .hasMessageContaining("would be written over " + img)
                    .hasMessageContaining("its own image");
            // the same through a symlink to the folder
            Path link = Files.createSymbolicLink(tmp.resolve("link"), vmDir);
            assertThatThrownBy(() -> Chains.backup(vm, BackupOptions.builder(BackupLevel.FULL, link).noSubdir(true)
                    .noTimestamp(true).build(), log))
                    .hasMessageContaining("would be written over");
            // a file of the image's name that no backup of this chain wrote (a copy, or the image itself named
            // by a relative path) is not replaced either
            Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere"));
            Files.writeString(elsewhere.resolve("disk.qcow2"), "mine");
            assertThatThrownBy(() -> Chains.backup(vm, BackupOptions.builder(BackupLevel.FULL, elsewhere)
                    .noSubdir(true).noTimestamp(true).build(), log))
                    .hasMessageContaining("exists and is no backup of this chain");
            assertThat(elsewhere.resolve("disk.qcow2")).hasContent("mine");
            assertThat(Files.readAttributes(img, "unix:ino").get("ino")).as("the image file is the same").isEqualTo(inode);
            assertThat(AtomicFiles.sha256(img)).isEqualTo(before);
            assertThat(Chains.qmpbackupNodes(vm.control())).isEmpty();
            assertThat(Chains.jobs(vm.control())).isEmpty();
            assertThat(Chains.bitmaps(vm.control(), "node-vda")).as("no bitmap was added").isEmpty();
            try (var s = Files.list(vmDir)) {
                assertThat(s.map(p -> p.getFileName().toString()))
                        .noneMatch(n -> n.endsWith(".partial") || n.startsWith("FULL-") || n.contains(".fleece."));
            }
        }
    }

    @Test
    void aSecondVmIsRefusedATargetThatHoldsAnotherVmsChain() throws Exception {
        Path target = tmp.resolve("backup");
        Path a = QemuTools.createQcow2(Files.createDirectories(tmp.resolve("web1")).resolve("disk.qcow2"), "16M");
        Path b = QemuTools.createQcow2(Files.createDirectories(tmp.resolve("web2")).resolve("disk.qcow2"), "16M");
        DiskSpec da = new DiskSpec("vda", a, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        DiskSpec db = new DiskSpec("vda", b, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        try (TestVm web1 = TestVm.start(tmp.resolve("web1"), List.of(da));
                TestVm web2 = TestVm.start(tmp.resolve("web2"), List.of(db))) {
            Chains.backup(web1, BackupOptions.builder(BackupLevel.FULL, target).build(), log);
            var before = Chains.sha256s(target);
            var folderBefore = Chains.sha256s(target.resolve("disk.qcow2"));
            assertThatThrownBy(() -> Chains.backup(web2, BackupOptions.builder(BackupLevel.AUTO, target).build(), log))
                    .isInstanceOf(BackupException.class)
                    .hasMessageContaining("was taken of another VM, VM testvm-web1")
                    .hasMessageContaining("give this VM a --target of its own");
            assertThat(Chains.sha256s(target)).isEqualTo(before);
            assertThat(Chains.bitmaps(web2.control(), "node-vda")).as("no bitmap in the refused VM").isEmpty();
            // nor may a run start a chain inside the disk folder of that chain
            Path diskFolder = target.resolve("disk.qcow2");
            assertThatThrownBy(() -> Chains.backup(web1, BackupOptions.builder(BackupLevel.FULL, diskFolder)
                    .noSubdir(true).build(), log))
                    .isInstanceOf(BackupException.class)
                    .hasMessageContaining("is the disk folder of the chain in " + target)
                    .hasMessageContaining("give --target " + target);
            assertThat(Chains.sha256s(diskFolder)).isEqualTo(folderBefore);
            web1.guestWrite(da, 0, MIB, 0x2d);
            assertThat(Chains.backup(web1, BackupOptions.builder(BackupLevel.AUTO, target).build(), log).level())
                    .as("the chain's own VM goes on").isEqualTo(BackupLevel.INC);
        }
    }

    @Test
    void twoDisksWithTheSameImageNameAreRefusedAndEachAloneIsBackedUp() throws Exception {
        Path a = QemuTools.createQcow2(Files.createDirectories(tmp.resolve("os")).resolve("disk.qcow2"), "16M");
        Path b = QemuTools.createQcow2(Files.createDirectories(tmp.resolve("data")).resolve("disk.qcow2"), "16M");
        QemuTools.write(b, "qcow2", 0, MIB, 0x3c);
        DiskSpec da = new DiskSpec("vda", a, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        DiskSpec db = new DiskSpec("vdb", b, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        Path target = tmp.resolve("backup");
        try (TestVm vm = TestVm.start(tmp, List.of(da, db))) {
            assertThatThrownBy(() -> Chains.backup(vm, BackupOptions.builder(BackupLevel.FULL, target).build(), log))
                    .isInstanceOf(BackupException.class)
                    .hasMessageContaining("have the same image name disk.qcow2")
                    .hasMessageContaining("separate targets");
            assertThat(Chains.qmpbackupNodes(vm.control())).isEmpty();
            assertThat(target.resolve("disk.qcow2")).doesNotExist();
            BackupResult r = Chains.backup(vm, BackupOptions.builder(BackupLevel.FULL, tmp.resolve("b-only"))
                    .include(List.of("node-vdb")).build(), log);
            assertThat(r.disks()).hasSize(1);
            Path file = r.disks().get(0).file();
            assertThat(QemuTools.compare(b, "qcow2", file, "qcow2").exit()).isZero();
        }
    }
}
