package io.qmpbackup.operator;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.qmpbackup.api.v1alpha1.Phase;
import io.quarkus.runtime.Startup;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Prometheus metrics (at /q/metrics), named per Prometheus conventions (unit before
 * {@code _total}): runs by kind and result, bytes written, run duration as a histogram, the
 * time of the last successful backup per VM, and what retention deleted.
 *
 * <p>The per-VM gauge is the newest completion time among the Succeeded VMBackups of that VM
 * that still exist: that is what an operator that restarts rebuilds from the cluster, so a
 * running and a restarted operator export the same series. When the last of them is deleted
 * (the VM's backups or its namespace are removed; history limits and retention always keep the
 * newest success of a VM that is still backed up) the series goes.
 */
@ApplicationScoped
@Startup // built at start, not at first use: the zero counters are there before the first run ends
public class RunMetrics {
    static final String RUNS = "qmpbackup_runs_total";
    static final String WRITTEN = "qmpbackup_written_bytes_total";
    static final String DURATION = "qmpbackup_run_duration_seconds";
    static final String LAST_SUCCESS = "qmpbackup_last_success_timestamp_seconds";
    static final String PRUNED_CHAINS = "qmpbackup_retention_pruned_chains_total";
    static final String FREED = "qmpbackup_retention_freed_bytes_total";
    static final List<String> KINDS = List.of("VMBackup", "VMRestore");
    static final List<String> RESULTS = List.of(Phase.SUCCEEDED.value(), Phase.FAILED.value(),
            Phase.CANCELLED.value());

    /**
     * Bucket bounds for run durations: a small incremental takes seconds, a full of a large
     * disk over a slow link takes hours; the default Micrometer buckets stop well short of that.
     */
    static final Duration[] DURATION_BUCKETS = {Duration.ofSeconds(5), Duration.ofSeconds(15),
        Duration.ofSeconds(30), Duration.ofMinutes(1), Duration.ofMinutes(2), Duration.ofMinutes(5),
        Duration.ofMinutes(10), Duration.ofMinutes(30), Duration.ofHours(1), Duration.ofHours(2),
        Duration.ofHours(4), Duration.ofHours(8), Duration.ofHours(12), Duration.ofHours(24)};

    private final MeterRegistry registry;
    /** Per VM ({@code namespace/vm}): its Succeeded VMBackups still present, uid to completion (epoch s). */
    private final Map<String, VmSuccesses> successes = new ConcurrentHashMap<>();

    /** One VM's gauge and what it is the maximum of. */
    private record VmSuccesses(Gauge gauge, Map<String, Long> byUid) {
    }

    public RunMetrics(MeterRegistry registry) {
        this.registry = registry;
        // every kind and result at zero from the start: increase() cannot see a series' first
        // sample as an increase, so a "runs failing" alert would miss the first failure
        for (String kind : KINDS) {
            for (String result : RESULTS) {
                runs(kind, result);
            }
        }
        written("VMBackup"); // restores write no backup storage
    }

    private Counter written(String kind) {
        return Counter.builder(WRITTEN).description("Bytes the runs wrote to backup storage")
                .tags(Tags.of("kind", kind)).register(registry);
    }

    private Counter runs(String kind, String result) {
        return Counter.builder(RUNS).description("Backup and restore runs that ended, by kind and result")
                .tags(Tags.of("kind", kind, "result", result)).register(registry);
    }

    /** A run this operator saw end; {@code uid} is its resource's. */
    public void finished(String kind, String namespace, String vm, String uid, String result, long bytes,
            Instant start, Instant end) {
        runs(kind, result).increment();
        if (bytes > 0) {
            written(kind).increment(bytes);
        }
        if (start != null && end != null) {
            Timer.builder(DURATION).description("How long runs took, from start to end")
                    .tags(Tags.of("kind", kind, "result", result)).serviceLevelObjectives(DURATION_BUCKETS)
                    .register(registry).record(Duration.between(start, end));
        }
        if ("Succeeded".equals(result)) {
            succeededBefore(kind, namespace, vm, uid, end == null ? Instant.now() : end);
        }
    }

    /** Retention after a backup: chains and bytes it deleted. */
    public void pruned(long chains, long bytes) {
        if (chains > 0) {
            Counter.builder(PRUNED_CHAINS).description("Backup chains retention deleted").register(registry)
                    .increment(chains);
        }
        if (bytes > 0) {
            Counter.builder(FREED).description("Bytes retention freed").register(registry).increment(bytes);
        }
    }

    /** A Succeeded VMBackup, seen ending or found at start-up: the gauge only, no counts. */
    public void succeededBefore(String kind, String namespace, String vm, String uid, Instant end) {
        if (!"VMBackup".equals(kind) || vm == null || uid == null) {
            return;
        }
        // compute, not computeIfAbsent and put: a deletion of the same VM's last success cannot slip in between
        successes.compute(namespace + "/" + vm, (k, s) -> {
            VmSuccesses v = s != null ? s : register(namespace, vm);
            v.byUid().put(uid, end.getEpochSecond());
            return v;
        });
    }

    private VmSuccesses register(String namespace, String vm) {
        Map<String, Long> byUid = new ConcurrentHashMap<>();
        // strong: the registry would otherwise hold the map only weakly and the gauge could read NaN
        Gauge g = Gauge.builder(LAST_SUCCESS, byUid, m -> m.values().stream().mapToLong(Long::longValue).max()
                .orElse(0)).strongReference(true).description("When the newest successful backup of the VM ended"
                        + " (Unix time)").tags(Tags.of("namespace", namespace, "vm", vm)).register(registry);
        return new VmSuccesses(g, byUid);
    }

    /**
     * A run's resource is gone. The VM's last-success series goes with the last Succeeded
     * VMBackup of it, so no series is left behind for a VM nobody backs up any more.
     */
    public void deleted(String kind, String namespace, String vm, String uid) {
        if (!"VMBackup".equals(kind) || vm == null || uid == null) {
            return;
        }
        successes.computeIfPresent(namespace + "/" + vm, (k, s) -> {
            s.byUid().remove(uid);
            if (!s.byUid().isEmpty()) {
                return s;
            }
            registry.remove(s.gauge());
            return null;
        });
    }

    /** The gauge's value for a VM, or null when it has none (for tests). */
    Double lastSuccess(String namespace, String vm) {
        VmSuccesses s = successes.get(namespace + "/" + vm);
        return s == null ? null : s.gauge().value();
    }
}
