package io.qmpbackup.engine.restore;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpbackup.engine.repository.Holds;
import io.qmpbackup.engine.retention.RetentionPolicy;
import io.qmpbackup.engine.service.BackupService;
import io.qmpbackup.engine.testing.CliProcess;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.RecordingLog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code qmprestore export} as a process over the chain {@link InstantRecoveryIT} takes: the NBD
 * export serves exactly the point, refuses writes, holds the chain, ends at its ttl and leaves
 * no qemu-storage-daemon behind, also when the exporting process is killed.
 */
class PointExportIT {
    @TempDir
    Path tmp;

    @Test
    void servesExactlyThePointReadOnlyAndEndsAtItsTtl() throws Exception {
        InstantRecoveryIT.takeChainsOnce();
        Path t = InstantRecoveryIT.copyOfTarget(tmp.resolve("t"));
        Path sock = tmp.resolve("point.sock");
        long started = System.nanoTime();
        CliProcess x = CliProcess.startTool(tmp, "qmprestore", "export", "--dir", t.resolve("disk1.qcow2").toString(),
                "--until", InstantRecoveryIT.points.get(2), "--socket", sock.toString(), "--ttl", "10s");
        String uri = awaitUri(x);
        assertThat(uri).isEqualTo("nbd+unix:///disk1.qcow2?socket=" + sock);

        QemuTools.Result cmp = QemuTools.exec("qemu-img", "compare", "-f", "qcow2", "-F", "raw",
                InstantRecoveryIT.expected.get(2).toString(), uri);
        assertThat(cmp.exit()).as(cmp.out()).isZero();
        QemuTools.Result write = QemuTools.exec("qemu-io", "-f", "raw", "-c", "write -P 1 0 4096", uri);
        // the server offers the export read-only, so a client asking to write cannot even open it
        assertThat(write.exit()).as(write.out()).isNotZero();
        assertThat(write.out()).as("a write through the export").containsAnyOf("Permission denied", "read-only",
                "read only");
        QemuTools.Result again = QemuTools.exec("qemu-img", "compare", "-f", "qcow2", "-F", "raw",
                InstantRecoveryIT.expected.get(2).toString(), uri);
        assertThat(again.exit()).as(again.out()).isZero();

        List<Holds.Hold> holds = Holds.read(t);
        assertThat(holds).singleElement().satisfies(h -> {
            assertThat(h.kind()).isEqualTo(Holds.Kind.EXPORT);
            assertThat(h.active()).isTrue();
        });
        long daemon = holds.get(0).pid();
        assertThat(BackupService.standard().prune(t, new RetentionPolicy(1, 0, 0, 0, ZoneOffset.UTC), false,
                Duration.ofSeconds(5), new RecordingLog()).deleted()).as("the exported chain is held").isEmpty();

        assertThat(x.waitFor()).as(x.toString()).isZero();
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(40));
        assertThat(x.stdout()).contains("ended");
        assertThat(ProcessHandle.of(daemon).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        assertThat(sock).doesNotExist();
        assertThat(Holds.read(t)).isEmpty();
    }

    @Test
    void aKilledExporterTakesItsDaemonWithIt() throws Exception {
        InstantRecoveryIT.takeChainsOnce();
        Path t = InstantRecoveryIT.copyOfTarget(tmp.resolve("t"));
        Path sock = tmp.resolve("point.sock");
        CliProcess x = CliProcess.startTool(tmp, "qmprestore", "export", "--dir", t.resolve("disk1.qcow2").toString(),
                "--socket", sock.toString());
        awaitUri(x);
        long daemon = Holds.read(t).get(0).pid();
        x.signal("KILL");
        x.waitFor();
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (ProcessHandle.of(daemon).map(ProcessHandle::isAlive).orElse(false) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(ProcessHandle.of(daemon).map(ProcessHandle::isAlive).orElse(false)).as("qemu-storage-daemon")
                .isFalse();
        assertThat(Holds.read(t)).singleElement().satisfies(h -> assertThat(h.active()).isFalse());
        assertThat(BackupService.standard().prune(t, new RetentionPolicy(1, 0, 0, 0, ZoneOffset.UTC), false,
                Duration.ofSeconds(5), new RecordingLog()).deleted()).as("a dead export holds nothing").hasSize(4);
    }

    @Test
    void refusesAnExistingSocketAndChangesNothing() throws Exception {
        InstantRecoveryIT.takeChainsOnce();
        Path t = InstantRecoveryIT.copyOfTarget(tmp.resolve("t"));
        Path sock = Files.writeString(tmp.resolve("taken.sock"), "");
        CliProcess x = CliProcess.runTool(tmp, "qmprestore", "export", "--dir", t.resolve("disk1.qcow2").toString(),
                "--socket", sock.toString(), "--ttl", "5s");
        assertThat(x.exitCode()).isEqualTo(1);
        assertThat(x.stderr()).contains("already exists");
        CliProcess bad = CliProcess.runTool(tmp, "qmprestore", "export", "--dir", t.resolve("disk1.qcow2").toString(),
                "--socket", tmp.resolve("s").toString(), "--ttl", "soon");
        assertThat(bad.exitCode()).as("a usage error").isEqualTo(2);
        assertThat(bad.stderr()).contains("not a duration");
        assertThat(Holds.read(t)).isEmpty();
    }

    private static String awaitUri(CliProcess x) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            for (String line : x.stdout().split("\n")) {
                if (line.startsWith("nbd")) {
                    return line.trim();
                }
            }
            if (!x.isAlive()) {
                throw new AssertionError("export ended before it served: " + x);
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no NBD URI printed: " + x);
    }
}
