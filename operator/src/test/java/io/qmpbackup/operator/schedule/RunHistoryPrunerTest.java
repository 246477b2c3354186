package io.qmpbackup.operator.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.qmpbackup.api.v1alpha1.BackupTemplate;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.Retention;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSchedule;
import io.qmpbackup.api.v1alpha1.VMBackupScheduleSpec;
import io.qmpbackup.api.v1alpha1.VMBackupStatus;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RunHistoryPrunerTest {
    private static ScheduledRun run(String name, String vm, Phase phase, String level, String completed) {
        VMBackup b = new VMBackup();
        b.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("ns")
                .withLabels(Map.of(VMBackupSchedule.SCHEDULE_LABEL, "s", VMBackupSchedule.VM_LABEL, vm)).build());
        b.setStatus(new VMBackupStatus());
        b.getStatus().phase = phase;
        b.getStatus().level = level;
        b.getStatus().completionTime = completed;
        return new ScheduledRun(b);
    }

    private static VMBackupScheduleSpec spec(Integer keepOk, Integer keepFailed) {
        VMBackupScheduleSpec spec = new VMBackupScheduleSpec();
        spec.template = new BackupTemplate();
        spec.successfulRunsHistoryLimit = keepOk;
        spec.failedRunsHistoryLimit = keepFailed;
        return spec;
    }

    private static List<String> pruned(VMBackupScheduleSpec spec, List<ScheduledRun> runs) {
        return RunHistoryPruner.beyondLimits(ScheduleSettings.of(spec), runs).stream().map(ScheduledRun::name)
                .toList();
    }

    @Test
    void keepsTheNewestPerVmByTimeNotText() {
        List<ScheduledRun> runs = List.of(
                // as text, each older one sorts after the newer one
                run("a-1", "a", Phase.SUCCEEDED, "full", "2026-11-01T02:00:00Z"),
                run("a-2", "a", Phase.SUCCEEDED, "full", "2026-11-01T02:00:00.5Z"),
                run("a-3", "a", Phase.FAILED, null, "2026-11-03T02:00:00Z"),
                run("a-4", "a", Phase.FAILED, null, "2026-11-03T02:00:00.123456Z"),
                run("b-1", "b", Phase.FAILED, null, "2026-11-01T02:00:00Z"),
                run("a-5", "a", Phase.RUNNING, null, null));
        // a-2 (the newest full) starts the chain: a-1 goes; one failed run per VM stays
        assertThat(pruned(spec(1, 1), runs)).containsExactlyInAnyOrder("a-1", "a-3");
    }

    @Test
    void theCurrentChainOutlivesTheLimitSoFullEveryCanCountIt() {
        List<ScheduledRun> runs = List.of(
                run("h-0", "h", Phase.SUCCEEDED, "full", "2026-10-31T02:00:00Z"),
                run("h-1", "h", Phase.SUCCEEDED, "full", "2026-11-01T02:00:00Z"),
                run("h-2", "h", Phase.SUCCEEDED, "inc", "2026-11-02T02:00:00Z"),
                run("h-3", "h", Phase.SUCCEEDED, "inc", "2026-11-03T02:00:00Z"));
        assertThat(pruned(spec(1, null), runs)).containsExactly("h-0");
    }

    @Test
    void withRetentionSucceededRunsStayAndUnsetLimitsReadAsTheirDefaults() {
        List<ScheduledRun> runs = List.of(
                run("r-1", "r", Phase.SUCCEEDED, "full", "2026-11-01T02:00:00Z"),
                run("r-2", "r", Phase.SUCCEEDED, "inc", "2026-11-02T02:00:00Z"),
                run("r-3", "r", Phase.FAILED, null, "2026-11-03T02:00:00Z"),
                run("r-4", "r", Phase.FAILED, null, "2026-11-04T02:00:00Z"));
        VMBackupScheduleSpec withRetention = spec(0, null);
        withRetention.template.retention = new Retention();
        withRetention.template.retention.keepLast = 1;
        assertThat(pruned(withRetention, runs)).as("failedRunsHistoryLimit defaults to 1").containsExactly("r-3");
        assertThat(pruned(spec(null, 5), runs)).as("successfulRunsHistoryLimit defaults to 3").isEmpty();
    }
}
