package io.qmpbackup.helm;

import static io.qmpbackup.helm.Charts.all;
import static io.qmpbackup.helm.Charts.only;
import static io.qmpbackup.helm.Charts.render;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Prometheus and Grafana parts of the chart: scrape objects, alerts, dashboard. */
class MonitoringChartTest {
    @TempDir
    Path tmp;

    @Test
    void nothingForPrometheusOrGrafanaByDefault() {
        List<HasMetadata> objects = render(tmp, null);
        assertThat(objects).noneMatch(o -> List.of("ServiceMonitor", "PodMonitor", "PrometheusRule")
                .contains(o.getKind()));
        assertThat(all(objects, ConfigMap.class)).isEmpty();
    }

    @Test
    void theOperatorAndEveryAgentAreScraped() {
        List<HasMetadata> objects = render(tmp, "serviceMonitor: {enabled: true, interval: 20s,"
                + " labels: {release: kps}}");
        GenericKubernetesResource sm = kind(objects, "ServiceMonitor");
        Map<String, Object> endpoint = sm.<List<Map<String, Object>>>get("spec", "endpoints").get(0);
        // the per-VM series carry their VM's namespace, which must not become exported_namespace
        assertThat(endpoint).containsEntry("honorLabels", true).containsEntry("path", "/q/metrics");
        GenericKubernetesResource pm = kind(objects, "PodMonitor");
        assertThat(pm.getMetadata().getLabels()).containsEntry("release", "kps");
        assertThat(pm.<Map<String, String>>get("spec", "selector", "matchLabels"))
                .containsEntry("app.kubernetes.io/component", "node-agent")
                .containsEntry("app.kubernetes.io/instance", "qmpbackup");
        Map<String, Object> podEndpoint = pm.<List<Map<String, Object>>>get("spec", "podMetricsEndpoints").get(0);
        assertThat(podEndpoint).containsEntry("port", "http").containsEntry("path", "/q/metrics")
                .containsEntry("interval", "20s");
        assertThat(podEndpoint.get("relabelings").toString()).contains("__meta_kubernetes_pod_node_name")
                .contains("targetLabel=node");
    }

    @Test
    void alertsTakeTheirThresholdsFromValues() {
        List<HasMetadata> objects = render(tmp, "prometheusRule: {enabled: true, labels: {release: kps},"
                + " severity: critical, noSuccessHours: 48, noSuccessFor: 30m,"
                + " failedRuns: {window: 6h, threshold: 2, for: 5m}}");
        GenericKubernetesResource rule = kind(objects, "PrometheusRule");
        assertThat(rule.getMetadata().getLabels()).containsEntry("release", "kps");
        Map<String, Map<String, Object>> alerts = Monitoring.alerts(rule);
        assertThat(alerts).containsOnlyKeys("QmpBackupNoRecentSuccess", "QmpBackupRunsFailing");
        Map<String, Object> stale = alerts.get("QmpBackupNoRecentSuccess");
        assertThat(stale.get("expr").toString()).isEqualTo("time() - max by (namespace, vm)"
                + " (qmpbackup_last_success_timestamp_seconds) > 48 * 3600");
        assertThat(stale).containsEntry("for", "30m").containsEntry("labels", Map.of("severity", "critical"));
        // Prometheus's own template language survives Helm's
        assertThat(stale.get("annotations").toString()).contains("{{ $labels.vm }}").contains("for 48h");
        Map<String, Object> failing = alerts.get("QmpBackupRunsFailing");
        assertThat(failing.get("expr").toString()).isEqualTo("sum by (kind) (increase(qmpbackup_runs_total"
                + "{result=\"Failed\"}[6h])) > 2");
        assertThat(failing).containsEntry("for", "5m");
        // defaults: a day and two hours, any failure within the hour
        Map<String, Map<String, Object>> defaults = Monitoring.alerts(kind(render(tmp,
                "prometheusRule: {enabled: true}"), "PrometheusRule"));
        assertThat(defaults.get("QmpBackupNoRecentSuccess").get("expr").toString()).endsWith("> 26 * 3600");
        assertThat(defaults.get("QmpBackupRunsFailing").get("expr").toString()).endsWith("[1h])) > 0");
    }

    @Test
    void theDashboardIsAConfigMapGrafanasSidecarLoads() throws IOException {
        ConfigMap cm = only(render(tmp, "dashboard: {enabled: true, namespace: monitoring,"
                + " annotations: {grafana_folder: Backups}}"), ConfigMap.class);
        assertThat(cm.getMetadata().getNamespace()).isEqualTo("monitoring");
        assertThat(cm.getMetadata().getLabels()).containsEntry("grafana_dashboard", "1");
        assertThat(cm.getMetadata().getAnnotations()).containsEntry("grafana_folder", "Backups");
        JsonNode dashboard = new ObjectMapper().readTree(cm.getData().get("qmpbackup.json"));
        assertThat(dashboard.get("uid").asText()).isEqualTo("qmpbackup");
        List<String> exprs = Monitoring.expressions(dashboard);
        assertThat(exprs).hasSizeGreaterThanOrEqualTo(7).allMatch(e -> e.contains("qmpbackup_"));
        // every panel asks the data source the user picks, not one named in the JSON
        assertThat(dashboard.findValues("datasource")).allMatch(d -> d.get("uid").asText().equals("${datasource}"));
        ConfigMap here = only(render(tmp, "dashboard: {enabled: true, labels: {grafana_dashboard: \"1\", team: ops}}"),
                ConfigMap.class);
        assertThat(here.getMetadata().getNamespace()).isEqualTo("qmpbackup");
        assertThat(here.getMetadata().getLabels()).containsEntry("team", "ops");
    }

    @Test
    void lintIsCleanWithEverythingEnabled() throws IOException {
        Path chart = copy(Charts.CHART, tmp.resolve("chart"));
        Path values = chart.resolve("values.yaml");
        String text = Files.readString(values);
        for (String key : List.of("serviceMonitor", "prometheusRule", "dashboard")) {
            String off = key + ":\n  enabled: false";
            assertThat(text).contains(off);
            text = text.replace(off, key + ":\n  enabled: true");
        }
        Files.writeString(values, text);
        LintResult r = new Helm(chart).lint().strict().call();
        assertThat(r.isFailed()).as(String.join("\n", r.getMessages())).isFalse();
    }

    @Test
    void badMonitoringValuesAreRefused() {
        for (String bad : List.of(
                "prometheusRule: {noSuccessHours: 0}",
                "prometheusRule: {noSuccessHours: a day}",
                "prometheusRule: {failedRuns: {window: an hour}}",
                "prometheusRule: {failedRuns: {threshold: -1}}",
                "prometheusRule: {unknown: 1}",
                "dashboard: {labels: {grafana_dashboard: 1}}",
                "dashboard: {namespace: Not_A_Namespace}")) {
            assertThatThrownBy(() -> render(tmp, bad)).as(bad).hasMessageContaining("values don't meet the specifications");
        }
    }

    private static GenericKubernetesResource kind(List<HasMetadata> objects, String kind) {
        List<GenericKubernetesResource> found = all(objects, GenericKubernetesResource.class).stream()
                .filter(o -> o.getKind().equals(kind)).toList();
        assertThat(found).as(kind).hasSize(1);
        return found.get(0);
    }

    private static Path copy(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path p : files.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
        return to;
    }
}
