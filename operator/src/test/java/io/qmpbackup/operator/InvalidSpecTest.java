package io.qmpbackup.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import io.qmpbackup.api.testing.MalformedObjects;
import io.qmpbackup.api.testing.MalformedObjects.Malformed;
import io.qmpbackup.api.v1alpha1.BackupLevel;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.RunStatus;
import io.qmpbackup.api.v1alpha1.StorageRef;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSchedule;
import io.qmpbackup.api.v1alpha1.VMBackupSpec;
import io.qmpbackup.api.v1alpha1.VMRestore;
import io.qmpbackup.api.v1alpha1.VmRef;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Objects a server that checks no schema lets through (the in-process server is one): each fails
 * with InvalidSpec naming its field, and the watch goes on, so a valid backup after them runs.
 */
@QuarkusTest
@WithKubernetesTestServer
class InvalidSpecTest {
    private static final String NS = "skew";
    private static final String VM = "\"vm\": {\"node\": \"node-a\", \"qmpSocket\": \"/run/qemu/web1.qmp\"}";
    private static final String STORAGE = "\"storage\": {\"location\": \"default\", \"path\": \"web1\"}";

    @Inject
    KubernetesClient client;

    private RunStatus status(Class<? extends io.fabric8.kubernetes.client.CustomResource<?, ? extends RunStatus>> type,
            String name) {
        var r = client.resources(type).inNamespace(NS).withName(name).get();
        return r == null ? null : r.getStatus();
    }

    private List<String> eventReasons(String name) {
        return client.v1().events().inNamespace(NS).list().getItems().stream()
                .filter(e -> name.equals(e.getInvolvedObject().getName())).map(Event::getReason).toList();
    }

    @Test
    void eachMalformedRunFailsWithInvalidSpecAndAValidBackupAfterThemIsDispatched() throws Exception {
        client.nodes().resource(new NodeBuilder().withNewMetadata().withName("node-a").endMetadata().build())
                .createOr(n -> n.update());
        List<Malformed> runs = new ArrayList<>(MalformedObjects.BACKUPS);
        runs.addAll(MalformedObjects.RESTORES);
        runs.forEach(m -> m.create(client, NS));
        MalformedObjects.SCHEDULES.forEach(m -> m.create(client, NS));
        MalformedObjects.QEMU_VM.create(client, NS);
        MalformedObjects.BACKUP_OF_QEMU_VM.create(client, NS);
        VMBackup valid = validBackup();

        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            for (Malformed m : runs) {
                assertFailed(m.kind().equals("VMBackup") ? VMBackup.class : VMRestore.class, m.name(), "InvalidSpec",
                        m.names());
            }
            assertFailed(VMBackup.class, MalformedObjects.BACKUP_OF_QEMU_VM.name(), "InvalidQemuVM",
                    MalformedObjects.QEMU_VM.names());
            for (Malformed m : MalformedObjects.SCHEDULES) {
                VMBackupSchedule s = client.resources(VMBackupSchedule.class).inNamespace(NS).withName(m.name()).get();
                assertThat(s.getStatus()).as(m.name()).isNotNull();
                Condition ready = s.getStatus().conditions.stream().filter(c -> c.getType().equals("Ready"))
                        .findFirst().orElseThrow();
                assertThat(ready.getStatus()).as(m.name()).isEqualTo("False");
                assertThat(ready.getReason()).as(m.name()).isEqualTo("InvalidSchedule");
                assertThat(ready.getMessage()).as(m.name()).contains(m.names());
                assertThat(s.getStatus().nextScheduleTime).as(m.name()).isNull();
            }
        });
        // a schedule with a broken spec made no VMBackup
        assertThat(client.resources(VMBackup.class).inNamespace(NS).list().getItems())
                .noneMatch(b -> b.getMetadata().getLabels() != null
                        && b.getMetadata().getLabels().containsKey(VMBackupSchedule.SCHEDULE_LABEL));
        // dispatched: Scheduled on its node (and, with no agent in this test, NoAgent a few seconds later)
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            VMBackup b = client.resources(VMBackup.class).inNamespace(NS).withName(valid.getMetadata().getName()).get();
            assertThat(b.getStatus()).isNotNull();
            assertThat(b.getStatus().scheduledTime).isNotNull();
            assertThat(b.getStatus().phase == Phase.SCHEDULED || "NoAgent".equals(b.getStatus().reason)).isTrue();
            assertThat(b.getStatus().node).isEqualTo("node-a");
            assertThat(b.getMetadata().getLabels()).containsEntry(VMBackup.NODE_LABEL, "node-a");
        });
        assertThat(eventReasons(valid.getMetadata().getName())).contains("Scheduled");
        await().atMost(Duration.ofSeconds(5)).until(() -> eventReasons("level-weekly").contains("InvalidSpec")
                && eventReasons("mode-explode").contains("InvalidSpec"));
        // what the server holds is untouched: the status was written, the spec as it was
        var raw = client.genericKubernetesResources(MalformedObjects.context("VMBackup", "vmbackups")).inNamespace(NS)
                .withName("level-weekly").get();
        assertThat(((Map<?, ?>) raw.getAdditionalProperties().get("spec")).get("level")).isEqualTo("weekly");
    }

    private void assertFailed(Class<? extends io.fabric8.kubernetes.client.CustomResource<?, ? extends RunStatus>>
            type, String name, String reason, String field) {
        RunStatus s = status(type, name);
        assertThat(s).as(name).isNotNull();
        assertThat(s.phase).as(name).isEqualTo(Phase.FAILED);
        assertThat(s.reason).as(name + ": " + s.message).isEqualTo(reason);
        assertThat(s.message).as(name).contains(field);
    }

    private VMBackup validBackup() {
        VMBackup b = new VMBackup();
        b.setMetadata(new ObjectMetaBuilder().withName("valid-after-them").withNamespace(NS).build());
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
}
