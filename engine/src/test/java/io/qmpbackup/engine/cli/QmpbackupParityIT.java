package io.qmpbackup.engine.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.qmpbackup.engine.qmp.QmpEvent;
import io.qmpbackup.engine.testing.Chains;
import io.qmpbackup.engine.testing.CliProcess;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.net.DatagramPacket;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.YearMonth;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.newsclub.net.unix.AFUNIXDatagramSocket;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/**
 * qmpbackup 0.67's flags that its users type, against real QEMU: a TCP QMP endpoint, --pause,
 * --progress-interval, --remove-delay, --syslog, qmprestore --filter, and a 0.67 nightly command
 * line run unchanged.
 */
class QmpbackupParityIT {
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private DiskSpec disk(String name, int pattern) throws Exception {
        Path img = QemuTools.createQcow2(tmp.resolve(name + ".qcow2"), "16M");
        QemuTools.write(img, "qcow2", 0, 4 * MIB, pattern);
        return new DiskSpec(name.equals("os") ? "vda" : "vdb", img, "qcow2", Attach.BLOCKDEV_VIRTIO, name);
    }

    private CliProcess ok(CliProcess c) {
        assertThat(c.exitCode()).as(c.toString()).isZero();
        return c;
    }

    @Test
    void aQmpbackupNightlyOverTcpRunsUnchanged() throws Exception {
        DiskSpec os = disk("os", 0x51);
        int port = freePort();
        TestVm vm = new TestVm(tmp, List.of(os), false, List.of("-qmp", "tcp:127.0.0.1:" + port + ",server=on,wait=off"));
        vm.start();
        try (vm) {
            List<String> states = new CopyOnWriteArrayList<>();
            try (AutoCloseable l = vm.control().onEvent((QmpEvent e) -> {
                if (e.name().equals("STOP") || e.name().equals("RESUME")) {
                    states.add(e.name());
                }
            })) {
                Path target = tmp.resolve("nightly");
                // as a 0.67 user's cron line has it; no guest agent here: --pause stands in for --quiesce
                String[] nightly = {"--socket", "tcp:127.0.0.1:" + port, "backup", "--level", "auto", "--monthly",
                    "--quiesce", "--pause", "--progress-interval", "30", "--target", target.toString()};
                ok(CliProcess.run(tmp, nightly));
                vm.guestWrite(os, 8L * MIB, MIB, 0x52);
                CliProcess second = ok(CliProcess.run(tmp, nightly));
                assertThat(second.stdout()).contains("paused at the snapshot point instead of freezing");
                // paused around each snapshot point, running after each run
                await().atMost(Duration.ofSeconds(5)).until(() -> states.size() >= 4);
                assertThat(states).containsExactly("STOP", "RESUME", "STOP", "RESUME");
                assertThat(vm.control().execute("query-status").path("status").asText()).isEqualTo("running");
                Path folder = target.resolve(YearMonth.now().toString()).resolve("os.qcow2");
                assertThat(Chains.currentChain(folder.getParent(), "os.qcow2")).hasSize(2);
                vm.flush(os);
                Path out = tmp.resolve("restored.qcow2");
                ok(CliProcess.runTool(tmp, "qmprestore", "merge", "--dir", folder.toString(), "--targetfile",
                        out.toString()));
                assertThat(QemuTools.compare(os.image(), "qcow2", out, "qcow2").exit()).isZero();
            }
        }
    }

    @Test
    void pauseLeavesTheVmRunningWhenTheBackupFailsOrIsStopped() throws Exception {
        DiskSpec os = disk("os", 0x61);
        try (TestVm vm = TestVm.startRunning(tmp, List.of(os))) {
            // failure: the target is a file, not a folder
            Path notAFolder = Files.writeString(tmp.resolve("file"), "x");
            CliProcess failed = CliProcess.run(tmp, "--socket", vm.qmpSocket().toString(), "backup", "--level",
                    "full", "--pause", "--target", notAFolder.resolve("sub").toString());
            assertThat(failed.exitCode()).as(failed.toString()).isEqualTo(1);
            assertThat(vm.control().execute("query-status").path("status").asText()).isEqualTo("running");
            // a job that fails after the pause (cancelled by someone else)
            CliProcess cancelled = CliProcess.start(tmp, "--socket", vm.qmpSocket().toString(), "backup", "--level",
                    "full", "--pause", "--speed-limit", Integer.toString(MIB), "--target", tmp.resolve("c").toString());
            await().atMost(Duration.ofSeconds(60)).until(() -> !Chains.jobs(vm.control()).isEmpty());
            vm.control().execute("job-cancel", java.util.Map.of("id", Chains.jobs(vm.control()).get(0)));
            cancelled.waitFor();
            assertThat(cancelled.exitCode()).as(cancelled.toString()).isEqualTo(1);
            assertThat(vm.control().execute("query-status").path("status").asText()).isEqualTo("running");
            // SIGTERM while the job runs, after the pause
            CliProcess slow = CliProcess.start(tmp, "--socket", vm.qmpSocket().toString(), "backup", "--level",
                    "full", "--pause", "--speed-limit", Integer.toString(MIB), "--target", tmp.resolve("t").toString());
            await().atMost(Duration.ofSeconds(60)).until(() -> !Chains.jobs(vm.control()).isEmpty());
            slow.signal("TERM");
            slow.waitFor();
            assertThat(slow.exitCode()).isNotZero();
            assertThat(vm.control().execute("query-status").path("status").asText()).isEqualTo("running");
            assertThat(Chains.qmpbackupNodes(vm.control())).isEmpty();
        }
    }

