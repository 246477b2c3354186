package io.qmpbackup.operator.schedule;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.qmpbackup.operator.RunEvents;
import io.qmpbackup.api.v1alpha1.BackupLevel;
import io.qmpbackup.api.v1alpha1.BackupTemplate;
import io.qmpbackup.api.v1alpha1.ConcurrencyPolicy;
import io.qmpbackup.api.v1alpha1.Conditions;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.QemuVM;
import io.qmpbackup.api.v1alpha1.StorageRef;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSchedule;
import io.qmpbackup.api.v1alpha1.VMBackupScheduleSpec;
import io.qmpbackup.api.v1alpha1.VMBackupScheduleStatus;
import io.qmpbackup.api.v1alpha1.VMBackupSpec;
import io.qmpbackup.api.v1alpha1.VmRef;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * VMBackupSchedule: at each cron time, one VMBackup per QemuVM its selector picks. Missed runs
 * (operator down) are caught up at most once, within startingDeadlineSeconds; Forbid skips a VM
 * whose previous run is still active; fullEvery turns every Nth run of a VM into a full; old
 * VMBackups beyond the history limits are deleted (their backup files are not touched).
 */
@ControllerConfiguration(generationAwareEventProcessing = false)
public class VMBackupScheduleReconciler implements Reconciler<VMBackupSchedule> {
    private static final Logger LOG = Logger.getLogger(VMBackupScheduleReconciler.class);
    private static final DateTimeFormatter RUN_ID = DateTimeFormatter.ofPattern("yyyyMMddHHmm");
    private static final int MAX_MISSED = 100_000;

    static final String READY = "Ready";
    static final String SUSPENDED = "Suspended";
    static final String RUNS_FAILING = "RunsFailing";

    private final KubernetesClient client;
    private final Clock clock;
    private final RunEvents events;

    public VMBackupScheduleReconciler(KubernetesClient client, Clock clock, RunEvents events) {
        this.client = client;
        this.clock = clock;
        this.events = events;
    }

    @Override
    public UpdateControl<VMBackupSchedule> reconcile(VMBackupSchedule s, Context<VMBackupSchedule> context) {
        VMBackupScheduleSpec spec = s.getSpec();
        VMBackupScheduleStatus status = s.getStatus() == null ? new VMBackupScheduleStatus() : s.getStatus();
        s.setStatus(status);
        status.observedGeneration = s.getMetadata().getGeneration();
        Long generation = s.getMetadata().getGeneration();
        CronSchedule cron;
        try {
            cron = CronSchedule.parse(spec.schedule, spec.timeZone);
            if (spec.template.retention != null && spec.template.retention.timeZone != null) {
                java.time.ZoneId.of(spec.template.retention.timeZone);
            }
        } catch (IllegalArgumentException | java.time.DateTimeException e) {
            status.message = "invalid: " + e.getMessage();
            status.nextScheduleTime = null;
            if (Conditions.set(status.conditions, READY, false, "InvalidSchedule", status.message, generation,
                    clock.instant())) {
                events.record(s, true, "InvalidSchedule", status.message);
            }
            return UpdateControl.patchStatus(s);
        }
        Conditions.set(status.conditions, READY, true, "Scheduled", "schedule '" + spec.schedule + "' in "
                + cron.zone(), generation, clock.instant());
        Conditions.set(status.conditions, SUSPENDED, Boolean.TRUE.equals(spec.suspend),
                Boolean.TRUE.equals(spec.suspend) ? "Suspended" : "Active", null, generation, clock.instant());
        ZonedDateTime now = ZonedDateTime.ofInstant(clock.instant(), cron.zone());
        List<VMBackup> runs = client.resources(VMBackup.class).inNamespace(s.getMetadata().getNamespace())
                .withLabel(VMBackupSchedule.SCHEDULE_LABEL, labelValue(s.getMetadata().getName())).list().getItems();
        if (Boolean.TRUE.equals(spec.suspend)) {
            status.message = "suspended";
        } else {
            Instant since = status.lastScheduleTime != null ? Instant.parse(status.lastScheduleTime)
                    : Instant.parse(s.getMetadata().getCreationTimestamp());
            ZonedDateTime due = latestDue(cron, ZonedDateTime.ofInstant(since, cron.zone()), now);
            if (due != null) {
                status.lastScheduleTime = due.toInstant().toString();
                long late = Duration.between(due, now).getSeconds();
                if (spec.startingDeadlineSeconds != null && late > spec.startingDeadlineSeconds) {
                    status.message = "missed the run of " + due.toInstant() + " by " + late + "s (startingDeadlineSeconds "
                            + spec.startingDeadlineSeconds + "): skipped";
                    events.record(s, true, "MissedRun", status.message);
                } else {
                    status.message = run(s, due, runs);
                    events.record(s, false, "RunStarted", status.message);
                    runs = client.resources(VMBackup.class).inNamespace(s.getMetadata().getNamespace())
                            .withLabel(VMBackupSchedule.SCHEDULE_LABEL, labelValue(s.getMetadata().getName())).list()
                            .getItems();
                }
            }
        }
        record(status, runs);
        failing(s, status, runs);
        prune(spec, runs);
        ZonedDateTime next = cron.next(now);
        status.nextScheduleTime = next == null ? null : next.toInstant().toString();
        UpdateControl<VMBackupSchedule> control = UpdateControl.patchStatus(s);
        return next == null ? control : control.rescheduleAfter(Duration.between(now, next).plusMillis(50));
    }

