package io.qmpbackup.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The names, buckets and per-VM series as Prometheus scrapes them (the registry /q/metrics serves). */
class RunMetricsTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final RunMetrics metrics = new RunMetrics(registry);

    @Test
    void namesPutTheUnitBeforeTotal() {
        metrics.finished("VMBackup", "ns", "vm1", "u1", "Succeeded", 4096, T0, T0.plusSeconds(90));
        metrics.pruned(2, 1024);
        String text = registry.scrape();
        assertThat(text).contains("qmpbackup_runs_total{kind=\"VMBackup\",result=\"Succeeded\",} 1.0")
                .contains("qmpbackup_written_bytes_total{kind=\"VMBackup\",} 4096.0")
                .contains("qmpbackup_retention_pruned_chains_total 2.0")
                .contains("qmpbackup_retention_freed_bytes_total 1024.0")
                .doesNotContain("qmpbackup_bytes_written_total");
    }

    @Test
    void everyKindAndResultIsCountedFromZero() {
        // so increase() over a window sees the first failure after a start
        assertThat(registry.scrape()).contains("qmpbackup_runs_total{kind=\"VMBackup\",result=\"Failed\",} 0.0")
                .contains("qmpbackup_runs_total{kind=\"VMRestore\",result=\"Cancelled\",} 0.0")
                .contains("qmpbackup_runs_total{kind=\"VMBackup\",result=\"Succeeded\",} 0.0");
    }

    @Test
    void durationsAreAHistogramWithBucketsFromSecondsToHours() {
        metrics.finished("VMBackup", "ns", "vm1", "u1", "Succeeded", 0, T0, T0.plusSeconds(90));
        metrics.finished("VMBackup", "ns", "vm1", "u2", "Succeeded", 0, T0, T0.plusSeconds(3 * 3600));
        String text = registry.scrape();
        assertThat(text).contains("# TYPE qmpbackup_run_duration_seconds histogram")
                .contains("qmpbackup_run_duration_seconds_bucket{kind=\"VMBackup\",result=\"Succeeded\",le=\"5.0\",} 0.0")
                .contains("qmpbackup_run_duration_seconds_bucket{kind=\"VMBackup\",result=\"Succeeded\",le=\"120.0\",} 1.0")
                .contains("qmpbackup_run_duration_seconds_bucket{kind=\"VMBackup\",result=\"Succeeded\",le=\"14400.0\",} 2.0")
                .contains("qmpbackup_run_duration_seconds_bucket{kind=\"VMBackup\",result=\"Succeeded\",le=\"86400.0\",} 2.0")
                .contains("qmpbackup_run_duration_seconds_count{kind=\"VMBackup\",result=\"Succeeded\",} 2.0")
                .contains("qmpbackup_run_duration_seconds_sum{kind=\"VMBackup\",result=\"Succeeded\",} 10890.0");
    }

    @Test
    void lastSuccessIsTheNewestSucceededBackupStillPresent() {
        metrics.finished("VMBackup", "ns", "vm1", "old", "Succeeded", 0, T0, T0.plusSeconds(10));
        metrics.finished("VMBackup", "ns", "vm1", "new", "Succeeded", 0, T0, T0.plusSeconds(100));
        metrics.finished("VMBackup", "ns", "vm1", "failed", "Failed", 0, T0, T0.plusSeconds(200));
        assertThat(metrics.lastSuccess("ns", "vm1")).isEqualTo(T0.getEpochSecond() + 100.0);
        // the newest success deleted by hand: a restarted operator would rebuild the older one, so this one does too
        metrics.deleted("VMBackup", "ns", "vm1", "new");
        assertThat(metrics.lastSuccess("ns", "vm1")).isEqualTo(T0.getEpochSecond() + 10.0);
        assertThat(registry.scrape()).contains("qmpbackup_last_success_timestamp_seconds{namespace=\"ns\",vm=\"vm1\",}");
    }

    @Test
    void theSeriesGoesWithTheVmsLastSucceededBackup() {
        metrics.succeededBefore("VMBackup", "ns", "vm1", "a", T0);
        metrics.succeededBefore("VMBackup", "ns", "vm2", "b", T0);
        metrics.deleted("VMBackup", "ns", "vm1", "unknown-failed-run");
        assertThat(metrics.lastSuccess("ns", "vm1")).isNotNull();
        metrics.deleted("VMBackup", "ns", "vm1", "a");
        String text = registry.scrape();
        assertThat(text).doesNotContain("vm=\"vm1\"").contains("vm=\"vm2\"");
        assertThat(metrics.lastSuccess("ns", "vm1")).isNull();
        // backed up again later: the series comes back
        metrics.finished("VMBackup", "ns", "vm1", "c", "Succeeded", 0, T0, T0.plusSeconds(5));
        assertThat(registry.scrape()).contains("qmpbackup_last_success_timestamp_seconds{namespace=\"ns\",vm=\"vm1\",} "
                + (double) (T0.getEpochSecond() + 5));
    }

    @Test
    void restoresHaveNoPerVmSeries() {
        metrics.finished("VMRestore", "ns", "vm1", "r", "Succeeded", 0, T0, T0.plusSeconds(5));
        assertThat(registry.scrape()).doesNotContain("qmpbackup_last_success_timestamp_seconds{");
        assertThat(metrics.lastSuccess("ns", "vm1")).isNull();
    }
}
