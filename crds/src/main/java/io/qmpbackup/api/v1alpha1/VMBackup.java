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
@AdditionalPrinterColumn(name = "Level", jsonPath = ".spec.level", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Ran", jsonPath = ".status.level", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Phase", jsonPath = ".status.phase", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Progress", jsonPath = ".status.progress.percent",
        type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Node", jsonPath = ".status.node", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp",
        type = AdditionalPrinterColumn.Type.DATE)
public class VMBackup extends CustomResource<VMBackupSpec, VMBackupStatus> implements Namespaced {
    public static final String GROUP = "qmpbackup.io";
    public static final String VERSION = "v1alpha1";
    /** Label the operator sets to hand work to one node's agent. */
    public static final String NODE_LABEL = "qmpbackup.io/node";
}
