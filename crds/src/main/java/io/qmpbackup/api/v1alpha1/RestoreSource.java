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

    @JsonPropertyDescription("The disk: its image file name (the folder name, for example disk1.qcow2).")
    public String disk;
}
