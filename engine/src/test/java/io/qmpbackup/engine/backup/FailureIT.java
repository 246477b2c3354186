package io.qmpbackup.engine.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.qmpbackup.engine.repository.TargetLock;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Correctness property 2: a failed or cancelled backup loses nothing and leaves nothing. The
 * chain bitmap keeps every change since the last good backup (the next INC rebuilds the disk
 * exactly), no qmpbackup-* node, job or temporary bitmap stays in the VM, and no partial or
 * fleece file stays on disk. After SIGKILL the next run removes the leftovers itself.
 */
class FailureIT {
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    private DiskSpec disk;
    private Path target;
    private final RecordingLog log = new RecordingLog();

    private TestVm startVmWithFullBackup() throws Exception {
        Path img = QemuTools.createQcow2(tmp.resolve("disk1.qcow2"), "64M");
        QemuTools.write(img, "qcow2", 0, 8 * MIB, 0x5a);
        disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        target = tmp.resolve("backup");
        TestVm vm = TestVm.start(tmp, List.of(disk));
        Chains.backup(vm, BackupOptions.builder(BackupLevel.FULL, target).build(), log);
        // changes the next INC must carry: 12 MiB through the guest device
        vm.guestWrite(disk, 16L * MIB, 12L * MIB, 0x6b);
        vm.guestWrite(disk, 4096, 4096, 0x7c);
        return vm;
    }

    @Test
    void jobFailingOnAFullTargetLosesNothingAndLeavesNothing() throws Exception {
        Path small = tmp.resolve("small");
        Files.createDirectories(small);
        Mounts.tmpfs(small, "24M");
        try {
            Path img = QemuTools.createQcow2(tmp.resolve("disk1.qcow2"), "64M");
            QemuTools.write(img, "qcow2", 0, 8 * MIB, 0x5a);
            disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
            target = small.resolve("backup");
            try (TestVm vm = TestVm.start(tmp, List.of(disk))) {
                Chains.backup(vm, BackupOptions.builder(BackupLevel.FULL, target).build(), log);
                vm.guestWrite(disk, 16L * MIB, 20L * MIB, 0x6b);
                assertThatThrownBy(() -> Chains.backup(vm, BackupOptions.builder(BackupLevel.INC, target).build(), log))
                        .isInstanceOf(BackupException.class)
                        .hasMessageContaining("disk node-vda")
                        .hasMessageContaining("change tracking is unchanged");
                assertNothingLeft(vm);
                Mounts.remount(small, "96M");
                Chains.backup(vm, BackupOptions.builder(BackupLevel.INC, target).build(), log);
                assertChainEqualsDisk(vm, 2);
            }
        } finally {
            Mounts.unmount(small);
        }
    }

    @ParameterizedTest(name = "SIG{0}")
    @ValueSource(strings = {"TERM", "INT"})
    void signalToTheCliRollsBackAndTheNextIncIsExact(String signal) throws Exception {
        try (TestVm vm = startVmWithFullBackup()) {
            CliProcess cli = CliProcess.start(tmp, "--socket", vm.qmpSocket().toString(), "backup", "--level", "inc",
                    "--target", target.toString(), "--speed-limit", Integer.toString(2 * MIB));
            awaitRunningJob(vm);
            cli.signal(signal);
            int exit = cli.waitFor();
            assertThat(exit).as(cli.toString()).isNotZero();
            assertThat(cli.stderr().strip().lines()).as(cli.toString()).hasSize(1)
                    .first().asString().contains("cancelled");
            assertNothingLeft(vm);
            Chains.backup(vm, BackupOptions.builder(BackupLevel.INC, target).build(), log);
            assertChainEqualsDisk(vm, 2);
        }
    }

    @Test
    void afterSigkillTheNextRunRemovesTheLeftoversFirst() throws Exception {
        try (TestVm vm = startVmWithFullBackup()) {
            CliProcess cli = CliProcess.start(tmp, "--socket", vm.qmpSocket().toString(), "backup", "--level", "inc",
                    "--target", target.toString(), "--speed-limit", Integer.toString(2 * MIB));
            awaitRunningJob(vm);
            cli.signal("KILL");
            cli.waitFor();
            assertThat(Chains.qmpbackupNodes(vm.control())).as("a killed run leaves its nodes").isNotEmpty();

            BackupResult next = Chains.backup(vm, BackupOptions.builder(BackupLevel.INC, target).build(), log);
            assertThat(next.level()).isEqualTo(BackupLevel.INC);
            assertThat(log.warnings).anyMatch(w -> w.contains("interrupted backup run"));
            assertThat(log.warnings).anyMatch(w -> w.contains("removed unfinished backup file"));
            assertNothingLeft(vm);
            assertChainEqualsDisk(vm, 2);
        }
    }

