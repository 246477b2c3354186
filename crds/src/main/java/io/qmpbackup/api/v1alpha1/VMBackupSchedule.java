package io.qmpbackup.api.v1alpha1;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/** Backups of the QemuVMs a label selector picks, on a cron schedule. */
@Group(VMBackup.GROUP)
@Version(VMBackup.VERSION)
@ShortNames("vmbs")
// in this order (CrdPolish keeps it)
@AdditionalPrinterColumn(name = "Schedule", jsonPath = ".spec.schedule", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Suspend", jsonPath = ".spec.suspend", type = AdditionalPrinterColumn.Type.BOOLEAN)
@AdditionalPrinterColumn(name = "Last", jsonPath = ".status.lastScheduleTime", type = AdditionalPrinterColumn.Type.DATE)
@AdditionalPrinterColumn(name = "Next", jsonPath = ".status.nextScheduleTime", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Ready", jsonPath = ".status.conditions[?(@.type==\"Ready\")].status",
        type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Failing", jsonPath = ".status.conditions[?(@.type==\"RunsFailing\")].status",
        type = AdditionalPrinterColumn.Type.STRING)
public class VMBackupSchedule extends CustomResource<VMBackupScheduleSpec, VMBackupScheduleStatus>
        implements Namespaced {
    /** Labels on the VMBackups a schedule creates. */
    public static final String SCHEDULE_LABEL = "qmpbackup.io/schedule";
    public static final String VM_LABEL = "qmpbackup.io/vm";
}
