package io.qmpbackup.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.qmpbackup.api.v1alpha1.BackupLevel;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.RestoreExport;
import io.qmpbackup.api.v1alpha1.RestoreMode;
import io.qmpbackup.api.v1alpha1.RestoreSource;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMRestore;
import io.qmpbackup.api.v1alpha1.VMRestoreSpec;
import io.qmpbackup.api.v1alpha1.VMRestoreStatus;
import io.qmpbackup.engine.repository.AtomicFiles;
import io.qmpbackup.engine.repository.Holds;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * VMRestore modes instant and export end to end: both packaged jars, chart values, the
 * in-process API server, a real QEMU. The chain is FULL + INC of a live VM; the point's bytes are
 * a copy of the disk taken right after the INC.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LiveRestoreE2EIT {
    private static final String NS = "vms";
    private static final int MIB = 1 << 20;

    private Path base;
    private Path area;
    private Path exports;
    private Path expected;
    private Path chainFolder;
    private Deployment deployment;
    private KubernetesClient client;
    private Map<String, String> agentEnv;
    private TestVm vm;
    private Map<String, String> sums;

    @BeforeAll
    void deployAndBackUp() throws Exception {
        base = Files.createTempDirectory(Path.of("/tmp"), "live-e2e");
        Path vmDir = Files.createDirectories(base.resolve("vm"));
        Path storage = Files.createDirectories(base.resolve("storage"));
        area = storage.resolve(NS);
        exports = base.resolve("exports");
        Path img = QemuTools.createQcow2(vmDir.resolve("web1.qcow2"), "32M");
        QemuTools.write(img, "qcow2", 0, 8 * MIB, 0x31);
        DiskSpec disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        vm = TestVm.start(vmDir, List.of(disk));
        deployment = new Deployment(base.resolve("logs"));
        client = deployment.client();
        deployment.node("node-a");
        Path values = Files.writeString(base.resolve("values.yaml"), String.join("\n",
                "operator: {noAgentTimeout: 20s, leaderElection: false, agentLostTimeout: 0s}",
                "agent:",
                "  discovery: {interval: 0s}",
                "  socketDirs: [" + vmDir + "]",
                "  exports: {dir: " + exports + "}",
                "  storage: [{name: default, hostPath: " + storage + "}]", ""));
        ChartEnv chart = ChartEnv.render(client, values, "node-a", NS);
        deployment.startOperator(chart.operator);
        agentEnv = new HashMap<>(chart.agent);
        agentEnv.put("QMPBACKUP_LOCK_DIR", base.resolve("locks").toString());
        deployment.startAgent("agent", agentEnv);

        assertSucceeded(Runs.run(client, Runs.bySocket(NS, "full", vm.qmpSocket(), BackupLevel.FULL, "web1")));
        vm.guestWrite(disk, 20L * MIB, 2 * MIB, 0x32);
        assertSucceeded(Runs.run(client, Runs.bySocket(NS, "inc", vm.qmpSocket(), BackupLevel.INC, "web1")));
        vm.flush(disk);
        expected = base.resolve("expected.qcow2");
        QemuTools.run("qemu-img", "convert", "-U", "-O", "qcow2", img.toString(), expected.toString());
        chainFolder = area.resolve("web1");
        sums = checksums(chainFolder.resolve("web1.qcow2"));
    }

    @AfterAll
    void tearDown() {
        if (deployment != null) {
            deployment.close();
        }
        if (vm != null) {
            vm.close();
        }
    }

    @Test
    @Order(1)
    void instantMakesAnOverlayOnThePointWithAHold() throws Exception {
        Path overlay = area.resolve("restored/web1-live.qcow2");
        VMRestoreStatus s = run("instant", RestoreMode.INSTANT, r -> r.targetFile = overlay.toString());
        assertThat(s.phase).as(s.message).isEqualTo(Phase.SUCCEEDED);
        assertThat(s.reason).isEqualTo("OverlayReady");
        assertThat(s.outputFile).isEqualTo(overlay.toString());
        assertThat(s.hold).isNotNull();
        assertThat(Path.of(s.hold)).exists();
        assertThat(s.message).contains("stream");
        QemuTools.Result cmp = QemuTools.compare(expected, "qcow2", overlay, "qcow2");
        assertThat(cmp.exit()).as(cmp.out()).isZero();
        assertThat(checksums(chainFolder.resolve("web1.qcow2"))).isEqualTo(sums);
        assertThat(Holds.read(chainFolder)).filteredOn(Holds.Hold::active).hasSize(1);
    }

    @Test
    @Order(2)
    void badInstantRequestsFailWithAReasonAndLeaveNothing() throws Exception {
        int holds = Holds.read(chainFolder).size();
        Path fresh = area.resolve("restored/other.qcow2");
        VMRestoreStatus unknown = run("unknown-point", RestoreMode.INSTANT, r -> {
            r.targetFile = fresh.toString();
            r.until = "INC-1";
        });
        assertThat(unknown.phase).isEqualTo(Phase.FAILED);
        assertThat(unknown.reason).isEqualTo("RestoreFailed");
        assertThat(unknown.message).contains("names no backup");
        VMRestoreStatus exists = run("target-exists", RestoreMode.INSTANT,
                r -> r.targetFile = area.resolve("restored/web1-live.qcow2").toString());
        assertThat(exists.reason).as(exists.message).isEqualTo("TargetExists");
        assertThat(fresh).doesNotExist();
        assertThat(Path.of(fresh + ".partial")).doesNotExist();
        assertThat(Holds.read(chainFolder)).hasSize(holds);
    }

    @Test
    @Order(3)
    void exportServesThePointUntilTheRestoreIsDeleted() throws Exception {
        VMRestoreStatus s = startExport("export", x -> x.ttl = "10m");
        String uri = s.exportUri;
        assertThat(uri).isEqualTo("nbd+unix:///web1.qcow2?socket=" + exports.resolve(NS).resolve("export.sock"));
        assertThat(s.expiresAt).isNotNull();
        QemuTools.Result cmp = QemuTools.exec("qemu-img", "compare", "-f", "qcow2", "-F", "raw", expected.toString(),
                uri);
        assertThat(cmp.exit()).as(cmp.out()).isZero();
        assertThat(QemuTools.exec("qemu-io", "-f", "raw", "-c", "write 0 4096", uri).exit()).as("writes refused")
                .isNotZero();
        long daemon = exportHold().pid();

        client.resources(VMRestore.class).inNamespace(NS).withName("export").delete();
        await().atMost(Duration.ofSeconds(30)).until(() -> !alive(daemon));
        await().atMost(Duration.ofSeconds(10)).until(() -> !Files.exists(exports.resolve(NS).resolve("export.sock")));
        assertThat(checksums(chainFolder.resolve("web1.qcow2"))).isEqualTo(sums);
    }

    @Test
    @Order(4)
    void exportEndsAtItsTtl() throws Exception {
        VMRestoreStatus s = startExport("short", x -> x.ttl = "3s");
        long daemon = exportHold().pid();
        VMRestoreStatus end = awaitEnd("short");
        assertThat(end.phase).as(end.message).isEqualTo(Phase.SUCCEEDED);
        assertThat(end.reason).isEqualTo("ExportEnded");
        assertThat(alive(daemon)).isFalse();
        assertThat(Path.of(s.exportUri.substring(s.exportUri.indexOf("socket=") + 7))).doesNotExist();
    }

    @Test
    @Order(5)
    void exportsListenOnlyWhereTheAdminAllows() {
        VMRestoreStatus elsewhere = run("elsewhere", RestoreMode.EXPORT, r -> {
            r.export = new RestoreExport();
            r.export.socket = base.resolve("elsewhere.sock").toString();
        });
        assertThat(elsewhere.reason).as(elsewhere.message).isEqualTo("ExportNotPermitted");
        assertThat(elsewhere.message).contains(exports.resolve(NS).toString());
        VMRestoreStatus tcp = run("tcp", RestoreMode.EXPORT, r -> {
            r.export = new RestoreExport();
            r.export.port = 10809;
        });
        assertThat(tcp.reason).as(tcp.message).isEqualTo("ExportNotPermitted");
        assertThat(tcp.message).contains("agent.exports.tcp.enabled");
        assertThat(base.resolve("elsewhere.sock")).doesNotExist();
    }

    @Test
    @Order(6)
    void anAgentRestartEndsTheExportAndSaysSo() throws Exception {
        startExport("restart", x -> x.ttl = "10m");
        long daemon = exportHold().pid();
        deployment.agentProcess().destroyForcibly().waitFor();
        await().atMost(Duration.ofSeconds(15)).until(() -> !alive(daemon));
        deployment.startAgent("agent-2", agentEnv);
        VMRestoreStatus s = awaitEnd("restart");
        assertThat(s.phase).isEqualTo(Phase.FAILED);
        assertThat(s.reason).isEqualTo("AgentRestarted");
        assertThat(s.message).contains("export ended");
        assertThat(Holds.read(chainFolder)).filteredOn(h -> h.kind() == Holds.Kind.EXPORT)
                .allSatisfy(h -> assertThat(h.active()).isFalse());
    }

    // ---------------------------------------------------------------- helpers

    private VMRestoreStatus startExport(String name, Consumer<RestoreExport> export) {
        create(name, RestoreMode.EXPORT, r -> {
            r.export = new RestoreExport();
            export.accept(r.export);
        });
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> {
            VMRestoreStatus s = status(name);
            return s != null && (s.exportUri != null || (s.phase != null && s.phase.terminal()));
        });
        VMRestoreStatus s = status(name);
        assertThat(s.reason).as(s.message).isEqualTo("Exporting");
        assertThat(s.phase).isEqualTo(Phase.RUNNING);
        return s;
    }

    private Holds.Hold exportHold() throws Exception {
        return Holds.read(chainFolder).stream().filter(h -> h.kind() == Holds.Kind.EXPORT && h.active())
                .findFirst().orElseThrow();
    }

    private static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    private VMRestoreStatus run(String name, RestoreMode mode, Consumer<VMRestoreSpec> spec) {
        create(name, mode, spec);
        return awaitEnd(name);
    }

    private void create(String name, RestoreMode mode, Consumer<VMRestoreSpec> more) {
        VMRestore r = new VMRestore();
        r.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
        VMRestoreSpec spec = new VMRestoreSpec();
        spec.source = new RestoreSource();
        spec.source.backup = "inc";
        spec.mode = mode;
        more.accept(spec);
        r.setSpec(spec);
        client.resource(r).create();
    }

    private VMRestoreStatus awaitEnd(String name) {
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(() -> {
            VMRestoreStatus s = status(name);
            return s != null && s.phase != null && s.phase.terminal();
        });
        return status(name);
    }

    private VMRestoreStatus status(String name) {
        VMRestore r = client.resources(VMRestore.class).inNamespace(NS).withName(name).get();
        return r == null ? null : r.getStatus();
    }

    private static void assertSucceeded(VMBackup b) {
        assertThat(b.getStatus().phase).as(b.getStatus().message).isEqualTo(Phase.SUCCEEDED);
    }

    private static Map<String, String> checksums(Path dir) throws Exception {
        return io.qmpbackup.engine.testing.Chains.sha256s(dir);
    }
}
