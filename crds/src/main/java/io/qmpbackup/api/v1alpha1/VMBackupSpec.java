package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

/** One backup run of one VM: the options of qmpbackup's backup command. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "!(has(self.include) && has(self.exclude))",
        message = "give either include or exclude, not both")
public class VMBackupSpec {
    @JsonPropertyDescription("The VM to back up.")
    @Required
    public VmRef vm;

    @JsonPropertyDescription("full, inc (changes since the chain's last backup), auto (full when there is no usable"
            + " chain, else inc) or copy (standalone, no change tracking).")
    @Required
    public BackupLevel level;

    @JsonPropertyDescription("Where the backup goes.")
    @Required
    public StorageRef storage;

    @JsonPropertyDescription("Chain id; names the change-tracking bitmap qmpbackup-<uuid>. Default: the folder's, or new.")
    public String uuid;

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

    @JsonPropertyDescription("Compress the backup images.")
    public Boolean compress;

    @JsonPropertyDescription("Bytes per second per disk; 0 or unset for unlimited.")
    @Min(0)
    public Long speedLimit;

    @JsonPropertyDescription("After a successful backup, delete the chains of the target this policy does not keep.")
    public Retention retention;
}
