package io.qmpbackup.agent.e2e;

import com.marcnuri.helm.Helm;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The environment the Helm chart gives the operator and the agent, rendered with Helm's own
 * engine: the end-to-end test configures its two processes from it, so the chart and the code
 * agree on configuration names.
 */
final class ChartEnv {
    final Map<String, String> operator;
    final Map<String, String> agent;
    /** Every rendered ConfigMap's data, by name (the agent's remotes are files of one). */
    final Map<String, Map<String, String>> configMaps;

    private ChartEnv(Map<String, String> operator, Map<String, String> agent,
            Map<String, Map<String, String>> configMaps) {
        this.operator = operator;
        this.agent = agent;
        this.configMaps = configMaps;
    }

    static ChartEnv render(KubernetesClient client, Path valuesFile, String nodeName, String namespace) {
        String yaml = new Helm(Deployment.repo().resolve("helm/qmpbackup-operator"))
                .template().withName("qmpbackup").withNamespace(namespace).withValuesFile(valuesFile).call();
        List<HasMetadata> objects = client.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)))
                .items();
        Map<String, String> op = null;
        Map<String, String> ag = null;
        Map<String, Map<String, String>> maps = new LinkedHashMap<>();
        for (HasMetadata o : objects) {
            if (o instanceof io.fabric8.kubernetes.api.model.ConfigMap cm) {
                maps.put(cm.getMetadata().getName(), cm.getData());
            }
            if (o instanceof io.fabric8.kubernetes.api.model.apps.Deployment d) {
                op = env(d.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv(), nodeName, namespace);
            } else if (o instanceof DaemonSet ds) {
                ag = env(ds.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv(), nodeName, namespace);
            }
        }
        if (op == null || ag == null) {
            throw new IllegalStateException("the chart rendered no operator Deployment or agent DaemonSet:\n" + yaml);
        }
        return new ChartEnv(op, ag, maps);
    }

    /** Plain values as they are; downward-API fields as the kubelet would fill them. */
    private static Map<String, String> env(List<EnvVar> vars, String nodeName, String namespace) {
        Map<String, String> env = new LinkedHashMap<>();
        for (EnvVar v : vars) {
            if (v.getValue() != null) {
                env.put(v.getName(), v.getValue());
            } else if (v.getValueFrom() != null && v.getValueFrom().getFieldRef() != null) {
                String field = v.getValueFrom().getFieldRef().getFieldPath();
                env.put(v.getName(), switch (field) {
                    case "spec.nodeName" -> nodeName;
                    case "metadata.namespace" -> namespace;
                    default -> throw new IllegalStateException("unexpected field ref " + field + " in " + v.getName());
                });
            }
        }
        return env;
    }
}
