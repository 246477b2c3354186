package io.qmpbackup.agent.controller;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;
import org.junit.jupiter.api.Test;

/** The agent's metrics as Prometheus scrapes them. */
class AgentMetricsTest {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AgentMetrics metrics = new AgentMetrics(registry);

    @Test
    void bytesCopiedCountWhatIsNewInEachReportOfARun() {
        LongConsumer first = metrics.run("VMBackup");
        LongConsumer second = metrics.run("VMBackup");
        first.accept(100);
        first.accept(250);
        first.accept(250); // the same report again (a poll with no progress) adds nothing
        second.accept(50);
        first.accept(200); // never backwards: a job's counter that drops is not a negative copy
        AgentMetrics.NONE.accept(1_000_000);
        assertThat(registry.scrape()).contains("qmpbackup_agent_copied_bytes_total{kind=\"VMBackup\",} 300.0")
                .contains("qmpbackup_agent_copied_bytes_total{kind=\"VMRestore\",} 0.0");
    }

    @Test
    void gaugesReadInFlightAndScheduledWorkByKind() {
        List<VMBackup> backups = new ArrayList<>(List.of(backup("a", Phase.SCHEDULED), backup("b", Phase.SCHEDULED),
                backup("c", Phase.RUNNING), backup("d", Phase.SUCCEEDED)));
        Map<String, Integer> running = Map.of("VMBackup", 1, "VMRestore", 0);
        metrics.watch(running::get, kind -> "VMBackup".equals(kind) ? backups : List.of(), 3);
        String text = registry.scrape();
        assertThat(text).contains("qmpbackup_agent_runs_in_flight{kind=\"VMBackup\",} 1.0")
                .contains("qmpbackup_agent_runs_in_flight{kind=\"VMRestore\",} 0.0")
                .contains("qmpbackup_agent_queued_runs{kind=\"VMBackup\",} 2.0")
                .contains("qmpbackup_agent_queued_runs{kind=\"VMRestore\",} 0.0")
                .contains("qmpbackup_agent_max_concurrent_runs 3.0");
        // read when scraped, not when registered
        backups.add(backup("e", Phase.SCHEDULED));
        assertThat(registry.scrape()).contains("qmpbackup_agent_queued_runs{kind=\"VMBackup\",} 3.0");
    }

    private static VMBackup backup(String name, Phase phase) {
        VMBackup b = new VMBackup();
        b.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("ns").build());
        b.setStatus(new VMBackupStatus());
        b.getStatus().phase = phase;
        return b;
    }
}
