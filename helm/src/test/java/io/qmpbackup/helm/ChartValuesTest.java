package io.qmpbackup.helm;

import static io.qmpbackup.helm.Charts.agentPod;
import static io.qmpbackup.helm.Charts.all;
import static io.qmpbackup.helm.Charts.only;
import static io.qmpbackup.helm.Charts.operatorPod;
import static io.qmpbackup.helm.Charts.render;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import com.marcnuri.helm.Helm;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.LocalObjectReference;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.rbac.ClusterRoleBinding;
import io.fabric8.kubernetes.api.model.rbac.RoleBinding;
import io.fabric8.kubernetes.api.model.rbac.Subject;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The chart's conventional values (names, pods' scheduling and metadata, service accounts, PDB, monitoring). */
class ChartValuesTest {
    @TempDir
    Path tmp;

    static List<Volume> socketVolumes(PodSpec pod) {
        return pod.getVolumes().stream().filter(v -> v.getName().startsWith("sockets-")).toList();
    }

    /** Every ServiceAccount the chart's bindings grant roles to. */
    static List<String> boundAccounts(List<HasMetadata> objects) {
        Stream<Subject> subjects = Stream.concat(
                all(objects, ClusterRoleBinding.class).stream().flatMap(b -> b.getSubjects().stream()),
                all(objects, RoleBinding.class).stream().flatMap(b -> b.getSubjects().stream()));
        return subjects.map(Subject::getName).distinct().toList();
    }

    @Test
    void defaultsKeepTheNamesAndPutTheAgentOnLabelledNodesOnly() {
        List<HasMetadata> objects = render(tmp, null);
        assertThat(only(objects, Deployment.class).getMetadata().getName()).isEqualTo("qmpbackup-operator");
        assertThat(only(objects, DaemonSet.class).getMetadata().getName()).isEqualTo("qmpbackup-node-agent");
        assertThat(all(objects, ServiceAccount.class)).extracting(o -> o.getMetadata().getName())
                .containsExactlyInAnyOrder("qmpbackup-operator", "qmpbackup-node-agent");
        assertThat(boundAccounts(objects)).containsExactlyInAnyOrder("qmpbackup-operator", "qmpbackup-node-agent");
        assertThat(only(objects, Deployment.class).getMetadata().getLabels())
                .containsEntry("app.kubernetes.io/name", "qmpbackup-operator");

        PodSpec agent = agentPod(objects);
        assertThat(agent.getNodeSelector()).containsExactly(entry("qmpbackup.io/agent", "true"));
        // a missing socket folder (tmpfs /run after a reboot, no VM started yet) must not keep the pod from starting
        assertThat(socketVolumes(agent)).singleElement()
                .satisfies(v -> assertThat(v.getHostPath().getType()).isEqualTo("DirectoryOrCreate"));
        assertThat(agent.getImagePullSecrets()).isEmpty();
        assertThat(agent.getPriorityClassName()).isNull();
        PodSpec operator = operatorPod(objects);
        assertThat(operator.getNodeSelector()).isEmpty();
        assertThat(operator.getAffinity()).isNull();
        assertThat(operator.getTolerations()).isEmpty();
        assertThat(all(objects, PodDisruptionBudget.class)).as("one replica: no budget").isEmpty();
    }

    @Test
    void agentNodeSelectorAndSocketFolderTypeCanBeChanged() {
        PodSpec own = agentPod(render(tmp, """
                agent:
                  nodeSelector: {qmpbackup.io/agent: null, node-role.example.com/hypervisor: "yes"}
                  socketDirType: Directory
                """));
        assertThat(own.getNodeSelector()).containsExactly(entry("node-role.example.com/hypervisor", "yes"));
        assertThat(socketVolumes(own)).singleElement()
                .satisfies(v -> assertThat(v.getHostPath().getType()).isEqualTo("Directory"));
        assertThat(agentPod(render(tmp, "agent: {nodeSelector: null}")).getNodeSelector()).as("every node").isEmpty();
    }

