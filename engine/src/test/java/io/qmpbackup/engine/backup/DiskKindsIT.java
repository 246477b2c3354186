package io.qmpbackup.engine.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpbackup.engine.qmp.QmpClient;
import io.qmpbackup.engine.testing.Chains;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.RecordingLog;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A VM with every kind of disk the engine supports: -blockdev and -drive (with and without
 * node names), virtio-blk, IDE and SCSI, qcow2, raw, qcow2 with a raw data_file, an overlay
 * over a backing file, and a UEFI vars pflash; in prelaunch, running and paused state.
 */
class DiskKindsIT {
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "VM {0}")
    @ValueSource(strings = {"prelaunch", "running", "paused"})
    void everyDiskKindBacksUpAndRebuilds(String state) throws Exception {
        Path base = QemuTools.createQcow2(tmp.resolve("base.qcow2"), "32M");
        QemuTools.write(base, "qcow2", 0, 2 * MIB, 0x0b);
        QemuTools.run("qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base.toString(),
                tmp.resolve("overlay.qcow2").toString());
        QemuTools.run("qemu-img", "create", "-q", "-f", "qcow2", "-o",
                "data_file=" + tmp.resolve("data.raw") + ",data_file_raw=on", tmp.resolve("meta.qcow2").toString(), "32M");
        Path vars = tmp.resolve("vars.fd");
        QemuTools.createRaw(vars, "1M");
        QemuTools.write(vars, "raw", 0, 4096, 0x7e);
        List<DiskSpec> disks = List.of(
                new DiskSpec("vda", QemuTools.createQcow2(tmp.resolve("blockdev.qcow2"), "32M"), "qcow2",
                        Attach.BLOCKDEV_VIRTIO, "os-disk"),
                new DiskSpec("vdb", QemuTools.createQcow2(tmp.resolve("drive.qcow2"), "32M"), "qcow2",
                        Attach.DRIVE_VIRTIO, null),
                new DiskSpec("ide0", tmp.resolve("overlay.qcow2"), "qcow2", Attach.DRIVE_IDE, null),
                new DiskSpec("sd0", tmp.resolve("meta.qcow2"), "qcow2", Attach.DRIVE_SCSI, "meta-node"),
                new DiskSpec("vdc", QemuTools.createRaw(tmp.resolve("lvm.raw"), "16M"), "raw", Attach.DRIVE_VIRTIO, null),
                new DiskSpec("flash", vars, "raw", Attach.PFLASH, null));
        List<DiskSpec> writable = disks.subList(0, 5);
        Path target = tmp.resolve("backup");
        RecordingLog log = new RecordingLog();
        try (TestVm vm = state.equals("prelaunch") ? TestVm.start(tmp, disks) : TestVm.startRunning(tmp, disks)) {
            if (state.equals("paused")) {
                vm.control().execute("stop");
            }
            int pattern = 0x40;
            for (DiskSpec d : writable) {
                vm.guestWrite(d, 3 * MIB, MIB, pattern++);
            }
            BackupResult full = Chains.backup(vm, BackupOptions.builder(BackupLevel.FULL, target).build(), log);
            Map<String, BackupLevel> levels = levels(full);
            assertThat(levels).containsOnlyKeys("os-disk", "drive-vdb", "drive-ide0", "drive-sd0", "pflash0");
            assertThat(levels.values()).containsOnly(BackupLevel.FULL);
            assertThat(log.warnings).anyMatch(w -> w.contains("leaving out raw") && w.contains("drive-vdc"));

            for (DiskSpec d : writable) {
                vm.guestWrite(d, 9 * MIB, 64 * 1024, pattern++);
            }
            BackupResult inc = Chains.backup(vm, BackupOptions.builder(BackupLevel.INC, target).build(), log);
            assertThat(levels(inc)).containsEntry("os-disk", BackupLevel.INC).containsEntry("drive-vdb", BackupLevel.INC)
                    .containsEntry("drive-ide0", BackupLevel.INC).containsEntry("drive-sd0", BackupLevel.INC)
                    .containsEntry("pflash0", BackupLevel.FULL);

            for (DiskSpec d : writable.subList(0, 4)) {
                vm.flush(d);
                String name = d.image().getFileName().toString();
                List<Path> chain = Chains.currentChain(target, name);
                assertThat(chain).hasSize(2);
                Path rebuilt = QemuTools.reconstruct(chain, tmp.resolve("rb-" + name), tmp.resolve("r-" + name));
                QemuTools.Result cmp = QemuTools.compare(d.image(), "qcow2", rebuilt, "qcow2");
                assertThat(cmp.exit()).as(name + ": " + cmp.out()).isZero();
            }
            // the overlay's backup is standalone: it holds the backing file's data too
            Path ovFull = Chains.currentChain(target, "overlay.qcow2").get(0);
            assertThat(QemuTools.readsPattern(ovFull, "qcow2", 0, 2 * MIB, 0x0b)).isTrue();
            assertThat(QemuTools.exec("qemu-img", "info", "-U", ovFull.toString()).out()).doesNotContain("backing file");
            Path flashCopy = Chains.currentChain(target, "vars.fd").get(0);
            assertThat(QemuTools.compare(vars, "raw", flashCopy, "raw").exit()).isZero();

            // raw disks: no tracking of them yet (never backed up by this QEMU process): inc says so, full works
            assertThatThrownBy(() -> Chains.backup(vm, BackupOptions.builder(BackupLevel.INC, target).includeRaw(true)
                    .build(), log)).hasMessageContaining("drive-vdc").hasMessageContaining("raw disk's tracking")
                    .hasMessageContaining("--level full");
            BackupResult raw = Chains.backup(vm, BackupOptions.builder(BackupLevel.AUTO, target).includeRaw(true)
                    .include(List.of("drive-vdc")).build(), log);
            assertThat(levels(raw)).containsEntry("drive-vdc", BackupLevel.FULL);
            vm.flush(writable.get(4));
            assertThat(QemuTools.compare(writable.get(4).image(), "raw", raw.disks().stream()
                    .filter(r -> r.disk().equals("drive-vdc")).findFirst().orElseThrow().file(), "raw").exit()).isZero();

            // copy: a standalone image, change tracking untouched
            List<String> bitmapsBefore = Chains.bitmaps(vm.control(), "os-disk");
            BackupResult copy = Chains.backup(vm, BackupOptions.builder(BackupLevel.COPY, tmp.resolve("copies"))
                    .build(), log);
            assertThat(copy.chainId()).isNull();
            assertThat(copy.disks()).allMatch(d -> d.file().getFileName().toString().startsWith("COPY-"));
            assertThat(Chains.bitmaps(vm.control(), "os-disk")).isEqualTo(bitmapsBefore);
            assertThat(tmp.resolve("copies/uuid")).doesNotExist();
            assertThat(Chains.qmpbackupNodes(vm.control())).isEmpty();
            String status = vm.control().execute("query-status").path("status").asText();
            assertThat(status).isEqualTo(state.equals("paused") ? "paused" : state);
        }
    }

    private static Map<String, BackupLevel> levels(BackupResult r) {
        return r.disks().stream().collect(Collectors.toMap(BackupResult.DiskResult::disk,
                BackupResult.DiskResult::level));
    }
}
