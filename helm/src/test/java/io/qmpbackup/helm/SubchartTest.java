package io.qmpbackup.helm;

import static io.qmpbackup.helm.Charts.agentPod;
import static io.qmpbackup.helm.Charts.only;
import static io.qmpbackup.helm.Charts.operatorPod;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.LocalObjectReference;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chart as a dependency of a parent chart: Helm copies the parent's {@code global} values into
 * the subchart's, where the schema must accept them, and hands the subchart the values under its name.
 */
class SubchartTest {
    @TempDir
    Path tmp;

    /** A parent chart "platform" depending on this chart through file://, its charts/ filled by helm dependency update. */
    Path parent(String values) throws IOException {
        Path parent = Files.createDirectories(tmp.resolve("platform"));
        Files.writeString(parent.resolve("Chart.yaml"), """
                apiVersion: v2
                name: platform
                version: 1.0.0
                dependencies:
                  - name: qmpbackup-operator
                    version: 0.1.0
                    repository: file://%s
                """.formatted(Charts.CHART.toAbsolutePath().normalize()));
        Files.writeString(parent.resolve("values.yaml"), values);
        new Helm(parent).dependency().update().skipRefresh().call();
        try (var charts = Files.list(parent.resolve("charts"))) {
            assertThat(charts.map(p -> p.getFileName().toString())).containsExactly("qmpbackup-operator-0.1.0.tgz");
        }
        return parent;
    }

    static List<HasMetadata> template(Path parent) {
        return Charts.parse(new Helm(parent).template().withName("platform").withNamespace("qmpbackup").call());
    }

    @Test
    void rendersUnderAParentChartWithGlobals() throws IOException {
        Path parent = parent("""
                global:
                  imageRegistry: registry.example.com
                  imagePullSecrets: [{name: corp-registry}]
                qmpbackup-operator:
                  imagePullSecrets: [{name: backup-registry}]
                  agent:
                    socketDirs: [/var/run/qemu-server]
                    storage: [{name: pbs, hostPath: /mnt/pve/backup}]
                    nodeSelector: {qmpbackup.io/agent: null, platform.example.com/hypervisor: "true"}
                """);
        LintResult lint = new Helm(parent).lint().strict().call();
        assertThat(lint.isFailed()).as(String.join("\n", lint.getMessages())).isFalse();

        List<HasMetadata> objects = template(parent);
        assertThat(only(objects, Deployment.class).getMetadata().getName()).isEqualTo("platform-operator");
        assertThat(only(objects, DaemonSet.class).getMetadata().getName()).isEqualTo("platform-node-agent");
        assertThat(agentPod(objects).getNodeSelector())
                .containsExactly(entry("platform.example.com/hypervisor", "true"));
        assertThat(agentPod(objects).getContainers().get(0).getEnv()).filteredOn(e -> e.getName()
                .equals("QMPBACKUP_AGENT_STORAGE_LOCATIONS")).extracting(EnvVar::getValue)
                .containsExactly("pbs=/mnt/pve/backup");
        // the parent's pull secret first, then the chart's own
        assertThat(operatorPod(objects).getImagePullSecrets()).extracting(LocalObjectReference::getName)
                .containsExactly("corp-registry", "backup-registry");
        assertThat(agentPod(objects).getImagePullSecrets()).extracting(LocalObjectReference::getName)
                .containsExactly("corp-registry", "backup-registry");
    }

    @Test
    void theSchemaStillRefusesUnknownValuesOfTheSubchart() throws IOException {
        Path parent = parent("""
                global: {imageRegistry: registry.example.com}
                qmpbackup-operator:
                  agent: {socketDir: /run/qemu}
                """);
        assertThatThrownBy(() -> template(parent)).hasMessageContaining("values don't meet the specifications");
    }
}
