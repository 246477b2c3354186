package io.qmpbackup.operator.schedule;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.javaoperatorsdk.operator.api.config.informer.InformerEventSourceConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.EventSourceContext;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.javaoperatorsdk.operator.processing.event.source.informer.InformerEventSource;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSchedule;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A schedule's VMBackups as a secondary resource: one informer over the VMBackups that carry the
 * schedule label, each mapped to its schedule, so that a run changing phase reconciles its
 * schedule at once (its status lists active runs and failing VMs) and a reconcile reads its runs
 * from that cache instead of listing them from the API server.
 */
public final class ScheduleChildRuns {
    private ScheduleChildRuns() {
    }

    public static InformerEventSource<VMBackup, VMBackupSchedule> eventSource(
            EventSourceContext<VMBackupSchedule> context) {
        InformerEventSourceConfiguration<VMBackup> config = InformerEventSourceConfiguration
                .from(VMBackup.class, VMBackupSchedule.class)
                // only scheduled runs: one-off VMBackups need not sit in this cache too
                .withLabelSelector(VMBackupSchedule.SCHEDULE_LABEL)
                .withSecondaryToPrimaryMapper(ScheduleChildRuns::schedulesOf)
                .build();
        return new InformerEventSource<>(config, context);
    }

    /** The runs of the schedule being reconciled, from the informer's cache. */
    public static List<ScheduledRun> of(Context<VMBackupSchedule> context) {
        return ScheduledRun.of(context.getSecondaryResources(VMBackup.class));
    }

    /**
     * The schedule a VMBackup belongs to: its owner reference when the schedule created it (exact
     * even for names longer than a label holds), else the schedule label.
     */
    static Set<ResourceID> schedulesOf(VMBackup b) {
        String ns = b.getMetadata().getNamespace();
        List<OwnerReference> owners = b.getMetadata().getOwnerReferences();
        Set<ResourceID> byOwner = owners == null ? Set.of() : owners.stream()
                .filter(o -> HasMetadata.getKind(VMBackupSchedule.class).equals(o.getKind())
                        && o.getApiVersion() != null
                        && o.getApiVersion().startsWith(HasMetadata.getGroup(VMBackupSchedule.class) + "/"))
                .map(o -> new ResourceID(o.getName(), ns)).collect(Collectors.toSet());
        if (!byOwner.isEmpty()) {
            return byOwner;
        }
        Map<String, String> labels = b.getMetadata().getLabels();
        String schedule = labels == null ? null : labels.get(VMBackupSchedule.SCHEDULE_LABEL);
        return schedule == null || schedule.isEmpty() ? Set.of() : Set.of(new ResourceID(schedule, ns));
    }
}
