package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Min;
import java.util.List;

/** The options a VMBackup and a schedule's template share: how to back up, whatever the VM. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public abstract class BackupSettings {
    @JsonPropertyDescription("Chains in YYYY-MM folders; auto starts a new full each month.")
    public Boolean monthly;

    @JsonPropertyDescription("Back up only these disks (device or node names).")
    public List<String> include;

    @JsonPropertyDescription("Leave these disks out (device or node names).")
    public List<String> exclude;

    @JsonPropertyDescription("Back up raw disks too (full and copy only).")
    public Boolean includeRaw;

    @JsonPropertyDescription("Freeze guest filesystems through the guest agent at the snapshot point.")
    public Boolean quiesce;

    @JsonPropertyDescription("Pause the VM while the snapshot point is set (milliseconds), instead of freezing its"
            + " filesystems through the guest agent (qmpbackup's --pause).")
    public Boolean pause;

    @JsonPropertyDescription("Compress the backup images.")
    public Boolean compress;

    @JsonPropertyDescription("Bytes per second per disk; 0 or unset for unlimited. QEMU counts the disk's whole"
            + " size against it, allocated or not: a full of a 16 GiB disk at 400 MiB/s takes ~41 s however little"
            + " it holds.")
    @Min(0)
    public Long speedLimit;

    @JsonPropertyDescription("Seconds a guest write may wait while its old data is saved for the backup; past that,"
            + " or when the fleece image cannot be written, the snapshot breaks: the guest's writes go on and the"
            + " backup fails (the chain loses nothing). 0: no limit. Unset: 45 (qmpbackup's --cbw-timeout).")
    @Min(0)
    public Integer cbwTimeout;

    @JsonPropertyDescription("After each successful backup, delete the chains of the target this policy does not keep"
            + " (files, and the VMBackups that described them). Unset: nothing is deleted.")
    public Retention retention;

    /** Copies these settings onto {@code to} (the retention policy as a copy of its own). */
    public void copyTo(BackupSettings to) {
        to.monthly = monthly;
        to.include = include == null ? null : List.copyOf(include);
        to.exclude = exclude == null ? null : List.copyOf(exclude);
        to.includeRaw = includeRaw;
        to.quiesce = quiesce;
        to.pause = pause;
        to.compress = compress;
        to.speedLimit = speedLimit;
        to.cbwTimeout = cbwTimeout;
        to.retention = retention == null ? null : retention.copy();
    }
}
