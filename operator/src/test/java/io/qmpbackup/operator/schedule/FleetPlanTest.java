package io.qmpbackup.operator.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.qmpbackup.api.v1alpha1.BackupLevel;
import io.qmpbackup.api.v1alpha1.BackupTemplate;
import io.qmpbackup.api.v1alpha1.ConcurrencyPolicy;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.QemuVM;
import io.qmpbackup.api.v1alpha1.Retention;
import io.qmpbackup.api.v1alpha1.StorageRef;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSchedule;
import io.qmpbackup.api.v1alpha1.VMBackupScheduleSpec;
import io.qmpbackup.api.v1alpha1.VMBackupStatus;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FleetPlanTest {
    private static final ZonedDateTime DUE = ZonedDateTime.parse("2027-01-05T02:00:00Z");

    private static VMBackupScheduleSpec spec() {
        VMBackupScheduleSpec spec = new VMBackupScheduleSpec();
        spec.schedule = "0 2 * * *";
        spec.template = new BackupTemplate();
        spec.template.storage = new StorageRef();
        spec.template.storage.location = "default";
        spec.template.storage.path = "fleet";
        return spec;
    }

    private static VMBackupSchedule schedule(VMBackupScheduleSpec spec) {
        VMBackupSchedule s = new VMBackupSchedule();
        s.setMetadata(new ObjectMetaBuilder().withName("nightly").withNamespace("ns").withUid("uid-1").build());
        s.setSpec(spec);
        return s;
    }

    private static QemuVM vm(String name) {
        QemuVM q = new QemuVM();
        q.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("ns").build());
        return q;
    }

    private static ScheduledRun run(String vm, Phase phase, String level, String completed) {
        VMBackup b = new VMBackup();
        b.setMetadata(new ObjectMetaBuilder().withName("nightly-" + vm + "-" + completed).withNamespace("ns")
                .withLabels(Map.of(VMBackupSchedule.SCHEDULE_LABEL, "nightly", VMBackupSchedule.VM_LABEL, vm))
                .build());
        if (phase != null) {
            b.setStatus(new VMBackupStatus());
            b.getStatus().phase = phase;
            b.getStatus().level = level;
            b.getStatus().completionTime = completed;
        }
        return new ScheduledRun(b);
    }

    @Test
    void fullEveryNIncrementals() {
        VMBackupScheduleSpec spec = new VMBackupScheduleSpec();
        spec.template = new BackupTemplate();
        spec.fullEvery = 2;
        ScheduleSettings settings = ScheduleSettings.of(spec);
        List<ScheduledRun> runs = new ArrayList<>();
        assertThat(FleetPlan.level(settings, runs)).isEqualTo(BackupLevel.AUTO);
        runs.add(run("vm", Phase.SUCCEEDED, "full", "2027-01-01T00:00:00Z"));
        runs.add(run("vm", Phase.SUCCEEDED, "inc", "2027-01-02T00:00:00Z"));
        assertThat(FleetPlan.level(settings, runs)).isEqualTo(BackupLevel.AUTO);
        runs.add(run("vm", Phase.SUCCEEDED, "inc", "2027-01-03T00:00:00Z"));
        assertThat(FleetPlan.level(settings, runs)).isEqualTo(BackupLevel.FULL);
        runs.add(run("vm", Phase.SUCCEEDED, "full", "2027-01-04T00:00:00Z"));
        assertThat(FleetPlan.level(settings, runs)).isEqualTo(BackupLevel.AUTO);
    }

    @Test
    void oneBackupPerVmNamedByTheDueTimeOwnedByTheScheduleInTheVmsFolder() {
        VMBackupSchedule s = schedule(spec());
        FleetPlan plan = FleetPlan.of(s, ScheduleSettings.of(s.getSpec()), DUE, List.of(vm("web1"), vm("web2")),
                List.of());
        assertThat(plan.fleetSize()).isEqualTo(2);
        assertThat(plan.skipped()).isEmpty();
        assertThat(plan.backups()).extracting(b -> b.getMetadata().getName())
                .containsExactly("nightly-web1-202701050200", "nightly-web2-202701050200");
        VMBackup b = plan.backups().get(0);
        assertThat(b.getMetadata().getLabels()).containsEntry(VMBackupSchedule.SCHEDULE_LABEL, "nightly")
                .containsEntry(VMBackupSchedule.VM_LABEL, "web1");
        assertThat(b.getMetadata().getOwnerReferences()).singleElement().satisfies(o -> {
            assertThat(o.getName()).isEqualTo("nightly");
            assertThat(o.getUid()).isEqualTo("uid-1");
        });
        assertThat(b.getSpec().vm.name).isEqualTo("web1");
        assertThat(b.getSpec().storage.path).isEqualTo("fleet/web1");
        assertThat(b.getSpec().level).as("the schema's default level").isEqualTo(BackupLevel.AUTO);
        assertThat(plan.summary(DUE, 2)).isEqualTo("run of 2027-01-05T02:00:00Z: 2 of 2 VM(s) started");
    }

    @Test
    void forbidSkipsAVmWithAnActiveRunAllowDoesNot() {
        VMBackupSchedule s = schedule(spec());
        List<ScheduledRun> runs = List.of(run("web1", Phase.RUNNING, null, null),
                run("web2", Phase.FAILED, null, "2027-01-04T02:00:00Z"));
        FleetPlan forbid = FleetPlan.of(s, ScheduleSettings.of(s.getSpec()), DUE, List.of(vm("web1"), vm("web2")),
                runs);
        assertThat(forbid.skipped()).containsExactly("web1");
        assertThat(forbid.backups()).extracting(b -> b.getSpec().vm.name).containsExactly("web2");
        assertThat(forbid.summary(DUE, 1)).endsWith("1 of 2 VM(s) started; still running, skipped (Forbid): [web1]");

        s.getSpec().concurrencyPolicy = ConcurrencyPolicy.ALLOW;
        FleetPlan allow = FleetPlan.of(s, ScheduleSettings.of(s.getSpec()), DUE, List.of(vm("web1"), vm("web2")),
                runs);
        assertThat(allow.skipped()).isEmpty();
        assertThat(allow.backups()).hasSize(2);
    }

    @Test
    void theTemplatesRetentionCountsDaysInTheSchedulesZoneUnlessItNamesItsOwn() {
        VMBackupScheduleSpec spec = spec();
        spec.timeZone = "Europe/Berlin";
        spec.template.retention = new Retention();
        spec.template.retention.keepLast = 2;
        VMBackupSchedule s = schedule(spec);
        VMBackup b = FleetPlan.of(s, ScheduleSettings.of(spec), DUE, List.of(vm("db1")), List.of()).backups().get(0);
        assertThat(b.getSpec().retention.keepLast).isEqualTo(2);
        assertThat(b.getSpec().retention.timeZone).isEqualTo("Europe/Berlin");
        assertThat(spec.template.retention.timeZone).as("the template itself is left alone").isNull();

        spec.template.retention.timeZone = "America/New_York";
        b = FleetPlan.of(s, ScheduleSettings.of(spec), DUE, List.of(vm("db1")), List.of()).backups().get(0);
        assertThat(b.getSpec().retention.timeZone).isEqualTo("America/New_York");
    }
}
