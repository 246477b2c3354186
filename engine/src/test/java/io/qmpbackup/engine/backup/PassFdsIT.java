package io.qmpbackup.engine.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.qmpbackup.engine.qmp.QmpClient;
import io.qmpbackup.engine.testing.Chains;
import io.qmpbackup.engine.testing.CliProcess;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.RecordingLog;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * --pass-fds: QEMU gets the backup and fleece files open (QMP add-fd) and never opens them by
 * path. QEMU runs as user nobody here, after start-up, so it cannot open anything in the
 * test's folder (mode 0700, root's): the very situation of a volume mounted only in the agent's
 * pod. By path the backup fails cleanly; with fds it works, and no fdset is left behind.
 */
class PassFdsIT {
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    private TestVm vmRunningAsNobody(DiskSpec disk) throws Exception {
        assertThat(Files.getPosixFilePermissions(tmp)).as("the test folder is closed to others")
                .noneMatch(p -> p.name().startsWith("OTHERS"));
        // running, not paused: QEMU closes the files of a removed fdset only while the VM runs
        TestVm vm = new TestVm(tmp, List.of(disk), false, List.of("-runas", "nobody"));
        vm.start();
        return vm;
    }

    private static int fdsets(TestVm vm) throws Exception {
        return vm.control().execute("query-fdsets").size();
    }

    private static BackupResult backup(TestVm vm, BackupOptions options, RecordingLog log) throws Exception {
        try (QmpClient qmp = QmpClient.connect(vm.qmpSocket(), Duration.ofSeconds(10), options.passFds())) {
            return new FleecingBackup(qmp, options, log).run();
        }
    }

    @Test
    void qemuThatCannotOpenTheTargetStillWritesItThroughPassedFds() throws Exception {
        Path img = QemuTools.createQcow2(tmp.resolve("disk1.qcow2"), "32M");
        QemuTools.write(img, "qcow2", 0, 4 * MIB, 0x31);
        DiskSpec disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        Path target = tmp.resolve("backup");
        RecordingLog log = new RecordingLog();
        try (TestVm vm = vmRunningAsNobody(disk)) {
            // by path: QEMU (nobody) may not open the file; the run fails and leaves nothing
            assertThatThrownBy(() -> backup(vm, BackupOptions.builder(BackupLevel.FULL, target).build(), log))
                    .isInstanceOf(BackupException.class).hasMessageContaining("Permission denied");
            assertThat(Chains.qmpbackupNodes(vm.control())).isEmpty();
            try (Stream<Path> s = Files.walk(target)) {
                assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".partial"));
            }

            BackupResult full = backup(vm, BackupOptions.builder(BackupLevel.FULL, target).passFds(true).build(), log);
            assertThat(full.level()).isEqualTo(BackupLevel.FULL);
            assertThat(fdsets(vm)).as("fdsets left in QEMU").isZero();
            // QEMU cannot reach a socket of ours either: the file is read back, its record a whole-file SHA-256
            assertThat(log.infos).anyMatch(i -> i.contains("--pass-fds") && i.contains("read back"));
            assertThat(full.disks().get(0).sha256()).isEqualTo(io.qmpbackup.engine.repository.AtomicFiles.sha256(
                    full.disks().get(0).file()));
            vm.flush(disk);
            assertThat(QemuTools.compare(img, "qcow2", full.disks().get(0).file(), "qcow2").exit()).isZero();