    /** NOTES.txt as helm install prints it (a client-only dry run: no cluster). */
    String notes(String values) {
        var install = new Helm(Charts.CHART).install().withName("qmpbackup").withNamespace("qmpbackup")
                .dryRun().clientOnly();
        if (values != null) {
            install = install.withValuesFile(Charts.write(tmp, values));
        }
        return install.call().getOutput();
    }

    @Test
    void notesTellHowToLabelTheHypervisorNodes() {
        assertThat(notes(null)).contains("kubectl label node <node> qmpbackup.io/agent=true")
                .contains("kubectl get nodes -l qmpbackup.io/agent=true");
        assertThat(notes("agent: {nodeSelector: null}")).contains("The node agent runs on every node")
                .doesNotContain("kubectl label node");
    }

    @Test
    void podSettingsReachBothPods() {
        List<HasMetadata> objects = render(tmp, """
                imagePullSecrets: [{name: regcred}, other-registry]
                operator:
                  podAnnotations: {prometheus.io/scrape: "true"}
                  podLabels: {team: storage, app.kubernetes.io/component: not-the-operator}
                  nodeSelector: {node-role.kubernetes.io/control-plane: ""}
                  tolerations: [{key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}]
                  affinity:
                    podAntiAffinity:
                      preferredDuringSchedulingIgnoredDuringExecution:
                        - weight: 100
                          podAffinityTerm:
                            topologyKey: kubernetes.io/hostname
                            labelSelector: {matchLabels: {app.kubernetes.io/component: operator}}
                  priorityClassName: system-cluster-critical
                agent:
                  podAnnotations: {backup.example.com/owner: ops}
                  podLabels: {team: hypervisors}
                  affinity:
                    nodeAffinity:
                      requiredDuringSchedulingIgnoredDuringExecution:
                        nodeSelectorTerms:
                          - matchExpressions: [{key: kubernetes.io/arch, operator: In, values: [amd64]}]
                  priorityClassName: qmpbackup-agent
                """);
        Deployment deployment = only(objects, Deployment.class);
        var operatorMeta = deployment.getSpec().getTemplate().getMetadata();
        assertThat(operatorMeta.getAnnotations()).containsEntry("prometheus.io/scrape", "true");
        // the chart's own labels win: the Deployment's selector must keep matching its pods
        assertThat(operatorMeta.getLabels()).containsEntry("team", "storage")
                .containsEntry("app.kubernetes.io/component", "operator")
                .containsAllEntriesOf(deployment.getSpec().getSelector().getMatchLabels());
        PodSpec operator = operatorPod(objects);
        assertThat(operator.getNodeSelector()).containsExactly(entry("node-role.kubernetes.io/control-plane", ""));
        assertThat(operator.getTolerations()).singleElement()
                .satisfies(t -> assertThat(t.getEffect()).isEqualTo("NoSchedule"));
        assertThat(operator.getAffinity().getPodAntiAffinity().getPreferredDuringSchedulingIgnoredDuringExecution())
                .singleElement().satisfies(t -> assertThat(t.getWeight()).isEqualTo(100));
        assertThat(operator.getPriorityClassName()).isEqualTo("system-cluster-critical");

        DaemonSet daemonSet = only(objects, DaemonSet.class);
        var agentMeta = daemonSet.getSpec().getTemplate().getMetadata();
        assertThat(agentMeta.getAnnotations()).containsExactly(entry("backup.example.com/owner", "ops"));
        assertThat(agentMeta.getLabels()).containsEntry("team", "hypervisors")
                .containsAllEntriesOf(daemonSet.getSpec().getSelector().getMatchLabels());
        PodSpec agent = agentPod(objects);
        assertThat(agent.getAffinity().getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution()
                .getNodeSelectorTerms()).singleElement()
                .satisfies(t -> assertThat(t.getMatchExpressions().get(0).getValues()).containsExactly("amd64"));
        assertThat(agent.getPriorityClassName()).isEqualTo("qmpbackup-agent");
        for (PodSpec pod : List.of(operator, agent)) {
            assertThat(pod.getImagePullSecrets()).extracting(LocalObjectReference::getName)
                    .containsExactly("regcred", "other-registry");
        }
    }

