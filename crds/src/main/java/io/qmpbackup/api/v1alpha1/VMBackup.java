package io.qmpbackup.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** One backup run of one VM. */
@Group(VMBackup.GROUP)
@Version(VMBackup.VERSION)
@ShortNames("vmb")
// in this order (CrdPolish keeps it); priority 1: kubectl get -o wide
@AdditionalPrinterColumn(name = "Level", jsonPath = ".spec.level", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Ran", jsonPath = ".status.level", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Progress", jsonPath = ".status.progress.percent", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Node", jsonPath = ".status.node", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
@AdditionalPrinterColumn(name = "Reason", jsonPath = ".status.reason", type = AdditionalPrinterColumn.Type.STRING, priority = 1)
@AdditionalPrinterColumn(name = "Offsite", jsonPath = ".status.offsite.state", type = AdditionalPrinterColumn.Type.STRING, priority = 1)
@AdditionalPrinterColumn(name = "Bytes", jsonPath = ".status.disks[*].bytesWritten", type = AdditionalPrinterColumn.Type.STRING, priority = 1)
@AdditionalPrinterColumn(name = "Chain", jsonPath = ".status.chainPath", type = AdditionalPrinterColumn.Type.STRING, priority = 1)
@AdditionalPrinterColumn(name = "Started", jsonPath = ".status.startTime", type = AdditionalPrinterColumn.Type.DATE, priority = 1)
@AdditionalPrinterColumn(name = "Finished", jsonPath = ".status.completionTime", type = AdditionalPrinterColumn.Type.DATE, priority = 1)
@AdditionalPrinterColumn(name = "Message", jsonPath = ".status.message", type = AdditionalPrinterColumn.Type.STRING, priority = 1)
public class VMBackup extends CustomResource<VMBackupSpec, VMBackupStatus> implements Namespaced {
    public static final String GROUP = "qmpbackup.io";
    public static final String VERSION = "v1alpha1";
    /** Label the operator sets to hand work to one node's agent. */
    public static final String NODE_LABEL = "qmpbackup.io/node";
}
