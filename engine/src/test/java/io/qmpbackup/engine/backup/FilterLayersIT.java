package io.qmpbackup.engine.backup;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpbackup.engine.testing.Chains;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.RecordingLog;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Disks as Proxmox attaches them: a throttle filter (throttle group) above the qcow2 format node,
 * and disks whose nodes carry only QEMU's automatic names ({@code #blockNNN}, new on every QEMU
 * start). Change tracking lives on the format node the filter sits on (qmpbackup 0.57's fix), and
 * no bitmap, folder or file is named after an automatic node name (0.63): after a QEMU restart
 * the same chain goes on.
 */
class FilterLayersIT {
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    private static List<String> throttled(Path img) {
        return List.of("-object", "throttle-group,id=tg0,x-bps-total=1073741824",
                "-blockdev", "driver=file,filename=" + img + ",node-name=f0",
                "-blockdev", "driver=qcow2,file=f0,node-name=fmt0",
                "-blockdev", "driver=throttle,throttle-group=tg0,file=fmt0,node-name=thr0",
                "-device", "virtio-blk-pci,drive=thr0,id=vda");
    }

    @Test
    void aThrottleFilterAboveTheFormatNodeKeepsTheChainExact() throws Exception {
        Path img = QemuTools.createQcow2(tmp.resolve("disk1.qcow2"), "32M");
        QemuTools.write(img, "qcow2", 0, 8 * MIB, 0x11);
        Path target = tmp.resolve("backup");
        DiskSpec device = new DiskSpec("vda", img, "qcow2", TestVm.Attach.BLOCKDEV_VIRTIO, "thr0");
        TestVm vm = new TestVm(tmp, List.of(), true, throttled(img));
        vm.start();
        try (vm) {
            Chains.backup(vm, BackupOptions.builder(BackupLevel.FULL, target).build(), new RecordingLog());
            assertThat(Chains.bitmaps(vm.control(), "fmt0")).as("tracking on the format node").hasSize(1);
            assertThat(Chains.bitmaps(vm.control(), "thr0")).as("nothing on the filter").isEmpty();
            vm.guestWrite(device, 12L * MIB, 2L * MIB, 0x12);
            BackupResult inc = Chains.backup(vm, BackupOptions.builder(BackupLevel.INC, target).build(),
                    new RecordingLog());
            assertThat(inc.disks().get(0).bytesCopied()).isEqualTo(2L * MIB);
            // the device is back on its throttle node: the VM's I/O limits hold after the backup
            assertThat(vm.control().execute("query-block").get(0).path("inserted").path("node-name").asText())
                    .isEqualTo("thr0");
            vm.flush(device);
            assertChainIs(img, target, 2);
        }
    }

    @Test
    void automaticNodeNamesNameNothingAndTheChainGoesOnAfterARestart() throws Exception {
        Path img = QemuTools.createQcow2(tmp.resolve("disk1.qcow2"), "32M");
        QemuTools.write(img, "qcow2", 0, 8 * MIB, 0x21);
        // -drive without node-name: QEMU names the nodes #blockNNN
        DiskSpec disk = new DiskSpec("vda", img, "qcow2", TestVm.Attach.DRIVE_VIRTIO, null);
        Path target = tmp.resolve("backup");
        try (TestVm vm = TestVm.start(tmp, List.of(disk))) {
            Chains.backup(vm, BackupOptions.builder(BackupLevel.FULL, target).build(), new RecordingLog());
            vm.guestWrite(disk, 4L * MIB, MIB, 0x22);
            vm.quit();
        }
        try (TestVm again = TestVm.start(tmp, List.of(disk))) {
            again.guestWrite(disk, 20L * MIB, MIB, 0x23);
            BackupResult inc = Chains.backup(again, BackupOptions.builder(BackupLevel.AUTO, target).build(),
                    new RecordingLog());
            assertThat(inc.level()).as("the chain goes on after the restart").isEqualTo(BackupLevel.INC);
            again.flush(disk);
            assertChainIs(img, target, 2);
            try (Stream<Path> s = Files.walk(target)) {
                assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains("#block")
                        || n.contains("block0") || n.contains("block1"));
            }
            assertThat(Chains.bitmaps(again.control(), "drive-vda")).allMatch(b -> !b.contains("#"));
        }
    }

    private void assertChainIs(Path img, Path target, int files) throws Exception {
        List<Path> chain = Chains.currentChain(target, "disk1.qcow2");
        assertThat(chain).hasSize(files);
        Path rebuilt = QemuTools.reconstruct(chain, tmp.resolve("rebuild"), tmp.resolve("rebuilt.qcow2"));
        QemuTools.Result cmp = QemuTools.compare(img, "qcow2", rebuilt, "qcow2");
        assertThat(cmp.exit()).as(cmp.out()).isZero();
    }
}