    @Test
    void aSecondBackupOfAVmBeingBackedUpIsRefusedAndTheFirstEndsExact() throws Exception {
        try (TestVm vm = startVmWithFullBackup()) {
            // the inc's 13 MiB of changes at 2 MiB/s: ~6 s of job to act in
            CliProcess first = CliProcess.start(tmp, "--socket", vm.qmpSocket().toString(), "backup", "--level",
                    "inc", "--target", target.toString(), "--speed-limit", Integer.toString(2 * MIB));
            awaitRunningJob(vm);
            List<String> nodesBefore = Chains.qmpbackupNodes(vm.control());
            Path other = tmp.resolve("other");
            // through the VM's second QMP socket: on the first, QEMU holds a second client back until the
            // backup that has it is done (QmpClient's greeting timeout says so)
            assertThatThrownBy(() -> new FleecingBackup(vm.control(), BackupOptions.builder(BackupLevel.COPY, other)
                    .build(), log).run())
                    .isInstanceOf(BackupException.class)
                    .hasMessageContaining("is being backed up by another qmpbackup run right now")
                    .hasMessageContaining("wait for it to finish");
            assertThat(Chains.qmpbackupNodes(vm.control())).as("the running backup's nodes are untouched")
                    .isEqualTo(nodesBefore);
            assertThat(log.warnings).noneMatch(w -> w.contains("interrupted backup run"));
            assertThat(first.waitFor()).as(first.toString()).isZero();
            assertNothingLeft(vm);
            assertChainEqualsDisk(vm, 2);
            // the target's lock (taken before the VM is asked) is all the refused backup left
            try (Stream<Path> s = Files.walk(other)) {
                assertThat(s.filter(Files::isRegularFile).map(p -> p.getFileName().toString()))
                        .as("the refused backup wrote nothing").allMatch(TargetLock.FILE::equals);
            }
        }
    }

    @Test
    void vmKilledMidBackupLeavesNoFileAndAutoStartsOverWithAFull() throws Exception {
        TestVm first = startVmWithFullBackup();
        // a clean quit stores the chain bitmap in the image; the restarted QEMU loads it (in use)
        first.quit();
        TestVm vm = TestVm.start(tmp, List.of(disk));
        try {
            Thread killer = new Thread(() -> {
                try {
                    awaitRunningJob(vm);
                    vm.kill();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            killer.start();
            assertThatThrownBy(() -> Chains.backup(vm, BackupOptions.builder(BackupLevel.INC, target)
                    .speedLimit(2 * MIB).build(), log))
                    .isInstanceOf(BackupException.class)
                    .hasMessageContaining("went away");
            killer.join();
            assertNoFilesLeft();
        } finally {
            vm.close();
        }
        // QEMU restarted on the same image: the chain bitmap was in use when QEMU died
        try (TestVm again = TestVm.start(tmp, List.of(disk))) {
            assertThatThrownBy(() -> Chains.backup(again, BackupOptions.builder(BackupLevel.INC, target).build(), log))
                    .hasMessageContaining("inconsistent").hasMessageContaining("--level full");
            BackupResult auto = Chains.backup(again, BackupOptions.builder(BackupLevel.AUTO, target).build(), log);
            assertThat(auto.level()).isEqualTo(BackupLevel.FULL);
            assertThat(log.warnings).anyMatch(w -> w.contains("taking a full backup instead"));
            again.guestWrite(disk, 40L * MIB, MIB, 0x3e);
            assertThat(Chains.backup(again, BackupOptions.builder(BackupLevel.AUTO, target).build(), log).level())
                    .isEqualTo(BackupLevel.INC);
            again.flush(disk);
            List<Path> chain = Chains.currentChain(target, "disk1.qcow2");
            Path rebuilt = QemuTools.reconstruct(chain, tmp.resolve("rb"), tmp.resolve("rebuilt.qcow2"));
            assertThat(QemuTools.compare(disk.image(), "qcow2", rebuilt, "qcow2").exit()).isZero();
        }
    }

    static void awaitRunningJob(TestVm vm) {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
                .until(() -> Chains.jobs(vm.control()).stream().anyMatch(j -> j.startsWith("qmpbackup-")));
    }

    private void assertNothingLeft(TestVm vm) throws Exception {
        assertThat(Chains.qmpbackupNodes(vm.control())).as("qmpbackup nodes in the VM").isEmpty();
        assertThat(Chains.jobs(vm.control())).as("jobs in the VM").isEmpty();
        assertThat(Chains.bitmaps(vm.control(), "node-vda")).as("bitmaps: only the chain's")
                .hasSize(1).allMatch(b -> !b.startsWith("qmpbackup-run-"));
        assertNoFilesLeft();
    }

    private void assertNoFilesLeft() throws Exception {
        try (Stream<Path> s = Files.walk(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString()))
                    .noneMatch(n -> n.endsWith(".partial"))
                    .noneMatch(n -> n.contains(".fleece."));
        }
    }

    private void assertChainEqualsDisk(TestVm vm, int expectedFiles) throws Exception {
        vm.flush(disk);
        List<Path> chain = Chains.currentChain(target, "disk1.qcow2");
        assertThat(chain).hasSize(expectedFiles);
        Path rebuilt = QemuTools.reconstruct(chain, tmp.resolve("rebuild"), tmp.resolve("rebuilt.qcow2"));
        QemuTools.Result cmp = QemuTools.compare(disk.image(), "qcow2", rebuilt, "qcow2");
        assertThat(cmp.exit()).as(cmp.out()).isZero();
    }
}
