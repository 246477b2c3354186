package io.qmpbackup.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.qmpbackup.api.v1alpha1.QemuVM;
import io.qmpbackup.api.v1alpha1.SpecValidation;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSchedule;
import io.qmpbackup.api.v1alpha1.VMRestore;
import io.qmpbackup.api.v1alpha1.RestoreMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The README's VMBackup, VMRestore and VMBackupSchedule examples, as printed, against the chart's
 * default values (socket folder /run/qemu and storage /var/lib/qmpbackup, both the release
 * namespace's, installed as the README installs it: -n qmpbackup): each parses, breaks no schema
 * rule, and is permitted where it is. An example that a user copies must not fail with
 * NotPermitted.
 */
class ReadmeExamplesTest {
    private static final Pattern YAML_BLOCK = Pattern.compile("```yaml\\n(.*?)```", Pattern.DOTALL);
    private static final String RELEASE_NAMESPACE = "qmpbackup";
    private final Grants chartDefaults = new Grants(Optional.of(List.of("/run/qemu")),
            Optional.of("default=/var/lib/qmpbackup"), RELEASE_NAMESPACE);

    private static List<HasMetadata> examples() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"));
        KubernetesSerialization yaml = new KubernetesSerialization();
        for (Class<? extends HasMetadata> kind : List.of(VMBackup.class, VMRestore.class, VMBackupSchedule.class,
                QemuVM.class)) {
            yaml.registerKubernetesResource(kind);
        }
        List<HasMetadata> out = new ArrayList<>();
        Matcher m = YAML_BLOCK.matcher(readme);
        while (m.find()) {
            for (String doc : m.group(1).split("(?m)^---$")) {
                if (doc.contains("apiVersion: qmpbackup.io/")) {
                    out.add(yaml.unmarshal(doc));
                }
            }
        }
        return out;
    }

    @Test
    void everyExampleIsValidAndPermittedAsPrinted() throws Exception {
        List<HasMetadata> examples = examples();
        assertThat(examples).extracting(HasMetadata::getKind).contains("VMBackup", "VMRestore", "VMBackupSchedule");
        for (HasMetadata r : examples) {
            String name = r.getKind() + " " + r.getMetadata().getName();
            String ns = r.getMetadata().getNamespace();
            assertThat(ns).as(name + ": its namespace is printed").isNotNull();
            if (r instanceof VMBackup b) {
                assertThat(SpecValidation.problems(b)).as(name).isEmpty();
                if (b.getSpec().vm.qmpSocket != null) {
                    assertThat(chartDefaults.socket(b.getSpec().vm.qmpSocket, "QMP socket", ns)).as(name).isEmpty();
                    assertThat(chartDefaults.socket(b.getSpec().vm.agentSocket, "guest agent socket", ns)).as(name)
                            .isEmpty();
                }
            } else if (r instanceof VMRestore v) {
                assertThat(SpecValidation.problems(v)).as(name).isEmpty();
                if (v.getSpec().mode == RestoreMode.MERGE) {
                    assertThat(chartDefaults.mergeTarget(v.getSpec().targetFile, ns)).as(name).isEmpty();
                }
            } else if (r instanceof VMBackupSchedule s) {
                assertThat(SpecValidation.problems(s)).as(name).isEmpty();
                // it selects QemuVMs of its namespace: discovery puts /run/qemu's there
                assertThat(ns).as(name).isEqualTo(RELEASE_NAMESPACE);
            }
        }
    }

    /**
     * Every table the README prints as kubectl prints it (a code-block line starting with NAME)
     * has the columns of one of our CRDs, in the CRD's order: the README cannot drift from the
     * printer columns.
     */
    @Test
    void everyKubectlTableHasTheColumnsOfACrd() throws Exception {
        KubernetesSerialization yaml = new KubernetesSerialization();
        List<List<String>> kinds = new ArrayList<>();
        try (var files = Files.list(Path.of("..", "crds", "yaml"))) {
            for (Path f : files.sorted().toList()) {
                var crd = yaml.unmarshal(Files.readString(f),
                        io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition.class);
                List<String> columns = new ArrayList<>(List.of("NAME"));
                crd.getSpec().getVersions().get(0).getAdditionalPrinterColumns().stream()
                        .filter(c -> c.getPriority() == null || c.getPriority() == 0)
                        .forEach(c -> columns.add(c.getName().toUpperCase()));
                kinds.add(columns);
            }
        }
        List<String> tables = new ArrayList<>();
        String command = "";
        for (String line : Files.readAllLines(Path.of("..", "README.md"))) {
            String l = line.strip();
            if (l.startsWith("$ ")) {
                command = l;
            } else if (l.startsWith("```")) {
                command = "";
            } else if (l.matches("NAME\\s{2,}[A-Z].*") && !command.contains("kubectl qmpbackup")) {
                tables.add(l); // the plugin prints tables of its own (points)
            }
        }
        assertThat(tables).as("the README shows kubectl tables").isNotEmpty();
        for (String header : tables) {
            List<String> shown = List.of(header.split("\\s{2,}"));
            assertThat(kinds).as("README table header '%s' against the CRDs' printer columns %s", header, kinds)
                    .anyMatch(k -> k.size() >= shown.size() && k.subList(0, shown.size()).equals(shown));
        }
    }
}
