package io.qmpbackup.kubectl;

import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSchedule;
import io.qmpbackup.api.v1alpha1.VMBackupStatus;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * A VM's restore points: its VMBackups, oldest first so the newest is next to the prompt. A run
 * belongs to the VM by spec.vm.name, or by the schedule's VM label (a run by socket that a
 * schedule started). Failed runs are listed too: a gap in the chain shows where it is.
 */
final class PointsTable {
    private PointsTable() {
    }

    static List<VMBackup> ofVm(Collection<VMBackup> all, String vm) {
        return all.stream().filter(b -> vm.equals(vmOf(b))).sorted(Comparator.comparing(PointsTable::time)
                .thenComparing(b -> b.getMetadata().getName())).toList();
    }

    static String render(List<VMBackup> points) {
        Table t = new Table("NAME", "TIME", "LEVEL", "PHASE", "CHAIN", "NODE");
        for (VMBackup b : points) {
            VMBackupStatus s = b.getStatus();
            String level = s != null && s.level != null ? s.level
                    : b.getSpec() == null || b.getSpec().level == null ? null : b.getSpec().level.value();
            // to the second: fractions make the column ragged and say nothing a restore point needs
            t.row(b.getMetadata().getName(), time(b).truncatedTo(ChronoUnit.SECONDS).toString(), level,
                    s == null || s.phase == null ? "Pending" : s.phase.value(), chain(s), s == null ? null : s.node);
        }
        return t.render("");
    }

    /** The chain id's first 8 characters, with the folder: enough to tell chains apart. */
    private static String chain(VMBackupStatus s) {
        if (s == null || s.chainId == null) {
            return null;
        }
        String id = s.chainId.length() > 8 ? s.chainId.substring(0, 8) : s.chainId;
        return s.chainPath == null ? id : id + " (" + s.chainPath + ")";
    }

    private static String vmOf(VMBackup b) {
        if (b.getSpec() != null && b.getSpec().vm != null && b.getSpec().vm.name != null) {
            return b.getSpec().vm.name;
        }
        Map<String, String> labels = b.getMetadata().getLabels();
        return labels == null ? null : labels.get(VMBackupSchedule.VM_LABEL);
    }

    /** When the point was taken: its completion, else its start, else its creation. */
    static Instant time(VMBackup b) {
        VMBackupStatus s = b.getStatus();
        String t = s == null ? null : s.completionTime != null ? s.completionTime : s.startTime;
        if (t == null) {
            t = b.getMetadata().getCreationTimestamp();
        }
        return t == null ? Instant.EPOCH : Instant.parse(t);
    }
}
