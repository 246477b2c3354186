package io.qmpbackup.agent.controller;

import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.Progress;
import io.qmpbackup.api.v1alpha1.RunStatus;
import io.qmpbackup.api.v1alpha1.RunTransitions;
import io.qmpbackup.api.v1alpha1.SpecProblem;
import io.qmpbackup.api.v1alpha1.SpecValidation;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.jboss.logging.Logger;

/** Writes a running work's status: progress at most every interval, then the result. */
final class StatusWriter<R extends CustomResource<?, S>, S extends RunStatus> {
    private static final Logger LOG = Logger.getLogger(StatusWriter.class);

    private final KubernetesClient client;
    private final Class<R> type;
    private final String namespace;
    private final String name;
    private final Duration interval;
    /** Transition times; progress pacing uses System.nanoTime(), which no clock change moves. */
    private final Clock clock;
    private long lastProgress;
    private volatile Phase lastPhase;
    /** The agent's bytes-copied counter for this run ({@link AgentMetrics#run}). */
    private final LongConsumer copied;

    StatusWriter(KubernetesClient client, Class<R> type, R r, Duration interval, Clock clock, LongConsumer copied) {
        this.copied = copied;
        this.client = client;
        this.type = type;
        this.namespace = r.getMetadata().getNamespace();
        this.name = r.getMetadata().getName();
        this.interval = interval;
        this.clock = clock;
    }

    String id() {
        return type.getSimpleName() + "(" + namespace + "/" + name + ")";
    }

    /** The engine's log lines in the agent's log, prefixed with this work's id. */
    io.qmpbackup.engine.backup.BackupLog log() {
        return new io.qmpbackup.engine.backup.BackupLog() {
            @Override
            public void info(String message) {
                LOG.infof("%s: %s", id(), message);
            }

            @Override
            public void warn(String message) {
                LOG.warnf("%s: %s", id(), message);
            }
        };
    }

    void progress(long done, long total) {
        copied.accept(done); // every report, not only those written to status: the rate stays smooth
        long now = System.nanoTime();
        if (now - lastProgress < interval.toNanos() || total <= 0) {
            return;
        }
        lastProgress = now;
        edit(s -> {
            Progress p = new Progress();
            p.bytesDone = done;
            p.bytesTotal = total;
            p.percent = (int) Math.min(100, done * 100 / total);
            s.progress = p;
        });
    }

    /**
     * Defense in depth: the operator fails work with a spec the schema would refuse before it
     * hands it over, but an older operator or a hand-set label may not have. Fails it with
     * InvalidSpec and returns true when {@code r}'s spec breaks the schema.
     */
    boolean failIfInvalid(R r) {
        List<SpecProblem> problems = SpecValidation.problems(r);
        if (problems.isEmpty()) {
            return false;
        }
        finish(Phase.FAILED, SpecValidation.REASON, SpecValidation.message(problems), s -> { });
        return true;
    }

    /** A new reason and message while the work goes on (an export now serving), with more fields. */
    void update(String reason, String message, Consumer<S> more) {
        finish(Phase.RUNNING, reason, message, more);
    }

    /** More fields for work whose phase stays as it is (a succeeded backup's off-site copy). */
    void amend(Consumer<S> change) {
        edit(change);
    }

    /** The phase this writer last wrote (null before the first). */
    Phase lastPhase() {
        return lastPhase;
    }

    void finish(Phase phase, String reason, String message, Consumer<S> more) {
        lastPhase = phase;
        edit(s -> {
            more.accept(s);
            RunTransitions.move(s, phase, reason, message, s.observedGeneration, clock.instant());
        });
        LOG.infof("%s: %s (%s) %s", id(), phase.value(), reason, message);
    }

    private void edit(Consumer<S> change) {
        try {
            client.resources(type).inNamespace(namespace).withName(name).editStatus(r -> {
                change.accept(r.getStatus());
                return r;
            });
        } catch (KubernetesClientException e) {
            LOG.warnf("%s: cannot write status: %s", id(), e.getMessage());
        }
    }
}