            // the CLI: an incremental (with its fleece image) while the guest writes
            vm.guestWrite(disk, 8L * MIB, MIB, 0x32);
            CliProcess inc = CliProcess.run(tmp, "--socket", vm.qmpSocket().toString(), "backup", "--level", "inc",
                    "--target", target.toString(), "--pass-fds");
            assertThat(inc.exitCode()).as(inc.toString()).isZero();
            assertThat(fdsets(vm)).isZero();
            vm.flush(disk);
            List<Path> chain = Chains.currentChain(target, "disk1.qcow2");
            assertThat(chain).hasSize(2);
            assertChainIs(img, target);
        }
    }

    @Test
    void theFdsetsOfAKilledRunAreRemovedByTheNextRun() throws Exception {
        Path img = QemuTools.createQcow2(tmp.resolve("disk1.qcow2"), "32M");
        QemuTools.write(img, "qcow2", 0, 16 * MIB, 0x41);
        DiskSpec disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        Path target = tmp.resolve("backup");
        RecordingLog log = new RecordingLog();
        try (TestVm vm = vmRunningAsNobody(disk)) {
            backup(vm, BackupOptions.builder(BackupLevel.FULL, target).passFds(true).build(), log);
            vm.guestWrite(disk, 0, 8 * MIB, 0x42);
            CliProcess cli = CliProcess.start(tmp, "--socket", vm.qmpSocket().toString(), "backup", "--level", "inc",
                    "--target", target.toString(), "--pass-fds", "--speed-limit", Integer.toString(MIB));
            await().atMost(Duration.ofSeconds(30)).failFast(() -> !cli.isAlive()).until(() -> Chains.jobs(vm.control())
                    .stream().anyMatch(j -> j.startsWith("qmpbackup-")));
            assertThat(fdsets(vm)).as("the running backup's target and fleece image").isEqualTo(2);
            cli.signal("KILL");
            cli.waitFor();

            BackupResult next = backup(vm, BackupOptions.builder(BackupLevel.INC, target).passFds(true).build(), log);
            assertThat(next.level()).isEqualTo(BackupLevel.INC);
            assertThat(log.warnings).anyMatch(w -> w.contains("interrupted backup run"));
            assertThat(fdsets(vm)).isZero();
            assertThat(Chains.qmpbackupNodes(vm.control())).isEmpty();
            vm.flush(disk);
            assertChainIs(img, target);
        }
    }

    @Test
    void aPausedVmKeepsRemovedFdsetsUntilItRunsAndTheNextBackupStillWorks() throws Exception {
        Path img = QemuTools.createQcow2(tmp.resolve("disk1.qcow2"), "32M");
        QemuTools.write(img, "qcow2", 0, 4 * MIB, 0x51);
        DiskSpec disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        Path target = tmp.resolve("backup");
        RecordingLog log = new RecordingLog();
        TestVm vm = new TestVm(tmp, List.of(disk), true, List.of("-runas", "nobody"));
        vm.start();
        try (vm) {
            backup(vm, BackupOptions.builder(BackupLevel.FULL, target).passFds(true).build(), log);
            // QEMU closes the files of removed fdsets only while the VM runs: they are still listed
            assertThat(fdsets(vm)).isPositive();
            BackupResult copy = backup(vm, BackupOptions.builder(BackupLevel.COPY, target).passFds(true).build(), log);
            assertThat(QemuTools.compare(img, "qcow2", copy.disks().get(0).file(), "qcow2").exit()).isZero();
            vm.control().execute("cont");
            BackupResult inc = backup(vm, BackupOptions.builder(BackupLevel.INC, target).passFds(true).build(), log);
            assertThat(inc.level()).isEqualTo(BackupLevel.INC);
            assertThat(fdsets(vm)).as("once running, every removed fdset is gone").isZero();
        }
    }

    /** The current chain rebuilt with plain qemu-img (INC files name no backing file) equals the disk. */
    private void assertChainIs(Path img, Path target) throws Exception {
        List<Path> chain = Chains.currentChain(target, "disk1.qcow2");
        Path rebuilt = QemuTools.reconstruct(chain, tmp.resolve("rebuild"), tmp.resolve("rebuilt.qcow2"));
        QemuTools.Result cmp = QemuTools.compare(img, "qcow2", rebuilt, "qcow2");
        assertThat(cmp.exit()).as(cmp.out()).isZero();
    }
}
