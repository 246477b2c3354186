package io.qmpbackup.engine.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.qmpbackup.engine.qmp.GuestAgentClient;
import io.qmpbackup.engine.qmp.QmpClient;
import io.qmpbackup.engine.testing.CliProcess;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.RecordingLog;
import io.qmpbackup.engine.testing.TestGuest;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * --quiesce against a real qemu-ga in a real small guest (Debian kernel + busybox, TCG): the
 * backup holds an ext4 filesystem that was frozen at the snapshot point (its superblock has no
 * needs_recovery flag, while an unfrozen backup of the same mounted filesystem has it), and
 * the guest is thawed afterwards. Without a reachable agent, the backup goes on
 * crash-consistent and says so.
 */
class QuiesceIT {
    @TempDir
    Path tmp;

    @Test
    void quiescedBackupHoldsACleanFilesystemAndTheGuestIsThawedAfter() throws Exception {
        try (TestGuest guest = TestGuest.boot(tmp.resolve("g"))) {
            RecordingLog log = new RecordingLog();
            BackupResult plain = backup(guest, tmp.resolve("plain"), false, log);
            assertThat(plain.quiesced()).isFalse();
            assertThat(superblockFeatures(plain.disks().get(0).file())).as("unfrozen, mounted ext4")
                    .contains("needs_recovery");

            BackupResult frozen = backup(guest, tmp.resolve("frozen"), true, log);
            assertThat(frozen.quiesced()).isTrue();
            assertThat(frozen.warnings()).isEmpty();
            assertThat(log.infos).anyMatch(l -> l.contains("froze 1 guest filesystem"));
            Path raw = toRaw(frozen.disks().get(0).file());
            assertThat(superblockFeatures(frozen.disks().get(0).file())).as("frozen at the snapshot point")
                    .doesNotContain("needs_recovery");
            QemuTools.Result fsck = QemuTools.exec("e2fsck", "-fn", raw.toString());
            assertThat(fsck.exit()).as(fsck.out()).isZero();

            try (GuestAgentClient agent = GuestAgentClient.connect(guest.agentSocket(), Duration.ofSeconds(10))) {
                assertThat(agent.fsfreezeStatus(Duration.ofSeconds(10))).isEqualTo("thawed");
            }
            // the same through the command line, as an incremental of the frozen chain
            CliProcess cli = CliProcess.run(tmp, "--socket", guest.qmpSocket().toString(), "--agent-socket",
                    guest.agentSocket().toString(), "backup", "--level", "inc", "--quiesce", "--target",
                    tmp.resolve("frozen").toString());
            assertThat(cli.exitCode()).as(cli.toString()).isZero();
            assertThat(cli.stdout()).contains("froze 1 guest filesystem").contains("thawed 1 guest filesystem")
                    .contains("filesystems frozen at the snapshot point");
            int ticks = guest.readGuestFile("/data/ticks").split("\n").length;
            await().atMost(Duration.ofSeconds(20)).until(
                    () -> guest.readGuestFile("/data/ticks").split("\n").length > ticks + 3);
        }
    }

    @Test
    void withoutAnAgentTheBackupIsCrashConsistentAndSaysSo() throws Exception {
        DiskSpec disk = new DiskSpec("vda", QemuTools.createQcow2(tmp.resolve("d.qcow2"), "16M"), "qcow2",
                Attach.BLOCKDEV_VIRTIO, null);
        try (TestVm vm = TestVm.start(tmp, List.of(disk))) {
            RecordingLog log = new RecordingLog();
            BackupResult noSocket = run(vm, BackupOptions.builder(BackupLevel.FULL, tmp.resolve("b1")).quiesce(true)
                    .agentSocket(tmp.resolve("absent.sock")).build(), log);
            assertThat(noSocket.quiesced()).isFalse();
            assertThat(noSocket.warnings()).singleElement().asString().contains("crash-consistent")
                    .contains("absent.sock");
            BackupResult noOption = run(vm, BackupOptions.builder(BackupLevel.FULL, tmp.resolve("b2")).quiesce(true)
                    .build(), log);
            assertThat(noOption.warnings()).singleElement().asString().contains("without --agent-socket");
        }
    }

    @Test
    void aHangingAgentDoesNotHoldTheBackup() throws Exception {
        DiskSpec disk = new DiskSpec("vda", QemuTools.createQcow2(tmp.resolve("d.qcow2"), "16M"), "qcow2",
                Attach.BLOCKDEV_VIRTIO, null);
        Path agentSocket = tmp.resolve("hang.sock");
        // an agent that accepts and never answers: a guest whose qemu-ga is stuck
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
                TestVm vm = TestVm.start(tmp, List.of(disk))) {
            server.bind(UnixDomainSocketAddress.of(agentSocket));
            Thread acceptor = new Thread(() -> {
                try (SocketChannel c = server.accept()) {
                    c.read(java.nio.ByteBuffer.allocate(65536));
                    Thread.sleep(60_000);
                } catch (Exception ignored) {
                    // the test ends by closing the server
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            long start = System.nanoTime();
            BackupResult r = run(vm, BackupOptions.builder(BackupLevel.FULL, tmp.resolve("b")).quiesce(true)
                    .agentSocket(agentSocket).agentTimeout(Duration.ofSeconds(1)).build(), new RecordingLog());
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(20));
            assertThat(r.quiesced()).isFalse();
            assertThat(r.warnings()).singleElement().asString().contains("did not answer").contains("crash-consistent");
            assertThat(r.disks()).singleElement().satisfies(d -> assertThat(d.file()).exists());
        }
    }

    private static BackupResult backup(TestGuest guest, Path target, boolean quiesce, RecordingLog log)
            throws Exception {
        try (QmpClient qmp = QmpClient.connect(guest.qmpSocket(), Duration.ofSeconds(10))) {
            return new FleecingBackup(qmp, BackupOptions.builder(BackupLevel.FULL, target).quiesce(quiesce)
                    .agentSocket(guest.agentSocket()).build(), log).run();
        }
    }

    private static BackupResult run(TestVm vm, BackupOptions options, RecordingLog log) throws Exception {
        try (QmpClient qmp = QmpClient.connect(vm.qmpSocket(), Duration.ofSeconds(10))) {
            return new FleecingBackup(qmp, options, log).run();
        }
    }

    private Path toRaw(Path qcow2) throws Exception {
        Path raw = qcow2.resolveSibling(qcow2.getFileName() + ".raw");
        QemuTools.run("qemu-img", "convert", "-O", "raw", qcow2.toString(), raw.toString());
        return raw;
    }

    private String superblockFeatures(Path qcow2) throws Exception {
        Path raw = toRaw(qcow2);
        String out = QemuTools.run("dumpe2fs", "-h", raw.toString());
        return out.lines().filter(l -> l.startsWith("Filesystem features")).findFirst().orElseThrow();
    }
}
