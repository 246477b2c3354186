package io.qmpbackup.operator.schedule;

import io.qmpbackup.api.v1alpha1.BackupLevel;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSchedule;
import io.qmpbackup.api.v1alpha1.VMBackupStatus;
import java.time.Instant;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** One VMBackup a schedule started, read the way the schedule needs it. */
public record ScheduledRun(VMBackup backup) {
    public String name() {
        return backup.getMetadata().getName();
    }

    /**
     * The QemuVM the run backs up: the schedule's VM label (what a history is grouped by), else the
     * spec's VM for a VMBackup someone labelled by hand.
     */
    public String vm() {
        Map<String, String> labels = backup.getMetadata().getLabels();
        String label = labels == null ? null : labels.get(VMBackupSchedule.VM_LABEL);
        if (label != null) {
            return label;
        }
        return backup.getSpec() != null && backup.getSpec().vm != null && backup.getSpec().vm.name != null
                ? backup.getSpec().vm.name : "";
    }

    public Phase phase() {
        return backup.getStatus() == null ? null : backup.getStatus().phase;
    }

    /** Not finished yet: no status, no phase or a phase that is not terminal. */
    public boolean active() {
        return phase() == null || !phase().terminal();
    }

    /** Ended in {@code phase} and says when (runs without a completion time are never counted or pruned). */
    public boolean finishedAs(Phase phase) {
        return phase() == phase && backup.getStatus().completionTime != null;
    }

    public boolean finished() {
        return phase() != null && phase().terminal() && backup.getStatus().completionTime != null;
    }

    /** When the run ended (RFC 3339 strings do not sort as text: fractions of a second vary in length). */
    public Instant finishedAt() {
        return Instant.parse(backup.getStatus().completionTime);
    }

    /** The level the agent actually ran, or null when it has not said (yet) or said something unknown. */
    public BackupLevel levelRun() {
        VMBackupStatus s = backup.getStatus();
        String value = s == null ? null : s.level;
        return Arrays.stream(BackupLevel.values()).filter(l -> l.value().equals(value)).findFirst().orElse(null);
    }

    public boolean succeededFull() {
        return finishedAs(Phase.SUCCEEDED) && levelRun() == BackupLevel.FULL;
    }

    public static Comparator<ScheduledRun> byFinish() {
        return Comparator.comparing(ScheduledRun::finishedAt);
    }

    /** The runs sorted by name, so a status built from them does not depend on a cache's iteration order. */
    public static List<ScheduledRun> of(Collection<VMBackup> backups) {
        return backups.stream().map(ScheduledRun::new).sorted(Comparator.comparing(ScheduledRun::name)).toList();
    }

    /**
     * {@code runs} as they are after this reconcile: with the VMBackups it just created (which the
     * cache it read may not hold yet) and without those it deleted.
     */
    public static List<ScheduledRun> after(List<ScheduledRun> runs, List<VMBackup> created, Set<String> deleted) {
        Map<String, ScheduledRun> byName = new LinkedHashMap<>();
        runs.forEach(r -> byName.put(r.name(), r));
        created.forEach(b -> byName.put(b.getMetadata().getName(), new ScheduledRun(b)));
        deleted.forEach(byName::remove);
        return byName.values().stream().sorted(Comparator.comparing(ScheduledRun::name)).toList();
    }
}
