package io.qmpbackup.engine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpbackup.engine.qmp.Json;
import io.qmpbackup.engine.testing.Chains;
import io.qmpbackup.engine.testing.CliProcess;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The packaged {@code bin/qmpbackup} with qmpbackup 0.67's flags, against a real QEMU. */
class QmpBackupCliIT {
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    private TestVm vm;
    private DiskSpec os;
    private DiskSpec data;

    @BeforeEach
    void startVm() throws Exception {
        os = new DiskSpec("vda", QemuTools.createQcow2(tmp.resolve("os.qcow2"), "16M"), "qcow2",
                Attach.BLOCKDEV_VIRTIO, "os");
        data = new DiskSpec("vdb", QemuTools.createQcow2(tmp.resolve("data.qcow2"), "16M"), "qcow2",
                Attach.DRIVE_VIRTIO, null);
        QemuTools.write(os.image(), "qcow2", 0, 4 * MIB, 0x61);
        QemuTools.write(data.image(), "qcow2", 0, 4 * MIB, 0x62);
        vm = TestVm.start(tmp, List.of(os, data));
    }

    @AfterEach
    void stopVm() {
        vm.close();
    }

    private CliProcess cli(String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of("--socket", vm.qmpSocket().toString()));
        all.addAll(List.of(args));
        return CliProcess.run(tmp, all.toArray(String[]::new));
    }

    private CliProcess ok(String... args) throws Exception {
        CliProcess c = cli(args);
        assertThat(c.exitCode()).as(c.toString()).isZero();
        return c;
    }

    @Test
    void infoListsDisksAndBitmaps() throws Exception {
        JsonNode disks = Json.MAPPER.readTree(ok("info", "--show", "blockdev").stdout());
        assertThat(disks).hasSize(2);
        assertThat(byName(disks, "os").path("filename").asText()).isEqualTo(os.image().toString());
        assertThat(byName(disks, "drive-vdb").path("node").asText()).startsWith("#block");
        assertThat(byName(disks, "os").path("backup").asText()).isEqualTo("full/inc/copy");
        ok("backup", "--level", "full", "--target", tmp.resolve("b").toString(), "--uuid", "testme");
        JsonNode bitmaps = Json.MAPPER.readTree(ok("info", "--show", "bitmaps").stdout());
        assertThat(byName(bitmaps, "os").path("bitmaps").get(0).path("name").asText()).isEqualTo("qmpbackup-testme");
        assertThat(byName(bitmaps, "drive-vdb").path("bitmaps").get(0).path("persistent").asBoolean()).isTrue();
    }

    @Test
    void fullIncAndCleanupWithUuid() throws Exception {
        Path target = tmp.resolve("b");
        Path logfile = tmp.resolve("logs/qmpbackup.log");
        CliProcess full = ok("-L", logfile.toString(), "backup", "-l", "full", "-t", target.toString(),
                "--uuid", "testme");
        assertThat(full.stdout()).contains("backup complete");
        assertThat(Files.readString(logfile)).contains("backup complete");
        assertThat(Files.readString(target.resolve("uuid"))).isEqualTo("testme");
        vm.guestWrite(os, 8 * MIB, 64 * 1024, 0x71);
        ok("backup", "--level", "inc", "--target", target.toString());
        assertThat(Chains.currentChain(target, "os.qcow2")).hasSize(2);
        assertThat(Chains.currentChain(target, "data.qcow2")).hasSize(2);
        vm.flush(os);
        Path rebuilt = QemuTools.reconstruct(Chains.currentChain(target, "os.qcow2"), tmp.resolve("rb"),
                tmp.resolve("r.qcow2"));
        assertThat(QemuTools.compare(os.image(), "qcow2", rebuilt, "qcow2").exit()).isZero();
        // a second chain in another target beside the first
        ok("backup", "--level", "full", "--target", tmp.resolve("b2").toString(), "--uuid", "other");
        assertThat(Chains.bitmaps(vm.control(), "os")).containsExactlyInAnyOrder("qmpbackup-testme",
                "qmpbackup-other");
        ok("cleanup", "--remove-bitmap", "--uuid", "testme");
        assertThat(Chains.bitmaps(vm.control(), "os")).containsExactly("qmpbackup-other");
        ok("cleanup", "--remove-bitmaps");
        assertThat(Chains.bitmaps(vm.control(), "os")).isEmpty();
        CliProcess inc = cli("backup", "--level", "inc", "--target", target.toString());
        assertThat(inc.exitCode()).isEqualTo(1);
        assertThat(inc.stderr().strip().lines()).singleElement().asString()
                .startsWith("qmpbackup: error: VM testvm-").contains(".qcow2]").contains("is missing")
                .contains("run --level full");
    }

    @Test
    void relativeTargetAndFleeceFolderAreTheCallersNotQemus() throws Exception {
        // QEMU runs in another working folder: a relative --target once reached it as given and failed
        Files.createDirectories(tmp.resolve("rel/fleece"));
        CliProcess full = CliProcess.runIn(tmp, "qmpbackup", "--socket", vm.qmpSocket().toString(), "backup",
                "--level", "full", "--target", "rel/b", "--fleece-dir", "rel/fleece");
        assertThat(full.exitCode()).as(full.toString()).isZero();
        vm.guestWrite(os, 8 * MIB, 64 * 1024, 0x72);
        CliProcess inc = CliProcess.runIn(tmp.resolve("rel"), "qmpbackup", "--socket", vm.qmpSocket().toString(),
                "backup", "--level", "inc", "--target", "b");
        assertThat(inc.exitCode()).as(inc.toString()).isZero();
        vm.flush(os);
        List<Path> chain = Chains.currentChain(tmp.resolve("rel/b"), "os.qcow2");
        assertThat(chain).hasSize(2);
        Path rebuilt = QemuTools.reconstruct(chain, tmp.resolve("rb"), tmp.resolve("r.qcow2"));
        assertThat(QemuTools.compare(os.image(), "qcow2", rebuilt, "qcow2").exit()).isZero();
        try (Stream<Path> left = Files.list(tmp.resolve("rel/fleece"))) {
            assertThat(left).isEmpty();
        }
    }

    @Test
    void layoutFlags() throws Exception {
        Path flat = tmp.resolve("flat");
        ok("backup", "--level", "full", "--target", flat.toString(), "--no-subdir", "--include", "os");
        ok("backup", "--level", "inc", "--target", flat.toString(), "--no-subdir", "--include", "os");
        assertThat(names(flat)).anyMatch(n -> n.matches("FULL-\\d+-os\\.qcow2"))
                .anyMatch(n -> n.matches("INC-\\d+-os\\.qcow2")).contains("uuid", "os.qcow2.config",
                        "os.qcow2.chain.json").doesNotContain("data.qcow2.chain.json");

        Path plain = tmp.resolve("plain");
        ok("backup", "--level", "full", "--target", plain.toString(), "--no-timestamp", "--exclude", "drive-vdb");
        assertThat(names(plain.resolve("os.qcow2"))).containsExactlyInAnyOrder("os.qcow2", "FULL-os.qcow2",
                "SHA256CHUNKS-os.qcow2.config");
        assertThat(Files.isSymbolicLink(plain.resolve("os.qcow2/FULL-os.qcow2"))).isTrue();
        assertThat(plain.resolve("data.qcow2")).doesNotExist();
        Path nolink = tmp.resolve("nolink");
        ok("backup", "--level", "copy", "--target", nolink.toString(), "--no-timestamp", "--no-symlink");
        assertThat(names(nolink.resolve("os.qcow2"))).containsExactlyInAnyOrder("os.qcow2",
                "SHA256CHUNKS-os.qcow2.config");

        Path monthly = tmp.resolve("monthly");
        ok("backup", "--level", "auto", "--target", monthly.toString(), "--monthly");
        ok("backup", "--level", "auto", "--target", monthly.toString(), "--monthly");
        Path month = monthly.resolve(YearMonth.now().toString());
        assertThat(names(month.resolve("os.qcow2"))).anyMatch(n -> n.startsWith("FULL-"))
                .anyMatch(n -> n.startsWith("INC-"));

        CliProcess both = cli("backup", "--level", "full", "--target", tmp.resolve("x").toString(), "--include", "os",
                "--exclude", "drive-vdb");
        assertThat(both.exitCode()).isEqualTo(1);
        assertThat(both.stderr()).contains("--include and --exclude were both given");
        CliProcess unknown = cli("backup", "--level", "full", "--target", tmp.resolve("x").toString(), "--include",
                "nosuch");
        assertThat(unknown.stderr()).contains("no disk named 'nosuch'").contains("os");
    }

    @Test
    void compressAndSpeedLimit() throws Exception {
        ok("backup", "--level", "copy", "--target", tmp.resolve("raw").toString(), "--include", "os");
        ok("backup", "--level", "copy", "--target", tmp.resolve("zip").toString(), "--include", "os", "--compress");
        long plain = size(tmp.resolve("raw/os.qcow2"));
        long zipped = size(tmp.resolve("zip/os.qcow2"));
        assertThat(zipped).as("compressed %d vs %d", zipped, plain).isLessThan(plain / 4);
        Path zippedFile = only(tmp.resolve("zip/os.qcow2"));
        assertThat(QemuTools.readsPattern(zippedFile, "qcow2", 0, 4 * MIB, 0x61)).isTrue();

        long start = System.nanoTime();
        ok("backup", "--level", "copy", "--target", tmp.resolve("slow").toString(), "--include", "os",
                "--speed-limit", "8M");
        // 16 MiB at 8 MiB/s: at least ~1.5 s, whatever the machine
        assertThat((System.nanoTime() - start) / 1_000_000).isGreaterThan(1500);
    }

    @Test
    void clearErrors() throws Exception {
        CliProcess noVm = CliProcess.run(tmp, "--socket", tmp.resolve("nosuch.sock").toString(), "info", "--show",
                "blockdev");
        assertThat(noVm.exitCode()).isEqualTo(1);
        assertThat(noVm.stderr().strip().lines()).singleElement().asString().contains("nosuch.sock")
                .contains("is the VM running");
        CliProcess noChain = cli("backup", "--level", "inc", "--target", tmp.resolve("empty").toString());
        assertThat(noChain.exitCode()).isEqualTo(1);
        assertThat(noChain.stderr()).contains("no chain").contains("--level full");
        CliProcess noTarget = cli("backup", "--level", "full");
        assertThat(noTarget.exitCode()).isEqualTo(2);
        assertThat(noTarget.stderr().strip().lines()).singleElement().asString().contains("--target");
        CliProcess badLevel = cli("backup", "--level", "weekly", "--target", tmp.resolve("e").toString());
        assertThat(badLevel.exitCode()).isEqualTo(2);
        assertThat(badLevel.stderr()).contains("'weekly' is not one of full, inc, auto, copy");
    }

    private static JsonNode byName(JsonNode disks, String name) {
        for (JsonNode d : disks) {
            if (d.path("name").asText().equals(name)) {
                return d;
            }
        }
        throw new AssertionError("no disk " + name + " in " + disks);
    }

    private static long size(Path dir) throws Exception {
        return Files.size(only(dir));
    }

    private static Path only(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith("COPY-")).findFirst().orElseThrow();
        }
    }

    private static List<String> names(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).toList();
        }
    }
}