    /** The latest firing in (since, now], or null: one catch-up for any number of missed runs. */
    static ZonedDateTime latestDue(CronSchedule cron, ZonedDateTime since, ZonedDateTime now) {
        ZonedDateTime latest = null;
        ZonedDateTime t = cron.next(since);
        for (int i = 0; t != null && !t.isAfter(now) && i < MAX_MISSED; i++) {
            latest = t;
            t = cron.next(t);
        }
        return latest;
    }

    private String run(VMBackupSchedule s, ZonedDateTime due, List<VMBackup> runs) {
        String ns = s.getMetadata().getNamespace();
        List<QemuVM> vms = client.resources(QemuVM.class).inNamespace(ns).withLabelSelector(s.getSpec().vmSelector)
                .list().getItems();
        List<String> skipped = new ArrayList<>();
        List<VMBackup> toCreate = new ArrayList<>();
        for (QemuVM vm : vms) {
            String vmName = vm.getMetadata().getName();
            List<VMBackup> ofVm = runs.stream().filter(r -> vmName.equals(r.getMetadata().getLabels()
                    .get(VMBackupSchedule.VM_LABEL))).toList();
            boolean active = ofVm.stream().anyMatch(r -> r.getStatus() == null || r.getStatus().phase == null
                    || !r.getStatus().phase.terminal());
            if (active && s.getSpec().concurrencyPolicy != ConcurrencyPolicy.ALLOW) {
                skipped.add(vmName);
                continue;
            }
            String name = truncate(s.getMetadata().getName() + "-" + vmName, 240) + "-" + RUN_ID.format(due);
            toCreate.add(backup(s, vm, name, level(s.getSpec(), ofVm)));
        }
        // a fleet fires at once: create in parallel; the name carries the run time, so a create that
        // finds its VMBackup already there (a retried reconcile) is simply skipped
        java.util.concurrent.atomic.AtomicInteger count = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.ForkJoinPool pool = new java.util.concurrent.ForkJoinPool(8);
        try {
            pool.submit(() -> toCreate.parallelStream().forEach(b -> {
                try {
                    client.resource(b).create();
                    count.incrementAndGet();
                } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
                    if (e.getCode() != 409) {
                        throw e;
                    }
                }
            })).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
        } finally {
            pool.shutdown();
        }
        int created = count.get();
        LOG.infof("VMBackupSchedule(%s/%s): run of %s: %d VMBackup(s) created%s", ns, s.getMetadata().getName(),
                due.toInstant(), created, skipped.isEmpty() ? "" : ", skipped (still running): " + skipped);
        return "run of " + due.toInstant() + ": " + created + " of " + vms.size() + " VM(s) started"
                + (skipped.isEmpty() ? "" : "; still running, skipped (Forbid): " + skipped);
    }

    /** template.level, but a full once fullEvery incrementals succeeded since the last full. */
    static BackupLevel level(VMBackupScheduleSpec spec, List<VMBackup> ofVm) {
        BackupLevel level = spec.template.level == null ? BackupLevel.AUTO : spec.template.level;
        if (spec.fullEvery == null || level == BackupLevel.COPY || level == BackupLevel.FULL) {
            return level;
        }
        List<VMBackup> done = ofVm.stream().filter(r -> r.getStatus() != null && r.getStatus().phase == Phase.SUCCEEDED)
                .sorted(Comparator.comparing(VMBackupScheduleReconciler::finished)).toList();
        int incsSinceFull = 0;
        for (VMBackup r : done) {
            incsSinceFull = "full".equals(r.getStatus().level) ? 0 : incsSinceFull + 1;
        }
        boolean anyFull = done.stream().anyMatch(r -> "full".equals(r.getStatus().level));
        return anyFull && incsSinceFull >= spec.fullEvery ? BackupLevel.FULL : level;
    }

    private VMBackup backup(VMBackupSchedule s, QemuVM vm, String name, BackupLevel level) {
        BackupTemplate t = s.getSpec().template;
        VMBackup b = new VMBackup();
        b.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(s.getMetadata().getNamespace())
                .withLabels(Map.of(VMBackupSchedule.SCHEDULE_LABEL, labelValue(s.getMetadata().getName()),
                        VMBackupSchedule.VM_LABEL, labelValue(vm.getMetadata().getName())))
                .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion(s.getApiVersion()).withKind(s.getKind())
                        .withName(s.getMetadata().getName()).withUid(s.getMetadata().getUid()).build())
                .build());
        VMBackupSpec spec = new VMBackupSpec();
        spec.vm = new VmRef();
        spec.vm.name = vm.getMetadata().getName();
        spec.level = level;
        spec.storage = new StorageRef();
        spec.storage.location = t.storage.location;
        spec.storage.path = t.storage.path + "/" + vm.getMetadata().getName();
        t.copyTo(spec);
        if (spec.retention != null && spec.retention.timeZone == null) {
            spec.retention.timeZone = s.getSpec().timeZone;
        }
        b.setSpec(spec);
        return b;
    }

    private static void record(VMBackupScheduleStatus status, List<VMBackup> runs) {
        status.active = runs.stream().filter(r -> r.getStatus() == null || r.getStatus().phase == null
                || !r.getStatus().phase.terminal()).map(r -> r.getMetadata().getName()).sorted().toList();
        for (VMBackup r : runs) {
            if (r.getStatus() != null && r.getStatus().phase == Phase.SUCCEEDED && r.getStatus().completionTime != null) {
                String vm = r.getMetadata().getLabels().get(VMBackupSchedule.VM_LABEL);
                status.lastSuccessfulTime.merge(vm, r.getStatus().completionTime,
                        (a, b) -> Instant.parse(a).compareTo(Instant.parse(b)) >= 0 ? a : b);
            }
        }
    }

    /** RunsFailing: true while the newest finished run of some VM failed. */
    private void failing(VMBackupSchedule s, VMBackupScheduleStatus status, List<VMBackup> runs) {
        Map<String, VMBackup> newest = new java.util.TreeMap<>();
        for (VMBackup r : runs) {
            if (r.getStatus() != null && r.getStatus().phase != null && r.getStatus().phase.terminal()
                    && r.getStatus().completionTime != null) {
                newest.merge(r.getMetadata().getLabels().get(VMBackupSchedule.VM_LABEL), r,
                        (a, b) -> finished(a).compareTo(finished(b)) >= 0 ? a : b);
            }
        }
        List<String> failed = newest.entrySet().stream().filter(e -> e.getValue().getStatus().phase == Phase.FAILED)
                .map(e -> e.getKey() + " (" + e.getValue().getMetadata().getName() + ": " + e.getValue().getStatus().reason
                        + ")").toList();
        String message = failed.isEmpty() ? "the newest run of every VM succeeded"
                : failed.size() + " VM(s) whose newest run failed: " + String.join(", ", failed);
        boolean changed = Conditions.set(status.conditions, RUNS_FAILING, !failed.isEmpty(),
                failed.isEmpty() ? "RunsSucceeding" : "RunsFailed", message, s.getMetadata().getGeneration(),
                clock.instant());
        if (changed && !failed.isEmpty()) {
            events.record(s, true, "RunsFailing", message);
        }
    }

    /**
     * Keeps the newest M failed VMBackups per VM and, without retention, the newest N succeeded
     * ones and those of the VM's current chain (fullEvery counts them); deletes older ones (not
     * their files). With retention the agent prunes chains and the operator deletes their
     * VMBackups (PrunedBackups), so succeeded VMBackups live as long as their files.
     */
    private void prune(VMBackupScheduleSpec spec, List<VMBackup> runs) {
        int keepOk = spec.successfulRunsHistoryLimit == null ? 3 : spec.successfulRunsHistoryLimit;
        int keepFailed = spec.failedRunsHistoryLimit == null ? 1 : spec.failedRunsHistoryLimit;
        Map<String, List<VMBackup>> byVm = new java.util.HashMap<>();
        for (VMBackup r : runs) {
            byVm.computeIfAbsent(r.getMetadata().getLabels().get(VMBackupSchedule.VM_LABEL), k -> new ArrayList<>())
                    .add(r);
        }
        for (List<VMBackup> list : byVm.values()) {
            if (spec.template.retention == null) {
                Instant chainStart = list.stream().filter(r -> r.getStatus() != null
                        && r.getStatus().phase == Phase.SUCCEEDED && "full".equals(r.getStatus().level)
                        && r.getStatus().completionTime != null).map(VMBackupScheduleReconciler::finished)
                        .max(Comparator.naturalOrder()).orElse(null);
                prune(list, Phase.SUCCEEDED, keepOk, chainStart);
            }
            prune(list, Phase.FAILED, keepFailed, null);
        }
    }

    /** Deletes all but the newest {@code keep} runs in {@code phase}, never one finished at or after {@code keepFrom}. */
    private void prune(List<VMBackup> list, Phase phase, int keep, Instant keepFrom) {
        List<VMBackup> done = list.stream().filter(r -> r.getStatus() != null && r.getStatus().phase == phase
                && r.getStatus().completionTime != null)
                .sorted(Comparator.comparing(VMBackupScheduleReconciler::finished).reversed()).toList();
        for (VMBackup old : done.subList(Math.min(keep, done.size()), done.size())) {
            if (keepFrom == null || finished(old).isBefore(keepFrom)) {
                client.resource(old).delete();
            }
        }
    }

    /** When a run finished (RFC 3339 strings do not sort as text: fractions of a second vary in length). */
    private static Instant finished(VMBackup r) {
        return Instant.parse(r.getStatus().completionTime);
    }

    static String labelValue(String s) {
        return truncate(s, 63);
    }

    private static String truncate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max).replaceAll("[-.]+$", "");
    }
}
