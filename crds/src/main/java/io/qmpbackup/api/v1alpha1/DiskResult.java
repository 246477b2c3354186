package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** What a backup wrote for one disk. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class DiskResult {
    @JsonPropertyDescription("Device name (drive id), or node name for -blockdev disks.")
    public String device;

    @JsonPropertyDescription("QEMU node name of the disk.")
    public String nodeName;

    @JsonPropertyDescription("Level run for this disk: full, inc or copy.")
    public String level;

    @JsonPropertyDescription("Backup file written, relative to the storage location.")
    public String file;

    @JsonPropertyDescription("Bytes the backup job copied.")
    public Long bytesWritten;
}
