package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.List;

/**
 * The off-site copy of a backup: its storage location's remote (an S3 bucket), uploaded by the
 * node agent after the backup succeeded. The backup's own phase stays Succeeded whatever happens
 * here; only {@code state: Uploaded} means the files are off-site and were read back checked.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class OffsiteStatus {
    public static final String PENDING = "Pending";
    public static final String UPLOADING = "Uploading";
    public static final String UPLOADED = "Uploaded";
    public static final String FAILED = "Failed";

    @JsonPropertyDescription("Pending, Uploading, Uploaded (every file the remote keeps is there, checked against"
            + " the integrity record) or Failed (after every attempt; the next backup's upload catches up).")
    public String state;

    @JsonPropertyDescription("Where the copy goes: bucket, endpoint and key prefix (never credentials).")
    public String remote;

    @JsonPropertyDescription("Upload attempts made.")
    public Integer attempts;

    @JsonPropertyDescription("Files uploaded by this backup's replication.")
    public Integer filesUploaded;

    @JsonPropertyDescription("Files already on the remote with the same checksum.")
    public Integer filesSkipped;

    @JsonPropertyDescription("Bytes sent (after encryption).")
    public Long bytesSent;

    @JsonPropertyDescription("Objects remote retention deleted, relative to the backup target.")
    public List<String> remotePruned;

    @JsonPropertyDescription("When the upload ended (Uploaded or Failed).")
    public String completionTime;

    @JsonPropertyDescription("What the last attempt did, or why it failed.")
    public String message;
}
