package io.qmpbackup.operator.schedule;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Condition;
import io.qmpbackup.api.v1alpha1.Conditions;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.VMBackupSchedule;
import io.qmpbackup.api.v1alpha1.VMBackupScheduleStatus;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The one place a VMBackupSchedule's status is written. A reconcile tells it what it found (the
 * schedule is invalid, or when it fires next), what it did (a run fired) and the runs as they
 * now are; {@link #build()} computes the whole status from that and the status read, and says
 * whether it differs from the one read, so an unchanged status is never patched.
 *
 * <p>Conditions: Ready (the schedule parses), Suspended, RunsFailing (the newest finished run of
 * some VM failed); each carries the spec's generation, and its lastTransitionTime moves only when
 * its status flips ({@link Conditions#set}).
 */
public final class ScheduleStatusAggregator {
    public static final String READY = "Ready";
    public static final String SUSPENDED = "Suspended";
    public static final String RUNS_FAILING = "RunsFailing";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final VMBackupSchedule schedule;
    private final ScheduleSettings settings;
    private final Instant now;
    private String invalid;
    private CronSchedule cron;
    private ZonedDateTime nextRun;
    private ZonedDateTime fired;
    private String firedMessage;
    private List<ScheduledRun> runs = List.of();

    public ScheduleStatusAggregator(VMBackupSchedule schedule, ScheduleSettings settings, Instant now) {
        this.schedule = schedule;
        this.settings = settings;
        this.now = now;
    }

    /** The schedule cannot run: {@code why} names the field and the fix. */
    public ScheduleStatusAggregator invalid(String why) {
        this.invalid = why;
        return this;
    }

    /** The schedule parses; {@code next} is its next firing, or null when there is none. */
    public ScheduleStatusAggregator scheduled(CronSchedule cron, ZonedDateTime next) {
        this.cron = cron;
        this.nextRun = next;
        return this;
    }

    /** This reconcile handled the firing due at {@code due} (started it, or skipped it); {@code message} says how. */
    public ScheduleStatusAggregator fired(ZonedDateTime due, String message) {
        this.fired = due;
        this.firedMessage = message;
        return this;
    }

    /** The schedule's runs after this reconcile's creates and deletes. */
    public ScheduleStatusAggregator runs(List<ScheduledRun> runs) {
        this.runs = runs;
        return this;
    }

    public Result build() {
        VMBackupScheduleStatus read = schedule.getStatus();
        VMBackupScheduleStatus previous = read == null ? new VMBackupScheduleStatus() : read;
        VMBackupScheduleStatus next = new VMBackupScheduleStatus();
        next.observedGeneration = schedule.getMetadata().getGeneration();
        next.lastScheduleTime = fired != null ? fired.toInstant().toString() : previous.lastScheduleTime;
        next.nextScheduleTime = invalid != null || nextRun == null ? null : nextRun.toInstant().toString();
        next.message = message(previous);
        next.active = runs.stream().filter(ScheduledRun::active).map(ScheduledRun::name).sorted().toList();
        next.lastSuccessfulTime = lastSuccessful(previous);
        next.conditions = previous.conditions == null ? new ArrayList<>() : new ArrayList<>(previous.conditions);
        Set<String> updated = conditions(next.conditions);
        boolean changed = read == null || !JSON.valueToTree(read).equals(JSON.valueToTree(next));
        return new Result(next, changed, Set.copyOf(updated));
    }

    /** What happened last, in one line: a new fact replaces the old one; nothing new keeps it. */
    private String message(VMBackupScheduleStatus previous) {
        if (invalid != null) {
            return "invalid: " + invalid;
        }
        if (firedMessage != null) {
            return firedMessage;
        }
        return settings.suspend() ? "suspended" : previous.message;
    }

    /** Per VM, the newest completion of a successful run, kept after its VMBackup is pruned. */
    private Map<String, String> lastSuccessful(VMBackupScheduleStatus previous) {
        Map<String, String> times = new LinkedHashMap<>();
        if (previous.lastSuccessfulTime != null) {
            times.putAll(previous.lastSuccessfulTime);
        }
        for (ScheduledRun r : runs) {
            if (r.finishedAs(Phase.SUCCEEDED)) {
                times.merge(r.vm(), r.backup().getStatus().completionTime,
                        (a, b) -> Instant.parse(a).compareTo(Instant.parse(b)) >= 0 ? a : b);
            }
        }
        return times;
    }

    /** Sets the three conditions on {@code conditions}; returns the types whose entry changed. */
    private Set<String> conditions(List<Condition> conditions) {
        Long generation = schedule.getMetadata().getGeneration();
        Set<String> updated = new HashSet<>();
        boolean ready = invalid == null;
        if (Conditions.set(conditions, READY, ready, ready ? "Scheduled" : "InvalidSchedule",
                ready ? "schedule '" + settings.schedule() + "' in " + cron.zone() : "invalid: " + invalid,
                generation, now)) {
            updated.add(READY);
        }
        boolean suspended = settings.suspend();
        if (Conditions.set(conditions, SUSPENDED, suspended, suspended ? "Suspended" : "Active", null, generation,
                now)) {
            updated.add(SUSPENDED);
        }
        List<String> failed = failedVms();
        String message = failed.isEmpty() ? "the newest run of every VM succeeded"
                : failed.size() + " VM(s) whose newest run failed: " + String.join(", ", failed);
        if (Conditions.set(conditions, RUNS_FAILING, !failed.isEmpty(), failed.isEmpty() ? "RunsSucceeding"
                : "RunsFailed", message, generation, now)) {
            updated.add(RUNS_FAILING);
        }
        return updated;
    }

    /** "vm (run: reason)" for each VM whose newest finished run failed, by VM name. */
    private List<String> failedVms() {
        Map<String, ScheduledRun> newest = new TreeMap<>();
        for (ScheduledRun r : runs) {
            if (r.finished()) {
                newest.merge(r.vm(), r, (a, b) -> a.finishedAt().compareTo(b.finishedAt()) >= 0 ? a : b);
            }
        }
        return newest.entrySet().stream().filter(e -> e.getValue().phase() == Phase.FAILED)
                .map(e -> e.getKey() + " (" + e.getValue().name() + ": " + e.getValue().backup().getStatus().reason
                        + ")").toList();
    }

    /**
     * The status to write, whether it differs from the one read, and which conditions changed
     * (what Events are recorded for).
     */
    public record Result(VMBackupScheduleStatus status, boolean changed, Set<String> updatedConditions) {
        /** Whether condition {@code type} changed in this reconcile and is now {@code value}. */
        public boolean updated(String type, boolean value) {
            Condition c = condition(type);
            return updatedConditions.contains(type) && c != null && (value ? "True" : "False").equals(c.getStatus());
        }

        public Condition condition(String type) {
            return status.conditions.stream().filter(c -> type.equals(c.getType())).findFirst().orElse(null);
        }
    }
}
