package io.qmpbackup.operator.schedule;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.event.source.EventSource;
import io.qmpbackup.api.v1alpha1.QemuVM;
import io.qmpbackup.api.v1alpha1.SpecProblem;
import io.qmpbackup.api.v1alpha1.SpecValidation;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSchedule;
import io.qmpbackup.api.v1alpha1.VMBackupScheduleSpec;
import io.qmpbackup.operator.RunEvents;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;

/**
 * VMBackupSchedule: at each cron time, one VMBackup per QemuVM its selector picks. Missed runs
 * (operator down) are caught up at most once, within startingDeadlineSeconds; Forbid skips a VM
 * whose previous run is still active; fullEvery turns every Nth run of a VM into a full; old
 * VMBackups beyond the history limits are deleted (their backup files are not touched).
 *
 * <p>Woken by a change to the schedule, by any of its VMBackups changing (a run finishing updates
 * the status at once) and at the next cron time.
 */
// a change to labels or annotations only (kubectl annotate, to make it look again now) must wake it too
@ControllerConfiguration(generationAwareEventProcessing = false)
public class VMBackupScheduleReconciler implements Reconciler<VMBackupSchedule> {
    private static final Logger LOG = Logger.getLogger(VMBackupScheduleReconciler.class);
    /** Past the cron time, so that the woken reconcile finds the firing due rather than a moment early. */
    private static final Duration AFTER_DUE = Duration.ofMillis(50);

    private final KubernetesClient client;
    private final Clock clock;
    private final RunEvents events;
    private final FleetLauncher launcher;
    private final RunHistoryPruner pruner;

    public VMBackupScheduleReconciler(KubernetesClient client, Clock clock, RunEvents events, FleetLauncher launcher,
            RunHistoryPruner pruner) {
        this.client = client;
        this.clock = clock;
        this.events = events;
        this.launcher = launcher;
        this.pruner = pruner;
    }

    @Override
    public List<EventSource<?, VMBackupSchedule>> prepareEventSources(EventSourceContext<VMBackupSchedule> context) {
        return List.of(ScheduleChildRuns.eventSource(context));
    }

    @Override
    public UpdateControl<VMBackupSchedule> reconcile(VMBackupSchedule s, Context<VMBackupSchedule> context) {
        // creating through JOSDK puts each new VMBackup in the informer's cache: the next reconcile
        // sees it even before its watch event arrives
        return reconcile(s, ScheduleChildRuns.of(context), b -> context.resourceOperations().create(b));
    }

    /** The steps, given the schedule's runs (listed once, from the cache) and how to create a VMBackup. */
    UpdateControl<VMBackupSchedule> reconcile(VMBackupSchedule s, List<ScheduledRun> runs,
            UnaryOperator<VMBackup> create) {
        Instant now = clock.instant();
        ScheduleSettings settings = ScheduleSettings.of(s.getSpec() == null ? new VMBackupScheduleSpec()
                : s.getSpec());
        ScheduleStatusAggregator status = new ScheduleStatusAggregator(s, settings, now);
        List<SpecProblem> problems = SpecValidation.problems(s);
        if (!problems.isEmpty()) {
            // no firing from a spec that is not what its author wrote (a field unreadable, a rule broken)
            return finish(s, status.invalid(SpecValidation.describe(problems)
                    + " (fix the schedule: it runs again from its next firing)").runs(runs).build(), null);
        }
        CronSchedule cron;
        try {
            cron = settings.cron();
        } catch (IllegalArgumentException e) {
            return finish(s, status.invalid(e.getMessage()).runs(runs).build(), null);
        }
        ZonedDateTime at = now.atZone(cron.zone());
        ZonedDateTime due = settings.suspend() ? null : cron.latestDue(since(s, cron), at);
        List<VMBackup> created = List.of();
        if (due != null) {
            long late = Duration.between(due, at).getSeconds();
            if (settings.startingDeadlineSeconds() != null && late > settings.startingDeadlineSeconds()) {
                String message = "missed the run of " + due.toInstant() + " by " + late + "s (startingDeadlineSeconds "
                        + settings.startingDeadlineSeconds() + "): skipped";
                events.record(s, true, "MissedRun", message);
                status.fired(due, message);
            } else {
                runs = confirmActive(s, runs);
                FleetPlan plan = plan(s, settings, due, runs);
                created = launcher.createAll(plan.backups(), create);
                String message = plan.summary(due, created.size());
                log(s, plan, due, created.size());
                events.record(s, false, "RunStarted", message);
                status.fired(due, message);
            }
        }
        runs = ScheduledRun.after(runs, created, Set.of());
        Set<String> pruned = pruner.prune(s, settings, runs).stream().map(ScheduledRun::name)
                .collect(Collectors.toSet());
        runs = ScheduledRun.after(runs, List.of(), pruned);
        ZonedDateTime next = cron.next(at);
        return finish(s, status.scheduled(cron, next).runs(runs).build(),
                next == null ? null : Duration.between(at, next).plus(AFTER_DUE));
    }

