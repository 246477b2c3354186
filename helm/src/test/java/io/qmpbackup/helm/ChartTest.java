package io.qmpbackup.helm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.ClusterRole;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The chart through Helm's own lint and template (helm-java), checked as Kubernetes objects. */
class ChartTest {
    static final Path CHART = Path.of("qmpbackup-operator");
    static KubernetesMockServer server;
    static KubernetesClient client;

    @TempDir
    Path tmp;

    @BeforeAll
    static void apiServer() {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(List.of()), false);
        server.init();
        client = server.createClient();
    }

    @AfterAll
    static void stop() {
        client.close();
        server.destroy();
    }

    static List<HasMetadata> render(Path valuesFile) {
        var t = new Helm(CHART).template().withName("qmpbackup").withNamespace("qmpbackup");
        if (valuesFile != null) {
            t = t.withValuesFile(valuesFile);
        }
        String yaml = t.call();
        return client.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))).items();
    }

    static <T> T only(List<HasMetadata> objects, Class<T> type) {
        List<T> found = objects.stream().filter(type::isInstance).map(type::cast).toList();
        assertThat(found).as("rendered %s", type.getSimpleName()).hasSize(1);
        return found.get(0);
    }

    static Map<String, EnvVar> env(Container c) {
        return c.getEnv().stream().collect(Collectors.toMap(EnvVar::getName, e -> e));
    }

    static ClusterRole role(List<HasMetadata> objects, String name) {
        return objects.stream().filter(o -> o instanceof ClusterRole && o.getMetadata().getName().equals(name))
                .map(ClusterRole.class::cast).findFirst().orElseThrow();
    }

    static io.fabric8.kubernetes.api.model.rbac.Role namespacedRole(List<HasMetadata> objects, String name) {
        return objects.stream().filter(o -> o instanceof io.fabric8.kubernetes.api.model.rbac.Role
                && o.getMetadata().getName().equals(name)).map(io.fabric8.kubernetes.api.model.rbac.Role.class::cast)
                .findFirst().orElseThrow();
    }

    static List<String> verbs(ClusterRole role, String resource) {
        return role.getRules().stream().filter(r -> r.getResources().contains(resource))
                .flatMap(r -> r.getVerbs().stream()).toList();
    }

    @Test
    void lintIsClean() {
        LintResult r = new Helm(CHART).lint().strict().call();
        assertThat(r.isFailed()).as(String.join("\n", r.getMessages())).isFalse();
    }

    @Test
    void defaultValuesRenderTheOperatorAndTheAgent() {
        List<HasMetadata> objects = render(null);
        Deployment operator = only(objects, Deployment.class);
        Container op = operator.getSpec().getTemplate().getSpec().getContainers().get(0);
        assertThat(env(op)).containsKeys("QMPBACKUP_OPERATOR_NO_AGENT_TIMEOUT", "QMPBACKUP_OPERATOR_CANCEL_TIMEOUT",
                "QMPBACKUP_OPERATOR_LEADER_ELECTION_ENABLED", "QUARKUS_KUBERNETES_CLIENT_NAMESPACE");
        assertThat(env(op).get("QMPBACKUP_OPERATOR_LEADER_ELECTION_ENABLED").getValue()).isEqualTo("true");
        assertThat(op.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/q/health/live");
        assertThat(op.getImage()).isEqualTo("qmpbackup/operator:0.1.0");
        assertThat(operator.getSpec().getTemplate().getSpec().getSecurityContext().getRunAsNonRoot()).isTrue();

        DaemonSet agent = only(objects, DaemonSet.class);
        Container ag = agent.getSpec().getTemplate().getSpec().getContainers().get(0);
        Map<String, EnvVar> env = env(ag);
        assertThat(env.get("NODE_NAME").getValueFrom().getFieldRef().getFieldPath()).isEqualTo("spec.nodeName");
        assertThat(env.get("QMPBACKUP_AGENT_SOCKET_DIRS").getValue()).isEqualTo("/run/qemu");
        assertThat(env.get("QMPBACKUP_AGENT_STORAGE_LOCATIONS").getValue()).isEqualTo("default=/var/lib/qmpbackup");
        assertThat(ag.getSecurityContext().getCapabilities().getDrop()).containsExactly("ALL");
        assertThat(ag.getSecurityContext().getAllowPrivilegeEscalation()).isFalse();
        assertThat(ag.getSecurityContext().getPrivileged()).isNotEqualTo(Boolean.TRUE);
        assertThat(ag.getVolumeMounts()).extracting(m -> m.getMountPath()).contains("/run/qemu", "/var/lib/qmpbackup");
        Map<String, Volume> volumes = agent.getSpec().getTemplate().getSpec().getVolumes().stream()
                .collect(Collectors.toMap(Volume::getName, v -> v));
        assertThat(volumes.get("sockets-0").getHostPath().getPath()).isEqualTo("/run/qemu");
        assertThat(volumes.get("storage-default").getHostPath().getPath()).isEqualTo("/var/lib/qmpbackup");

        // least privilege: the agent reads its work and writes status only
        ClusterRole agentRole = role(objects, "qmpbackup-node-agent");
        assertThat(verbs(agentRole, "vmbackups")).containsExactlyInAnyOrder("get", "list", "watch");
        assertThat(verbs(agentRole, "vmbackups/status")).contains("update", "patch");
        assertThat(verbs(agentRole, "qemuvms")).contains("create").doesNotContain("delete", "update");
        assertThat(env.get("QMPBACKUP_AGENT_DISCOVERY_NAMESPACE").getValueFrom().getFieldRef().getFieldPath())
                .isEqualTo("metadata.namespace");
        assertThat(env.get("QMPBACKUP_AGENT_DISCOVERY_PATTERN").getValue()).isEqualTo("*.qmp");
        assertThat(agentRole.getRules()).flatExtracting(PolicyRule::getResources).doesNotContain("nodes", "secrets");
        ClusterRole operatorRole = role(objects, "qmpbackup-operator");
        assertThat(verbs(operatorRole, "nodes")).contains("get").doesNotContain("update", "delete");
        assertThat(verbs(operatorRole, "vmbackups/finalizers")).containsExactly("update");
        // heartbeats: the agent keeps its Lease in the release namespace, the operator watches them there
        assertThat(env.get("QMPBACKUP_AGENT_HEARTBEAT_INTERVAL").getValue()).isEqualTo("10s");
        // hostPath storage only: QEMU opens the files by path
        assertThat(env.get("QMPBACKUP_AGENT_PASS_FDS").getValue()).isEqualTo("false");
        assertThat(env(op).get("QMPBACKUP_OPERATOR_AGENT_LOST_TIMEOUT").getValue()).isEqualTo("60s");
        assertThat(namespacedRole(objects, "qmpbackup-node-agent-heartbeat").getRules()).singleElement()
                .satisfies(r -> {
                    assertThat(r.getResources()).containsExactly("leases");
                    assertThat(r.getVerbs()).containsExactlyInAnyOrder("get", "create", "update");
                });
        assertThat(namespacedRole(objects, "qmpbackup-operator-heartbeats").getRules()).singleElement()
                .satisfies(r -> assertThat(r.getVerbs()).containsExactlyInAnyOrder("get", "list", "watch"));
        assertThat(objects).noneMatch(o -> o instanceof GenericKubernetesResource); // no ServiceMonitor by default
    }

    static final String AGGREGATE = "rbac.authorization.k8s.io/aggregate-to-";

    /** A policy rule as sets, so order in the template does not matter. */
    record Rule(Set<String> apiGroups, Set<String> resources, Set<String> verbs) {
        static Rule of(PolicyRule r) {
            return new Rule(Set.copyOf(r.getApiGroups()), Set.copyOf(r.getResources()), Set.copyOf(r.getVerbs()));
        }

        static Rule of(List<String> resources, String... verbs) {
            return new Rule(Set.of("qmpbackup.io"), Set.copyOf(resources), Set.of(verbs));
        }
    }

    /** What the built-in ClusterRole {@code builtIn} (view, edit, admin) gains from the chart. */
    static List<Rule> aggregatedInto(List<HasMetadata> objects, String builtIn) {
        return objects.stream().filter(o -> o instanceof ClusterRole && o.getMetadata().getLabels() != null
                        && "true".equals(o.getMetadata().getLabels().get(AGGREGATE + builtIn)))
                .flatMap(o -> ((ClusterRole) o).getRules().stream()).map(Rule::of).toList();
    }

    static final List<String> KINDS = List.of("vmbackups", "vmrestores", "vmbackupschedules", "qemuvms");

    @Test
    void tenantRolesJoinTheBuiltInViewEditAndAdminRoles() {
        List<HasMetadata> objects = render(null);
        ClusterRole view = role(objects, "qmpbackup-view");
        assertThat(view.getRules()).map(Rule::of).containsExactlyInAnyOrder(
                Rule.of(KINDS, "get", "list", "watch"),
                Rule.of(KINDS.stream().map(k -> k + "/status").toList(), "get", "list", "watch"));
        assertThat(view.getMetadata().getLabels()).containsEntry(AGGREGATE + "view", "true")
                .containsEntry(AGGREGATE + "edit", "true").containsEntry(AGGREGATE + "admin", "true");
        ClusterRole edit = role(objects, "qmpbackup-edit");
        assertThat(edit.getRules()).map(Rule::of).containsExactly(
                Rule.of(List.of("vmbackups", "vmrestores", "vmbackupschedules"),
                        "create", "delete", "update", "patch"));
        assertThat(edit.getMetadata().getLabels()).containsEntry(AGGREGATE + "edit", "true")
                .containsEntry(AGGREGATE + "admin", "true").doesNotContainKey(AGGREGATE + "view");
        assertThat(view.getAggregationRule()).isNull();
        assertThat(edit.getAggregationRule()).isNull();

        assertThat(aggregatedInto(objects, "view")).containsExactlyInAnyOrderElementsOf(
                view.getRules().stream().map(Rule::of).toList());
        assertThat(aggregatedInto(objects, "edit")).hasSize(3).isEqualTo(aggregatedInto(objects, "admin"));
    }

    @Test
    void tenantsCannotWriteQemuVMsOrAnyStatus() {
        List<HasMetadata> objects = render(null);
        Set<String> writes = Set.of("create", "update", "patch", "delete", "deletecollection", "*");
        for (String builtIn : List.of("view", "edit", "admin")) {
            List<Rule> rules = aggregatedInto(objects, builtIn);
            assertThat(rules).as(builtIn).isNotEmpty().allSatisfy(r -> {
                assertThat(r.apiGroups()).containsExactly("qmpbackup.io");
                assertThat(r.resources()).doesNotContain("*");
                assertThat(r.verbs()).doesNotContain("*");
                if (r.resources().contains("qemuvms") || r.resources().stream().anyMatch(x -> x.endsWith("/status"))) {
                    assertThat(r.verbs()).as("%s: %s", builtIn, r).doesNotContainAnyElementsOf(writes);
                }
            });
        }
        assertThat(aggregatedInto(objects, "view")).flatExtracting(Rule::verbs).doesNotContainAnyElementsOf(writes);
    }

    @Test
    void tenantRolesCanBeTurnedOff() throws Exception {
        List<HasMetadata> objects = render(Files.writeString(tmp.resolve("off.yaml"), "tenantRoles: {enabled: false}"));
        for (String builtIn : List.of("view", "edit", "admin")) {
            assertThat(aggregatedInto(objects, builtIn)).as(builtIn).isEmpty();
        }
        assertThat(objects).filteredOn(o -> o instanceof ClusterRole).extracting(o -> o.getMetadata().getName())
                .containsExactlyInAnyOrder("qmpbackup-operator", "qmpbackup-node-agent");
    }

    @Test
    void tpmStateFoldersAreMountedReadOnlyAndGivenToTheAgent() {
        assertThat(env(only(render(null), DaemonSet.class).getSpec().getTemplate().getSpec().getContainers().get(0)))
                .as("none by default").doesNotContainKey("QMPBACKUP_AGENT_TPM_STATE_DIRS");
        DaemonSet agent = only(render(Path.of("src/test/resources/tpm-values.yaml")), DaemonSet.class);
        var pod = agent.getSpec().getTemplate().getSpec();
        Container c = pod.getContainers().get(0);
        assertThat(env(c).get("QMPBACKUP_AGENT_TPM_STATE_DIRS").getValue())
                .isEqualTo("/var/lib/swtpm,/srv/tpm-team-a=team-a");
        assertThat(c.getVolumeMounts()).filteredOn(m -> m.getName().startsWith("tpm-"))
                .extracting(m -> m.getMountPath() + " " + m.getReadOnly())
                .containsExactly("/var/lib/swtpm true", "/srv/tpm-team-a true");
        Map<String, Volume> volumes = pod.getVolumes().stream().collect(Collectors.toMap(Volume::getName, v -> v));
        assertThat(volumes.get("tpm-1").getHostPath().getPath()).isEqualTo("/srv/tpm-team-a");
    }

    @Test
    void proxmoxStyleValues() {
        List<HasMetadata> objects = render(Path.of("src/test/resources/proxmox-values.yaml"));
        DaemonSet agent = only(objects, DaemonSet.class);
        var pod = agent.getSpec().getTemplate().getSpec();
        Map<String, EnvVar> env = env(pod.getContainers().get(0));
        assertThat(env.get("QMPBACKUP_AGENT_SOCKET_DIRS").getValue()).isEqualTo("/var/run/qemu-server");
        assertThat(env.get("QMPBACKUP_AGENT_STORAGE_LOCATIONS").getValue())
                .isEqualTo("pbs=/mnt/pve/backup,nfs=/backups/nfs");
        assertThat(env.get("QMPBACKUP_AGENT_MAX_CONCURRENT").getValue()).isEqualTo("4");
        // the operator is given the agents' folders and storage as they are, to refuse foreign work first
        Map<String, EnvVar> op = env(only(objects, Deployment.class).getSpec().getTemplate().getSpec().getContainers()
                .get(0));
        assertThat(op.get("QMPBACKUP_OPERATOR_SOCKET_DIRS").getValue())
                .isEqualTo(env.get("QMPBACKUP_AGENT_SOCKET_DIRS").getValue());
        assertThat(op.get("QMPBACKUP_OPERATOR_STORAGE_LOCATIONS").getValue())
                .isEqualTo(env.get("QMPBACKUP_AGENT_STORAGE_LOCATIONS").getValue());
        assertThat(pod.getNodeSelector()).isEqualTo(Map.of("qmpbackup.io/hypervisor", "true"));
        assertThat(pod.getTolerations()).singleElement().satisfies(t ->
                assertThat(t.getKey()).isEqualTo("node-role.kubernetes.io/control-plane"));
        Map<String, Volume> volumes = pod.getVolumes().stream().collect(Collectors.toMap(Volume::getName, v -> v));
        assertThat(volumes.get("sockets-0").getHostPath().getPath()).isEqualTo("/var/run/qemu-server");
        assertThat(volumes.get("storage-nfs").getPersistentVolumeClaim().getClaimName()).isEqualTo("backup-nfs");
        // a PVC is mounted in the agent's pod only: QEMU gets the backup files as open fds
        assertThat(env.get("QMPBACKUP_AGENT_PASS_FDS").getValue()).isEqualTo("true");
        assertThat(only(objects, Deployment.class).getSpec().getReplicas()).isEqualTo(2);
        assertThat(objects).filteredOn(o -> o.getKind().equals("ServiceMonitor")).hasSize(1);
    }

    @Test
    void badValuesAreRefusedByTheSchema() throws Exception {
        for (String bad : List.of(
                "agent: {socketDirs: [relative/path], storage: [{name: default, hostPath: /b}]}",
                "agent: {socketDirs: [/run/qemu], storage: [{name: default}]}",
                "agent: {socketDirs: [/run/qemu], storage: [{name: Bad_Name, hostPath: /b}]}",
                "operator: {noAgentTimeout: soon}",
                "agent: {passFds: sometimes}",
                "tenantRoles: {enabled: sometimes}",
                "agent: {socketDirs: [/run/qemu], storage: [{name: d, hostPath: /b}], socketDir: /x}")) {
            Path values = Files.writeString(tmp.resolve("bad.yaml"), bad);
            assertThatThrownBy(() -> render(values)).as(bad).hasMessageContaining("values don't meet the specifications");
        }
    }

    @Test
    void chartCrdsAreTheGeneratedOnes() throws Exception {
        try (Stream<Path> s = Files.list(Path.of("../crds/yaml"))) {
            for (Path generated : s.toList()) {
                assertThat(Files.readString(CHART.resolve("crds").resolve(generated.getFileName())))
                        .as("helm/qmpbackup-operator/crds/%s differs from crds/yaml: cp crds/yaml/*.yml"
                                + " helm/qmpbackup-operator/crds/", generated.getFileName())
                        .isEqualTo(Files.readString(generated));
            }
        }
    }

    @Test
    void renderedManifestsApplyToAnApiServer() throws Exception {
        try (Stream<Path> s = Files.list(CHART.resolve("crds"))) {
            for (Path crd : s.toList()) {
                client.load(Files.newInputStream(crd)).create();
            }
        }
        List<HasMetadata> objects = render(null);
        for (HasMetadata o : objects) {
            // cluster-scoped objects (ClusterRole, bindings) carry no namespace
            client.resource(o).createOr(x -> x.update());
        }
        assertThat(client.apps().daemonSets().inNamespace("qmpbackup").withName("qmpbackup-node-agent").get())
                .isNotNull();
        assertThat(client.apps().deployments().inNamespace("qmpbackup").withName("qmpbackup-operator").get())
                .isNotNull();
        assertThat(client.apiextensions().v1().customResourceDefinitions().withName("vmbackups.qmpbackup.io").get())
                .isNotNull();
    }
}