    @Test
    void fullnameOverrideNamesEveryObject() {
        List<HasMetadata> objects = render(tmp, "fullnameOverride: vm-backup");
        assertThat(objects).isNotEmpty().allSatisfy(o ->
                assertThat(o.getMetadata().getName()).as(o.getKind()).startsWith("vm-backup-"));
        assertThat(only(objects, Deployment.class).getMetadata().getName()).isEqualTo("vm-backup-operator");
        assertThat(only(objects, DaemonSet.class).getMetadata().getName()).isEqualTo("vm-backup-node-agent");
        assertThat(operatorPod(objects).getServiceAccountName()).isEqualTo("vm-backup-operator");
        assertThat(boundAccounts(objects)).containsExactlyInAnyOrder("vm-backup-operator", "vm-backup-node-agent");
        assertThat(all(objects, ClusterRoleBinding.class)).allSatisfy(b ->
                assertThat(b.getRoleRef().getName()).isEqualTo(b.getMetadata().getName()));
    }

    @Test
    void nameOverrideIsAddedToTheReleaseNameUnlessItHoldsIt() {
        List<HasMetadata> objects = render(tmp, "nameOverride: vmbackup");
        assertThat(only(objects, Deployment.class).getMetadata().getName()).isEqualTo("qmpbackup-vmbackup-operator");
        assertThat(only(objects, DaemonSet.class).getMetadata().getLabels())
                .containsEntry("app.kubernetes.io/name", "vmbackup");
        List<HasMetadata> contained = render(Charts.CHART, "vmbackup-prod", tmp, "nameOverride: vmbackup");
        assertThat(only(contained, Deployment.class).getMetadata().getName()).isEqualTo("vmbackup-prod-operator");
    }

    @Test
    void serviceAccountsCanBeNamedAnnotatedOrBroughtAlong() {
        List<HasMetadata> objects = render(tmp, """
                operator:
                  serviceAccount: {name: qb-operator, annotations: {iam.example.com/role: backup-operator}}
                agent:
                  serviceAccount: {create: false, name: hypervisor-agent}
                """);
        ServiceAccount sa = only(objects, ServiceAccount.class);
        assertThat(sa.getMetadata().getName()).isEqualTo("qb-operator");
        assertThat(sa.getMetadata().getAnnotations()).containsExactly(entry("iam.example.com/role", "backup-operator"));
        assertThat(operatorPod(objects).getServiceAccountName()).isEqualTo("qb-operator");
        // not created here, but still given the agent's roles
        assertThat(agentPod(objects).getServiceAccountName()).isEqualTo("hypervisor-agent");
        assertThat(boundAccounts(objects)).containsExactlyInAnyOrder("qb-operator", "hypervisor-agent");

        List<HasMetadata> none = render(tmp, "agent: {serviceAccount: {create: false}}");
        assertThat(agentPod(none).getServiceAccountName()).isEqualTo("default");
        assertThat(boundAccounts(none)).contains("default");
    }

    @Test
    void operatorGetsADisruptionBudgetWithAStandbyOrWhenAsked() {
        List<HasMetadata> two = render(tmp, "operator: {replicas: 2}");
        PodDisruptionBudget pdb = only(two, PodDisruptionBudget.class);
        assertThat(pdb.getMetadata().getName()).isEqualTo("qmpbackup-operator");
        assertThat(pdb.getSpec().getMaxUnavailable().getIntVal()).isEqualTo(1);
        assertThat(only(two, Deployment.class).getSpec().getTemplate().getMetadata().getLabels())
                .containsAllEntriesOf(pdb.getSpec().getSelector().getMatchLabels());

        PodDisruptionBudget asked = only(render(tmp,
                "operator: {podDisruptionBudget: {enabled: true, maxUnavailable: 50%}}"), PodDisruptionBudget.class);
        assertThat(asked.getSpec().getMaxUnavailable().getStrVal()).isEqualTo("50%");
        assertThat(all(render(tmp, "operator: {replicas: 3, podDisruptionBudget: {enabled: false}}"),
                PodDisruptionBudget.class)).isEmpty();
    }

