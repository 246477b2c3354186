package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.List;

/** A disk of a discovered VM. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class QemuVMDisk {
    @JsonPropertyDescription("Device name (drive id), or node name for -blockdev disks.")
    public String device;

    @JsonPropertyDescription("QEMU node name.")
    public String nodeName;

    @JsonPropertyDescription("Image format: qcow2 or raw.")
    public String format;

    @JsonPropertyDescription("Guest-visible size in bytes.")
    public Long virtualSize;

    @JsonPropertyDescription("Image file.")
    public String file;

    @JsonPropertyDescription("Dirty bitmaps on the disk (qmpbackup-<chain> are backup chains).")
    public List<String> bitmaps;
}
