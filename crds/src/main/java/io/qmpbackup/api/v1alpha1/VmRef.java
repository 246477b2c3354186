package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.ValidationRule;

/** The VM to back up: a QemuVM by name, or a node and the VM's sockets on it. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "has(self.name) || (has(self.node) && has(self.qmpSocket))",
        message = "give either name (a QemuVM) or node and qmpSocket")
public class VmRef {
    @JsonPropertyDescription("Name of a QemuVM in the same namespace (instead of node and sockets).")
    public String name;

    @JsonPropertyDescription("Kubernetes node that runs the VM.")
    public String node;

    @JsonPropertyDescription("Absolute path of the VM's QMP socket on that node. Give backups a socket of their own:"
            + " a QMP socket serves one client at a time.")
    @Pattern("^/.*")
    public String qmpSocket;

    @JsonPropertyDescription("Absolute path of the VM's QEMU guest agent socket on that node (needed for quiesce).")
    @Pattern("^/.*")
    public String agentSocket;

    @JsonPropertyDescription("Absolute path of the VM's swtpm state folder on that node (swtpm --tpmstate dir=): kept"
            + " with each backup, copied while the VM is paused at the snapshot point. It must lie in a TPM state"
            + " folder the admin assigned to the backup's namespace (chart: agent.tpmStateDirs).")
    @Pattern("^/.*")
    public String tpmState;
}
