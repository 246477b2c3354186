package io.qmpbackup.kubectl;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.qmpbackup.api.v1alpha1.BackupLevel;
import io.qmpbackup.api.v1alpha1.BackupTemplate;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.QemuVM;
import io.qmpbackup.api.v1alpha1.Retention;
import io.qmpbackup.api.v1alpha1.StorageRef;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSchedule;
import io.qmpbackup.api.v1alpha1.VMBackupScheduleSpec;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ScheduleRunsTest {
    private static final ZonedDateTime NOW = ZonedDateTime.of(2026, 3, 1, 9, 5, 7, 0, ZoneOffset.UTC);

    private static VMBackupSchedule schedule() {
        VMBackupSchedule s = new VMBackupSchedule();
        s.setMetadata(new ObjectMetaBuilder().withName("nightly").withNamespace("vms").withUid("uid-1").build());
        s.setSpec(new VMBackupScheduleSpec());
        s.getSpec().template = new BackupTemplate();
        s.getSpec().template.storage = new StorageRef();
        s.getSpec().template.storage.location = "default";
        s.getSpec().template.storage.path = "nightly";
        s.getSpec().template.compress = true;
        s.getSpec().timeZone = "Europe/Berlin";
        return s;
    }

    private static QemuVM vm(String name) {
        QemuVM q = new QemuVM();
        q.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("vms").build());
        return q;
    }

    private static VMBackup scheduled(String vm, Phase phase, String level, String completed) {
        VMBackup b = PointsTableTest.run("nightly-" + vm + "-" + completed, vm, phase, level, completed);
        b.getMetadata().setLabels(Map.of(VMBackupSchedule.SCHEDULE_LABEL, "nightly", VMBackupSchedule.VM_LABEL, vm));
        return b;
    }

    @Test
    void aRunNowIsLabelledOwnedAndStoredAsTheSchedulesOwnRuns() {
        VMBackupSchedule s = schedule();
        s.getSpec().template.retention = new Retention();
        ScheduleRuns.Plan plan = ScheduleRuns.plan(s, List.of(vm("web1")), List.of(), NOW);
        assertThat(plan.skipped()).isEmpty();
        VMBackup b = plan.backups().get(0);
        assertThat(b.getMetadata().getName()).isEqualTo("nightly-web1-now-20260301090507");
        assertThat(b.getMetadata().getLabels()).containsEntry(VMBackupSchedule.SCHEDULE_LABEL, "nightly")
                .containsEntry(VMBackupSchedule.VM_LABEL, "web1");
        assertThat(b.getMetadata().getOwnerReferences()).singleElement().satisfies(o -> {
            assertThat(o.getKind()).isEqualTo("VMBackupSchedule");
            assertThat(o.getApiVersion()).isEqualTo("qmpbackup.io/v1alpha1");
            assertThat(o.getUid()).isEqualTo("uid-1");
        });
        assertThat(b.getSpec().vm.name).isEqualTo("web1");
        assertThat(b.getSpec().storage.path).isEqualTo("nightly/web1");
        assertThat(b.getSpec().level).isEqualTo(BackupLevel.AUTO);
        assertThat(b.getSpec().compress).isTrue();
        assertThat(b.getSpec().retention.timeZone).isEqualTo("Europe/Berlin");
    }

    @Test
    void forbidSkipsAVmWhoseRunIsStillActive() {
        ScheduleRuns.Plan plan = ScheduleRuns.plan(schedule(), List.of(vm("web1"), vm("db1")),
                List.of(scheduled("web1", Phase.RUNNING, null, null)), NOW);
        assertThat(plan.skipped()).containsExactly("web1");
        assertThat(plan.backups()).extracting(b -> b.getSpec().vm.name).containsExactly("db1");
    }

    @Test
    void fullEveryTurnsTheRunIntoAFullAsTheScheduleWould() {
        VMBackupSchedule s = schedule();
        s.getSpec().fullEvery = 2;
        List<VMBackup> runs = List.of(scheduled("web1", Phase.SUCCEEDED, "full", "2026-02-01T00:00:00Z"),
                scheduled("web1", Phase.SUCCEEDED, "inc", "2026-02-02T00:00:00Z"));
        assertThat(ScheduleRuns.level(s.getSpec(), runs)).isEqualTo(BackupLevel.AUTO);
        List<VMBackup> more = List.of(runs.get(0), runs.get(1),
                scheduled("web1", Phase.SUCCEEDED, "inc", "2026-02-03T00:00:00Z"));
        assertThat(ScheduleRuns.level(s.getSpec(), more)).isEqualTo(BackupLevel.FULL);
    }
}
