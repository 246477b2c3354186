package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.ValidationRule;

/** What a schedule's VMBackups look like: every option of a VMBackup but the VM. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "!(has(self.include) && has(self.exclude))",
        message = "give either include or exclude, not both")
public class BackupTemplate extends BackupSettings {
    @JsonPropertyDescription("Level of each run; default auto. fullEvery turns every Nth run into a full.")
    @Default("auto")
    public BackupLevel level;

    @JsonPropertyDescription("Where the backups go; each VM gets the folder <path>/<QemuVM name>.")
    @Required
    public StorageRef storage;
}
