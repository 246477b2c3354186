package io.qmpbackup.engine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpbackup.engine.qmp.Json;
import io.qmpbackup.engine.qmp.QmpEvent;
import io.qmpbackup.engine.repository.AtomicFiles;
import io.qmpbackup.engine.testing.CliProcess;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.Swtpm;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A TPM's state round trip with a real swtpm attached to a real QEMU (tpm-tis): the backup
 * copies the swtpm state folder while the running VM is paused at the snapshot point, keeps it
 * with the chain with checksums, records the TPM in vm.json, and qmprestore tpm puts it back
 * byte for byte into a new folder (never over existing state).
 */
class TpmStateIT {
    @TempDir
    Path tmp;

    private static CliProcess ok(CliProcess c) {
        assertThat(c.exitCode()).as(c.toString()).isZero();
        return c;
    }

    @Test
    void theTpmStateIsKeptAtTheSnapshotPointAndRestoredExactly() throws Exception {
        try (Swtpm swtpm = Swtpm.start(tmp.resolve("tpm-state"))) {
            Path state = swtpm.stateDir();
            Path vmDir = Files.createDirectories(tmp.resolve("vm"));
            DiskSpec os = new DiskSpec("vda", QemuTools.createQcow2(vmDir.resolve("os.qcow2"), "16M"), "qcow2",
                    Attach.BLOCKDEV_VIRTIO, "os");
            TestVm vm = new TestVm(vmDir, List.of(os), false, swtpm.qemuArgs());
            vm.start();
            Path target = tmp.resolve("backup");
            // the firmware starts the TPM as the VM boots (TPM2_Startup writes the state): wait until the
            // state has settled, so the state the backup keeps is the one read here
            String permall = settled(state.resolve("tpm2-00.permall"));
            try (vm) {
                List<String> states = new CopyOnWriteArrayList<>();
                try (AutoCloseable l = vm.control().onEvent((QmpEvent e) -> states.add(e.name()))) {
                    ok(CliProcess.run(tmp, "--socket", vm.qmpSocket().toString(), "backup", "--level", "full",
                            "--tpm-state", state.toString(), "--target", target.toString()));
                }
                assertThat(states).as("paused for the copy, running after").containsSubsequence("STOP", "RESUME");
                assertThat(vm.control().execute("query-status").path("status").asText()).isEqualTo("running");
            }
            Path kept;
            try (Stream<Path> s = Files.list(target.resolve("tpm"))) {
                kept = s.filter(p -> p.getFileName().toString().matches("\\d+")).findFirst().orElseThrow();
            }
            assertThat(AtomicFiles.sha256(kept.resolve("tpm2-00.permall"), false)).isEqualTo(permall);
            assertThat(QemuTools.exec("sh", "-c", "cd '" + kept + "' && sha256sum -c --quiet SHA256SUMS").exit())
                    .isZero();
            assertThat(kept.resolve(".lock")).doesNotExist();
            JsonNode vmJson = Json.MAPPER.readTree(target.resolve("vm.json").toFile());
            assertThat(vmJson.path("tpm").toString()).contains("tpm-tis").contains("emulator");

            Path back = tmp.resolve("restored-tpm");
            ok(CliProcess.runTool(tmp, "qmprestore", "tpm", "--dir", target.toString(), "--to", back.toString()));
            assertThat(AtomicFiles.sha256(back.resolve("tpm2-00.permall"), false)).isEqualTo(permall);
            CliProcess again = CliProcess.runTool(tmp, "qmprestore", "tpm", "--dir", target.toString(), "--to",
                    state.toString());
            assertThat(again.exitCode()).isEqualTo(1);
            assertThat(again.stderr()).contains("never overwrites");
        }
    }

    /** The file's SHA-256 once it has not changed for 2 s (at most 60 s). */
    private static String settled(Path file) throws Exception {
        String last = null;
        long stableSince = System.nanoTime();
        long until = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < until) {
            String now = Files.exists(file) ? AtomicFiles.sha256(file, false) : null;
            if (now == null || !now.equals(last)) {
                last = now;
                stableSince = System.nanoTime();
            } else if (System.nanoTime() - stableSince >= 2_000_000_000L) {
                return now;
            }
            Thread.sleep(200);
        }
        throw new AssertionError(file + " kept changing for 60 s");
    }
}
