package io.qmpbackup.helm;

import static io.qmpbackup.helm.Charts.agentPod;
import static io.qmpbackup.helm.Charts.all;
import static io.qmpbackup.helm.Charts.render;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KeyToPath;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * agent.remotes: each storage location's remote as a properties file in a ConfigMap the agent
 * reads from /etc/qmpbackup/remotes, its credentials only as files of the named Secret (never in
 * the ConfigMap, an env var or the pod spec), a remote only for a configured location.
 */
class RemoteChartTest {
    @TempDir
    Path tmp;

    private static final String VALUES = String.join("\n",
            "agent:",
            "  storage: [{name: default, hostPath: /var/lib/qmpbackup}, {name: fast, hostPath: /srv/fast}]",
            "  remotes:",
            "    default: {endpoint: 'https://s3.example.com', bucket: vm-backups, prefix: cluster-a,",
            "              existingSecret: s3-cred, encrypt: true, pathStyle: false, bandwidthLimit: 50M,",
            "              retention: {keepDaily: 30, keepMonthly: 12}}",
            "    fast: {bucket: other, existingSecret: s3-fast}",
            "  remoteUpload: {attempts: 5, retryDelay: 1m}", "");

    @Test
    void eachRemoteIsAPropertiesFileWithItsSecretsAsFilesOfTheNamedSecret() {
        List<HasMetadata> objects = render(tmp, VALUES);
        ConfigMap cm = all(objects, ConfigMap.class).stream()
                .filter(c -> c.getMetadata().getName().equals("qmpbackup-node-agent-remotes")).findFirst().orElseThrow();
        String def = cm.getData().get("default.properties");
        assertThat(def).contains("endpoint=https://s3.example.com", "bucket=vm-backups", "prefix=cluster-a",
                "path-style=false", "bandwidth-limit=50M", "keep-daily=30", "keep-monthly=12", "keep-last=0",
                "access-key-id-file=../remote-secrets/default/access-key-id",
                "secret-access-key-file=../remote-secrets/default/secret-access-key",
                "encryption-key-file=../remote-secrets/default/encryption-key");
        String fast = cm.getData().get("fast.properties");
        assertThat(fast).contains("bucket=other", "path-style=true", "region=us-east-1", "part-checksum=crc32c")
                .doesNotContain("encryption-key", "endpoint=", "keep-");

        PodSpec pod = agentPod(objects);
        Volume secret = volume(pod, "remote-secret-default");
        assertThat(secret.getSecret().getSecretName()).isEqualTo("s3-cred");
        assertThat(secret.getSecret().getDefaultMode()).isEqualTo(0400);
        assertThat(secret.getSecret().getItems()).extracting(KeyToPath::getKey)
                .containsExactly("access-key-id", "secret-access-key", "encryption-key");
        assertThat(volume(pod, "remote-secret-fast").getSecret().getItems()).extracting(KeyToPath::getKey)
                .containsExactly("access-key-id", "secret-access-key");
        assertThat(volume(pod, "remotes").getConfigMap().getName()).isEqualTo("qmpbackup-node-agent-remotes");
        var mounts = pod.getContainers().get(0).getVolumeMounts();
        assertThat(mounts).anyMatch(m -> m.getName().equals("remotes") && m.getMountPath().equals("/etc/qmpbackup/remotes")
                && m.getReadOnly());
        assertThat(mounts).anyMatch(m -> m.getName().equals("remote-secret-default")
                && m.getMountPath().equals("/etc/qmpbackup/remote-secrets/default") && m.getReadOnly());
        Map<String, EnvVar> env = ChartTest.env(pod.getContainers().get(0));
        assertThat(env.get("QMPBACKUP_AGENT_REMOTE_DIR").getValue()).isEqualTo("/etc/qmpbackup/remotes");
        assertThat(env.get("QMPBACKUP_AGENT_REMOTE_ATTEMPTS").getValue()).isEqualTo("5");
        assertThat(env.get("QMPBACKUP_AGENT_REMOTE_RETRY_DELAY").getValue()).isEqualTo("1m");
        assertThat(env.values()).noneMatch(v -> v.getValueFrom() != null && v.getValueFrom().getSecretKeyRef() != null);
        DaemonSet ds = Charts.only(objects, DaemonSet.class);
        assertThat(ds.getSpec().getTemplate().getMetadata().getAnnotations()).containsKey("checksum/remotes");
    }

    @Test
    void withoutRemotesNothingIsMountedAndTheAgentFindsNone() {
        List<HasMetadata> objects = render(tmp, null);
        assertThat(all(objects, ConfigMap.class)).noneMatch(c -> c.getMetadata().getName().endsWith("-remotes"));
        PodSpec pod = agentPod(objects);
        assertThat(pod.getVolumes()).noneMatch(v -> v.getName().startsWith("remote"));
    }

    @Test
    void aRemoteForAnUnknownLocationOrWithoutItsSecretIsRefused() {
        assertThatThrownBy(() -> render(tmp, "agent: {remotes: {nowhere: {bucket: b1b, existingSecret: s}}}"))
                .hasMessageContaining("agent.remotes.nowhere: no storage location of that name");
        for (String bad : List.of("agent: {remotes: {default: {bucket: b1b}}}",
                "agent: {remotes: {default: {bucket: b1b, existingSecret: s, secretAccessKey: x}}}",
                "agent: {remotes: {default: {bucket: b1b, existingSecret: s, partChecksum: crc}}}",
                "agent: {remotes: {Default: {bucket: b1b, existingSecret: s}}}",
                "agent: {remoteUpload: {attempts: 0}}")) {
            assertThatThrownBy(() -> render(tmp, bad)).as(bad).hasMessageContaining("values don't meet the specifications");
        }
    }

    private static Volume volume(PodSpec pod, String name) {
        return pod.getVolumes().stream().filter(v -> v.getName().equals(name)).findFirst().orElseThrow();
    }
}