    @Test
    void serviceMonitorCarriesTheLabelsPrometheusSelects() {
        List<HasMetadata> objects = render(tmp,
                "serviceMonitor: {enabled: true, interval: 15s, labels: {release: kube-prometheus-stack}}");
        GenericKubernetesResource sm = all(objects, GenericKubernetesResource.class).stream()
                .filter(o -> o.getKind().equals("ServiceMonitor")).findFirst().orElseThrow();
        assertThat(sm.getMetadata().getLabels()).containsEntry("release", "kube-prometheus-stack")
                .containsEntry("app.kubernetes.io/instance", "qmpbackup");
        List<Map<String, Object>> endpoints = sm.get("spec", "endpoints");
        assertThat(endpoints).singleElement().satisfies(e -> assertThat(e).containsEntry("interval", "15s"));
    }

    @Test
    void newValuesAreCheckedByTheSchema() {
        for (String bad : List.of(
                "unknownTopLevel: 1",
                "fullnameOverride: Not_A_Name",
                "fullnameOverride: " + "x".repeat(47),
                "imagePullSecrets: [{}]",
                "operator: {podLabels: {team: [a]}}",
                "operator: {serviceAccount: {create: maybe}}",
                "agent: {serviceAccount: {annotations: {a: b}, role: x}}",
                "operator: {podDisruptionBudget: {enabled: sometimes}}",
                "operator: {podDisruptionBudget: {maxUnavailable: half}}",
                "agent: {socketDirType: File}",
                "serviceMonitor: {labels: {release: {name: x}}}")) {
            assertThatThrownBy(() -> render(tmp, bad)).as(bad).hasMessageContaining("values don't meet the specifications");
        }
        // a parent chart's globals, given standalone too (helm install --set global.x=...)
        assertThat(render(tmp, "global: {imageRegistry: registry.example.com, storageClass: fast}")).isNotEmpty();
    }

    @Test
    void exportsListenInTheirHostFolderAndOnTcpOnlyWhenEnabled() {
        PodSpec pod = agentPod(render(tmp, null));
        Map<String, io.fabric8.kubernetes.api.model.EnvVar> env = ChartTest.env(pod.getContainers().get(0));
        assertThat(env.get("QMPBACKUP_AGENT_EXPORT_DIR").getValue()).isEqualTo("/run/qmpbackup/exports");
        assertThat(env.get("QMPBACKUP_AGENT_EXPORT_TCP").getValue()).isEqualTo("false");
        assertThat(env).doesNotContainKey("QMPBACKUP_AGENT_EXPORT_ADDRESS");
        Volume exports = pod.getVolumes().stream().filter(v -> v.getName().equals("exports")).findFirst()
                .orElseThrow();
        assertThat(exports.getHostPath().getPath()).isEqualTo("/run/qmpbackup/exports");
        assertThat(exports.getHostPath().getType()).isEqualTo("DirectoryOrCreate");
        assertThat(pod.getContainers().get(0).getVolumeMounts()).anyMatch(m -> m.getName().equals("exports")
                && m.getMountPath().equals("/run/qmpbackup/exports"));

        PodSpec tcp = agentPod(render(tmp, "agent: {exports: {dir: /srv/exports, tcp: {enabled: true}}}"));
        Map<String, io.fabric8.kubernetes.api.model.EnvVar> tcpEnv = ChartTest.env(tcp.getContainers().get(0));
        assertThat(tcpEnv.get("QMPBACKUP_AGENT_EXPORT_DIR").getValue()).isEqualTo("/srv/exports");
        assertThat(tcpEnv.get("QMPBACKUP_AGENT_EXPORT_TCP").getValue()).isEqualTo("true");
        assertThat(tcpEnv.get("QMPBACKUP_AGENT_EXPORT_ADDRESS").getValueFrom().getFieldRef().getFieldPath())
                .isEqualTo("status.podIP");
        assertThatThrownBy(() -> render(tmp, "agent: {exports: {dir: relative}}"))
                .hasMessageContaining("dir");
    }
}