    @Test
    void progressIntervalRemoveDelayAndSyslog() throws Exception {
        DiskSpec os = disk("os", 0x71);
        Path logSocket = tmp.resolve("log.sock");
        try (TestVm vm = TestVm.start(tmp, List.of(os));
                AFUNIXDatagramSocket syslog = AFUNIXDatagramSocket.newInstance()) {
            syslog.bind(AFUNIXSocketAddress.of(logSocket));
            syslog.setSoTimeout(10_000);
            CliProcess run = CliProcess.startTool(tmp, "qmpbackup", Map.of("QMPBACKUP_SYSLOG_SOCKET",
                    logSocket.toString()), "--syslog", "--socket", vm.qmpSocket().toString(), "backup", "--level",
                    "full", "--progress-interval", "1", "--speed-limit", Integer.toString(2 * MIB), "--remove-delay",
                    "2", "--target", tmp.resolve("b").toString());
            // read as a syslog daemon does, while the backup runs
            List<String> received = new CopyOnWriteArrayList<>();
            Thread reader = new Thread(() -> {
                byte[] buf = new byte[8192];
                try {
                    while (true) {
                        DatagramPacket p = new DatagramPacket(buf, buf.length);
                        syslog.receive(p);
                        received.add(new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8));
                    }
                } catch (java.io.IOException e) {
                    // closed or quiet for 10 s: done
                }
            });
            reader.start();
            // the nodes stay while the job is over: --remove-delay
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> {
                for (var j : vm.control().execute("query-jobs")) {
                    if (j.path("status").asText().equals("concluded")) {
                        return true;
                    }
                }
                return false;
            });
            assertThat(Chains.qmpbackupNodes(vm.control())).isNotEmpty();
            run.waitFor();
            assertThat(run.exitCode()).as(run.toString()).isZero();
            await().atMost(Duration.ofSeconds(10)).until(() -> received.stream().anyMatch(l -> l.contains("wrote ")));
            assertThat(received).allMatch(l -> l.matches("<1[1-5]>qmpbackup\\[\\d+\\]: .*"));
            assertThat(run.stdout()).contains("(--remove-delay)");
            long progressLines = run.stdout().lines().filter(l -> l.contains("progress: ")).count();
            assertThat(progressLines).as(run.stdout()).isGreaterThanOrEqualTo(1);
        }
    }

    @Test
    void qmprestoreFilterPicksOneDiskOfAFlatFolder() throws Exception {
        DiskSpec os = disk("os", 0x81);
        DiskSpec data = disk("data", 0x82);
        try (TestVm vm = TestVm.start(tmp, List.of(os, data))) {
            Path flat = tmp.resolve("flat");
            ok(CliProcess.run(tmp, "--socket", vm.qmpSocket().toString(), "backup", "--level", "full", "--no-subdir",
                    "--target", flat.toString()));
            CliProcess both = CliProcess.runTool(tmp, "qmprestore", "merge", "--dir", flat.toString(), "--targetfile",
                    tmp.resolve("x.qcow2").toString());
            assertThat(both.exitCode()).isEqualTo(1);
            assertThat(both.stderr()).contains("--filter");
            for (DiskSpec d : List.of(os, data)) {
                Path out = tmp.resolve("restored-" + d.nodeName() + ".qcow2");
                ok(CliProcess.runTool(tmp, "qmprestore", "merge", "--dir", flat.toString(), "--filter",
                        d.image().getFileName().toString(), "--targetfile", out.toString()));
                assertThat(QemuTools.compare(d.image(), "qcow2", out, "qcow2").exit()).isZero();
            }
        }
    }
}
