package io.qmpbackup.operator;

import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.RunStatus;
import io.qmpbackup.api.v1alpha1.RunTransitions;
import io.qmpbackup.api.v1alpha1.SpecProblem;
import io.qmpbackup.api.v1alpha1.SpecValidation;
import io.qmpbackup.api.v1alpha1.VMBackup;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * What the operator does with node-pinned work (VMBackup, VMRestore): checks the node, hands
 * the work to that node's agent (label {@code qmpbackup.io/node}, phase Scheduled), fails it
 * with reason NoAgent when no agent accepts it in time, and records Events and metrics on
 * every transition it sees. It never touches data: the agent does.
 *
 * <p>The Scheduled -> Failed(NoAgent) transition races the agent's Scheduled -> Running; both
 * are updates checked against resourceVersion, so exactly one wins.
 */
@ApplicationScoped
public class WorkDispatch {
    private static final Logger LOG = Logger.getLogger(WorkDispatch.class);

    private final KubernetesClient client;
    private final OperatorConfig config;
    private final RunEvents events;
    private final RunMetrics metrics;
    private final AgentLeases agents;
    private final Map<String, Phase> seen = new ConcurrentHashMap<>();
    private final Set<String> finished = ConcurrentHashMap.newKeySet();

    public WorkDispatch(KubernetesClient client, OperatorConfig config, RunEvents events, RunMetrics metrics,
            AgentLeases agents) {
        this.client = client;
        this.config = config;
        this.events = events;
        this.metrics = metrics;
        this.agents = agents;
    }

    /** What a kind tells the dispatcher about one resource. */
    public interface Work<R extends CustomResource<?, S>, S extends RunStatus> {
        /** What is wrong with the spec ({@link SpecValidation}); checked before {@link #target}. */
        default List<SpecProblem> problems(R r) {
            return SpecValidation.problems(r);
        }

        /** The node to run on, or a failure: reason and message. Called only for a valid spec. */
        Target target(R r);

        S newStatus();

        String vm(R r);

        long bytes(R r);

        /** What retention did after this run (nothing for restores). */
        default Pruned pruned(R r) {
            return Pruned.NONE;
        }
    }

    /** Chains retention deleted after a run, and the bytes that freed. */
    public record Pruned(long chains, long bytes) {
        static final Pruned NONE = new Pruned(0, 0);
    }

    public record Target(String node, String failReason, String failMessage) {
        static Target node(String node) {
            return new Target(node, null, null);
        }

        static Target fail(String reason, String message) {
            return new Target(null, reason, message);
        }
    }

    public <R extends CustomResource<?, S>, S extends RunStatus> UpdateControl<R> reconcile(R r, Work<R, S> work) {
        if (r.getStatus() == null) {
            r.setStatus(work.newStatus());
        }
        S s = r.getStatus();
        Phase phase = s.phase == null ? Phase.PENDING : s.phase;
        observe(r, work, false);
        Instant now = Instant.now();
        switch (phase) {
            case PENDING -> {
                List<SpecProblem> problems = work.problems(r);
                Target t = problems.isEmpty() ? work.target(r)
                        : Target.fail(SpecValidation.REASON, SpecValidation.message(problems));
                if (t.node() == null) {
                    RunTransitions.move(s, Phase.FAILED, t.failReason(), t.failMessage(), generation(r), now);
                    observe(r, work, true);
                    return UpdateControl.patchStatus(r);
                }
                Map<String, String> labels = new HashMap<>(r.getMetadata().getLabels() == null ? Map.of()
                        : r.getMetadata().getLabels());
                labels.put(VMBackup.NODE_LABEL, t.node());
                r.getMetadata().setLabels(labels);
                s.node = t.node();
                RunTransitions.move(s, Phase.SCHEDULED, "Scheduled", "handed to the node agent on " + t.node(),
                        generation(r), now);
                observe(r, work, true);
                return UpdateControl.patchResourceAndStatus(r).rescheduleAfter(config.noAgentTimeout());
            }
            case SCHEDULED -> {
                if (s.agent != null) {
                    return watchAgent(r, work, now); // queued by the node's agent: it has it while it lives
                }
                Instant scheduled = s.scheduledTime == null ? now : Instant.parse(s.scheduledTime);
                Duration waited = Duration.between(scheduled, now);
                if (waited.compareTo(config.noAgentTimeout()) < 0) {
                    return UpdateControl.<R>noUpdate().rescheduleAfter(config.noAgentTimeout().minus(waited)
                            .plusMillis(100));
                }
                failUnlessAgentActed(r, work, "NoAgent", "no node agent on node " + s.node
                        + " picked the work up within " + config.noAgentTimeout().toSeconds() + "s: is the qmpbackup"
                        + " node-agent DaemonSet running on that node?", now);
                return UpdateControl.noUpdate();
            }
            case RUNNING -> {
                return watchAgent(r, work, now);
            }
            default -> {
                return UpdateControl.noUpdate();
            }
        }
    }

