package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** How far a running job is. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class Progress {
    @JsonPropertyDescription("Bytes processed so far.")
    public Long bytesDone;

    @JsonPropertyDescription("Bytes to process in all.")
    public Long bytesTotal;

    @JsonPropertyDescription("bytesDone as a percentage of bytesTotal.")
    public Integer percent;
}
