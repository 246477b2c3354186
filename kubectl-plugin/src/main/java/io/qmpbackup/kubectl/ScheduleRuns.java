package io.qmpbackup.kubectl;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.qmpbackup.api.v1alpha1.BackupLevel;
import io.qmpbackup.api.v1alpha1.BackupTemplate;
import io.qmpbackup.api.v1alpha1.ConcurrencyPolicy;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.QemuVM;
import io.qmpbackup.api.v1alpha1.StorageRef;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSchedule;
import io.qmpbackup.api.v1alpha1.VMBackupScheduleSpec;
import io.qmpbackup.api.v1alpha1.VMBackupSpec;
import io.qmpbackup.api.v1alpha1.VmRef;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The VMBackups a schedule's next firing would create, made now: the same labels, owner
 * reference, storage folder, settings and level as the operator's FleetPlan gives them (the plugin
 * does not depend on the operator, so this is the same rule written a second time; the e2e test
 * checks the schedule's status sees the run). Names end in -now-<time> instead of the due minute,
 * so a manual run never takes the name of a scheduled one.
 */
final class ScheduleRuns {
    private static final DateTimeFormatter RUN_ID = DateTimeFormatter.ofPattern("yyyyMMddHHmmss", Locale.ROOT);

    record Plan(List<VMBackup> backups, List<String> skipped) {
    }

    private ScheduleRuns() {
    }

    /** {@code runs}: the schedule's VMBackups (its label), which Forbid and fullEvery read. */
    static Plan plan(VMBackupSchedule s, List<QemuVM> vms, List<VMBackup> runs, ZonedDateTime now) {
        VMBackupScheduleSpec spec = s.getSpec();
        boolean forbid = spec.concurrencyPolicy != ConcurrencyPolicy.ALLOW;
        List<VMBackup> backups = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        for (QemuVM vm : vms) {
            String vmName = vm.getMetadata().getName();
            List<VMBackup> ofVm = runs.stream().filter(r -> labelValue(vmName).equals(label(r))).toList();
            if (forbid && ofVm.stream().anyMatch(ScheduleRuns::active)) {
                skipped.add(vmName);
                continue;
            }
            String name = truncate(s.getMetadata().getName() + "-" + vmName, 230) + "-now-" + RUN_ID.format(now);
            backups.add(backup(s, vmName, name, level(spec, ofVm)));
        }
        return new Plan(backups, skipped);
    }

    /** template.level (default auto), a full once fullEvery runs succeeded since the last full (as FleetPlan). */
    static BackupLevel level(VMBackupScheduleSpec spec, List<VMBackup> ofVm) {
        BackupLevel level = spec.template.level == null ? BackupLevel.AUTO : spec.template.level;
        if (spec.fullEvery == null || level == BackupLevel.COPY || level == BackupLevel.FULL) {
            return level;
        }
        List<VMBackup> done = ofVm.stream().filter(r -> r.getStatus() != null
                && r.getStatus().phase == Phase.SUCCEEDED && r.getStatus().completionTime != null)
                .sorted(Comparator.comparing(r -> Instant.parse(r.getStatus().completionTime))).toList();
        int sinceFull = 0;
        boolean anyFull = false;
        for (VMBackup r : done) {
            boolean full = BackupLevel.FULL.value().equals(r.getStatus().level);
            anyFull |= full;
            sinceFull = full ? 0 : sinceFull + 1;
        }
        return anyFull && sinceFull >= spec.fullEvery ? BackupLevel.FULL : level;
    }

    private static VMBackup backup(VMBackupSchedule s, String vm, String name, BackupLevel level) {
        BackupTemplate t = s.getSpec().template;
        VMBackup b = new VMBackup();
        b.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(s.getMetadata().getNamespace())
                .withLabels(Map.of(VMBackupSchedule.SCHEDULE_LABEL, labelValue(s.getMetadata().getName()),
                        VMBackupSchedule.VM_LABEL, labelValue(vm)))
                .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion(s.getApiVersion()).withKind(s.getKind())
                        .withName(s.getMetadata().getName()).withUid(s.getMetadata().getUid()).build())
                .build());
        VMBackupSpec spec = new VMBackupSpec();
        spec.vm = new VmRef();
        spec.vm.name = vm;
        spec.level = level;
        spec.storage = new StorageRef();
        spec.storage.location = t.storage.location;
        spec.storage.path = t.storage.path + "/" + vm;
        t.copyTo(spec);
        // the template's retention counts days in the schedule's zone unless it names its own
        if (spec.retention != null && spec.retention.timeZone == null) {
            spec.retention.timeZone = s.getSpec().timeZone == null ? "UTC" : s.getSpec().timeZone;
        }
        b.setSpec(spec);
        return b;
    }

    private static boolean active(VMBackup r) {
        return r.getStatus() == null || r.getStatus().phase == null || !r.getStatus().phase.terminal();
    }

    private static String label(VMBackup r) {
        Map<String, String> labels = r.getMetadata().getLabels();
        return labels == null ? null : labels.get(VMBackupSchedule.VM_LABEL);
    }

    /** A label value holds at most 63 characters. */
    static String labelValue(String s) {
        return truncate(s, 63);
    }

    private static String truncate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max).replaceAll("[-.]+$", "");
    }
}
