package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.List;

/** What retention did after a backup. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class RetentionResult {
    @JsonPropertyDescription("Chains kept, over all disks of the target.")
    public Integer chainsKept;

    @JsonPropertyDescription("Chains deleted by this run, over all disks of the target.")
    public Integer chainsPruned;

    @JsonPropertyDescription("Backup files deleted, relative to the storage location; the operator deletes the"
            + " VMBackups whose files are all gone.")
    public List<String> prunedFiles;

    @JsonPropertyDescription("Bytes freed.")
    public Long bytesFreed;

    @JsonPropertyDescription("Why retention did not run or left something, when it did.")
    public String message;
}
