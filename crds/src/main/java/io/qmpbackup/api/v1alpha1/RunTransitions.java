package io.qmpbackup.api.v1alpha1;

import java.time.Instant;

/**
 * The one place that moves a run's phase and writes its conditions (operator and node agent
 * both call it). Fixed condition types; {@code reason} a stable CamelCase word;
 * {@code lastTransitionTime} moves only when a condition's status changes.
 *
 * <ul>
 * <li>{@code Accepted}: True once a node agent took the work (Running or later);</li>
 * <li>{@code Running}: True while the agent runs it;</li>
 * <li>{@code Complete}: True when it succeeded;</li>
 * <li>{@code Failed}: True when it failed or was cancelled.</li>
 * <li>{@code Offsite} (VMBackup, when its storage has a remote): True once the off-site copy is
 * uploaded and checked; False while pending or after it failed.</li>
 * </ul>
 */
public final class RunTransitions {
    public static final String ACCEPTED = "Accepted";
    public static final String RUNNING = "Running";
    public static final String COMPLETE = "Complete";
    public static final String FAILED = "Failed";
    public static final String OFFSITE = "Offsite";

    private RunTransitions() {
    }

    /** Moves the status to {@code phase}; returns true when anything changed. */
    public static boolean move(RunStatus s, Phase phase, String reason, String message, Long generation, Instant now) {
        boolean changed = s.phase != phase || !eq(s.reason, reason) || !eq(s.message, message)
                || !eq(s.observedGeneration, generation);
        s.phase = phase;
        s.reason = reason;
        s.message = message;
        s.observedGeneration = generation;
        boolean accepted = phase == Phase.RUNNING || phase == Phase.SUCCEEDED
                || (phase.terminal() && s.startTime != null);
        changed |= condition(s, ACCEPTED, accepted, accepted ? "Accepted" : reason, message, generation, now);
        changed |= condition(s, RUNNING, phase == Phase.RUNNING, reason, message, generation, now);
        changed |= condition(s, COMPLETE, phase == Phase.SUCCEEDED, reason, message, generation, now);
        changed |= condition(s, FAILED, phase == Phase.FAILED || phase == Phase.CANCELLED, reason, message,
                generation, now);
        String time = now.toString();
        if (phase == Phase.SCHEDULED && s.scheduledTime == null) {
            s.scheduledTime = time;
        }
        if (phase == Phase.RUNNING && s.startTime == null) {
            s.startTime = time;
        }
        if (phase.terminal() && s.completionTime == null) {
            s.completionTime = time;
        }
        return changed;
    }

    /** The Offsite condition: the phase stays as it is (a backup stands whatever its upload does). */
    public static boolean offsite(RunStatus s, boolean uploaded, String reason, String message, Instant now) {
        return condition(s, OFFSITE, uploaded, reason, message, s.observedGeneration, now);
    }

    private static boolean condition(RunStatus s, String type, boolean status, String reason, String message,
            Long generation, Instant now) {
        return Conditions.set(s.conditions, type, status, reason, message, generation, now);
    }

    private static boolean eq(Object a, Object b) {
        return a == null ? b == null : a.equals(b);
    }
}
