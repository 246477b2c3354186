package io.qmpbackup.operator.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.qmpbackup.api.v1alpha1.BackupTemplate;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSchedule;
import io.qmpbackup.api.v1alpha1.VMBackupScheduleSpec;
import io.qmpbackup.api.v1alpha1.VMBackupScheduleStatus;
import io.qmpbackup.api.v1alpha1.VMBackupStatus;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ScheduleStatusAggregatorTest {
    private static final Instant T0 = Instant.parse("2027-01-05T02:03:00Z");
    private static final Instant T1 = Instant.parse("2027-01-05T02:04:00Z");
    private static final KubernetesSerialization JSON = new KubernetesSerialization();

    private static VMBackupSchedule schedule(VMBackupScheduleStatus status) {
        VMBackupSchedule s = new VMBackupSchedule();
        s.setMetadata(new ObjectMetaBuilder().withName("nightly").withNamespace("ns").withGeneration(4L).build());
        s.setSpec(new VMBackupScheduleSpec());
        s.getSpec().schedule = "*/5 * * * *";
        s.getSpec().template = new BackupTemplate();
        s.setStatus(status);
        return s;
    }

    private static ScheduledRun run(String name, String vm, Phase phase, String completed) {
        VMBackup b = new VMBackup();
        b.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("ns")
                .withLabels(Map.of(VMBackupSchedule.VM_LABEL, vm)).build());
        if (phase != null) {
            b.setStatus(new VMBackupStatus());
            b.getStatus().phase = phase;
            b.getStatus().completionTime = completed;
            b.getStatus().reason = phase == Phase.FAILED ? "NoAgent" : "Succeeded";
        }
        return new ScheduledRun(b);
    }

    private static ScheduleStatusAggregator.Result aggregate(VMBackupSchedule s, Instant now, List<ScheduledRun> runs) {
        ScheduleSettings settings = ScheduleSettings.of(s.getSpec());
        CronSchedule cron = settings.cron();
        ZonedDateTime at = now.atZone(cron.zone());
        return new ScheduleStatusAggregator(s, settings, now).scheduled(cron, cron.next(at)).runs(runs).build();
    }

    /** The status as the operator reads it back: what the API server stored, as JSON. */
    private static VMBackupScheduleStatus roundTrip(VMBackupScheduleStatus status) {
        return JSON.unmarshal(JSON.asJson(status), VMBackupScheduleStatus.class);
    }

    @Test
    void theWholeStatusComesFromTheRuns() {
        List<ScheduledRun> runs = List.of(run("web1-a", "web1", Phase.SUCCEEDED, "2027-01-05T02:00:10Z"),
                run("web1-b", "web1", Phase.SUCCEEDED, "2027-01-05T02:00:09.5Z"),
                run("web2-a", "web2", Phase.FAILED, "2027-01-05T02:00:20Z"),
                run("web3-a", "web3", Phase.RUNNING, null), run("web3-b", "web3", null, null));
        ScheduleStatusAggregator.Result r = aggregate(schedule(null), T0, runs);
        VMBackupScheduleStatus st = r.status();
        assertThat(r.changed()).as("nothing was written before").isTrue();
        assertThat(st.observedGeneration).isEqualTo(4L);
        assertThat(st.nextScheduleTime).isEqualTo("2027-01-05T02:05:00Z");
        assertThat(st.active).containsExactly("web3-a", "web3-b");
        assertThat(st.lastSuccessfulTime).containsExactlyEntriesOf(Map.of("web1", "2027-01-05T02:00:10Z"));
        assertThat(r.condition("Ready").getStatus()).isEqualTo("True");
        assertThat(r.condition("Ready").getObservedGeneration()).isEqualTo(4L);
        assertThat(r.condition("Suspended").getReason()).isEqualTo("Active");
        Condition failing = r.condition("RunsFailing");
        assertThat(failing.getStatus()).isEqualTo("True");
        assertThat(failing.getMessage()).isEqualTo("1 VM(s) whose newest run failed: web2 (web2-a: NoAgent)");
        assertThat(r.updated("RunsFailing", true)).isTrue();
    }

    @Test
    void theSameFactsAgainChangeNothingAndMoveNoTransitionTime() {
        List<ScheduledRun> runs = List.of(run("web1-a", "web1", Phase.FAILED, "2027-01-05T02:00:10Z"));
        VMBackupScheduleStatus first = aggregate(schedule(null), T0, runs).status();
        ScheduleStatusAggregator.Result again = aggregate(schedule(roundTrip(first)), T1, runs);
        assertThat(again.changed()).isFalse();
        assertThat(again.updatedConditions()).isEmpty();
        assertThat(again.status().conditions).extracting(Condition::getLastTransitionTime).containsOnly(T0.toString());
    }

    @Test
    void aFlipMovesOnlyThatConditionsTransitionTime() {
        VMBackupScheduleStatus failing = aggregate(schedule(null), T0,
                List.of(run("web1-a", "web1", Phase.FAILED, "2027-01-05T02:00:10Z"))).status();
        ScheduleStatusAggregator.Result recovered = aggregate(schedule(roundTrip(failing)), T1,
                List.of(run("web1-a", "web1", Phase.FAILED, "2027-01-05T02:00:10Z"),
                        run("web1-b", "web1", Phase.SUCCEEDED, "2027-01-05T02:03:30Z")));
        assertThat(recovered.changed()).isTrue();
        assertThat(recovered.updatedConditions()).containsExactly("RunsFailing");
        assertThat(recovered.updated("RunsFailing", false)).isTrue();
        assertThat(recovered.condition("RunsFailing").getLastTransitionTime()).isEqualTo(T1.toString());
        assertThat(recovered.condition("Ready").getLastTransitionTime()).isEqualTo(T0.toString());
    }

    @Test
    void aFiringSetsTheMessageAndLastScheduleTimeWhichLaterReconcilesKeep() {
        VMBackupSchedule s = schedule(null);
        ScheduleSettings settings = ScheduleSettings.of(s.getSpec());
        CronSchedule cron = settings.cron();
        ZonedDateTime due = ZonedDateTime.parse("2027-01-05T02:00:00Z");
        VMBackupScheduleStatus fired = new ScheduleStatusAggregator(s, settings, T0).scheduled(cron, due.plusMinutes(5))
                .fired(due, "run of 2027-01-05T02:00:00Z: 1 of 1 VM(s) started").runs(List.of()).build().status();
        VMBackupScheduleStatus later = aggregate(schedule(roundTrip(fired)), T1, List.of()).status();
        assertThat(later.lastScheduleTime).isEqualTo("2027-01-05T02:00:00Z");
        assertThat(later.message).isEqualTo("run of 2027-01-05T02:00:00Z: 1 of 1 VM(s) started");
        // a VM whose successful runs were all pruned keeps its last success
        fired.lastSuccessfulTime.put("gone", "2027-01-01T00:00:00Z");
        assertThat(aggregate(schedule(roundTrip(fired)), T1, List.of()).status().lastSuccessfulTime)
                .containsEntry("gone", "2027-01-01T00:00:00Z");
    }

    @Test
    void anInvalidScheduleIsNotReadyHasNoNextTimeAndSaysWhy() {
        VMBackupScheduleStatus ok = aggregate(schedule(null), T0, List.of()).status();
        VMBackupSchedule s = schedule(roundTrip(ok));
        s.getSpec().schedule = "61 * * * *";
        ScheduleStatusAggregator.Result r = new ScheduleStatusAggregator(s, ScheduleSettings.of(s.getSpec()), T1)
                .invalid("minute 61 is out of range 0-59").runs(List.of()).build();
        assertThat(r.changed()).isTrue();
        assertThat(r.updated("Ready", false)).isTrue();
        assertThat(r.condition("Ready").getReason()).isEqualTo("InvalidSchedule");
        assertThat(r.condition("Ready").getLastTransitionTime()).isEqualTo(T1.toString());
        assertThat(r.status().message).isEqualTo("invalid: minute 61 is out of range 0-59");
        assertThat(r.status().nextScheduleTime).isNull();
    }

    @Test
    void suspendedSaysSo() {
        VMBackupSchedule s = schedule(null);
        s.getSpec().suspend = true;
        ScheduleStatusAggregator.Result r = aggregate(s, T0, List.of());
        assertThat(r.status().message).isEqualTo("suspended");
        assertThat(r.condition("Suspended").getStatus()).isEqualTo("True");
    }
}
