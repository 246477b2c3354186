package io.qmpbackup.agent.controller;

import io.fabric8.kubernetes.client.CustomResource;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.RunStatus;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;
import java.util.function.Function;
import java.util.function.LongConsumer;
import java.util.function.ToIntFunction;

/**
 * The node agent's Prometheus metrics (at /q/metrics), by kind (VMBackup, VMRestore): runs in
 * flight on this node, runs waiting in phase Scheduled (queued for a slot or not yet looked at),
 * the slot limit, and the bytes runs copied (rate() of it is the node's bytes per second). The
 * operator's metrics count results; these say what a node is doing now.
 */
@ApplicationScoped
public class AgentMetrics {
    static final String IN_FLIGHT = "qmpbackup_agent_runs_in_flight";
    static final String QUEUED = "qmpbackup_agent_queued_runs";
    static final String LIMIT = "qmpbackup_agent_max_concurrent_runs";
    static final String COPIED = "qmpbackup_agent_copied_bytes_total";
    static final List<String> KINDS = List.of("VMBackup", "VMRestore");

    private final MeterRegistry registry;

    public AgentMetrics(MeterRegistry registry) {
        this.registry = registry;
        // registered at once, at zero: a dashboard's rate() has a series before the first run
        KINDS.forEach(this::copiedCounter);
    }

    /**
     * The gauges, read when scraped from the agent's own state: {@code running} counts the
     * slots a kind holds, {@code cached} lists a kind's work on this node (the informer cache).
     */
    void watch(ToIntFunction<String> running,
            Function<String, List<? extends CustomResource<?, ? extends RunStatus>>> cached, int limit) {
        for (String kind : KINDS) {
            Gauge.builder(IN_FLIGHT, () -> running.applyAsInt(kind)).description("Runs going on on this node")
                    .tag("kind", kind).register(registry);
            Gauge.builder(QUEUED, () -> scheduled(cached.apply(kind))).description("Runs of this node waiting"
                    + " in phase Scheduled (for a free slot, for their VM, or to be looked at)").tag("kind", kind)
                    .register(registry);
        }
        Gauge.builder(LIMIT, () -> limit).description("Runs this node may run at once (exports not counted)")
                .register(registry);
    }

    private static long scheduled(List<? extends CustomResource<?, ? extends RunStatus>> work) {
        return work.stream().filter(r -> r.getStatus() != null && r.getStatus().phase == Phase.SCHEDULED).count();
    }

    private Counter copiedCounter(String kind) {
        return Counter.builder(COPIED).description("Bytes runs on this node copied (rate() gives bytes per second)")
                .tag("kind", kind).register(registry);
    }

    /**
     * What one run reports its progress to: the engine gives the bytes done so far in the run,
     * the counter takes what is new since the last report.
     */
    LongConsumer run(String kind) {
        Counter counter = copiedCounter(kind);
        long[] seen = {0};
        return done -> {
            synchronized (seen) {
                if (done > seen[0]) {
                    counter.increment(done - seen[0]);
                    seen[0] = done;
                }
            }
        };
    }

    /** For work built outside a run (clean-up after a restart) and for tests: counts nothing. */
    static final LongConsumer NONE = done -> { };
}
