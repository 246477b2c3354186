package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** Observed state of a restore run. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class VMRestoreStatus extends RunStatus {
    @JsonPropertyDescription("The image written (merge) or the restore point's file (in-place modes).")
    public String outputFile;

    @JsonPropertyDescription("Result of qemu-img check on the output.")
    public String check;
}
