package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;

/** One restore: qmprestore's options. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "self.mode != 'merge' || has(self.targetFile)", message = "mode merge needs targetFile")
@ValidationRule(value = "has(self.source.backup) || has(self.node)",
        message = "a restore from a storage folder needs node (where the storage is mounted)")
public class VMRestoreSpec {
    @JsonPropertyDescription("What to restore.")
    @Required
    public RestoreSource source;

    @JsonPropertyDescription("merge (a new image, backups untouched), rebase, commit or snapshotrebase (in place).")
    @Required
    public RestoreMode mode;

    @JsonPropertyDescription("Restore up to this backup file (its name, or its INC-<epoch> prefix).")
    public String until;

    @JsonPropertyDescription("For merge: the new image, an absolute path on the node.")
    @Pattern("^/.*")
    public String targetFile;

    @JsonPropertyDescription("Node to run on; default: the node of the source VMBackup.")
    public String node;
}
