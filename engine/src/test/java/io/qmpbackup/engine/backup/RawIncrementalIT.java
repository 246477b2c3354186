package io.qmpbackup.engine.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpbackup.engine.testing.CliProcess;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.RecordingLog;
import io.qmpbackup.engine.testing.Chains;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Incrementals of a raw disk (qmpbackup 0.67): tracked by a non-persistent bitmap while the QEMU
 * process lives, written as qcow2 INCs so that zeros the guest wrote over old data are restored
 * as zeros (a sparse raw INC, qmpbackup's, cannot tell them from unchanged blocks); after a QEMU
 * restart auto falls back to a full with a warning and inc fails saying why.
 */
class RawIncrementalIT {
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    @Test
    void rawIncrementalsRestoreExactlyIncludingZerosAndEndWithTheQemuProcess() throws Exception {
        Path img = QemuTools.createRaw(tmp.resolve("lvm.raw"), "32M");
        QemuTools.write(img, "raw", 0, 16 * MIB, 0x5a);
        DiskSpec disk = new DiskSpec("vdb", img, "raw", Attach.DRIVE_VIRTIO, null);
        Path target = tmp.resolve("backup");
        RecordingLog log = new RecordingLog();
        try (TestVm vm = TestVm.start(tmp, List.of(disk))) {
            Chains.backup(vm, BackupOptions.builder(BackupLevel.FULL, target).includeRaw(true).build(), log);
            // zeros over old data (write-zeroes through the device), and new data elsewhere
            vm.control().hmp("qemu-io -d " + disk.qdevPath() + " \"write -z " + 2 * MIB + " " + MIB + "\"");
            vm.guestWrite(disk, 4L * MIB, 512 * 1024, 0x00);
            vm.guestWrite(disk, 20L * MIB, MIB, 0x6b);
            BackupResult inc = Chains.backup(vm, BackupOptions.builder(BackupLevel.AUTO, target).includeRaw(true)
                    .build(), log);
            assertThat(inc.level()).isEqualTo(BackupLevel.INC);
            Path incFile = inc.disks().get(0).file();
            assertThat(QemuTools.run("qemu-img", "info", "-U", incFile.toString())).contains("file format: qcow2");
            vm.flush(disk);
            Path out = tmp.resolve("restored.raw");
            CliProcess merge = CliProcess.runTool(tmp, "qmprestore", "merge", "--dir",
                    target.resolve("lvm.raw").toString(), "--targetfile", out.toString());
            assertThat(merge.exitCode()).as(merge.toString()).isZero();
            QemuTools.Result cmp = QemuTools.compare(img, "raw", out, "raw");
            assertThat(cmp.exit()).as(cmp.out()).isZero();
            assertThat(QemuTools.readsPattern(out, "raw", 2L * MIB, MIB, 0)).as("the zeroed range").isTrue();
            CliProcess verify = CliProcess.runTool(tmp, "qmprestore", "verify", "--dir",
                    target.resolve("lvm.raw").toString());
            assertThat(verify.exitCode()).as(verify.toString()).isZero();
            vm.quit();
        }
        try (TestVm again = TestVm.start(tmp, List.of(disk))) {
            assertThatThrownBy(() -> Chains.backup(again, BackupOptions.builder(BackupLevel.INC, target)
                    .includeRaw(true).build(), log)).hasMessageContaining("lives only while its QEMU process runs");
            BackupResult auto = Chains.backup(again, BackupOptions.builder(BackupLevel.AUTO, target).includeRaw(true)
                    .build(), log);
            assertThat(auto.level()).isEqualTo(BackupLevel.FULL);
            assertThat(log.warnings).anyMatch(w -> w.contains("lives only while its QEMU process runs")
                    && w.contains("taking a full backup instead"));
        }
    }
}
