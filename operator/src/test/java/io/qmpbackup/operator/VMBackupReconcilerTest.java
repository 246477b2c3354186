package io.qmpbackup.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import io.qmpbackup.api.v1alpha1.BackupLevel;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.RunTransitions;
import io.qmpbackup.api.v1alpha1.StorageRef;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSpec;
import io.qmpbackup.api.v1alpha1.VmRef;
import jakarta.inject.Inject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The operator against the in-process API server (CRUD mode); the node agent is played by the test. */
@QuarkusTest
@WithKubernetesTestServer
class VMBackupReconcilerTest {
    private static final String NS = "vms";

    @Inject
    KubernetesClient client;

    @ConfigProperty(name = "quarkus.http.test-port")
    int port;

    @BeforeEach
    void node() {
        client.nodes().resource(new NodeBuilder().withNewMetadata().withName("node-a").endMetadata().build())
                .createOr(n -> n.update());
    }

    private VMBackup create(String node) {
        VMBackup b = new VMBackup();
        b.setMetadata(new ObjectMetaBuilder().withName("web1-" + UUID.randomUUID().toString().substring(0, 6))
                .withNamespace(NS).build());
        VMBackupSpec spec = new VMBackupSpec();
        spec.vm = new VmRef();
        spec.vm.node = node;
        spec.vm.qmpSocket = "/run/qemu/web1.qmp";
        spec.level = BackupLevel.AUTO;
        spec.storage = new StorageRef();
        spec.storage.location = "default";
        spec.storage.path = "web1";
        b.setSpec(spec);
        return client.resource(b).create();
    }

    private VMBackup get(VMBackup b) {
        return client.resources(VMBackup.class).inNamespace(NS).withName(b.getMetadata().getName()).get();
    }

    private List<String> eventReasons(VMBackup b) {
        return client.v1().events().inNamespace(NS).list().getItems().stream()
                .filter(e -> b.getMetadata().getName().equals(e.getInvolvedObject().getName()))
                .map(Event::getReason).toList();
    }

    @Test
    void handsTheBackupToTheNodeAndFailsWithNoAgentWhenNobodyTakesIt() {
        VMBackup b = create("node-a");
        await().atMost(Duration.ofSeconds(10)).until(() -> get(b).getStatus() != null
                && get(b).getStatus().phase == Phase.SCHEDULED);
        VMBackup scheduled = get(b);
        assertThat(scheduled.getMetadata().getLabels()).containsEntry(VMBackup.NODE_LABEL, "node-a");
        assertThat(scheduled.getStatus().node).isEqualTo("node-a");
        assertThat(scheduled.getMetadata().getFinalizers()).isNotEmpty();
        await().atMost(Duration.ofSeconds(15)).until(() -> get(b).getStatus().phase == Phase.FAILED);
        VMBackup failed = get(b);
        assertThat(failed.getStatus().reason).isEqualTo("NoAgent");
        assertThat(failed.getStatus().message).contains("node-a").contains("node-agent");
        assertThat(failed.getStatus().conditions).anySatisfy(c -> {
            assertThat(c.getType()).isEqualTo(RunTransitions.FAILED);
            assertThat(c.getStatus()).isEqualTo("True");
            assertThat(c.getReason()).isEqualTo("NoAgent");
        });
        await().atMost(Duration.ofSeconds(5)).until(() -> eventReasons(b).containsAll(List.of("Scheduled", "NoAgent")));
    }

    @Test
    void anUnknownNodeFailsAtOnceWithTheFix() {
        VMBackup b = create("nosuch");
        await().atMost(Duration.ofSeconds(10)).until(() -> get(b).getStatus() != null
                && get(b).getStatus().phase == Phase.FAILED);
        assertThat(get(b).getStatus().reason).isEqualTo("NodeNotFound");
        assertThat(get(b).getStatus().message).contains("nosuch").contains("kubectl get nodes");
    }

    @Test
    void anAcceptedBackupIsLeftToItsAgentAndCountedWhenDone() throws Exception {
        VMBackup b = create("node-a");
        await().atMost(Duration.ofSeconds(10)).until(() -> get(b).getStatus() != null
                && get(b).getStatus().phase == Phase.SCHEDULED);
        // the agent accepts: an update checked against resourceVersion
        VMBackup accepted = get(b);
        RunTransitions.move(accepted.getStatus(), Phase.RUNNING, "Started", "backup running", 1L, Instant.now());
        client.resource(accepted).updateStatus();
        // for longer than the test profile's no-agent timeout, it stays the agent's
        await().during(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(6))
                .until(() -> get(b).getStatus().phase == Phase.RUNNING);

        VMBackup done = get(b);
        RunTransitions.move(done.getStatus(), Phase.SUCCEEDED, "Succeeded", "backup complete", 1L, Instant.now());
        client.resource(done).updateStatus();
        await().atMost(Duration.ofSeconds(10)).until(() -> eventReasons(b).contains("Succeeded"));
        await().atMost(Duration.ofSeconds(10)).until(() -> metrics().contains("qmpbackup_runs_total{kind=\"VMBackup\","
                + "result=\"Succeeded\"}"));
    }

    @Test
    void deletingARunningBackupWaitsForTheAgentToCancelIt() {
        VMBackup b = create("node-a");
        await().atMost(Duration.ofSeconds(10)).until(() -> get(b).getStatus() != null
                && get(b).getStatus().phase == Phase.SCHEDULED);
        VMBackup running = get(b);
        RunTransitions.move(running.getStatus(), Phase.RUNNING, "Started", "backup running", 1L, Instant.now());
        client.resource(running).updateStatus();
        client.resource(get(b)).delete();
        await().pollDelay(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5)).until(() -> get(b) != null
                && get(b).getMetadata().getDeletionTimestamp() != null);
        VMBackup cancelled = get(b);
        RunTransitions.move(cancelled.getStatus(), Phase.CANCELLED, "Cancelled", "cancelled", 1L, Instant.now());
        client.resource(cancelled).updateStatus();
        await().atMost(Duration.ofSeconds(10)).until(() -> get(b) == null);
    }

    private String metrics() throws IOException, InterruptedException {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://localhost:" + port + "/q/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        return r.body();
    }
}
