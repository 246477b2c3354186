package io.qmpbackup.api.v1alpha1;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.WatchEvent;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import org.junit.jupiter.api.Test;

/** Our resources as a server that checks no schema may hold them, read as the client reads a watch. */
class LenientSpecReadingTest {
    private static final String BAD_BACKUP = """
            {"apiVersion": "qmpbackup.io/v1alpha1", "kind": "VMBackup",
             "metadata": {"name": "web1-weekly", "namespace": "vms", "uid": "u-1", "resourceVersion": "7"},
             "spec": {"vm": {"name": "web1", "addedLater": {"x": 1}},
                      "level": "weekly",
                      "speedLimit": "fast",
                      "include": "vda",
                      "retention": {"keepLast": 99999999999, "keepDaily": 3},
                      "storage": {"location": "default", "path": {"nested": [1, [2, {"deep": true}]]}},
                      "uuid": "chain-1",
                      "fieldOfANewerSchema": [1, 2]},
             "status": {"phase": "Pending"}}
            """;

    private static KubernetesSerialization lenient() {
        ObjectMapper mapper = new ObjectMapper();
        LenientSpecReading.install(mapper);
        // as Quarkus builds the client's serialization: customizers first, then fabric8's own setup
        KubernetesSerialization s = new KubernetesSerialization(mapper, false);
        s.registerKubernetesResource(VMBackup.class);
        s.registerKubernetesResource(VMRestore.class);
        return s;
    }

    private static final String WEEKLY_ONLY = """
            {"apiVersion": "qmpbackup.io/v1alpha1", "kind": "VMBackup",
             "metadata": {"name": "web1-weekly", "namespace": "vms", "uid": "u-0", "resourceVersion": "3"},
             "spec": {"vm": {"name": "web1"}, "level": "weekly", "storage": {"location": "default", "path": "web1"}}}
            """;

    @Test
    void withoutItOneBadEnumValueOrOneNewFieldFailsTheRead() {
        KubernetesSerialization strict = new KubernetesSerialization(new ObjectMapper(), false);
        assertThatThrownBy(() -> strict.unmarshal(WEEKLY_ONLY, VMBackup.class)).rootCause()
                .hasMessageContaining("weekly");
        String newField = WEEKLY_ONLY.replace("\"weekly\"", "\"full\", \"addedLater\": 1");
        assertThatThrownBy(() -> strict.unmarshal(newField, VMBackup.class)).rootCause()
                .hasMessageContaining("addedLater");
        VMBackup b = lenient().unmarshal(WEEKLY_ONLY, VMBackup.class);
        assertThat(b.getSpec().level).isNull();
        assertThat(SpecValidation.problems(b)).extracting(SpecProblem::toString)
                .containsExactly("spec.level: \"weekly\" is not one of full, inc, auto, copy");
    }

    @Test
    void unreadableFieldsAreNullAndTheRestIsRead() {
        VMBackup b = lenient().unmarshal(BAD_BACKUP, VMBackup.class);
        VMBackupSpec spec = b.getSpec();
        assertThat(spec.level).isNull();
        assertThat(spec.speedLimit).isNull();
        assertThat(spec.include).isNull();
        assertThat(spec.retention.keepLast).isNull();
        assertThat(spec.retention.keepDaily).isEqualTo(3);
        assertThat(spec.vm.name).isEqualTo("web1");
        assertThat(spec.storage.location).isEqualTo("default");
        assertThat(spec.storage.path).isNull();
        // fields after a skipped structure are still read
        assertThat(spec.uuid).isEqualTo("chain-1");
        assertThat(b.getStatus().phase).isEqualTo(Phase.PENDING);
        assertThat(b.getMetadata().getName()).isEqualTo("web1-weekly");
    }

    @Test
    void whatCouldNotBeReadIsRememberedWithTheAllowedValues() {
        VMBackup b = lenient().unmarshal(BAD_BACKUP, VMBackup.class);
        assertThat(LenientSpecReading.unreadable(b)).extracting(SpecProblem::toString).containsExactly(
                "spec.level: \"weekly\" is not one of full, inc, auto, copy",
                "spec.speedLimit: \"fast\" is not an integer",
                "spec.include: \"vda\" is not a list",
                "spec.retention.keepLast: 99999999999 is not an integer",
                "spec.storage.path: an object is not a string");
        // a copy made through JSON (as JOSDK and the agent clone) finds the same record
        KubernetesSerialization s = lenient();
        assertThat(LenientSpecReading.unreadable(s.clone(b))).hasSize(5);
    }

    @Test
    void aWatchEventOfABadRestoreIsRead() {
        String event = """
                {"type": "ADDED", "object": {"apiVersion": "qmpbackup.io/v1alpha1", "kind": "VMRestore",
                 "metadata": {"name": "r1", "namespace": "vms", "uid": "u-2", "resourceVersion": "9"},
                 "spec": {"source": {"backup": "web1-full"}, "mode": "explode"}}}
                """;
        WatchEvent e = lenient().unmarshal(event, WatchEvent.class);
        VMRestore r = (VMRestore) e.getObject();
        assertThat(r.getSpec().mode).isNull();
        assertThat(r.getSpec().source.backup).isEqualTo("web1-full");
        assertThat(LenientSpecReading.unreadable(r)).extracting(SpecProblem::toString)
                .containsExactly("spec.mode: \"explode\" is not one of merge, rebase, commit, snapshotrebase, instant,"
                        + " export");
    }

    @Test
    void anEnumGivenAsANumberIsNotTakenAsAnIndex() {
        String json = BAD_BACKUP.replace("\"weekly\"", "1").replace("\"u-1\"", "\"u-3\"");
        VMBackup b = lenient().unmarshal(json, VMBackup.class);
        assertThat(b.getSpec().level).isNull();
        assertThat(LenientSpecReading.unreadable(b).get(0).toString())
                .isEqualTo("spec.level: 1 is not one of full, inc, auto, copy");
    }

    @Test
    void kubernetesOwnMetadataIsReadAsStrictlyAsBefore() {
        String json = BAD_BACKUP.replace("\"resourceVersion\": \"7\"", "\"generation\": \"many\"");
        assertThatThrownBy(() -> lenient().unmarshal(json, VMBackup.class)).rootCause().hasMessageContaining("many");
    }

    @Test
    void aCleanObjectLeavesNoRecord() {
        String json = """
                {"apiVersion": "qmpbackup.io/v1alpha1", "kind": "VMBackup",
                 "metadata": {"name": "ok", "namespace": "vms", "uid": "u-4", "resourceVersion": "1"},
                 "spec": {"vm": {"name": "web1"}, "level": "inc", "speedLimit": 10,
                          "storage": {"location": "default", "path": "web1"}}}
                """;
        VMBackup b = lenient().unmarshal(json, VMBackup.class);
        assertThat(b.getSpec().level).isEqualTo(BackupLevel.INC);
        assertThat(b.getSpec().speedLimit).isEqualTo(10L);
        assertThat(LenientSpecReading.unreadable(b)).isEmpty();
        assertThat(SpecValidation.problems(b)).isEmpty();
    }
}
