package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import java.util.List;

/** What a schedule's VMBackups look like: every option of a VMBackup but the VM. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class BackupTemplate {
    @JsonPropertyDescription("Level of each run; default auto. fullEvery turns every Nth run into a full.")
    public BackupLevel level;

    @JsonPropertyDescription("Where the backups go; each VM gets the folder <path>/<QemuVM name>.")
    @Required
    public StorageRef storage;

    @JsonPropertyDescription("Chains in YYYY-MM folders: auto starts a new full each month.")
    public Boolean monthly;

    @JsonPropertyDescription("Back up only these disks (device or node names).")
    public List<String> include;

    @JsonPropertyDescription("Leave these disks out (device or node names).")
    public List<String> exclude;

    @JsonPropertyDescription("Back up raw disks too (full and copy only).")
    public Boolean includeRaw;

    @JsonPropertyDescription("Freeze guest filesystems through the guest agent at the snapshot point.")
    public Boolean quiesce;

    @JsonPropertyDescription("Compress the backup images.")
    public Boolean compress;

    @JsonPropertyDescription("Bytes per second per disk; 0 or unset for unlimited.")
    @Min(0)
    public Long speedLimit;

    @JsonPropertyDescription("Chains kept per VM; after each successful backup the others are deleted (files and"
            + " VMBackups). Unset: nothing is deleted.")
    public Retention retention;
}
