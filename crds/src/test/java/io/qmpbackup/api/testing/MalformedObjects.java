package io.qmpbackup.api.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;

/**
 * Objects a server that checks no schema lets through (version skew: new CRDs before the
 * operator is upgraded, or objects stored under an older schema), each with the text its failure
 * must name. Created as raw JSON, as kubectl would send them: the typed client would not build
 * them. Shared by the operator's test and the end-to-end test of both packaged processes.
 */
public final class MalformedObjects {
    private static final String VM = "\"vm\": {\"node\": \"node-a\", \"qmpSocket\": \"/run/qemu/web1.qmp\"}";
    private static final String STORAGE = "\"storage\": {\"location\": \"default\", \"path\": \"web1\"}";
    private static final String SCHEDULE = "\"schedule\": \"*/5 * * * *\", \"vmSelector\": {}";

    /** One malformed object: its kind, name, spec (JSON) and what its failure message must contain. */
    public record Malformed(String kind, String name, String spec, String names) {
        public String plural() {
            return kind.toLowerCase() + "s";
        }

        /** Creates it in {@code namespace} as raw JSON. */
        public void create(KubernetesClient client, String namespace) {
            create(client, namespace, Map.of(), null);
        }

        /**
         * Creates it with {@code labels} and, when {@code status} is not null, that status (as an
         * agent finds work the operator handed it: its node label and phase Scheduled).
         */
        public void create(KubernetesClient client, String namespace, Map<String, String> labels,
                Map<String, Object> status) {
            GenericKubernetesResource g = new GenericKubernetesResource();
            g.setApiVersion("qmpbackup.io/v1alpha1");
            g.setKind(kind);
            g.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).withLabels(labels).build());
            try {
                g.setAdditionalProperty("spec", new ObjectMapper().readValue(spec, Map.class));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            var resources = client.genericKubernetesResources(context(kind, plural())).inNamespace(namespace);
            GenericKubernetesResource created = resources.resource(g).create();
            if (status != null) {
                created.setAdditionalProperty("status", status);
                resources.resource(created).updateStatus();
            }
        }

        /** The same object under another name. */
        public Malformed named(String other) {
            return new Malformed(kind, other, spec, names);
        }
    }

    public static final List<Malformed> BACKUPS = List.of(
            backup("level-weekly", "{" + VM + ", \"level\": \"weekly\", " + STORAGE + "}",
                    "spec.level: \"weekly\" is not one of full, inc, auto, copy"),
            backup("level-number", "{" + VM + ", \"level\": 1, " + STORAGE + "}", "spec.level"),
            backup("speed-fast", "{" + VM + ", \"level\": \"full\", \"speedLimit\": \"fast\", " + STORAGE + "}",
                    "spec.speedLimit: \"fast\" is not an integer"),
            backup("speed-negative", "{" + VM + ", \"level\": \"full\", \"speedLimit\": -5, " + STORAGE + "}",
                    "spec.speedLimit"),
            backup("no-level", "{" + VM + ", " + STORAGE + "}", "spec.level: missing or not one of full, inc, auto,"
                    + " copy"),
            backup("no-vm", "{\"level\": \"inc\", " + STORAGE + "}", "spec.vm"),
            backup("dotdot", "{" + VM + ", \"level\": \"inc\", \"storage\": {\"location\": \"default\", \"path\":"
                    + " \"web1/../../other-tenant\"}}", "spec.storage.path"),
            backup("absolute", "{" + VM + ", \"level\": \"inc\", \"storage\": {\"location\": \"default\", \"path\":"
                    + " \"/etc\"}}", "spec.storage.path"),
            backup("include-exclude", "{" + VM + ", \"level\": \"inc\", \"include\": [\"vda\"], \"exclude\":"
                    + " [\"vdb\"], " + STORAGE + "}", "spec.include"),
            backup("storage-string", "{" + VM + ", \"level\": \"inc\", \"storage\": \"nfs\"}",
                    "spec.storage: \"nfs\" is not an object"),
            backup("keep-zero", "{" + VM + ", \"level\": \"inc\", \"retention\": {\"keepLast\": 0}, " + STORAGE + "}",
                    "spec.retention.keepLast"));

    public static final List<Malformed> RESTORES = List.of(
            restore("mode-explode", "{\"source\": {\"backup\": \"web1-full\"}, \"mode\": \"explode\"}",
                    "spec.mode: \"explode\" is not one of merge, rebase, commit, snapshotrebase, instant, export"),
            restore("no-source", "{\"mode\": \"rebase\"}", "spec.source"),
            restore("merge-no-target", "{\"source\": {\"backup\": \"web1-full\"}, \"mode\": \"merge\"}",
                    "spec.targetFile"),
            restore("source-dotdot", "{\"source\": {\"storage\": {\"location\": \"default\", \"path\": \"../x\"},"
                    + " \"disk\": \"vda\"}, \"node\": \"node-a\", \"mode\": \"commit\"}", "spec.source.storage.path"));

    /** Schedules: each must end Ready=False (InvalidSchedule) naming the field, and create no VMBackup. */
    public static final List<Malformed> SCHEDULES = List.of(
            schedule("template-level-weekly", "{" + SCHEDULE + ", \"template\": {\"level\": \"weekly\", " + STORAGE
                    + "}}", "spec.template.level: \"weekly\" is not one of full, inc, auto, copy"),
            schedule("full-every-often", "{" + SCHEDULE + ", \"fullEvery\": \"often\", \"template\": {" + STORAGE
                    + "}}", "spec.fullEvery: \"often\" is not an integer"),
            schedule("policy-sometimes", "{" + SCHEDULE + ", \"concurrencyPolicy\": \"Sometimes\", \"template\": {"
                    + STORAGE + "}}", "spec.concurrencyPolicy"),
            schedule("no-template", "{" + SCHEDULE + "}", "spec.template"),
            schedule("template-dotdot", "{" + SCHEDULE + ", \"template\": {\"storage\": {\"location\": \"default\","
                    + " \"path\": \"../x\"}}}", "spec.template.storage.path"));

    /** A QemuVM whose socket is not a string: a backup naming it fails with InvalidQemuVM naming the field. */
    public static final Malformed QEMU_VM = new Malformed("QemuVM", "socket-list",
            "{\"node\": \"node-a\", \"qmpSocket\": [\"/run/qemu/web1.qmp\"]}", "spec.qmpSocket");

    /** The VMBackup that names {@link #QEMU_VM}. */
    public static final Malformed BACKUP_OF_QEMU_VM = backup("of-socket-list", "{\"vm\": {\"name\": \"socket-list\"},"
            + " \"level\": \"full\", " + STORAGE + "}", "spec.qmpSocket");

    private MalformedObjects() {
    }

    private static Malformed backup(String name, String spec, String names) {
        return new Malformed("VMBackup", name, spec, names);
    }

    private static Malformed restore(String name, String spec, String names) {
        return new Malformed("VMRestore", name, spec, names);
    }

    private static Malformed schedule(String name, String spec, String names) {
        return new Malformed("VMBackupSchedule", name, spec, names);
    }

    public static ResourceDefinitionContext context(String kind, String plural) {
        return new ResourceDefinitionContext.Builder().withGroup("qmpbackup.io").withVersion("v1alpha1")
                .withKind(kind).withPlural(plural).withNamespaced(true).build();
    }
}
