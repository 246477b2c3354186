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
        return create(node, "default");
    }

    private VMBackup create(String node, String location) {
        VMBackup b = new VMBackup();
        b.setMetadata(new ObjectMetaBuilder().withName("web1-" + UUID.randomUUID().toString().substring(0, 6))
                .withNamespace(NS).build());
        VMBackupSpec spec = new VMBackupSpec();
        spec.vm = new VmRef();
        spec.vm.node = node;
        spec.vm.qmpSocket = "/run/qemu/web1.qmp";
        spec.level = BackupLevel.AUTO;
        spec.storage = new StorageRef();
        spec.storage.location = location;
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

    /** Plays the agent: the backup ran on node-a and wrote these files (relative to its location). */
    private VMBackup succeeded(String node, String location, List<String> files, List<String> pruned) {
        VMBackup created = create(node, location);
        // as in life: the operator hands it to the node (and labels it) before an agent runs it
        await().atMost(Duration.ofSeconds(10)).until(() -> get(created).getStatus() != null
                && get(created).getStatus().phase == Phase.SCHEDULED);
        VMBackup b = get(created);
        io.qmpbackup.api.v1alpha1.VMBackupStatus st = new io.qmpbackup.api.v1alpha1.VMBackupStatus();
        st.phase = Phase.SUCCEEDED;
        st.node = node;
        st.agent = "agent-test";
        st.completionTime = Instant.now().toString();
        st.disks = new java.util.ArrayList<>();
        for (String f : files) {
            io.qmpbackup.api.v1alpha1.DiskResult d = new io.qmpbackup.api.v1alpha1.DiskResult();
            d.file = f;
            st.disks.add(d);
        }
        if (pruned != null) {
            st.retention = new io.qmpbackup.api.v1alpha1.RetentionResult();
            st.retention.prunedFiles = pruned;
            st.retention.chainsPruned = 1;
            st.retention.chainsKept = 1;
            st.retention.bytesFreed = 3L << 30;
        }
        // the operator may be writing its own status (Scheduled) at the same moment: retry on conflict
        for (int attempt = 0; ; attempt++) {
            b.setStatus(st);
            try {
                return client.resource(b).updateStatus();
            } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
                if (e.getCode() != 409 || attempt > 10) {
                    throw e;
                }
                b = get(b);
            }
        }
    }

    @Test
    void theVMBackupsOfPrunedChainsAreDeletedAndNoOthers() throws Exception {
        client.nodes().resource(new NodeBuilder().withNewMetadata().withName("node-b").endMetadata().build())
                .createOr(n -> n.update());
        // a two-disk full and an incremental in the pruned chain
        VMBackup full = succeeded("node-a", "default", List.of("web1/vda/FULL-1-vda.qcow2",
                "web1/vdb/FULL-1-vdb.qcow2"), null);
        VMBackup inc = succeeded("node-a", "default", List.of("web1/vda/INC-2-vda.qcow2",
                "web1/vdb/INC-2-vdb.qcow2"), null);
        // vdb started a new chain here, vda went on: vda's file was pruned, so this point is no longer kept
        VMBackup partly = succeeded("node-a", "default", List.of("web1/vda/INC-3-vda.qcow2",
                "web1/vdb/FULL-3-vdb.qcow2"), null);
        // untouched by the prune: stays
        VMBackup later = succeeded("node-a", "default", List.of("web1/vda/FULL-5-vda.qcow2",
                "web1/vdb/INC-5-vdb.qcow2"), null);
        // the same relative names on another node, or in another location of this node, are other files
        VMBackup otherNode = succeeded("node-b", "default", List.of("web1/vda/FULL-1-vda.qcow2",
                "web1/vdb/FULL-1-vdb.qcow2"), null);
        VMBackup otherLocation = succeeded("node-a", "nfs", List.of("web1/vda/FULL-1-vda.qcow2",
                "web1/vdb/FULL-1-vdb.qcow2"), null);
        VMBackup pruner = succeeded("node-a", "default", List.of("web1/vda/FULL-9-vda.qcow2",
                "web1/vdb/FULL-9-vdb.qcow2"), List.of("web1/vda/FULL-1-vda.qcow2", "web1/vdb/FULL-1-vdb.qcow2",
                        "web1/vda/INC-2-vda.qcow2", "web1/vdb/INC-2-vdb.qcow2", "web1/vda/INC-3-vda.qcow2"));
        await().atMost(Duration.ofSeconds(10)).until(() -> get(full) == null && get(inc) == null
                && get(partly) == null);
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3)).until(() -> get(later) != null
                && get(otherNode) != null && get(otherLocation) != null && get(pruner) != null);
        assertThat(eventReasons(pruner)).contains("PrunedBackupsDeleted");
        await().atMost(Duration.ofSeconds(10)).until(() -> metrics().contains("qmpbackup_retention_freed_bytes_total"));
        assertThat(metrics()).containsPattern("qmpbackup_retention_pruned_chains_total(\\{[^}]*\\})? [1-9]");
    }

    /** The heartbeat the node agent on {@code node} keeps, renewed at {@code renewed}. */
    private void heartbeat(String node, Instant renewed) {
        io.fabric8.kubernetes.api.model.coordination.v1.Lease lease =
                new io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder().withNewMetadata()
                        .withName(io.qmpbackup.api.v1alpha1.AgentLease.name(node)).withNamespace(client.getNamespace())
                        .withLabels(java.util.Map.of(io.qmpbackup.api.v1alpha1.AgentLease.COMPONENT_LABEL,
                                io.qmpbackup.api.v1alpha1.AgentLease.COMPONENT))
                        .endMetadata().withNewSpec().withHolderIdentity("agent-hb").withLeaseDurationSeconds(3)
                        .withRenewTime(renewed.atZone(java.time.ZoneOffset.UTC)).endSpec().build();
        client.leases().inNamespace(client.getNamespace()).resource(lease).createOr(l -> l.update());
    }

    /** Plays the agent accepting and starting the backup (retried when the operator writes meanwhile). */
    private void startAs(VMBackup b, String agent) {
        for (int attempt = 0; ; attempt++) {
            VMBackup cur = get(b);
            cur.getStatus().agent = agent;
            RunTransitions.move(cur.getStatus(), Phase.RUNNING, "Started", "started", 1L, Instant.now());
            try {
                client.resource(cur).updateStatus();
                return;
            } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
                if (e.getCode() != 409 || attempt > 10) {
                    throw e;
                }
            }
        }
    }

    @Test
    void workOfAnAgentThatStopsItsHeartbeatFailsWithAgentLost() {
        client.nodes().resource(new NodeBuilder().withNewMetadata().withName("node-hb").endMetadata().build())
                .createOr(n -> n.update());
        heartbeat("node-hb", Instant.now());
        VMBackup b = create("node-hb");
        await().atMost(Duration.ofSeconds(10)).until(() -> get(b).getStatus() != null
                && get(b).getStatus().phase == Phase.SCHEDULED);
        // the test plays the agent: it accepts and runs the backup, and beats every 500 ms
        startAs(b, "agent-hb");
        long beatUntil = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        await().during(Duration.ofSeconds(5)).atMost(Duration.ofSeconds(7)).pollInterval(Duration.ofMillis(500))
                .until(() -> {
                    if (System.nanoTime() < beatUntil) {
                        heartbeat("node-hb", Instant.now());
                    }
                    return get(b).getStatus().phase == Phase.RUNNING;
                });
        // the agent goes silent: after agent-lost-timeout (3 s here) its work fails
        long silentFrom = System.nanoTime();
        await().atMost(Duration.ofSeconds(15)).until(() -> get(b).getStatus().phase == Phase.FAILED);
        long tookMs = (System.nanoTime() - silentFrom) / 1_000_000;
        VMBackup lost = get(b);
        assertThat(lost.getStatus().reason).isEqualTo("AgentLost");
        assertThat(lost.getStatus().message).contains("node-hb").contains("agent-hb").contains("heartbeat");
        assertThat(eventReasons(b)).contains("AgentLost");
        System.out.println("AgentLost " + tookMs + " ms after the last heartbeat renewal");
    }

    @Test
    void anAgentThatKeepsNoHeartbeatIsLeftAlone() {
        VMBackup b = create("node-a");
        await().atMost(Duration.ofSeconds(10)).until(() -> get(b).getStatus() != null
                && get(b).getStatus().phase == Phase.SCHEDULED);
        startAs(b, "agent-old");
        await().during(Duration.ofSeconds(5)).atMost(Duration.ofSeconds(7))
                .until(() -> get(b).getStatus().phase == Phase.RUNNING);
    }
}
