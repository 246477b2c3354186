package io.qmpbackup.engine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpbackup.engine.testing.Chains;
import io.qmpbackup.engine.testing.CliProcess;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The packaged tools at a terminal and over a real chain: list prints its points, a TTY gets a progress bar. */
class RestorePointsIT {
    private static final int MIB = 1 << 20;
    private static final String ROW = "\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +";

    @TempDir
    Path tmp;

    private TestVm vm;
    private DiskSpec os;

    @BeforeEach
    void startVm() throws Exception {
        os = new DiskSpec("vda", QemuTools.createQcow2(tmp.resolve("os.qcow2"), "16M"), "qcow2",
                Attach.BLOCKDEV_VIRTIO, "os");
        DiskSpec data = new DiskSpec("vdb", QemuTools.createQcow2(tmp.resolve("data.qcow2"), "16M"), "qcow2",
                Attach.DRIVE_VIRTIO, null);
        QemuTools.write(os.image(), "qcow2", 0, 4 * MIB, 0x61);
        vm = TestVm.start(tmp, List.of(os, data));
    }

    @AfterEach
    void stopVm() {
        vm.close();
    }

    private CliProcess ok(String tool, String... args) throws Exception {
        CliProcess c = CliProcess.runTool(tmp, tool, args);
        assertThat(c.exitCode()).as(c.toString()).isZero();
        return c;
    }

    @Test
    void listPrintsTheRestorePointsOfARealChain() throws Exception {
        Path target = tmp.resolve("b");
        String socket = vm.qmpSocket().toString();
        ok("qmpbackup", "--socket", socket, "backup", "-l", "full", "-t", target.toString(), "--uuid", "testme");
        vm.guestWrite(os, 8 * MIB, 64 * 1024, 0x71);
        ok("qmpbackup", "--socket", socket, "backup", "-l", "inc", "-t", target.toString());
        List<Path> osChain = Chains.currentChain(target, "os.qcow2");
        List<Path> dataChain = Chains.currentChain(target, "data.qcow2");

        List<String> all = ok("qmpbackup", "list", "--target", target.toString()).stdout().lines().toList();
        assertThat(all.get(0)).matches("TIME +LEVEL +SIZE +CHAIN +DISK +FILE");
        assertThat(all.subList(1, all.size())).hasSize(4)
                .anySatisfy(l -> assertThat(l).matches(ROW + "full +[0-9.]+ [KM]iB +testme +os\\.qcow2 +os\\.qcow2/"
                        + osChain.get(0).getFileName()))
                .anySatisfy(l -> assertThat(l).matches(ROW + "inc +[0-9.]+ [KM]iB +testme +os\\.qcow2 +os\\.qcow2/"
                        + osChain.get(1).getFileName()))
                .anySatisfy(l -> assertThat(l).matches(ROW + "full +.* data\\.qcow2/" + dataChain.get(0).getFileName()))
                .anySatisfy(l -> assertThat(l).matches(ROW + "inc +.* data\\.qcow2/" + dataChain.get(1).getFileName()));
        // the fulls were taken before the incrementals: oldest first
        assertThat(all.get(1)).contains(" full ");
        assertThat(all.get(4)).contains(" inc ");

        Path osDir = target.resolve("os.qcow2");
        List<String> folder = ok("qmprestore", "list", "--dir", osDir.toString()).stdout().lines().toList();
        assertThat(folder).hasSize(3);
        assertThat(folder.get(1)).matches(ROW + "full +.* testme +os\\.qcow2 +" + osChain.get(0).getFileName());
        assertThat(folder.get(2)).matches(ROW + "inc +.* testme +os\\.qcow2 +" + osChain.get(1).getFileName());
        long fullSize = Files.size(osChain.get(0));
        assertThat(folder.get(1)).contains(Sizes.format(fullSize));
        // FILE is what --until takes
        String until = osChain.get(0).getFileName().toString();
        assertThat(ok("qmprestore", "merge", "--dir", osDir.toString(), "--until", until, "--targetfile",
                tmp.resolve("m.qcow2").toString(), "--dry-run").stdout()).contains(until)
                .doesNotContain(osChain.get(1).getFileName().toString());

        // the target is not a disk's folder: one line says which folder to give
        CliProcess wrong = CliProcess.runTool(tmp, "qmprestore", "list", "--dir", target.toString());
        assertThat(wrong.exitCode()).isEqualTo(1);
        assertThat(wrong.stderr().strip().lines()).singleElement().asString().contains("pass the folder of one disk");
    }

    @Test
    void aTerminalGetsABarAPipeGetsLines() throws Exception {
        Path target = tmp.resolve("tty");
        List<String> cmd = List.of(CliProcess.script().toString(), "--socket", vm.qmpSocket().toString(), "backup",
                "-l", "copy", "-t", target.toString(), "--include", "os", "--speed-limit", "6M",
                "--progress-interval", "1");
        String tty = underPty(cmd);
        assertThat(tty).contains("backup complete").contains("ETA").doesNotContain("INFO progress:");
        List<String> draws = new ArrayList<>(List.of(tty.split("\r(?!\n)")));
        assertThat(draws.size()).as(tty).isGreaterThan(3);
        assertThat(tty).containsPattern("\r100% \\[#{24}\\] 16\\.0 MiB / 16\\.0 MiB  [0-9.]+ MiB/s  ETA 0:00");

        CliProcess pipe = ok("qmpbackup", "--socket", vm.qmpSocket().toString(), "backup", "-l", "copy", "-t",
                tmp.resolve("pipe").toString(), "--include", "os", "--speed-limit", "6M", "--progress-interval", "1");
        assertThat(pipe.stdout()).doesNotContain("\r").doesNotContain("ETA").contains("INFO progress:");
    }

    /** Runs {@code cmd} on a pseudo terminal (util-linux script), so its stdin and stdout are a TTY. */
    private String underPty(List<String> cmd) throws Exception {
        StringBuilder line = new StringBuilder();
        for (String a : cmd) {
            line.append(" '").append(a).append("'");
        }
        Path out = tmp.resolve("tty.out");
        Process p = new ProcessBuilder("script", "-q", "-e", "-c", line.toString().strip(), "/dev/null")
                .redirectOutput(out.toFile()).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.PIPE)
                .start();
        assertThat(p.waitFor(2, TimeUnit.MINUTES)).isTrue();
        String text = Files.readString(out, StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(text).isZero();
        return text;
    }
}
