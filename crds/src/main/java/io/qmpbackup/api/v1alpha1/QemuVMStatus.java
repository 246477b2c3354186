package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.List;

/** What the node agent last saw of the VM. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class QemuVMStatus {
    @JsonPropertyDescription("Node the VM was last seen on.")
    public String node;

    @JsonPropertyDescription("QEMU's -name of the VM.")
    public String qemuName;

    @JsonPropertyDescription("QEMU's -uuid of the VM.")
    public String uuid;

    @JsonPropertyDescription("QEMU run state: running, paused, prelaunch, ...; Unreachable when the socket did not answer.")
    public String runState;

    @JsonPropertyDescription("QEMU version, major.minor.micro.")
    public String qemuVersion;

    @JsonPropertyDescription("The VM's disks.")
    public List<QemuVMDisk> disks;

    @JsonPropertyDescription("When the agent last talked to the VM (RFC 3339).")
    public String lastSeen;

    @JsonPropertyDescription("True when the VM has not been seen for longer than the agent's stale-after time.")
    public Boolean stale;

    @JsonPropertyDescription("What the last scan found, in one line.")
    public String message;

    @JsonPropertyDescription("Ready: True while the VM answers on its QMP socket (reason Seen or SocketBusy), False"
            + " when it does not (Unreachable) or has not been seen for the agent's stale-after time (Stale, Gone).")
    public List<io.fabric8.kubernetes.api.model.Condition> conditions = new java.util.ArrayList<>();
}
