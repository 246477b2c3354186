package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.ValidationRule;

/** What to restore: the chain a VMBackup wrote, or a storage folder; and which disk of it. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "has(self.backup) || has(self.storage)", message = "give either backup or storage")
public class RestoreSource {
    @JsonPropertyDescription("Name of a VMBackup in the same namespace: its chain is restored, on its node.")
    public String backup;

    @JsonPropertyDescription("A chain folder (the backup target, or target/YYYY-MM) in a storage location.")
    public StorageRef storage;

    @JsonPropertyDescription("Read the chain from the storage location's remote (its off-site copy) instead of"
            + " the node's storage: it is downloaded into the namespace's area on the restore's node, each file checked"
            + " against the integrity record, and restored from there. For a node that never held the backup"
            + " (set spec.node).")
    public Boolean remote;

    @JsonPropertyDescription("The disk: its image file name (the folder name, for example disk1.qcow2).")
    public String disk;
}
