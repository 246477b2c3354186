package io.qmpbackup.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.qmpbackup.api.v1alpha1.BackupLevel;
import io.qmpbackup.api.v1alpha1.BackupTemplate;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.QemuVM;
import io.qmpbackup.api.v1alpha1.QemuVMSpec;
import io.qmpbackup.api.v1alpha1.StorageRef;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSchedule;
import io.qmpbackup.api.v1alpha1.VMBackupScheduleSpec;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * bin/kubectl-qmpbackup as a user runs it, against the in-process API server with both packaged
 * jars and a real QEMU behind a hand-made QemuVM. The plugin finds the server the way it finds a
 * real cluster: a kubeconfig file (KUBECONFIG) whose current context names the server and the
 * namespace; no flag tells it more.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KubectlPluginE2EIT {
    private static final String NS = "vms";
    private static final int MIB = 1 << 20;

    record Run(int exit, String out, String err) {
    }

    private Path base;
    private Path area;
    private Path kubeconfig;
    private Deployment deployment;
    private KubernetesClient client;
    private TestVm vm;
    private DiskSpec disk;

    @BeforeAll
    void deploy() throws Exception {
        base = Files.createTempDirectory(Path.of("/tmp"), "kubectl-e2e");
        Path vmDir = Files.createDirectories(base.resolve("vm"));
        Path storage = Files.createDirectories(base.resolve("storage"));
        area = storage.resolve(NS);
        Path img = QemuTools.createQcow2(vmDir.resolve("web1.qcow2"), "32M");
        QemuTools.write(img, "qcow2", 0, 24L * MIB, 0x31);
        disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        vm = TestVm.start(vmDir, List.of(disk));
        deployment = new Deployment(base.resolve("logs"));
        client = deployment.client();
        deployment.node("node-a");
        Path values = Files.writeString(base.resolve("values.yaml"), String.join("\n",
                "operator: {noAgentTimeout: 20s, leaderElection: false, agentLostTimeout: 0s}",
                "agent:",
                "  discovery: {interval: 0s}",
                "  socketDirs: [" + vmDir + "]",
                "  exports: {dir: " + base.resolve("exports") + "}",
                "  storage: [{name: default, hostPath: " + storage + "}]", ""));
        ChartEnv chart = ChartEnv.render(client, values, "node-a", NS);
        deployment.startOperator(chart.operator);
        Map<String, String> agentEnv = new HashMap<>(chart.agent);
        agentEnv.put("QMPBACKUP_LOCK_DIR", base.resolve("locks").toString());
        // progress every 300 ms instead of 2 s, so a backup of a few seconds shows several steps
        agentEnv.put("QMPBACKUP_AGENT_PROGRESS_INTERVAL", "300ms");
        deployment.startAgent("agent", agentEnv);
        qemuVm("web1", vm.qmpSocket());
        qemuVm("broken", vmDir.resolve("broken.qmp"));
        kubeconfig = kubeconfig("kubeconfig", "test");
    }

    /** A kubeconfig with contexts test (namespace vms) and elsewhere (namespace default), {@code current} chosen. */
    private Path kubeconfig(String file, String current) throws IOException {
        return Files.writeString(base.resolve(file), String.join("\n",
                "apiVersion: v1", "kind: Config", "current-context: " + current,
                "clusters: [{name: test, cluster: {server: '" + deployment.apiServerUrl() + "'}}]",
                "users: [{name: test, user: {token: test}}]",
                "contexts: [{name: test, context: {cluster: test, user: test, namespace: " + NS + "}},",
                "  {name: elsewhere, context: {cluster: test, user: test, namespace: default}}]", ""));
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
    void backupWaitShowsProgressAndExitsZero() throws Exception {
        // 24 MiB at 4 MiB/s: several seconds of progress
        Run r = plugin("backup", "web1", "--level", "full", "--storage", "default/web1", "--speed-limit", "4M",
                "--name", "web1-full", "--wait");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines.get(0)).isEqualTo("vmbackup.qmpbackup.io/web1-full created");
        assertThat(lines).as(r.out()).anyMatch(l -> l.matches("web1-full  Running  [0-9]{1,2}%  .* of 32\\.0 MiB.*"));
        assertThat(lines).as("rate and ETA").anyMatch(l -> l.matches("web1-full  Running  .* [0-9.]+ [KM]iB/s  ETA .*"));
        assertThat(lines.get(lines.size() - 1)).startsWith("VMBackup web1-full Succeeded");
        assertThat(phase("web1-full")).isEqualTo(Phase.SUCCEEDED);
    }

    @Test
    @Order(2)
    void aFailingBackupExitsOneWithItsMessage() throws Exception {
        Run r = plugin("backup", "broken", "--storage", "default/broken", "--name", "broken-1", "--wait");
        assertThat(r.exit()).as(r.out() + r.err()).isEqualTo(1);
        VMBackup b = client.resources(VMBackup.class).inNamespace(NS).withName("broken-1").get();
        assertThat(b.getStatus().phase).isEqualTo(Phase.FAILED);
        assertThat(r.out()).contains("VMBackup broken-1 Failed (" + b.getStatus().reason + "): " + b.getStatus().message);
        Run missing = plugin("backup", "ghost", "--wait");
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err()).contains("QemuVM vms/ghost not found");
    }

    @Test
    @Order(3)
    void pointsListTheVmsRunsNewestLast() throws Exception {
        vm.guestWrite(disk, 26L * MIB, 4 * MIB, 0x32);
        // on a terminal (script(1) gives it one): the bar, redrawn in place with \r
        Run inc = onTerminal("backup", "web1", "--level", "inc", "--storage", "default/web1", "--name", "web1-inc",
                "--speed-limit", "1M", "--wait");
        assertThat(inc.exit()).as(inc.out() + inc.err()).isZero();
        assertThat(inc.out()).contains("\rweb1-inc  [#", "] ", "% ", " of ", "VMBackup web1-inc Succeeded");
        Run r = plugin("points", "web1");
        assertThat(r.exit()).as(r.err()).isZero();
        List<String[]> rows = r.out().lines().map(l -> l.split(" {3,}")).toList();
        assertThat(rows.get(0)).containsExactly("NAME", "TIME", "LEVEL", "PHASE", "CHAIN", "NODE");
        assertThat(rows).hasSize(3);
        assertThat(rows.get(1)).startsWith("web1-full").contains("full", "Succeeded", "node-a");
        assertThat(rows.get(2)).startsWith("web1-inc").contains("inc", "Succeeded", "node-a");
        String chain = client.resources(VMBackup.class).inNamespace(NS).withName("web1-inc").get().getStatus().chainId;
        assertThat(rows.get(2)[4]).startsWith(chain.substring(0, 8));
        assertThat(rows.get(1)[4]).isEqualTo(rows.get(2)[4]);
        assertThat(plugin("points", "nothing").out()).contains("No VMBackups of nothing in namespace vms.");
        // -n overrides the kubeconfig context's namespace, after the subcommand as with kubectl
        assertThat(plugin("points", "web1", "-n", "default").out()).contains("No VMBackups of web1 in namespace default.");
        // --context and --kubeconfig choose as kubectl's do
        assertThat(plugin("--context", "elsewhere", "points", "web1").out())
                .contains("No VMBackups of web1 in namespace default.");
        Path other = kubeconfig("kubeconfig-elsewhere", "elsewhere");
        assertThat(plugin("points", "web1", "--kubeconfig", other.toString()).out())
                .contains("No VMBackups of web1 in namespace default.");
        assertThat(plugin("points", "web1", "--kubeconfig", other.toString(), "--context", "test").out())
                .contains("web1-inc");
    }

    @Test
    @Order(4)
    void describeShowsStatusConditionsAndEvents() throws Exception {
        Run r = plugin("describe", "web1-full");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("Name:       web1-full\n", "Kind:       VMBackup\n", "Phase:      Succeeded\n",
                "Node:       node-a\n", "Ran:        full\n");
        assertThat(r.out()).containsSubsequence("Conditions:\n", "Complete", "True", "Events:\n", "Normal",
                "Started", "qmpbackup-operator");
        Run failed = plugin("describe", "broken-1");
        assertThat(failed.out()).contains("Phase:      Failed\n").containsSubsequence("Events:\n", "Warning");
        Run none = plugin("describe", "vmrestore/web1-full");
        assertThat(none.exit()).isEqualTo(1);
        assertThat(none.err()).contains("no VMRestore web1-full in namespace vms");
    }

    @Test
    @Order(5)
    void restoreMergeWaitsAndWritesTheVmsDisk() throws Exception {
        vm.flush(disk);
        Path expected = base.resolve("expected.qcow2");
        QemuTools.run("qemu-img", "convert", "-U", "-O", "qcow2", disk.image().toString(), expected.toString());
        Path target = area.resolve("restored/web1.qcow2");
        Run r = plugin("restore", "web1-inc", "--mode", "merge", "--target", target.toString(), "--name", "merged",
                "--wait");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("vmrestore.qmpbackup.io/merged created", "VMRestore merged Succeeded",
                "output: " + target);
        QemuTools.Result cmp = QemuTools.compare(expected, "qcow2", target, "qcow2");
        assertThat(cmp.exit()).as(cmp.out()).isZero();
        Run d = plugin("describe", "vmrestore/merged");
        assertThat(d.out()).contains("Kind:       VMRestore\n", "Mode:       merge\n", "Output:     " + target);
    }

    @Test
    @Order(6)
    void scheduleRunNowStartsARunTheScheduleCounts() throws Exception {
        client.resources(QemuVM.class).inNamespace(NS).withName("web1").edit(q -> {
            q.getMetadata().setLabels(Map.of("app", "web"));
            return q;
        });
        VMBackupSchedule s = new VMBackupSchedule();
        s.setMetadata(new ObjectMetaBuilder().withName("nightly").withNamespace(NS).build());
        s.setSpec(new VMBackupScheduleSpec());
        s.getSpec().schedule = "0 3 1 1 *"; // once a year: the test's run is the manual one
        s.getSpec().vmSelector = new LabelSelectorBuilder().withMatchLabels(Map.of("app", "web")).build();
        s.getSpec().template = new BackupTemplate();
        s.getSpec().template.level = BackupLevel.FULL;
        s.getSpec().template.storage = new StorageRef();
        s.getSpec().template.storage.location = "default";
        s.getSpec().template.storage.path = "nightly";
        client.resource(s).create();

        Run r = plugin("schedule", "run-now", "nightly");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).startsWith("vmbackup.qmpbackup.io/nightly-web1-now-").contains(" created");
        List<VMBackup> runs = client.resources(VMBackup.class).inNamespace(NS)
                .withLabel(VMBackupSchedule.SCHEDULE_LABEL, "nightly").list().getItems();
        assertThat(runs).singleElement().satisfies(b -> {
            assertThat(b.getMetadata().getLabels()).containsEntry(VMBackupSchedule.VM_LABEL, "web1");
            assertThat(b.getMetadata().getOwnerReferences()).singleElement()
                    .satisfies(o -> assertThat(o.getName()).isEqualTo("nightly"));
            assertThat(b.getSpec().storage.path).isEqualTo("nightly/web1");
        });
        // the schedule's status sees the run: active while it runs, then its success per VM
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(300)).until(() -> {
            VMBackupSchedule now = client.resources(VMBackupSchedule.class).inNamespace(NS).withName("nightly").get();
            return now.getStatus() != null && now.getStatus().lastSuccessfulTime.containsKey("web1");
        });
        assertThat(phase(runs.get(0).getMetadata().getName())).isEqualTo(Phase.SUCCEEDED);
        assertThat(area.resolve("nightly/web1")).isDirectory();
        assertThat(plugin("schedule", "run-now", "absent").err()).contains("no VMBackupSchedule absent");
    }

    @Test
    @Order(7)
    void restoreExportWaitsUntilItServes() throws Exception {
        Run r = plugin("restore", "web1-inc", "--mode", "export", "--ttl", "5m", "--name", "exported", "--wait");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        String uri = "nbd+unix:///web1.qcow2?socket=" + base.resolve("exports").resolve(NS).resolve("exported.sock");
        assertThat(r.out()).contains("VMRestore exported serving " + uri + " until ",
                "(kubectl delete vmrestore exported ends it)");
        QemuTools.Result cmp = QemuTools.exec("qemu-img", "compare", "-f", "qcow2", "-F", "raw",
                base.resolve("expected.qcow2").toString(), uri);
        assertThat(cmp.exit()).as(cmp.out()).isZero();
        client.resources(io.qmpbackup.api.v1alpha1.VMRestore.class).inNamespace(NS).withName("exported").delete();
    }

    // ---------------------------------------------------------------- helpers

    private void qemuVm(String name, Path qmpSocket) {
        QemuVM q = new QemuVM();
        q.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
        q.setSpec(new QemuVMSpec());
        q.getSpec().node = "node-a";
        q.getSpec().qmpSocket = qmpSocket.toString();
        client.resource(q).create();
    }

    private Phase phase(String name) {
        return client.resources(VMBackup.class).inNamespace(NS).withName(name).get().getStatus().phase;
    }

    /** bin/kubectl-qmpbackup with {@code args}, as kubectl runs it; stdout is a pipe, so plain progress lines. */
    private Run plugin(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Deployment.repo().resolve("bin/kubectl-qmpbackup").toString()));
        cmd.addAll(List.of(args));
        return exec(cmd, args);
    }

    /** The same on a pseudo-terminal: script(1) runs it and copies what the terminal showed to its stdout. */
    private Run onTerminal(String... args) throws IOException, InterruptedException {
        StringBuilder line = new StringBuilder("'" + Deployment.repo().resolve("bin/kubectl-qmpbackup") + "'");
        for (String a : args) {
            line.append(" '").append(a.replace("'", "'\\''")).append("'");
        }
        return exec(List.of("script", "-qec", line.toString(), "/dev/null"), args);
    }

    private Run exec(List<String> cmd, String... args) throws IOException, InterruptedException {
        Path out = Files.createTempFile(base, "out", ".txt");
        Path err = Files.createTempFile(base, "err", ".txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().put("KUBECONFIG", kubeconfig.toString());
        Process p = pb.start();
        if (!p.waitFor(150, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("kubectl-qmpbackup " + String.join(" ", args) + " did not end:\n"
                    + Files.readString(out));
        }
        Run r = new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
        // the session as a user would see it, in the test's output file: what the README quotes
        System.out.println("$ kubectl qmpbackup " + String.join(" ", args) + "\n" + r.out() + r.err()
                + "(exit " + r.exit() + ")");
        return r;
    }
}
