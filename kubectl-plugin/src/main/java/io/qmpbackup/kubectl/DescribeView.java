package io.qmpbackup.kubectl;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.qmpbackup.api.v1alpha1.DiskResult;
import io.qmpbackup.api.v1alpha1.RunStatus;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupStatus;
import io.qmpbackup.api.v1alpha1.VMRestore;
import io.qmpbackup.api.v1alpha1.VMRestoreStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** A run's status, conditions and Events in one view, laid out as kubectl describe lays them. */
final class DescribeView {
    private final StringBuilder b = new StringBuilder();
    private final Instant now;

    private DescribeView(Instant now) {
        this.now = now;
    }

    static String render(HasMetadata run, List<Event> events, Instant now) {
        DescribeView v = new DescribeView(now);
        v.field("Name", run.getMetadata().getName());
        v.field("Namespace", run.getMetadata().getNamespace());
        v.field("Kind", run.getKind());
        RunStatus status;
        if (run instanceof VMBackup backup) {
            v.backup(backup);
            status = backup.getStatus();
        } else {
            v.restore((VMRestore) run);
            status = ((VMRestore) run).getStatus();
        }
        v.status(status);
        if (run instanceof VMBackup backup && backup.getStatus() != null) {
            v.backupResult(backup.getStatus());
        }
        if (run instanceof VMRestore restore && restore.getStatus() != null) {
            v.restoreResult(restore.getStatus());
        }
        v.conditions(status == null ? List.of() : status.conditions);
        v.events(events);
        return v.b.toString();
    }

    private void backup(VMBackup r) {
        var s = r.getSpec();
        if (s == null) {
            return;
        }
        field("VM", s.vm == null ? null : s.vm.name != null ? s.vm.name : s.vm.node + ":" + s.vm.qmpSocket);
        field("Level", s.level == null ? null : s.level.value());
        field("Storage", s.storage == null ? null : s.storage.location + "/" + s.storage.path);
    }

    private void restore(VMRestore r) {
        var s = r.getSpec();
        if (s == null) {
            return;
        }
        field("Source", s.source == null ? null : s.source.backup != null ? "VMBackup " + s.source.backup
                : s.source.storage == null ? null : s.source.storage.location + "/" + s.source.storage.path);
        field("Mode", s.mode == null ? null : s.mode.value());
        field("Target", s.targetFile);
        field("Until", s.until);
    }

    private void status(RunStatus s) {
        if (s == null) {
            field("Phase", "Pending (no status yet: is the operator running?)");
            return;
        }
        field("Phase", s.phase == null ? "Pending" : s.phase.value());
        field("Reason", s.reason);
        field("Message", s.message);
        field("Node", s.node);
        field("Started", s.startTime);
        field("Completed", s.completionTime);
        if (s.startTime != null) {
            Instant end = s.completionTime == null ? now : Instant.parse(s.completionTime);
            field("Duration", Sizes.duration(Duration.between(Instant.parse(s.startTime), end)));
        }
        if (s.progress != null) {
            field("Progress", ProgressLine.plain(s, -1).replaceFirst("^\\S+\\s+", ""));
        }
    }

    private void backupResult(VMBackupStatus s) {
        field("Ran", s.level);
        field("Chain", s.chainId == null ? null : s.chainId + (s.chainPath == null ? "" : " (" + s.chainPath + ")"));
        field("Quiesced", s.quiesced == null ? null : s.quiesced.toString());
        if (s.offsite != null) {
            field("Off-site", s.offsite.state + (s.offsite.remote == null ? "" : " (" + s.offsite.remote + ")")
                    + (s.offsite.attempts == null ? "" : ", attempts " + s.offsite.attempts)
                    + (s.offsite.bytesSent == null ? "" : ", " + Sizes.bytes(s.offsite.bytesSent) + " sent")
                    + (s.offsite.message == null ? "" : ": " + s.offsite.message));
        }
        if (s.disks != null && !s.disks.isEmpty()) {
            b.append("Disks:\n");
            Table t = new Table("DEVICE", "LEVEL", "FILE", "WRITTEN");
            for (DiskResult d : s.disks) {
                t.row(d.device, d.level, d.file, d.bytesWritten == null ? null : Sizes.bytes(d.bytesWritten));
            }
            b.append(t.render("  "));
        }
    }

    private void restoreResult(VMRestoreStatus s) {
        field("Output", s.outputFile);
        field("Check", s.check);
        field("Hold", s.hold);
        field("Export", s.exportUri);
        field("Expires", s.expiresAt);
    }

    private void conditions(List<Condition> conditions) {
        b.append("Conditions:\n");
        if (conditions == null || conditions.isEmpty()) {
            b.append("  <none>\n");
            return;
        }
        Table t = new Table("TYPE", "STATUS", "REASON", "SINCE", "MESSAGE");
        for (Condition c : conditions) {
            t.row(c.getType(), c.getStatus(), c.getReason(), age(c.getLastTransitionTime()), c.getMessage());
        }
        b.append(t.render("  "));
    }

    private void events(List<Event> events) {
        b.append("Events:\n");
        if (events.isEmpty()) {
            b.append("  <none>\n");
            return;
        }
        List<Event> sorted = new ArrayList<>(events);
        // RFC 3339 strings do not sort as text (fractions of a second vary in length)
        sorted.sort(Comparator.comparing(e -> when(e).isEmpty() ? Instant.EPOCH : Instant.parse(when(e))));
        Table t = new Table("TYPE", "REASON", "AGE", "FROM", "MESSAGE");
        for (Event e : sorted) {
            t.row(e.getType(), e.getReason(), age(when(e)), e.getSource() == null ? null : e.getSource().getComponent(),
                    e.getMessage());
        }
        b.append(t.render("  "));
    }

    private static String when(Event e) {
        String t = e.getLastTimestamp() != null ? e.getLastTimestamp() : e.getFirstTimestamp();
        return t != null ? t : e.getMetadata().getCreationTimestamp() == null ? "" : e.getMetadata()
                .getCreationTimestamp();
    }

    private String age(String time) {
        if (time == null || time.isEmpty()) {
            return null;
        }
        return Sizes.duration(Duration.between(Instant.parse(time), now)) + " ago";
    }

    private void field(String name, String value) {
        if (value != null) {
            b.append(String.format("%-11s %s%n", name + ":", value));
        }
    }
}
