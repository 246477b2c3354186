package io.qmpbackup.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.marcnuri.helm.Helm;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.qmpbackup.api.v1alpha1.VMBackup;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The metric names the chart's Grafana dashboard and PrometheusRule ask Prometheus for, and the
 * samples a /q/metrics page serves: a name the chart uses that no process serves would be an
 * empty panel or an alert that can never fire.
 */
final class ChartMetrics {
    private static final Pattern NAME = Pattern.compile("\\bqmpbackup_[a-z_]+\\b");

    private ChartMetrics() {
    }

    /** Every PromQL expression of the rendered chart's dashboard panels and alert rules. */
    static List<String> expressions(KubernetesClient client, Path tmp, String namespace) throws IOException {
        Path values = Files.writeString(tmp.resolve("monitoring-values.yaml"),
                "prometheusRule: {enabled: true}\ndashboard: {enabled: true}\nserviceMonitor: {enabled: true}\n");
        String yaml = new Helm(Deployment.repo().resolve("helm/qmpbackup-operator")).template().withName("qmpbackup")
                .withNamespace(namespace).withValuesFile(values).call();
        List<String> exprs = new ArrayList<>();
        for (HasMetadata o : client.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))).items()) {
            if (o instanceof ConfigMap cm && cm.getData().containsKey("qmpbackup.json")) {
                JsonNode dashboard = new ObjectMapper().readTree(cm.getData().get("qmpbackup.json"));
                dashboard.get("panels").forEach(p -> p.get("targets").forEach(t -> exprs.add(t.get("expr").asText())));
            } else if (o instanceof GenericKubernetesResource r && r.getKind().equals("PrometheusRule")) {
                List<Map<String, Object>> groups = r.get("spec", "groups");
                for (Map<String, Object> g : groups) {
                    @SuppressWarnings("unchecked")
                    List<Map<String, Object>> rules = (List<Map<String, Object>>) g.get("rules");
                    rules.forEach(rule -> exprs.add(rule.get("expr").toString()));
                }
            }
        }
        return exprs;
    }

    /** The qmpbackup_ metric names in the expressions (a histogram's as _bucket, _sum, _count). */
    static TreeSet<String> names(List<String> exprs) {
        TreeSet<String> names = new TreeSet<>();
        for (String e : exprs) {
            Matcher m = NAME.matcher(e);
            while (m.find()) {
                names.add(m.group());
            }
        }
        return names;
    }

    /** A Prometheus text page's samples: series (name and labels, as written) to value. */
    static Map<String, Double> samples(String page) {
        Map<String, Double> samples = new LinkedHashMap<>();
        for (String line : page.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int space = line.lastIndexOf(' ');
            // text format 0.0.4 ends a label set with ",}", OpenMetrics with "}": keys are written the latter way
            samples.put(line.substring(0, space).replace(",}", "}"), Double.parseDouble(line.substring(space + 1)));
        }
        return samples;
    }

    /** The metric names of a page's samples. */
    static TreeSet<String> served(String page) {
        TreeSet<String> names = new TreeSet<>();
        for (String series : samples(page).keySet()) {
            int brace = series.indexOf('{');
            names.add(brace < 0 ? series : series.substring(0, brace));
        }
        return names;
    }

    /**
     * Every name the rendered dashboard and rules use is served by the operator or an agent, and
     * each of the two pages serves some of them (the dashboard shows both).
     */
    static void chartUsesOnlyServedNames(KubernetesClient client, Path tmp, String namespace, String operatorPage,
            String agentPage) throws IOException {
        TreeSet<String> used = names(expressions(client, tmp, namespace));
        TreeSet<String> served = served(operatorPage);
        served.addAll(served(agentPage));
        assertThat(used).as("metric names in the chart's dashboard and PrometheusRule").isNotEmpty()
                .contains("qmpbackup_run_duration_seconds_bucket", "qmpbackup_agent_copied_bytes_total");
        assertThat(served).as("served by the operator and the agent\noperator:\n%s\nagent:\n%s", operatorPage,
                agentPage).containsAll(used);
        assertThat(served(operatorPage)).containsAnyElementsOf(used);
        assertThat(served(agentPage)).containsAnyElementsOf(used);
    }

    /** The agent's backups copied bytes, and at the end nothing runs or waits. */
    static void agentCountedItsWork(String agentPage) {
        Map<String, Double> s = samples(agentPage);
        assertThat(s.get("qmpbackup_agent_copied_bytes_total{kind=\"VMBackup\"}")).as(agentPage)
                .isGreaterThan(16.0 * 1024 * 1024); // the first full alone copied 16 MiB of data
        assertThat(s.get("qmpbackup_agent_runs_in_flight{kind=\"VMBackup\"}")).isZero();
        assertThat(s.get("qmpbackup_agent_queued_runs{kind=\"VMBackup\"}")).isZero();
        assertThat(s.get("qmpbackup_agent_max_concurrent_runs")).isPositive();
    }

    /** Deleting the only VMBackup of a VM removes that VM's last-success series from the operator's page. */
    static void vmSeriesGoesWithItsLastBackup(Deployment deployment, KubernetesClient client, String namespace,
            String backup, String vm) throws Exception {
        String series = "qmpbackup_last_success_timestamp_seconds{namespace=\"" + namespace + "\",vm=\"" + vm
                + "\"}";
        Map<String, Double> before = samples(deployment.metrics("operator"));
        assertThat(before).as("last-success series").containsKey(series);
        long others = before.keySet().stream().filter(k -> k.startsWith("qmpbackup_last_success_timestamp_seconds{")
                && !k.equals(series)).count();
        assertThat(others).as("the by-socket VM's series").isPositive();
        client.resources(VMBackup.class).inNamespace(namespace).withName(backup).delete();
        await().atMost(Duration.ofSeconds(20)).until(() -> !samples(deployment.metrics("operator"))
                .containsKey(series));
        assertThat(samples(deployment.metrics("operator")).keySet().stream().filter(k -> k.startsWith(
                "qmpbackup_last_success_timestamp_seconds{")).count()).isEqualTo(others);
    }
}