    /**
     * Work an agent holds: fails it with AgentLost once that agent's heartbeat is older than
     * agent-lost-timeout; otherwise looks again when it would be. An agent that keeps no
     * heartbeat at all is left alone (nothing tells whether it lives).
     */
    private <R extends CustomResource<?, S>, S extends RunStatus> UpdateControl<R> watchAgent(R r, Work<R, S> work,
            Instant now) {
        Duration timeout = config.agentLostTimeout();
        S s = r.getStatus();
        if (timeout.isZero() || s.node == null) {
            return UpdateControl.noUpdate();
        }
        var beat = agents.of(s.node);
        if (beat.isEmpty()) {
            return UpdateControl.<R>noUpdate().rescheduleAfter(timeout);
        }
        Duration silent = Duration.between(beat.get().renewed(), now);
        if (silent.compareTo(timeout) < 0) {
            return UpdateControl.<R>noUpdate().rescheduleAfter(timeout.minus(silent).plusMillis(500));
        }
        failUnlessAgentActed(r, work, "AgentLost", "the node agent on " + s.node + " (" + s.agent + ") has not"
                + " renewed its heartbeat since " + beat.get().renewed() + " (agent-lost-timeout " + timeout.toSeconds()
                + "s): the node or the agent is down; when the agent is back it cleans the VM, and the chain's change"
                + " tracking still holds every change, so the next backup is correct", now);
        return UpdateControl.noUpdate();
    }

    /**
     * Fails the work with an update checked against the resourceVersion read: an agent that
     * accepted or reported meanwhile wins (409), and the next event shows what it did.
     */
    private <R extends CustomResource<?, S>, S extends RunStatus> void failUnlessAgentActed(R r, Work<R, S> work,
            String reason, String message, Instant now) {
        RunTransitions.move(r.getStatus(), Phase.FAILED, reason, message, generation(r), now);
        try {
            client.resource(r).updateStatus();
            observe(r, work, true);
        } catch (KubernetesClientException e) {
            if (e.getCode() != 409) {
                throw e;
            }
            LOG.debugf("%s: the agent acted while this operator was failing it with %s", id(r), reason);
        }
    }

    /** Deletion: work that is not running goes at once; a running one waits for its agent to cancel it. */
    public <R extends CustomResource<?, S>, S extends RunStatus> DeleteControl cleanup(R r, Work<R, S> work) {
        observe(r, work, false);
        S s = r.getStatus();
        if (s == null || s.phase == null || s.phase.terminal() || s.phase == Phase.PENDING) {
            forget(r, work);
            return DeleteControl.defaultDelete();
        }
        Instant deleted = Instant.parse(r.getMetadata().getDeletionTimestamp());
        if (Duration.between(deleted, Instant.now()).compareTo(config.cancelTimeout()) > 0) {
            events.record(r, true, "CancelTimeout", "the node agent did not confirm the cancellation within "
                    + config.cancelTimeout().toSeconds() + "s; the resource goes anyway");
            forget(r, work);
            return DeleteControl.defaultDelete();
        }
        return DeleteControl.noFinalizerRemoval().rescheduleAfter(Duration.ofSeconds(1));
    }

    /** The resource is going: its uid's state here, and its share of the per-VM metrics. */
    private <R extends CustomResource<?, S>, S extends RunStatus> void forget(R r, Work<R, S> work) {
        String uid = r.getMetadata().getUid();
        seen.remove(uid);
        finished.remove(uid);
        metrics.deleted(r.getKind(), r.getMetadata().getNamespace(), work.vm(r), uid);
    }

    /**
     * Events and metrics for the transitions this operator sees (each phase once per resource).
     * {@code live}: this operator made the transition just now. A resource seen for the first time
     * otherwise (after a restart or a leader change) is only taken note of: its past transitions
     * had their Events and counts from the operator that saw them, so none are repeated; the
     * last-success gauge is state, not a count, and is restored.
     */
    private <R extends CustomResource<?, S>, S extends RunStatus> void observe(R r, Work<R, S> work, boolean live) {
        S s = r.getStatus();
        if (s == null || s.phase == null) {
            return;
        }
        String uid = r.getMetadata().getUid();
        Phase before = seen.put(uid, s.phase);
        if (before == s.phase) {
            return;
        }
        if (before == null && !live) {
            if (s.phase.terminal() && finished.add(uid) && s.phase == Phase.SUCCEEDED && s.completionTime != null) {
                metrics.succeededBefore(r.getKind(), r.getMetadata().getNamespace(), work.vm(r), uid,
                        Instant.parse(s.completionTime));
            }
            return;
        }
        boolean warning = s.phase == Phase.FAILED || s.phase == Phase.CANCELLED;
        String reason = s.phase == Phase.RUNNING ? "Started" : s.reason != null ? s.reason : s.phase.value();
        events.record(r, warning, reason, s.message == null ? s.phase.value() : s.message);
        LOG.infof("%s: %s (%s) %s", id(r), s.phase.value(), reason, s.message == null ? "" : s.message);
        if (s.phase.terminal() && finished.add(uid)) {
            metrics.finished(r.getKind(), r.getMetadata().getNamespace(), work.vm(r), uid, s.phase.value(),
                    work.bytes(r),
                    s.startTime == null ? null : Instant.parse(s.startTime),
                    s.completionTime == null ? null : Instant.parse(s.completionTime));
            Pruned pruned = work.pruned(r);
            metrics.pruned(pruned.chains(), pruned.bytes());
        }
    }

    private static Long generation(CustomResource<?, ?> r) {
        return r.getMetadata().getGeneration();
    }

    static String id(CustomResource<?, ?> r) {
        return r.getKind() + "(" + r.getMetadata().getNamespace() + "/" + r.getMetadata().getName() + ")";
    }
}
