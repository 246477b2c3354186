package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.List;

/** Observed state of a backup run. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class VMBackupStatus extends RunStatus {
    @JsonPropertyDescription("Level actually run: full when any disk got a full, else inc or copy.")
    public String level;

    @JsonPropertyDescription("Chain id (uuid) the backup belongs to.")
    public String chainId;

    @JsonPropertyDescription("Chain folder relative to the storage location (path, or path/YYYY-MM).")
    public String chainPath;

    @JsonPropertyDescription("Whether guest filesystems were frozen at the snapshot point.")
    public Boolean quiesced;

    @JsonPropertyDescription("One entry per disk backed up.")
    public List<DiskResult> disks;

    @JsonPropertyDescription("What retention (spec.retention) deleted after the backup.")
    public RetentionResult retention;

    @JsonPropertyDescription("The off-site copy (when the storage location has a remote).")
    public OffsiteStatus offsite;
}
