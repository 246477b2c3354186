package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** Observed state of a restore run. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class VMRestoreStatus extends RunStatus {
    @JsonPropertyDescription("The image written (merge), the overlay (instant) or the restore point's file (in-place"
            + " modes, export).")
    public String outputFile;

    @JsonPropertyDescription("Result of qemu-img check on the output.")
    public String check;

    @JsonPropertyDescription("instant and export: the hold that keeps retention off the point's files while the overlay"
            + " depends on them or the export runs.")
    public String hold;

    @JsonPropertyDescription("export: the NBD URI to read the point from (qemu-img, qemu-io, qemu-nbd -c, nbdfuse).")
    public String exportUri;

    @JsonPropertyDescription("export: when the export ends (RFC 3339).")
    public String expiresAt;
}
