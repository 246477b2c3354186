package io.qmpbackup.operator.schedule;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.qmpbackup.api.v1alpha1.BackupLevel;
import io.qmpbackup.api.v1alpha1.BackupTemplate;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.QemuVM;
import io.qmpbackup.api.v1alpha1.StorageRef;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSchedule;
import io.qmpbackup.api.v1alpha1.VMBackupSpec;
import io.qmpbackup.api.v1alpha1.VmRef;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What one firing of a schedule starts: a VMBackup per selected QemuVM, less the VMs Forbid skips
 * because their previous run is still active. Decides only; {@link FleetLauncher} creates.
 *
 * @param backups the VMBackups to create; each name ends in the due time, so creating one again
 *        (a retried reconcile) finds it there instead of starting a second run
 * @param skipped the VMs skipped because a run of theirs is still active
 * @param fleetSize how many VMs the selector picked
 */
public record FleetPlan(List<VMBackup> backups, List<String> skipped, int fleetSize) {
    private static final DateTimeFormatter RUN_ID = DateTimeFormatter.ofPattern("yyyyMMddHHmm");

    public static FleetPlan of(VMBackupSchedule s, ScheduleSettings settings, ZonedDateTime due, List<QemuVM> vms,
            List<ScheduledRun> runs) {
        List<String> skipped = new ArrayList<>();
        List<VMBackup> backups = new ArrayList<>();
        for (QemuVM vm : vms) {
            String vmName = vm.getMetadata().getName();
            String vmLabel = labelValue(vmName);
            List<ScheduledRun> ofVm = runs.stream().filter(r -> vmLabel.equals(r.vm())).toList();
            if (settings.forbidsOverlap() && ofVm.stream().anyMatch(ScheduledRun::active)) {
                skipped.add(vmName);
                continue;
            }
            String name = truncate(s.getMetadata().getName() + "-" + vmName, 240) + "-" + RUN_ID.format(due);
            backups.add(backup(s, settings, vm, name, level(settings, ofVm)));
        }
        return new FleetPlan(List.copyOf(backups), List.copyOf(skipped), vms.size());
    }

    /** One line for the schedule's status and its RunStarted event. */
    public String summary(ZonedDateTime due, int created) {
        return "run of " + due.toInstant() + ": " + created + " of " + fleetSize + " VM(s) started"
                + (skipped.isEmpty() ? "" : "; still running, skipped (Forbid): " + skipped);
    }

    /** template.level, but a full once fullEvery runs succeeded since the VM's last successful full. */
    static BackupLevel level(ScheduleSettings settings, List<ScheduledRun> ofVm) {
        BackupLevel level = settings.level();
        if (settings.fullEvery() == null || level == BackupLevel.COPY || level == BackupLevel.FULL) {
            return level;
        }
        List<ScheduledRun> done = ofVm.stream().filter(r -> r.finishedAs(Phase.SUCCEEDED))
                .sorted(ScheduledRun.byFinish()).toList();
        int sinceFull = 0;
        boolean anyFull = false;
        for (ScheduledRun r : done) {
            boolean full = r.levelRun() == BackupLevel.FULL;
            anyFull |= full;
            sinceFull = full ? 0 : sinceFull + 1;
        }
        // with no full among the runs kept there is nothing to count from (auto starts a chain with a full)
        return anyFull && sinceFull >= settings.fullEvery() ? BackupLevel.FULL : level;
    }

    private static VMBackup backup(VMBackupSchedule s, ScheduleSettings settings, QemuVM vm, String name,
            BackupLevel level) {
        BackupTemplate t = settings.template();
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
        // the template's retention counts days in the schedule's zone unless it names its own
        if (spec.retention != null && spec.retention.timeZone == null) {
            spec.retention.timeZone = settings.timeZone();
        }
        b.setSpec(spec);
        return b;
    }

    /** A label value holds at most 63 characters. */
    static String labelValue(String s) {
        return truncate(s, 63);
    }

    private static String truncate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max).replaceAll("[-.]+$", "");
    }
}
