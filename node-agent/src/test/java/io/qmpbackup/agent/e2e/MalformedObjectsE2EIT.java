package io.qmpbackup.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.qmpbackup.api.testing.MalformedObjects;
import io.qmpbackup.api.testing.MalformedObjects.Malformed;
import io.qmpbackup.api.v1alpha1.BackupLevel;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSchedule;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Version skew, as deployed: both packaged processes against a server that checks no schema,
 * holding objects this version's schema forbids. Each ends Failed (or, a schedule, not Ready) with
 * a reason and a message naming its field; both processes stay up and ready, a restart comes up
 * with the objects still there, and valid backups created after them run against real QEMU.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MalformedObjectsE2EIT {
    private static final String NS = "vms";
    private static final int MIB = 1 << 20;

    private Path base;
    private Deployment deployment;
    private ChartEnv chart;
    private KubernetesClient client;
    private TestVm vm;
    private DiskSpec disk;

    @BeforeAll
    void deploy() throws Exception {
        base = Files.createTempDirectory(Path.of("/tmp"), "malformed");
        Path vmDir = Files.createDirectories(base.resolve("vm"));
        Path storage = Files.createDirectories(base.resolve("storage"));
        Path img = QemuTools.createQcow2(vmDir.resolve("web1.qcow2"), "32M");
        QemuTools.write(img, "qcow2", 0, 4 * MIB, 0x31);
        disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        vm = TestVm.start(vmDir, List.of(disk));
        deployment = new Deployment(base.resolve("logs"));
        client = deployment.client();
        deployment.node("node-a");
        Path values = Files.writeString(base.resolve("values.yaml"), String.join("\n",
                "operator: {noAgentTimeout: 20s, leaderElection: false, agentLostTimeout: 0s}",
                "agent:",
                "  heartbeatInterval: 1s",
                "  discovery: {interval: 0s}",
                "  socketDirs: [" + vmDir + "]",
                "  storage: [{name: default, hostPath: " + storage + "}]", ""));
        chart = ChartEnv.render(client, values, "node-a", NS);
        deployment.startOperator(chart.operator);
        Map<String, String> env = new java.util.HashMap<>(chart.agent);
        env.put("QMPBACKUP_LOCK_DIR", base.resolve("locks").toString());
        deployment.startAgent("agent", env);
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
    void eachMalformedObjectFailsNamingItsFieldAndAValidBackupAfterThemRuns() throws Exception {
        // labelled for node-a, so the agent's watch (which selects its node's work) reads them too
        Map<String, String> onNodeA = Map.of(VMBackup.NODE_LABEL, "node-a");
        List<Malformed> runs = new ArrayList<>(MalformedObjects.BACKUPS);
        runs.addAll(MalformedObjects.RESTORES);
        runs.forEach(m -> m.create(client, NS, onNodeA, null));
        MalformedObjects.SCHEDULES.forEach(m -> m.create(client, NS));
        MalformedObjects.QEMU_VM.create(client, NS);
        MalformedObjects.BACKUP_OF_QEMU_VM.create(client, NS);
        VMBackup full = backup("valid-full", BackupLevel.FULL);

        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            for (Malformed m : runs) {
                assertFailed(m, "InvalidSpec", m.names());
            }
            assertFailed(MalformedObjects.BACKUP_OF_QEMU_VM, "InvalidQemuVM", MalformedObjects.QEMU_VM.names());
            for (Malformed m : MalformedObjects.SCHEDULES) {
                assertNotReady(m);
            }
        });
        assertThat(full.getStatus().phase).as(full.getStatus().message).isEqualTo(Phase.SUCCEEDED);
        assertThat(client.genericKubernetesResources(MalformedObjects.context("VMBackup", "vmbackups"))
                .inNamespace(NS).withLabel(VMBackupSchedule.SCHEDULE_LABEL).list().getItems())
                .as("a schedule with a broken spec makes no VMBackup").isEmpty();
        assertUpAndReady();
        assertThat(deployment.log("operator")).doesNotContain("will stop");
        assertThat(deployment.log("agent")).doesNotContain("will stop");
    }

    @Test
    @Order(2)
    void aRestartedOperatorComesUpWithThemStillThereAndTheNextBackupRuns() throws Exception {
        Process old = deployment.started("operator");
        old.destroy();
        old.waitFor();
        deployment.startOperator("operator-2", chart.operator, List.of());
        vm.guestWrite(disk, 8L * MIB, MIB, 0x32);
        VMBackup inc = backup("valid-inc", BackupLevel.INC);
        assertThat(inc.getStatus().phase).as(inc.getStatus().message).isEqualTo(Phase.SUCCEEDED);
        assertThat(inc.getStatus().disks.get(0).bytesWritten).isEqualTo(MIB);
        assertThat(deployment.health("operator-2", "ready")).isEqualTo(200);
        assertThat(deployment.log("operator-2")).doesNotContain("will stop");
    }

    @Test
    @Order(3)
    void theAgentItselfFailsMalformedWorkHandedToIt() throws Exception {
        // no operator in front: the work arrives as the operator would hand it (label, Scheduled)
        deployment.started("operator-2").destroy();
        deployment.started("operator-2").waitFor();
        Map<String, Object> scheduled = Map.of("phase", "Scheduled", "node", "node-a");
        Malformed weekly = MalformedObjects.BACKUPS.get(0).named("direct-level-weekly");
        Malformed explode = MalformedObjects.RESTORES.get(0).named("direct-mode-explode");
        for (Malformed m : List.of(weekly, explode)) {
            m.create(client, NS, Map.of(VMBackup.NODE_LABEL, "node-a"), scheduled);
        }
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertFailed(weekly, "InvalidSpec", weekly.names());
            assertFailed(explode, "InvalidSpec", explode.names());
        });
        assertThat(deployment.health("agent", "ready")).isEqualTo(200);
        assertThat(deployment.agentProcess().isAlive()).isTrue();
    }

    /** Read raw, as kubectl shows it: the test's own client reads our types strictly. */
    private void assertFailed(Malformed m, String reason, String names) {
        var r = client.genericKubernetesResources(MalformedObjects.context(m.kind(), m.plural())).inNamespace(NS)
                .withName(m.name()).get();
        assertThat(r).as(m.name()).isNotNull();
        Map<?, ?> s = (Map<?, ?>) r.getAdditionalProperties().get("status");
        assertThat(s).as(m.name()).isNotNull();
        assertThat(s.get("phase")).as(m.name()).isEqualTo("Failed");
        assertThat(s.get("reason")).as(m.name() + ": " + s.get("message")).isEqualTo(reason);
        assertThat((String) s.get("message")).as(m.name()).contains(names);
    }

    private void assertNotReady(Malformed m) {
        var r = client.genericKubernetesResources(MalformedObjects.context(m.kind(), m.plural())).inNamespace(NS)
                .withName(m.name()).get();
        Map<?, ?> s = (Map<?, ?>) r.getAdditionalProperties().get("status");
        assertThat(s).as(m.name()).isNotNull();
        Map<?, ?> ready = ((List<?>) s.get("conditions")).stream().map(c -> (Map<?, ?>) c)
                .filter(c -> "Ready".equals(c.get("type"))).findFirst().orElseThrow();
        assertThat(ready.get("status")).as(m.name()).isEqualTo("False");
        assertThat(ready.get("reason")).as(m.name()).isEqualTo("InvalidSchedule");
        assertThat((String) ready.get("message")).as(m.name()).contains(m.names());
    }

    private void assertUpAndReady() throws InterruptedException {
        for (String p : List.of("operator", "agent")) {
            assertThat(deployment.health(p, "ready")).as(p + " ready").isEqualTo(200);
            assertThat(deployment.health(p, "live")).as(p + " live").isEqualTo(200);
        }
    }

    private VMBackup backup(String name, BackupLevel level) {
        return Runs.run(client, Runs.bySocket(NS, name, vm.qmpSocket(), level, "web1"));
    }
}
