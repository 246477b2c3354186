package io.qmpbackup.operator.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.javaoperatorsdk.operator.processing.event.ResourceID;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSchedule;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ScheduleChildRunsTest {
    private static final String LONG = "a-schedule-name-far-longer-than-the-sixty-three-characters-a-label-holds";

    private static ObjectMetaBuilder meta() {
        return new ObjectMetaBuilder().withName("run-1").withNamespace("ns");
    }

    private static VMBackup backup(ObjectMetaBuilder meta) {
        VMBackup b = new VMBackup();
        b.setMetadata(meta.build());
        return b;
    }

    @Test
    void theOwningScheduleWinsOverItsTruncatedLabel() {
        VMBackup b = backup(meta().withLabels(Map.of(VMBackupSchedule.SCHEDULE_LABEL, FleetPlan.labelValue(LONG)))
                .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("qmpbackup.io/v1alpha1")
                        .withKind("VMBackupSchedule").withName(LONG).withUid("u").build()));
        assertThat(ScheduleChildRuns.schedulesOf(b)).containsExactly(new ResourceID(LONG, "ns"));
    }

    @Test
    void withoutAnOwnerTheScheduleLabelNamesIt() {
        VMBackup labelled = backup(meta().withLabels(Map.of(VMBackupSchedule.SCHEDULE_LABEL, "nightly"))
                .withOwnerReferences(new OwnerReferenceBuilder().withApiVersion("v1").withKind("ConfigMap")
                        .withName("other").withUid("u").build()));
        assertThat(ScheduleChildRuns.schedulesOf(labelled)).containsExactly(new ResourceID("nightly", "ns"));
        assertThat(ScheduleChildRuns.schedulesOf(backup(meta()))).as("no schedule's run").isEmpty();
    }
}