    /**
     * Runs the cache shows active are read again before a firing decides on them: Forbid skips a
     * VM whose run is active, and a run that ended a moment ago may not have reached the cache yet
     * (the firing would be spent on nothing, since lastScheduleTime moves on).
     */
    private List<ScheduledRun> confirmActive(VMBackupSchedule s, List<ScheduledRun> runs) {
        return runs.stream().map(r -> {
            if (!r.active()) {
                return r;
            }
            VMBackup live = client.resources(VMBackup.class).inNamespace(s.getMetadata().getNamespace())
                    .withName(r.name()).get();
            return live == null ? null : new ScheduledRun(live);
        }).filter(java.util.Objects::nonNull).toList();
    }

    /** Where to look for missed firings from: the last one handled, or the schedule's creation. */
    private static ZonedDateTime since(VMBackupSchedule s, CronSchedule cron) {
        String last = s.getStatus() == null ? null : s.getStatus().lastScheduleTime;
        return Instant.parse(last != null ? last : s.getMetadata().getCreationTimestamp()).atZone(cron.zone());
    }

    private FleetPlan plan(VMBackupSchedule s, ScheduleSettings settings, ZonedDateTime due, List<ScheduledRun> runs) {
        List<QemuVM> vms = client.resources(QemuVM.class).inNamespace(s.getMetadata().getNamespace())
                .withLabelSelector(settings.vmSelector()).list().getItems();
        return FleetPlan.of(s, settings, due, vms, runs);
    }

    private static void log(VMBackupSchedule s, FleetPlan plan, ZonedDateTime due, int created) {
        LOG.infof("VMBackupSchedule(%s/%s): run of %s: %d VMBackup(s) created%s", s.getMetadata().getNamespace(),
                s.getMetadata().getName(), due.toInstant(), created,
                plan.skipped().isEmpty() ? "" : ", skipped (still running): " + plan.skipped());
    }

    /** Records the Events the status changes call for; patches the status only when it changed. */
    private UpdateControl<VMBackupSchedule> finish(VMBackupSchedule s, ScheduleStatusAggregator.Result result,
            Duration untilNext) {
        if (result.updated(ScheduleStatusAggregator.READY, false)) {
            events.record(s, true, "InvalidSchedule", result.status().message);
        }
        if (result.updated(ScheduleStatusAggregator.RUNS_FAILING, true)) {
            events.record(s, true, "RunsFailing", result.condition(ScheduleStatusAggregator.RUNS_FAILING)
                    .getMessage());
        }
        UpdateControl<VMBackupSchedule> control;
        if (result.changed()) {
            s.setStatus(result.status());
            control = UpdateControl.patchStatus(s);
        } else {
            control = UpdateControl.noUpdate();
        }
        return untilNext == null ? control : control.rescheduleAfter(untilNext);
    }
}
