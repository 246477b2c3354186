package io.qmpbackup.engine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpbackup.engine.qmp.Json;
import io.qmpbackup.engine.qmp.QmpClient;
import io.qmpbackup.engine.testing.CliProcess;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * vm.json round trip: a backup records what the VM was; after the disks are restored,
 * {@code qmprestore vm} prints a command line that starts a QEMU with the same name, UUID,
 * machine, memory and disks on their restored images.
 */
class VmDescriptionIT {
    private static final String UUID = "5c3b1a6e-8f0d-4a52-9d1e-2b7c4e9f0a11";

    @TempDir
    Path tmp;

    private static CliProcess ok(CliProcess c) {
        assertThat(c.exitCode()).as(c.toString()).isZero();
        return c;
    }

    @Test
    void theSkeletonStartsTheMachineOnTheRestoredDisks() throws Exception {
        Path vmDir = Files.createDirectories(tmp.resolve("vm"));
        DiskSpec os = new DiskSpec("vda", QemuTools.createQcow2(vmDir.resolve("os.qcow2"), "16M"), "qcow2",
                Attach.BLOCKDEV_VIRTIO, "os");
        DiskSpec data = new DiskSpec("vdb", QemuTools.createQcow2(vmDir.resolve("data.qcow2"), "16M"), "qcow2",
                Attach.DRIVE_VIRTIO, null);
        QemuTools.write(os.image(), "qcow2", 0, 1 << 20, 0x61);
        QemuTools.write(data.image(), "qcow2", 0, 1 << 20, 0x62);
        Path target = tmp.resolve("backup");
        String name;
        TestVm vm = new TestVm(vmDir, List.of(os, data), true, List.of("-uuid", UUID));
        vm.start();
        try (vm) {
            name = vm.control().execute("query-name").path("name").asText();
            ok(CliProcess.run(tmp, "--socket", vm.qmpSocket().toString(), "backup", "--level", "full", "--target",
                    target.toString()));
        }
        JsonNode d = Json.MAPPER.readTree(target.resolve("vm.json").toFile());
        assertThat(d.path("name").asText()).isEqualTo(name);
        assertThat(d.path("uuid").asText()).isEqualTo(UUID);
        assertThat(d.path("machine").asText()).startsWith("pc-q35-");
        assertThat(d.path("memory").asLong()).isEqualTo(64L << 20);
        assertThat(d.path("disks")).hasSize(2);

        Path restored = Files.createDirectories(tmp.resolve("restored"));
        for (String image : List.of("os.qcow2", "data.qcow2")) {
            ok(CliProcess.runTool(tmp, "qmprestore", "merge", "--dir", target.resolve(image).toString(),
                    "--targetfile", restored.resolve(image).toString()));
        }
        String skeleton = ok(CliProcess.runTool(tmp, "qmprestore", "vm", "--dir", target.toString())).stdout()
                .replace("/path/to/restored/", restored + "/");
        List<String> cmd = new ArrayList<>();
        for (String line : skeleton.split(" \\\\\\n\\s*")) {
            cmd.addAll(Arrays.asList(line.trim().split(" ")));
        }
        Path sock = tmp.resolve("again.qmp");
        cmd.addAll(List.of("-accel", "tcg", "-display", "none", "-nodefaults", "-S", "-qmp",
                "unix:" + sock + ",server=on,wait=off"));
        Process again = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("again.log").toFile()).start();
        try {
            for (int i = 0; i < 200 && !Files.exists(sock) && again.isAlive(); i++) {
                Thread.sleep(50);
            }
            assertThat(again.isAlive()).as(String.join(" ", cmd) + "\n" + Files.readString(tmp.resolve("again.log")))
                    .isTrue();
            try (QmpClient q = QmpClient.connect(sock, Duration.ofSeconds(10))) {
                assertThat(q.execute("query-name").path("name").asText()).isEqualTo(name);
                assertThat(q.execute("query-uuid").path("UUID").asText()).isEqualTo(UUID);
                List<String> files = new ArrayList<>();
                for (JsonNode b : q.execute("query-block")) {
                    files.add(b.path("inserted").path("image").path("filename").asText());
                }
                assertThat(files).containsExactlyInAnyOrder(restored.resolve("os.qcow2").toString(),
                        restored.resolve("data.qcow2").toString());
            }
        } finally {
            again.destroy();
            again.waitFor(10, TimeUnit.SECONDS);
        }
    }
}
