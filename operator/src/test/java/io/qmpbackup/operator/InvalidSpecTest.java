package io.qmpbackup.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import io.qmpbackup.api.v1alpha1.BackupLevel;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.RunStatus;
import io.qmpbackup.api.v1alpha1.StorageRef;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSpec;
import io.qmpbackup.api.v1alpha1.VMRestore;
import io.qmpbackup.api.v1alpha1.VmRef;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.LinkedHashMap;
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

    /** name -> spec JSON, and the field its message must name. */
    private static final Map<String, String[]> BAD_BACKUPS = new LinkedHashMap<>();
    private static final Map<String, String[]> BAD_RESTORES = new LinkedHashMap<>();

    static {
        BAD_BACKUPS.put("level-weekly", new String[] {"{" + VM + ", \"level\": \"weekly\", " + STORAGE + "}",
                "spec.level: \"weekly\" is not one of full, inc, auto, copy"});
        BAD_BACKUPS.put("level-number", new String[] {"{" + VM + ", \"level\": 1, " + STORAGE + "}", "spec.level"});
        BAD_BACKUPS.put("speed-fast", new String[] {"{" + VM + ", \"level\": \"full\", \"speedLimit\": \"fast\", "
                + STORAGE + "}", "spec.speedLimit: \"fast\" is not an integer"});
        BAD_BACKUPS.put("speed-negative", new String[] {"{" + VM + ", \"level\": \"full\", \"speedLimit\": -5, "
                + STORAGE + "}", "spec.speedLimit"});
        BAD_BACKUPS.put("no-level", new String[] {"{" + VM + ", " + STORAGE + "}",
                "spec.level: missing or not one of full, inc, auto, copy"});
        BAD_BACKUPS.put("no-vm", new String[] {"{\"level\": \"inc\", " + STORAGE + "}", "spec.vm"});
        BAD_BACKUPS.put("dotdot", new String[] {"{" + VM + ", \"level\": \"inc\", \"storage\": {\"location\":"
                + " \"default\", \"path\": \"web1/../../other-tenant\"}}", "spec.storage.path"});
        BAD_BACKUPS.put("absolute", new String[] {"{" + VM + ", \"level\": \"inc\", \"storage\": {\"location\":"
                + " \"default\", \"path\": \"/etc\"}}", "spec.storage.path"});
        BAD_BACKUPS.put("include-exclude", new String[] {"{" + VM + ", \"level\": \"inc\", \"include\": [\"vda\"],"
                + " \"exclude\": [\"vdb\"], " + STORAGE + "}", "spec.include"});
        BAD_BACKUPS.put("storage-string", new String[] {"{" + VM + ", \"level\": \"inc\", \"storage\": \"nfs\"}",
                "spec.storage: \"nfs\" is not an object"});
        BAD_BACKUPS.put("keep-zero", new String[] {"{" + VM + ", \"level\": \"inc\", \"retention\": {\"keepLast\": 0},"
                + " " + STORAGE + "}", "spec.retention.keepLast"});
        BAD_RESTORES.put("mode-explode", new String[] {"{\"source\": {\"backup\": \"web1-full\"}, \"mode\":"
                + " \"explode\"}", "spec.mode: \"explode\" is not one of merge, rebase, commit, snapshotrebase"});
        BAD_RESTORES.put("no-source", new String[] {"{\"mode\": \"rebase\"}", "spec.source"});
        BAD_RESTORES.put("merge-no-target", new String[] {"{\"source\": {\"backup\": \"web1-full\"}, \"mode\":"
                + " \"merge\"}", "spec.targetFile"});
        BAD_RESTORES.put("source-dotdot", new String[] {"{\"source\": {\"storage\": {\"location\": \"default\","
                + " \"path\": \"../x\"}, \"disk\": \"vda\"}, \"node\": \"node-a\", \"mode\": \"commit\"}",
                "spec.source.storage.path"});
    }

    /** Created as raw JSON, as kubectl would send it: the typed client would not build these. */
    private void createRaw(String plural, String kind, String name, String specJson) throws Exception {
        GenericKubernetesResource g = new GenericKubernetesResource();
        g.setApiVersion("qmpbackup.io/v1alpha1");
        g.setKind(kind);
        g.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
        g.setAdditionalProperty("spec", new ObjectMapper().readValue(specJson, Map.class));
        client.genericKubernetesResources(context(kind, plural)).inNamespace(NS).resource(g).create();
    }

    private static ResourceDefinitionContext context(String kind, String plural) {
        return new ResourceDefinitionContext.Builder().withGroup("qmpbackup.io").withVersion("v1alpha1")
                .withKind(kind).withPlural(plural).withNamespaced(true).build();
    }

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
        for (var e : BAD_BACKUPS.entrySet()) {
            createRaw("vmbackups", "VMBackup", e.getKey(), e.getValue()[0]);
        }
        for (var e : BAD_RESTORES.entrySet()) {
            createRaw("vmrestores", "VMRestore", e.getKey(), e.getValue()[0]);
        }
        VMBackup valid = validBackup();

        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            for (var e : BAD_BACKUPS.entrySet()) {
                assertInvalid(VMBackup.class, e.getKey(), e.getValue()[1]);
            }
            for (var e : BAD_RESTORES.entrySet()) {
                assertInvalid(VMRestore.class, e.getKey(), e.getValue()[1]);
            }
        });
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
        var raw = client.genericKubernetesResources(context("VMBackup", "vmbackups")).inNamespace(NS)
                .withName("level-weekly").get();
        assertThat(((Map<?, ?>) raw.getAdditionalProperties().get("spec")).get("level")).isEqualTo("weekly");
    }

    private void assertInvalid(Class<? extends io.fabric8.kubernetes.client.CustomResource<?, ? extends RunStatus>>
            type, String name, String field) {
        RunStatus s = status(type, name);
        assertThat(s).as(name).isNotNull();
        assertThat(s.phase).as(name).isEqualTo(Phase.FAILED);
        assertThat(s.reason).as(name).isEqualTo("InvalidSpec");
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
