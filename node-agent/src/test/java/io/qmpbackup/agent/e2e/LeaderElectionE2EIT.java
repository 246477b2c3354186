package io.qmpbackup.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.qmpbackup.api.v1alpha1.BackupLevel;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.StorageRef;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSpec;
import io.qmpbackup.api.v1alpha1.VmRef;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Two operator replicas with leader election on, as the chart deploys them: only the holder of
 * the Lease acts; when it dies the other takes the Lease over and the work goes on.
 */
class LeaderElectionE2EIT {
    private static final String NS = "vms";
    private static final String LEASE = "qmpbackup-operator-lease";

    private static VMBackup backup(KubernetesClient client, String name) {
        VMBackup b = new VMBackup();
        b.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
        VMBackupSpec spec = new VMBackupSpec();
        spec.vm = new VmRef();
        spec.vm.node = "node-a";
        spec.vm.qmpSocket = "/run/qemu/web1.qmp";
        spec.level = BackupLevel.FULL;
        spec.storage = new StorageRef();
        spec.storage.location = "default";
        spec.storage.path = "web1";
        b.setSpec(spec);
        return client.resource(b).create();
    }

    private static Phase phase(KubernetesClient client, String name) {
        VMBackup b = client.resources(VMBackup.class).inNamespace(NS).withName(name).get();
        return b == null || b.getStatus() == null ? null : b.getStatus().phase;
    }

    private static String holder(KubernetesClient client) {
        Lease l = client.leases().inNamespace("qmpbackup").withName(LEASE).get();
        return l == null || l.getSpec() == null ? null : l.getSpec().getHolderIdentity();
    }

    @Test
    void onlyTheLeaderActsAndTheStandbyTakesOverWhenItDies() throws Exception {
        Path base = Files.createTempDirectory(Path.of("/tmp"), "leader");
        try (Deployment d = new Deployment(base.resolve("logs"))) {
            KubernetesClient client = d.client();
            d.node("node-a");
            Map<String, String> env = Map.of("QMPBACKUP_OPERATOR_LEADER_ELECTION_ENABLED", "true",
                    "QMPBACKUP_OPERATOR_NO_AGENT_TIMEOUT", "10m");
            Process a = d.startOperator("operator-a", merge(env, "HOSTNAME", "operator-a"), List.of());
            await().atMost(Duration.ofSeconds(30)).until(() -> "operator-a".equals(holder(client)));
            d.startOperator("operator-b", merge(env, "HOSTNAME", "operator-b"), List.of());

            backup(client, "first");
            await().atMost(Duration.ofSeconds(20)).until(() -> phase(client, "first") == Phase.SCHEDULED);
            // the standby watched nothing and wrote nothing: only the leader's log knows the backup
            await().pollDelay(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(2)).until(() -> true);
            assertThat(d.log("operator-a")).contains("first");
            assertThat(d.log("operator-b")).doesNotContain("VMBackup(vms/first)");
            assertThat(holder(client)).isEqualTo("operator-a");

            a.destroyForcibly();
            a.waitFor();
            long killed = System.nanoTime();
            await().atMost(Duration.ofSeconds(60)).until(() -> "operator-b".equals(holder(client)));
            long takeoverMs = (System.nanoTime() - killed) / 1_000_000;
            backup(client, "second");
            await().atMost(Duration.ofSeconds(30)).until(() -> phase(client, "second") == Phase.SCHEDULED);
            assertThat(d.log("operator-b")).contains("VMBackup(vms/second)");
            // the new leader took note of the first backup without repeating its Event
            assertThat(client.v1().events().inNamespace(NS).list().getItems().stream()
                    .filter(e -> "first".equals(e.getInvolvedObject().getName()))
                    .map(io.fabric8.kubernetes.api.model.Event::getReason)).containsExactly("Scheduled");
            System.out.println("leader election: the standby took the Lease over " + takeoverMs
                    + " ms after the leader was killed");
        }
    }

    private static Map<String, String> merge(Map<String, String> env, String key, String value) {
        Map<String, String> m = new java.util.HashMap<>(env);
        m.put(key, value);
        return m;
    }
}
