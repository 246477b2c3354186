package io.qmpbackup.operator.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.qmpbackup.api.v1alpha1.BackupTemplate;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.QemuVM;
import io.qmpbackup.api.v1alpha1.QemuVMSpec;
import io.qmpbackup.api.v1alpha1.StorageRef;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSchedule;
import io.qmpbackup.api.v1alpha1.VMBackupScheduleSpec;
import io.qmpbackup.api.v1alpha1.VMBackupScheduleStatus;
import io.qmpbackup.api.v1alpha1.VMBackupStatus;
import io.qmpbackup.operator.RunEvents;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The reconciler's steps, called directly against fabric8's mock API server with the clock
 * fixed: what it patches, when it patches nothing, and when it wants to run next.
 */
@EnableKubernetesMockClient(crud = true)
class ScheduleReconcileTest {
    private static final String NS = "steps";

    KubernetesClient client;

    private FleetLauncher launcher;
    private VMBackupSchedule schedule;
    private final List<VMBackup> created = new ArrayList<>();

    @BeforeEach
    void schedule() {
        launcher = new FleetLauncher(2);
        VMBackupSchedule s = new VMBackupSchedule();
        s.setMetadata(new ObjectMetaBuilder().withName("nightly").withNamespace(NS).build());
        s.setSpec(new VMBackupScheduleSpec());
        s.getSpec().schedule = "0 2 * * *";
        s.getSpec().vmSelector = new LabelSelectorBuilder().withMatchLabels(Map.of("tier", "web")).build();
        s.getSpec().template = new BackupTemplate();
        s.getSpec().template.storage = new StorageRef();
        s.getSpec().template.storage.location = "default";
        s.getSpec().template.storage.path = "web";
        schedule = client.resource(s).create();
    }

    @AfterEach
    void stop() {
        launcher.stop();
    }

    private UpdateControl<VMBackupSchedule> reconcile(Instant now, List<ScheduledRun> runs) {
        VMBackupScheduleReconciler r = new VMBackupScheduleReconciler(client, Clock.fixed(now, ZoneOffset.UTC),
                new RunEvents(client), launcher, new RunHistoryPruner(client));
        UnaryOperator<VMBackup> create = b -> {
            VMBackup made = client.resource(b).create();
            created.add(made);
            return made;
        };
        return r.reconcile(client.getKubernetesSerialization().clone(schedule), runs, create);
    }

    /** Stores what the reconcile patched, as the API server would, for the next reconcile to read. */
    private void store(UpdateControl<VMBackupSchedule> control) {
        VMBackupScheduleStatus status = control.getResource().orElseThrow().getStatus();
        schedule.setStatus(client.getKubernetesSerialization().clone(status));
    }

    private static ScheduledRun failed(String name, String vm, String completed) {
        VMBackup b = new VMBackup();
        b.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS)
                .withLabels(Map.of(VMBackupSchedule.SCHEDULE_LABEL, "nightly", VMBackupSchedule.VM_LABEL, vm))
                .build());
        b.setStatus(new VMBackupStatus());
        b.getStatus().phase = Phase.FAILED;
        b.getStatus().reason = "NoAgent";
        b.getStatus().completionTime = completed;
        return new ScheduledRun(b);
    }

    private List<String> eventReasons() {
        return client.v1().events().inNamespace(NS).list().getItems().stream()
                .map(io.fabric8.kubernetes.api.model.Event::getReason).toList();
    }

    @Test
    void anUnchangedStatusIsNotPatchedButTheNextCronTimeStillWakesIt() {
        Instant now = Instant.parse(schedule.getMetadata().getCreationTimestamp()).plusSeconds(10);
        UpdateControl<VMBackupSchedule> first = reconcile(now, List.of());
        assertThat(first.isPatchStatus()).isTrue();
        store(first);

        UpdateControl<VMBackupSchedule> again = reconcile(now.plusSeconds(1), List.of());
        assertThat(again.isNoUpdate()).isTrue();
        Instant next = Instant.parse(schedule.getStatus().nextScheduleTime);
        assertThat(again.getScheduleDelay()).as("woken just after the next cron time")
                .hasValueSatisfying(ms -> assertThat(now.plusSeconds(1).plusMillis(ms)).isAfter(next)
                        .isBefore(next.plusSeconds(1)));
    }

    @Test
    void aRunThatFinishedIsPatchedAtOnceAndRecordedOnce() {
        Instant now = Instant.parse(schedule.getMetadata().getCreationTimestamp()).plusSeconds(10);
        store(reconcile(now, List.of()));
        List<ScheduledRun> runs = List.of(failed("nightly-web1-1", "web1", now.toString()));

        UpdateControl<VMBackupSchedule> finished = reconcile(now.plusSeconds(1), runs);
        assertThat(finished.isPatchStatus()).isTrue();
        store(finished);
        assertThat(schedule.getStatus().conditions).filteredOn(c -> c.getType().equals("RunsFailing"))
                .singleElement().satisfies(c -> assertThat(c.getStatus()).isEqualTo("True"));
        assertThat(eventReasons()).containsOnlyOnce("RunsFailing");

        assertThat(reconcile(now.plusSeconds(2), runs).isNoUpdate()).isTrue();
        assertThat(eventReasons()).containsOnlyOnce("RunsFailing");
    }

    @Test
    void aFiringCreatesTheFleetAndCountsItsRunsActiveBeforeTheCacheHasThem() {
        for (String vm : List.of("web1", "web2")) {
            QemuVM q = new QemuVM();
            q.setMetadata(new ObjectMetaBuilder().withName(vm).withNamespace(NS).withLabels(Map.of("tier", "web"))
                    .build());
            q.setSpec(new QemuVMSpec());
            q.getSpec().node = "node-a";
            client.resource(q).create();
        }
        Instant born = Instant.parse(schedule.getMetadata().getCreationTimestamp());
        store(reconcile(born.plusSeconds(1), List.of()));
        Instant due = Instant.parse(schedule.getStatus().nextScheduleTime);

        UpdateControl<VMBackupSchedule> fired = reconcile(due.plusSeconds(3), List.of());
        assertThat(fired.isPatchStatus()).isTrue();
        store(fired);
        assertThat(created).extracting(b -> b.getSpec().vm.name).containsExactlyInAnyOrder("web1", "web2");
        assertThat(schedule.getStatus().lastScheduleTime).isEqualTo(due.toString());
        assertThat(schedule.getStatus().active).hasSize(2);
        assertThat(schedule.getStatus().message).isEqualTo("run of " + due + ": 2 of 2 VM(s) started");
        assertThat(eventReasons()).contains("RunStarted");
    }

    @Test
    void aScheduleThatCannotRunIsNotReadyAndNotRescheduled() {
        schedule.getSpec().schedule = "0 2 * *";
        UpdateControl<VMBackupSchedule> control = reconcile(Instant.now(), List.of());
        assertThat(control.isPatchStatus()).isTrue();
        assertThat(control.getScheduleDelay()).isEmpty();
        assertThat(control.getResource().orElseThrow().getStatus().message).contains("has 4 fields");
        assertThat(eventReasons()).contains("InvalidSchedule");
    }
}
