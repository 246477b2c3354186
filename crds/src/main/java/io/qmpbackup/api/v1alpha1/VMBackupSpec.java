package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;

/** One backup run of one VM: the options of qmpbackup's backup command. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "!(has(self.include) && has(self.exclude))",
        message = "give either include or exclude, not both")
public class VMBackupSpec extends BackupSettings {
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
}
