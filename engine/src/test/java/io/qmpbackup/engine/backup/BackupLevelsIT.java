package io.qmpbackup.engine.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpbackup.engine.repository.ChainManifest;
import io.qmpbackup.engine.testing.Chains;
import io.qmpbackup.engine.testing.CliProcess;
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

/** Every level against a real QEMU, with the chain rebuilt by plain qemu-img and compared. */
class BackupLevelsIT {
    @TempDir
    Path tmp;

    @Test
    void monthlyChainsRollOverToANewFullEachMonth() throws Exception {
        Path img = QemuTools.createQcow2(tmp.resolve("disk1.qcow2"), "16M");
        DiskSpec disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        Path target = tmp.resolve("backup");
        RecordingLog log = new RecordingLog();
        java.time.ZoneId utc = java.time.ZoneOffset.UTC;
        java.time.Clock jan31 = java.time.Clock.fixed(java.time.Instant.parse("2027-01-31T23:00:00Z"), utc);
        java.time.Clock jan31later = java.time.Clock.fixed(java.time.Instant.parse("2027-01-31T23:30:00Z"), utc);
        java.time.Clock feb1 = java.time.Clock.fixed(java.time.Instant.parse("2027-02-01T00:30:00Z"), utc);
        try (TestVm vm = TestVm.start(tmp, List.of(disk))) {
            BackupOptions.Builder auto = BackupOptions.builder(BackupLevel.AUTO, target).monthly(true);
            assertThat(Chains.backup(vm, auto.clock(jan31).build(), log).level()).isEqualTo(BackupLevel.FULL);
            vm.guestWrite(disk, 0, 65536, 0x12);
            assertThat(Chains.backup(vm, auto.clock(jan31later).build(), log).level()).isEqualTo(BackupLevel.INC);
            vm.guestWrite(disk, 65536, 65536, 0x13);
            BackupResult feb = Chains.backup(vm, auto.clock(feb1).build(), log);
            assertThat(feb.level()).as("a new month starts a new chain").isEqualTo(BackupLevel.FULL);
            assertThat(feb.chainDir()).isEqualTo(target.resolve("2027-02"));
            assertThat(Chains.currentChain(target.resolve("2027-01"), "disk1.qcow2")).hasSize(2);
            assertThat(Chains.currentChain(target.resolve("2027-02"), "disk1.qcow2")).hasSize(1);
            vm.flush(disk);
            assertThat(QemuTools.compare(img, "qcow2", Chains.currentChain(target.resolve("2027-02"),
                    "disk1.qcow2").get(0), "qcow2").exit()).isZero();
        }
    }

    @Test
    void aCopyBetweenTwoBackupsOfAChainLeavesTheChainIntact() throws Exception {
        Path img = QemuTools.createQcow2(tmp.resolve("disk1.qcow2"), "16M");
        DiskSpec disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        Path target = tmp.resolve("backup");
        RecordingLog log = new RecordingLog();
        try (TestVm vm = TestVm.start(tmp, List.of(disk))) {
            vm.guestWrite(disk, 0, 1 << 20, 0x21);
            BackupResult full = Chains.backup(vm, BackupOptions.builder(BackupLevel.FULL, target).build(), log);
            vm.guestWrite(disk, 2 << 20, 1 << 20, 0x22);
            BackupResult copy = Chains.backup(vm, BackupOptions.builder(BackupLevel.COPY, target).build(), log);
            vm.guestWrite(disk, 4 << 20, 1 << 20, 0x23);
            BackupResult inc = Chains.backup(vm, BackupOptions.builder(BackupLevel.INC, target).build(), log);
            assertThat(inc.level()).isEqualTo(BackupLevel.INC);
            vm.flush(disk);
            // the incremental builds on the full (what the bitmap tracked since), not on the copy
            ChainManifest m = ChainManifest.read(target.resolve("disk1.qcow2.chain.json")).orElseThrow();
            assertThat(m.entries.get(2).backingFile).isEqualTo(full.disks().get(0).file().getFileName().toString());
            Path restored = tmp.resolve("restored.qcow2");
            CliProcess c = CliProcess.runTool(tmp, "qmprestore", "merge", "--dir", target.resolve("disk1.qcow2")
                    .toString(), "--targetfile", restored.toString());
            assertThat(c.exitCode()).as(c.toString()).isZero();
            assertThat(QemuTools.compare(img, "qcow2", restored, "qcow2").exit()).isZero();
            assertThat(QemuTools.readsPattern(copy.disks().get(0).file(), "qcow2", 2 << 20, 1 << 20, 0x22)).isTrue();
        }
    }

    @Test
    void fullThenIncrementalsRebuildTheLiveDisk() throws Exception {
        Path img = QemuTools.createQcow2(tmp.resolve("disk1.qcow2"), "64M");
        QemuTools.write(img, "qcow2", 0, 1 << 20, 0x11);
        DiskSpec disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        RecordingLog log = new RecordingLog();
        Path target = tmp.resolve("backup");
        try (TestVm vm = TestVm.start(tmp, List.of(disk))) {
            BackupResult full = Chains.backup(vm, BackupOptions.builder(BackupLevel.FULL, target).build(), log);
            assertThat(full.disks()).singleElement().satisfies(d -> assertThat(d.level()).isEqualTo(BackupLevel.FULL));
            vm.guestWrite(disk, 4 << 20, 65536, 0x22);
            BackupResult inc1 = Chains.backup(vm, BackupOptions.builder(BackupLevel.INC, target).build(), log);
            assertThat(inc1.level()).isEqualTo(BackupLevel.INC);
            vm.guestWrite(disk, 8 << 20, 131072, 0x33);
            vm.guestWrite(disk, 0, 4096, 0x44);
            BackupResult inc2 = Chains.backup(vm, BackupOptions.builder(BackupLevel.AUTO, target).build(), log);
            assertThat(inc2.level()).isEqualTo(BackupLevel.INC);
            assertThat(inc2.disks().get(0).bytesCopied()).isLessThan(1 << 20);

            List<Path> chain = Chains.currentChain(target, "disk1.qcow2");
            assertThat(chain).hasSize(3);
            assertThat(chain.get(0).getFileName().toString()).startsWith("FULL-").endsWith("-disk1.qcow2");
            assertThat(chain.get(1).getFileName().toString()).startsWith("INC-");
            // the INC files name no backing file (as qmpbackup writes them): its restore copies them
            // one by one elsewhere, where a header naming the previous file would point at nothing
            for (Path inc : chain.subList(1, chain.size())) {
                assertThat(QemuTools.run("qemu-img", "info", "-U", inc.toString())).doesNotContain("backing file");
            }
            Path rebuilt = QemuTools.reconstruct(chain, tmp.resolve("rebuild"), tmp.resolve("rebuilt.qcow2"));
            assertThat(QemuTools.compare(img, "qcow2", rebuilt, "qcow2").exit()).isZero();
            assertThat(QemuTools.readsPattern(rebuilt, "qcow2", 4 << 20, 65536, 0x22)).isTrue();
            assertThat(Chains.qmpbackupNodes(vm.control())).isEmpty();
            assertThat(Chains.bitmaps(vm.control(), "node-vda")).containsExactly("qmpbackup-" + full.chainId());
            assertThat(Files.readString(target.resolve("uuid"))).isEqualTo(full.chainId());
            assertThat(target.resolve("disk1.qcow2.config")).exists();
        }
    }
}
