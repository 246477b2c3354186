package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;

/** One restore: qmprestore's options. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "(self.mode != 'merge' && self.mode != 'instant') || has(self.targetFile)",
        message = "modes merge and instant need targetFile")
@ValidationRule(value = "self.mode == 'export' || !has(self.export)", message = "export is for mode export only")
@ValidationRule(value = "has(self.source.backup) || has(self.node)",
        message = "a restore from a storage folder needs node (where the storage is mounted)")
public class VMRestoreSpec {
    @JsonPropertyDescription("What to restore.")
    @Required
    public RestoreSource source;

    @JsonPropertyDescription("merge (a new image, backups untouched), rebase, commit or snapshotrebase (in place),"
            + " instant (a new overlay backed by the point, made at once: start the VM on it, then qmpbackup stream),"
            + " export (the point served read-only over NBD for export.ttl).")
    @Required
    public RestoreMode mode;

    @JsonPropertyDescription("Restore up to this backup file (its name, or its INC-<epoch> prefix).")
    public String until;

    @JsonPropertyDescription("For merge: the new image; for instant: the overlay. An absolute path on the node,"
            + " inside the namespace's storage area.")
    @Pattern("^/.*")
    public String targetFile;

    @JsonPropertyDescription("Node to run on; default: the node of the source VMBackup.")
    public String node;

    @JsonPropertyDescription("For export: how long and where it is served.")
    public RestoreExport export;
}
