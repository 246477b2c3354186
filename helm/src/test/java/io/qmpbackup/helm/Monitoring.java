package io.qmpbackup.helm;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Reads the rendered alerts and dashboard the way Prometheus and Grafana would use them. */
final class Monitoring {
    private Monitoring() {
    }

    /** A PrometheusRule's alerting rules by alert name. */
    static Map<String, Map<String, Object>> alerts(GenericKubernetesResource rule) {
        Map<String, Map<String, Object>> alerts = new LinkedHashMap<>();
        List<Map<String, Object>> groups = rule.get("spec", "groups");
        for (Map<String, Object> g : groups) {
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> rules = (List<Map<String, Object>>) g.get("rules");
            rules.forEach(r -> alerts.put((String) r.get("alert"), r));
        }
        return alerts;
    }

    /** Every query expression of every panel of a Grafana dashboard. */
    static List<String> expressions(JsonNode dashboard) {
        List<String> exprs = new ArrayList<>();
        for (JsonNode panel : dashboard.get("panels")) {
            for (JsonNode target : panel.get("targets")) {
                exprs.add(target.get("expr").asText());
            }
        }
        return exprs;
    }
}
