package io.qmpbackup.operator;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Prometheus metrics (at /q/metrics): runs by kind and result, bytes written, run duration,
 * the time of the last successful backup per VM, and what retention deleted.
 */
@ApplicationScoped
public class RunMetrics {
    private final MeterRegistry registry;
    private final Map<String, AtomicLong> lastSuccess = new ConcurrentHashMap<>();

    public RunMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    public void finished(String kind, String namespace, String vm, String result, long bytes, Instant start,
            Instant end) {
        registry.counter("qmpbackup_runs_total", Tags.of("kind", kind, "result", result)).increment();
        if (bytes > 0) {
            registry.counter("qmpbackup_bytes_written_total", Tags.of("kind", kind)).increment(bytes);
        }
        if (start != null && end != null) {
            registry.timer("qmpbackup_run_duration", Tags.of("kind", kind, "result", result))
                    .record(Duration.between(start, end));
        }
        if ("Succeeded".equals(result)) {
            succeededBefore(kind, namespace, vm, end == null ? Instant.now() : end);
        }
    }

    /** Retention after a backup: chains and bytes it deleted. */
    public void pruned(long chains, long bytes) {
        if (chains > 0) {
            registry.counter("qmpbackup_retention_pruned_chains_total").increment(chains);
        }
        if (bytes > 0) {
            registry.counter("qmpbackup_retention_freed_bytes_total").increment(bytes);
        }
    }

    /** A success this operator did not see happen (found at start-up): the gauge only, no counts. */
    public void succeededBefore(String kind, String namespace, String vm, Instant end) {
        if ("VMBackup".equals(kind) && vm != null) {
            lastSuccess.computeIfAbsent(namespace + "/" + vm, k -> registry.gauge(
                    "qmpbackup_last_success_timestamp_seconds", Tags.of("namespace", namespace, "vm", vm),
                    new AtomicLong())).accumulateAndGet(end.getEpochSecond(), Math::max);
        }
    }
}
