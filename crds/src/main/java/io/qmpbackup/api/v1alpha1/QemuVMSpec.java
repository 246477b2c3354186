package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;

/** Where a VM is: its node and its sockets there. Set by the node agent's discovery, or by hand. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class QemuVMSpec {
    @JsonPropertyDescription("Kubernetes node that runs the VM.")
    @Required
    public String node;

    @JsonPropertyDescription("Absolute path of the VM's QMP socket on that node.")
    @Required
    @Pattern("^/.*")
    public String qmpSocket;

    @JsonPropertyDescription("Absolute path of the VM's guest agent socket (discovery pairs <vm>.qga with <vm>.qmp).")
    @Pattern("^/.*")
    public String agentSocket;

    @JsonPropertyDescription("Absolute path of the VM's swtpm state folder (swtpm --tpmstate dir=), set by an admin:"
            + " backups naming this QemuVM keep the TPM state.")
    @Pattern("^/.*")
    public String tpmState;
}
