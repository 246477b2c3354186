package io.qmpbackup.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.qmpbackup.engine.testing.Chains;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import io.qmpbackup.api.v1alpha1.BackupLevel;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.RestoreMode;
import io.qmpbackup.api.v1alpha1.RestoreSource;
import io.qmpbackup.api.v1alpha1.StorageRef;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSpec;
import io.qmpbackup.api.v1alpha1.VMRestore;
import io.qmpbackup.api.v1alpha1.VMRestoreSpec;
import io.qmpbackup.api.v1alpha1.VmRef;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * End to end: the operator's and the node agent's packaged jars as two processes, an in-process
 * API server, a real QEMU VM. VMBackup full then inc, VMRestore merge, bad specs, a node
 * without an agent, and the agent killed mid-backup.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OperatorAgentE2EIT {
    private static final String NS = "vms";
    private static final int MIB = 1 << 20;

    private Path base;
    private Deployment deployment;
    private KubernetesClient client;
    private TestVm vm;
    private DiskSpec disk;
    private Path storage;
    /** The release namespace's area of the storage location: {@code <location>/<namespace>}. */
    private Path area;
    private Map<String, String> agentEnv;
    private final List<Long> toRunningMillis = new ArrayList<>();

    @BeforeAll
    void deploy() throws Exception {
        base = Files.createTempDirectory(Path.of("/tmp"), "e2e");
        Path vmDir = Files.createDirectories(base.resolve("vm"));
        storage = Files.createDirectories(base.resolve("storage"));
        area = storage.resolve(NS);
        Path img = QemuTools.createQcow2(vmDir.resolve("web1.qcow2"), "64M");
        QemuTools.write(img, "qcow2", 0, 24 * MIB, 0x21);
        disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        vm = TestVm.start(vmDir, List.of(disk));

        deployment = new Deployment(base.resolve("logs"));
        client = deployment.client();
        deployment.node("node-a");
        deployment.node("node-b");
        // both processes get the environment the Helm chart renders for these values (the in-process
        // API server has no SelfSubjectRulesReview, which leader election checks first: it is off here)
        Path values = Files.writeString(base.resolve("values.yaml"), String.join("\n",
                "operator: {noAgentTimeout: 6s, leaderElection: false, agentLostTimeout: 4s}",
                "agent:",
                "  heartbeatInterval: 1s",
                // the path a PVC takes: the agent hands QEMU the backup files open (add-fd)
                "  passFds: true",
                "  discovery: {interval: 1s, pattern: qmp.sock}",
                "  socketDirs: [" + vmDir + "]",
                "  storage: [{name: default, hostPath: " + storage + "}]", ""));
        // installed in namespace vms: discovery keeps QemuVM objects there, beside the backups naming them
        ChartEnv chart = ChartEnv.render(client, values, "node-a", NS);
        deployment.startOperator(chart.operator);
        Map<String, String> env = new java.util.HashMap<>(chart.agent);
        env.put("QMPBACKUP_LOCK_DIR", base.resolve("locks").toString()); // the chart's /tmp is the pod's own
        agentEnv = env;
        deployment.startAgent("agent", agentEnv);
    }

    @AfterAll
    void tearDown() throws Exception {
        if (deployment != null) {
            printLikeKubectl();
            deployment.close();
        }
        if (vm != null) {
            vm.close();
        }
        System.out.println("create -> Running (ms): " + toRunningMillis);
    }

    private VMBackup backup(String name, BackupLevel level, String node, String socket, Long speedLimit) {
        VMBackup b = new VMBackup();
        b.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
        VMBackupSpec spec = new VMBackupSpec();
        spec.vm = new VmRef();
        spec.vm.node = node;
        spec.vm.qmpSocket = socket;
        spec.level = level;
        spec.storage = new StorageRef();
        spec.storage.location = "default";
        spec.storage.path = "web1";
        spec.speedLimit = speedLimit;
        b.setSpec(spec);
        return client.resource(b).create();
    }

    private VMBackup get(String name) {
        return client.resources(VMBackup.class).inNamespace(NS).withName(name).get();
    }

    private Phase phase(String name) {
        VMBackup b = get(name);
        return b == null || b.getStatus() == null ? null : b.getStatus().phase;
    }

    /** Creates the backup, measures the time to phase Running, waits for the end; returns the percents seen. */
    private Set<Integer> runToEnd(String name, BackupLevel level, Long speedLimit) {
        long start = System.nanoTime();
        backup(name, level, "node-a", vm.qmpSocket().toString(), speedLimit);
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(10)).until(() -> {
            Phase p = phase(name);
            return p == Phase.RUNNING || p != null && p.terminal();
        });
        toRunningMillis.add((System.nanoTime() - start) / 1_000_000);
        Set<Integer> percents = new TreeSet<>();
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(100)).until(() -> {
            VMBackup b = get(name);
            if (b.getStatus().progress != null && b.getStatus().progress.percent != null) {
                percents.add(b.getStatus().progress.percent);
            }
            return b.getStatus().phase.terminal();
        });
        return percents;
    }

    @Test
    @Order(1)
    void fullThenIncSucceedWithProgressFilesAndEvents() throws Exception {
        Set<Integer> percents = runToEnd("web1-full", BackupLevel.FULL, 16L * MIB);
        VMBackup full = get("web1-full");
        assertThat(full.getStatus().phase).as(full.getStatus().message + "\nagent log:\n"
                + deployment.log("agent")).isEqualTo(Phase.SUCCEEDED);
        assertThat(full.getStatus().level).isEqualTo("full");
        assertThat(full.getStatus().node).isEqualTo("node-a");
        assertThat(percents).as("progress seen moving").anyMatch(p -> p > 0 && p < 100).contains(100);
        assertThat(full.getStatus().disks).singleElement().satisfies(d -> {
            assertThat(area.resolve(d.file)).exists();
            assertThat(d.file).startsWith("web1/web1.qcow2/FULL-");
        });
        assertThat(full.getStatus().chainPath).isEqualTo("web1");
        assertThat(storage.resolve("web1")).as("chains live in the namespace's area").doesNotExist();

        vm.guestWrite(disk, 40L * MIB, 2 * MIB, 0x31);
        runToEnd("web1-inc", BackupLevel.INC, null);
        VMBackup inc = get("web1-inc");
        assertThat(inc.getStatus().phase).as(inc.getStatus().message).isEqualTo(Phase.SUCCEEDED);
        assertThat(inc.getStatus().level).isEqualTo("inc");
        assertThat(inc.getStatus().disks.get(0).bytesWritten).isEqualTo(2L * MIB);
        await().atMost(Duration.ofSeconds(10)).until(() -> events("web1-inc").containsAll(
                List.of("Scheduled", "Started", "Succeeded")));
        for (int i = 0; i < 3; i++) {
            runToEnd("web1-copy-" + i, BackupLevel.COPY, null);
            assertThat(phase("web1-copy-" + i)).isEqualTo(Phase.SUCCEEDED);
        }
        List<Long> sorted = toRunningMillis.stream().sorted().toList();
        long median = sorted.get(sorted.size() / 2);
        System.out.println("create -> Running, median of " + sorted.size() + ": " + median + " ms " + sorted);
        assertThat(median).as("median time from create to Running (goal: under 1 s)").isLessThan(1000);
    }

    @Test
    @Order(2)
    void restoreMergeEqualsTheDiskAtBackupTime() throws Exception {
        VMRestore r = new VMRestore();
        r.setMetadata(new ObjectMetaBuilder().withName("web1-restore").withNamespace(NS).build());
        VMRestoreSpec spec = new VMRestoreSpec();
        spec.source = new RestoreSource();
        spec.source.backup = "web1-inc";
        spec.mode = RestoreMode.MERGE;
        // merge writes inside the namespace's storage area only
        spec.targetFile = area.resolve("restore/restored.qcow2").toString();
        r.setSpec(spec);
        client.resource(r).create();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> {
            VMRestore x = client.resources(VMRestore.class).inNamespace(NS).withName("web1-restore").get();
            return x.getStatus() != null && x.getStatus().phase != null && x.getStatus().phase.terminal();
        });
        VMRestore done = client.resources(VMRestore.class).inNamespace(NS).withName("web1-restore").get();
        assertThat(done.getStatus().phase).as(done.getStatus().message).isEqualTo(Phase.SUCCEEDED);
        assertThat(done.getStatus().outputFile).isEqualTo(spec.targetFile);
        vm.flush(disk);
        // no guest writes since web1-inc: the live disk is the content at backup time
        QemuTools.Result cmp = QemuTools.compare(disk.image(), "qcow2", Path.of(spec.targetFile), "qcow2");
        assertThat(cmp.exit()).as(cmp.out()).isZero();
    }

    @Test
    @Order(3)
    void badSpecsFailWithAClearMessage() {
        backup("bad-socket", BackupLevel.FULL, "node-a", "/etc/qemu/web1.qmp", null);
        backup("bad-node", BackupLevel.FULL, "no-such-node", vm.qmpSocket().toString(), null);
        await().atMost(Duration.ofSeconds(30)).until(() -> phase("bad-socket") == Phase.FAILED
                && phase("bad-node") == Phase.FAILED);
        assertThat(get("bad-socket").getStatus().reason).isEqualTo("SocketOutsideAllowedDirs");
        assertThat(get("bad-socket").getStatus().message).contains("/etc/qemu/web1.qmp").contains("socket-dirs");
        assertThat(get("bad-node").getStatus().reason).isEqualTo("NodeNotFound");
    }

    @Test
    @Order(4)
    void aNodeWithoutAnAgentFailsWithNoAgent() {
        backup("orphan", BackupLevel.FULL, "node-b", vm.qmpSocket().toString(), null);
        await().atMost(Duration.ofSeconds(30)).until(() -> phase("orphan") == Phase.FAILED);
        assertThat(get("orphan").getStatus().reason).isEqualTo("NoAgent");
        assertThat(get("orphan").getStatus().message).contains("node-b");
    }

    @Test
    @Order(5)
    void agentKilledMidBackupIsFailedAsAgentLostThenCleanedWhenItRestarts() throws Exception {
        vm.guestWrite(disk, 8L * MIB, 24L * MIB, 0x41);
        backup("web1-killed", BackupLevel.INC, "node-a", vm.qmpSocket().toString(), 2L * MIB);
        await().atMost(Duration.ofSeconds(30)).until(() -> phase("web1-killed") == Phase.RUNNING
                && !Chains.jobs(vm.control()).isEmpty());
        Process agent = deployment.agentProcess();
        agent.destroyForcibly();
        agent.waitFor();
        assertThat(Chains.qmpbackupNodes(vm.control())).as("the killed agent's run left its nodes").isNotEmpty();
        // the operator sees the heartbeat stop: the backup fails as AgentLost (a Forbid schedule may go on)
        long killedAt = System.nanoTime();
        await().atMost(Duration.ofSeconds(30)).until(() -> phase("web1-killed") == Phase.FAILED);
        System.out.println("AgentLost " + (System.nanoTime() - killedAt) / 1_000_000 + " ms after the agent was killed");
        assertThat(get("web1-killed").getStatus().reason).isEqualTo("AgentLost");
        assertThat(events("web1-killed")).contains("AgentLost");
        deployment.startAgent("agent-restarted", agentEnv);
        await().atMost(Duration.ofSeconds(30)).until(() -> "AgentRestarted".equals(get("web1-killed").getStatus()
                .reason));
        VMBackup killed = get("web1-killed");
        assertThat(killed.getStatus().message).contains("cleaned");
        assertThat(Chains.qmpbackupNodes(vm.control())).isEmpty();
        assertThat(Chains.jobs(vm.control())).isEmpty();
        try (Stream<Path> s = Files.walk(storage)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".partial")
                    || n.contains(".fleece."));
        }
        // and the chain goes on correctly
        runToEnd("web1-after", BackupLevel.INC, null);
        assertThat(phase("web1-after")).isEqualTo(Phase.SUCCEEDED);
        vm.flush(disk);
        Path rebuilt = QemuTools.reconstruct(Chains.currentChain(area.resolve("web1"), "web1.qcow2"),
                base.resolve("rb"), base.resolve("rebuilt.qcow2"));
        assertThat(QemuTools.compare(disk.image(), "qcow2", rebuilt, "qcow2").exit()).isZero();
    }

    @Test
    @Order(6)
    void twoBackupsOfOneVmRunOneAfterTheOther() throws Exception {
        vm.guestWrite(disk, 48L * MIB, MIB, 0x51);
        backup("web1-first", BackupLevel.COPY, "node-a", vm.qmpSocket().toString(), 32L * MIB);
        backup("web1-second", BackupLevel.INC, "node-a", vm.qmpSocket().toString(), null);
        Set<String> reasons = new TreeSet<>();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20)).until(() -> {
            for (String n : List.of("web1-first", "web1-second")) {
                VMBackup b = get(n);
                if (b.getStatus() != null && b.getStatus().reason != null) {
                    reasons.add(b.getStatus().reason);
                }
            }
            return phase("web1-first") == Phase.SUCCEEDED && phase("web1-second") == Phase.SUCCEEDED;
        });
        assertThat(reasons).as("one waited for the other").contains("Queued");
        var a = get("web1-first").getStatus();
        var b = get("web1-second").getStatus();
        boolean apart = java.time.Instant.parse(a.completionTime).compareTo(java.time.Instant.parse(b.startTime)) <= 0
                || java.time.Instant.parse(b.completionTime).compareTo(java.time.Instant.parse(a.startTime)) <= 0;
        assertThat(apart).as("the two backups of one VM did not overlap: %s-%s and %s-%s", a.startTime,
                a.completionTime, b.startTime, b.completionTime).isTrue();
    }

    @Test
    @Order(7)
    void deletingARunningBackupCancelsItAndLeavesNothing() throws Exception {
        vm.guestWrite(disk, 8L * MIB, 24L * MIB, 0x61);
        backup("web1-deleted", BackupLevel.INC, "node-a", vm.qmpSocket().toString(), 2L * MIB);
        await().atMost(Duration.ofSeconds(30)).until(() -> phase("web1-deleted") == Phase.RUNNING
                && !Chains.jobs(vm.control()).isEmpty());
        client.resource(get("web1-deleted")).delete();
        await().atMost(Duration.ofSeconds(60)).until(() -> get("web1-deleted") == null);
        assertThat(events("web1-deleted")).contains("Cancelled");
        assertThat(Chains.qmpbackupNodes(vm.control())).isEmpty();
        assertThat(Chains.jobs(vm.control())).isEmpty();
        try (Stream<Path> s = Files.walk(storage)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".partial"));
        }
    }

    @Test
    @Order(8)
    void aBackupNamingADiscoveredQemuVm() {
        await().atMost(Duration.ofSeconds(30)).until(() -> client.resources(io.qmpbackup.api.v1alpha1.QemuVM.class)
                .inNamespace(NS).withName("node-a-qmp").get() != null);
        var qvm = client.resources(io.qmpbackup.api.v1alpha1.QemuVM.class).inNamespace(NS).withName("node-a-qmp").get();
        assertThat(qvm.getSpec().qmpSocket).isEqualTo(vm.qmpSocket().toString());
        VMBackup b = new VMBackup();
        b.setMetadata(new ObjectMetaBuilder().withName("web1-by-name").withNamespace(NS).build());
        VMBackupSpec spec = new VMBackupSpec();
        spec.vm = new VmRef();
        spec.vm.name = "node-a-qmp";
        spec.level = BackupLevel.AUTO;
        spec.storage = new StorageRef();
        spec.storage.location = "default";
        spec.storage.path = "web1";
        b.setSpec(spec);
        client.resource(b).create();
        await().atMost(Duration.ofSeconds(60)).until(() -> phase("web1-by-name") != null
                && phase("web1-by-name").terminal());
        assertThat(phase("web1-by-name")).as(get("web1-by-name").getStatus().message).isEqualTo(Phase.SUCCEEDED);
        assertThat(get("web1-by-name").getStatus().node).isEqualTo("node-a");
    }

    @Test
    @Order(9)
    void retentionDeletesOldChainsAndTheirVMBackups() throws Exception {
        List<String> names = List.of("ret-1", "ret-2", "ret-3");
        List<BackupLevel> levels = List.of(BackupLevel.FULL, BackupLevel.INC, BackupLevel.FULL);
        for (int i = 0; i < 3; i++) {
            vm.guestWrite(disk, (40L + i) * MIB, MIB, 0x70 + i);
            VMBackup b = new VMBackup();
            b.setMetadata(new ObjectMetaBuilder().withName(names.get(i)).withNamespace(NS).build());
            VMBackupSpec spec = new VMBackupSpec();
            spec.vm = new VmRef();
            spec.vm.node = "node-a";
            spec.vm.qmpSocket = vm.qmpSocket().toString();
            spec.level = levels.get(i);
            spec.storage = new StorageRef();
            spec.storage.location = "default";
            spec.storage.path = "web1-retention";
            spec.retention = new io.qmpbackup.api.v1alpha1.Retention();
            spec.retention.keepLast = 1;
            b.setSpec(spec);
            client.resource(b).create();
            String name = names.get(i);
            await().atMost(Duration.ofSeconds(60)).until(() -> phase(name) != null && phase(name).terminal());
            assertThat(phase(name)).as(get(name).getStatus().message).isEqualTo(Phase.SUCCEEDED);
        }
        // ret-3 started a new chain: the agent pruned the first (ret-1 + ret-2), the operator deleted their objects
        await().atMost(Duration.ofSeconds(20)).until(() -> get("ret-1") == null && get("ret-2") == null);
        VMBackup last = get("ret-3");
        assertThat(last.getStatus().retention.chainsPruned).isEqualTo(1);
        assertThat(last.getStatus().retention.chainsKept).isEqualTo(1);
        assertThat(last.getStatus().retention.prunedFiles).hasSize(2)
                .allSatisfy(f -> assertThat(area.resolve(f)).doesNotExist());
        assertThat(area.resolve(last.getStatus().disks.get(0).file)).exists();
        try (Stream<Path> s = Files.list(area.resolve("web1-retention").resolve("web1.qcow2"))) {
            // the kept FULL, and the folder's integrity record
            assertThat(s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith("SHA256SUMS-")
                    && !n.startsWith("SHA256CHUNKS-")))
                    .singleElement().asString().startsWith("FULL-");
        }
        assertThat(events("ret-3")).contains("PrunedBackupsDeleted");
        // the kept chain restores to the disk as it was at ret-3 (the guest wrote nothing since)
        vm.flush(disk);
        QemuTools.Result cmp = QemuTools.compare(disk.image(), "qcow2", area.resolve(last.getStatus().disks.get(0)
                .file), "qcow2");
        assertThat(cmp.exit()).as(cmp.out()).isZero();
    }

    @Test
    @Order(10)
    void everyMetricTheDashboardAndAlertsUseIsServed() throws Exception {
        String operator = deployment.metrics("operator");
        String agent = deployment.metrics("agent-restarted");
        ChartMetrics.chartUsesOnlyServedNames(client, base, NS, operator, agent);
        ChartMetrics.agentCountedItsWork(agent);
        // the named VM's only backup goes: so does its last-success series, the others stay
        ChartMetrics.vmSeriesGoesWithItsLastBackup(deployment, client, NS, "web1-by-name", "node-a-qmp");
    }

    private List<String> events(String name) {
        return client.v1().events().inNamespace(NS).list().getItems().stream()
                .filter(e -> name.equals(e.getInvolvedObject().getName())).map(Event::getReason).toList();
    }

    /** What kubectl get / describe show, from this run (for the README). */
    private void printLikeKubectl() {
        System.out.printf("%-14s %-6s %-5s %-10s %-9s %-7s%n", "NAME", "LEVEL", "RAN", "PHASE", "PROGRESS", "NODE");
        for (VMBackup b : client.resources(VMBackup.class).inNamespace(NS).list().getItems()) {
            var s = b.getStatus();
            System.out.printf("%-14s %-6s %-5s %-10s %-9s %-7s%n", b.getMetadata().getName(), b.getSpec().level.value(),
                    s == null || s.level == null ? "" : s.level, s == null ? "" : s.phase.value(),
                    s == null || s.progress == null ? "" : s.progress.percent, s == null || s.node == null ? "" : s.node);
        }
        for (Event e : client.v1().events().inNamespace(NS).list().getItems()) {
            System.out.printf("%-8s %-16s %-14s %s%n", e.getType(), e.getReason(), e.getInvolvedObject().getName(),
                    e.getMessage());
        }
    }
}
