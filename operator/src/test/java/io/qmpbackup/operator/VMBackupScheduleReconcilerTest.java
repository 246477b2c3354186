package io.qmpbackup.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import io.qmpbackup.api.v1alpha1.BackupTemplate;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.QemuVM;
import io.qmpbackup.api.v1alpha1.QemuVMSpec;
import io.qmpbackup.api.v1alpha1.StorageRef;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSchedule;
import io.qmpbackup.api.v1alpha1.VMBackupScheduleSpec;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Schedules against the in-process API server, with the clock moved by the test. */
@QuarkusTest
@WithKubernetesTestServer
class VMBackupScheduleReconcilerTest {
    private static final String NS = "fleet";

    @Inject
    KubernetesClient client;

    @Inject
    TestClock clock;

    private void vm(String name, Map<String, String> labels) {
        QemuVM q = new QemuVM();
        q.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).withLabels(labels).build());
        q.setSpec(new QemuVMSpec());
        q.getSpec().node = "node-a";
        q.getSpec().qmpSocket = "/run/qemu/" + name + ".qmp";
        client.resource(q).create();
    }

    private List<VMBackup> backups(String schedule) {
        return client.resources(VMBackup.class).inNamespace(NS).withLabel(VMBackupSchedule.SCHEDULE_LABEL, schedule)
                .list().getItems();
    }

    @org.junit.jupiter.api.BeforeEach
    void clockAtNow() {
        clock.reset();
    }

    private void poke(VMBackupSchedule s) {
        // any change wakes the reconciler, which then reads the (moved) clock
        edit(s.getMetadata().getName(), x -> {
            Map<String, String> a = new HashMap<>(x.getMetadata().getAnnotations() == null ? Map.of()
                    : x.getMetadata().getAnnotations());
            a.put("test/poke", Long.toString(System.nanoTime()));
            x.getMetadata().setAnnotations(a);
            return x;
        });
    }

    /**
     * Pokes the schedule until {@code done} holds (10 s at most). A poke is one watch event, and one
     * can be lost when it lands while the operator patches the status (JOSDK filters the events of
     * that window); the operator's own timer would catch up in real time, but this test's clock is
     * moved by hand, so the test pokes again. A firing is decided by lastScheduleTime, so pokes at
     * an unmoved clock start nothing more.
     */
    private void pokeUntil(VMBackupSchedule s, java.util.concurrent.Callable<Boolean> done) {
        poke(s);
        long[] last = {System.nanoTime()};
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            if (done.call()) {
                return true;
            }
            if (System.nanoTime() - last[0] > 2_000_000_000L) {
                poke(s);
                last[0] = System.nanoTime();
            }
            return false;
        });
    }

    /** Edits a schedule; the operator may be writing its status at the same moment: retry on conflict. */
    private void edit(String name, java.util.function.UnaryOperator<VMBackupSchedule> change) {
        for (int attempt = 0; ; attempt++) {
            try {
                client.resources(VMBackupSchedule.class).inNamespace(NS).withName(name).edit(change);
                return;
            } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
                if (e.getCode() != 409 || attempt > 10) {
                    throw e;
                }
            }
        }
    }

    private void nodeA() {
        client.nodes().resource(new NodeBuilder().withNewMetadata().withName("node-a").endMetadata().build())
                .createOr(n -> n.update());
    }

    @Test
    void labelsMoveVmsInAndOutOfTheSchedule() {
        nodeA();
        vm("app1", Map.of("role", "app"));
        vm("app2", Map.of("role", "app"));
        VMBackupSchedule s = new VMBackupSchedule();
        s.setMetadata(new ObjectMetaBuilder().withName("apps").withNamespace(NS).build());
        s.setSpec(new VMBackupScheduleSpec());
        s.getSpec().schedule = "*/5 * * * *";
        s.getSpec().concurrencyPolicy = io.qmpbackup.api.v1alpha1.ConcurrencyPolicy.ALLOW;
        s.getSpec().successfulRunsHistoryLimit = 10;
        s.getSpec().failedRunsHistoryLimit = 10;
        s.getSpec().vmSelector = new LabelSelectorBuilder().withMatchLabels(Map.of("role", "app")).build();
        s.getSpec().template = new BackupTemplate();
        s.getSpec().template.storage = new StorageRef();
        s.getSpec().template.storage.location = "default";
        s.getSpec().template.storage.path = "apps";
        s = client.resource(s).create();
        await().atMost(Duration.ofSeconds(10)).until(() -> client.resources(VMBackupSchedule.class).inNamespace(NS)
                .withName("apps").get().getStatus() != null);
        // the clock is shared with other tests and may already be ahead: count from here
        await().pollDelay(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> true);
        int n0 = backups("apps").size();
        clock.advance(Duration.ofMinutes(5));
        pokeUntil(s, () -> backups("apps").size() == n0 + 2);
        // app2 leaves the fleet, app3 joins it
        client.resources(QemuVM.class).inNamespace(NS).withName("app2").edit(q -> {
            q.getMetadata().setLabels(Map.of("role", "retired"));
            return q;
        });
        vm("app3", Map.of("role", "app"));
        clock.advance(Duration.ofMinutes(5));
        pokeUntil(s, () -> backups("apps").size() == n0 + 4);
        Map<String, Long> perVm = backups("apps").stream().collect(java.util.stream.Collectors.groupingBy(
                b -> b.getSpec().vm.name, java.util.stream.Collectors.counting()));
        long first = n0 / 2;
        assertThat(perVm).containsExactlyInAnyOrderEntriesOf(Map.of("app1", first + 2, "app2", first + 1, "app3", 1L));
    }

    /** The run id (the due time, yyyyMMddHHmm) at the end of each VMBackup name. */
    private static java.util.Set<String> runIds(List<VMBackup> backups) {
        return backups.stream().map(b -> b.getMetadata().getName().replaceAll("^.*-", ""))
                .collect(java.util.stream.Collectors.toSet());
    }

    @Test
    void eachRunBacksUpTheSelectedFleetOnceForbidsOverlapAndCatchesUpOnce() {
        nodeA();
        vm("web1", Map.of("tier", "web"));
        vm("web2", Map.of("tier", "web"));
        vm("db1", Map.of("tier", "db"));
        VMBackupSchedule s = client.resource(schedule("nightly", Map.of("tier", "web"), "fleet")).create();
        await().atMost(Duration.ofSeconds(10)).until(() -> client.resources(VMBackupSchedule.class).inNamespace(NS)
                .withName("nightly").get().getStatus() != null);
        assertThat(backups("nightly")).as("nothing is due at creation").isEmpty();

        clock.advance(Duration.ofMinutes(5));
        pokeUntil(s, () -> backups("nightly").size() == 2);
        assertThat(backups("nightly")).allSatisfy(b -> {
            assertThat(b.getSpec().vm.name).isIn("web1", "web2");
            assertThat(b.getSpec().storage.path).isEqualTo("fleet/" + b.getSpec().vm.name);
            assertThat(b.getMetadata().getOwnerReferences()).singleElement()
                    .satisfies(o -> assertThat(o.getName()).isEqualTo("nightly"));
        });

        // Forbid: the first runs are still active (no agent here), so the next time starts nothing new
        clock.advance(Duration.ofMinutes(5));
        poke(s);
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            var st = client.resources(VMBackupSchedule.class).inNamespace(NS).withName("nightly").get().getStatus();
            return st.message != null && st.message.contains("skipped (Forbid)");
        });
        assertThat(backups("nightly")).hasSize(2);

        // the first runs end (NoAgent after the test profile's 3 s); after a long outage, one catch-up run
        await().atMost(Duration.ofSeconds(15)).until(() -> backups("nightly").stream()
                .allMatch(b -> b.getStatus() != null && b.getStatus().phase == Phase.FAILED));
        java.util.Set<String> firstRun = runIds(backups("nightly"));
        assertThat(firstRun).hasSize(1);
        clock.advance(Duration.ofHours(3));
        pokeUntil(s, () -> runIds(backups("nightly")).size() == 2);
        await().pollDelay(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5)).until(() -> true);
        java.util.Set<String> ids = runIds(backups("nightly"));
        assertThat(ids).as("one catch-up run for 36 missed times").hasSize(2).containsAll(firstRun);
        String catchUp = ids.stream().filter(i -> !firstRun.contains(i)).findFirst().orElseThrow();
        assertThat(backups("nightly").stream().filter(b -> b.getMetadata().getName().endsWith(catchUp))).hasSize(2);

        // suspend: nothing new
        edit("nightly", x -> {
            x.getSpec().suspend = true;
            return x;
        });
        int before = backups("nightly").size();
        clock.advance(Duration.ofMinutes(10));
        poke(s);
        await().atMost(Duration.ofSeconds(10)).until(() -> "suspended".equals(client.resources(VMBackupSchedule.class)
                .inNamespace(NS).withName("nightly").get().getStatus().message));
        assertThat(backups("nightly")).hasSizeLessThanOrEqualTo(before);
    }

    private VMBackupSchedule schedule(String name, String vmLabel) {
        return schedule(name, Map.of("set", vmLabel), name);
    }

    /** Every five minutes, the VMs {@code selector} picks, into {@code path}/<vm>. */
    private VMBackupSchedule schedule(String name, Map<String, String> selector, String path) {
        VMBackupSchedule s = new VMBackupSchedule();
        s.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
        s.setSpec(new VMBackupScheduleSpec());
        s.getSpec().schedule = "*/5 * * * *";
        s.getSpec().vmSelector = new LabelSelectorBuilder().withMatchLabels(selector).build();
        s.getSpec().template = new BackupTemplate();
        s.getSpec().template.storage = new StorageRef();
        s.getSpec().template.storage.location = "default";
        s.getSpec().template.storage.path = path;
        return s;
    }

    /** A finished run of {@code schedule} for {@code vm}, as the agent would have left it. */
    private void finishedRun(String schedule, String vm, String name, Phase phase, String level, String completed) {
        VMBackup b = new VMBackup();
        b.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).withLabels(Map.of(
                VMBackupSchedule.SCHEDULE_LABEL, schedule, VMBackupSchedule.VM_LABEL, vm)).build());
        b.setSpec(new io.qmpbackup.api.v1alpha1.VMBackupSpec());
        b.getSpec().vm = new io.qmpbackup.api.v1alpha1.VmRef();
        b.getSpec().vm.name = vm;
        b.getSpec().level = io.qmpbackup.api.v1alpha1.BackupLevel.AUTO;
        b.getSpec().storage = new StorageRef();
        b.getSpec().storage.location = "default";
        b.getSpec().storage.path = schedule + "/" + vm;
        b = client.resource(b).create();
        io.qmpbackup.api.v1alpha1.VMBackupStatus st = new io.qmpbackup.api.v1alpha1.VMBackupStatus();
        st.phase = phase;
        st.level = level;
        st.agent = "agent-test";
        st.reason = phase == Phase.FAILED ? "BackupFailed" : "Succeeded";
        st.completionTime = completed;
        for (int attempt = 0; ; attempt++) {
            b.setStatus(st);
            try {
                client.resource(b).updateStatus();
                return;
            } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
                if (e.getCode() != 409 || attempt > 10) {
                    throw e;
                }
                b = client.resources(VMBackup.class).inNamespace(NS).withName(name).get();
            }
        }
    }

    private VMBackupSchedule current(String name) {
        return client.resources(VMBackupSchedule.class).inNamespace(NS).withName(name).get();
    }

    private static io.fabric8.kubernetes.api.model.Condition condition(VMBackupSchedule s, String type) {
        return s.getStatus().conditions.stream().filter(c -> type.equals(c.getType())).findFirst().orElse(null);
    }

    @Test
    void withRetentionSucceededRunsLiveWithTheirFilesAndEachRunCarriesThePolicy() {
        nodeA();
        vm("ret1", Map.of("set", "ret"));
        // four good runs (fractions of a second vary in length: they must sort as times, not text) and a failed one
        finishedRun("kept", "ret1", "kept-ret1-1", Phase.SUCCEEDED, "full", "2026-11-01T02:00:00.5Z");
        finishedRun("kept", "ret1", "kept-ret1-2", Phase.SUCCEEDED, "inc", "2026-11-01T02:00:01Z");
        finishedRun("kept", "ret1", "kept-ret1-3", Phase.SUCCEEDED, "full", "2026-11-02T02:00:00Z");
        finishedRun("kept", "ret1", "kept-ret1-4", Phase.SUCCEEDED, "inc", "2026-11-03T02:00:00.123456Z");
        finishedRun("kept", "ret1", "kept-ret1-5", Phase.FAILED, null, "2026-11-04T02:00:00Z");
        finishedRun("kept", "ret1", "kept-ret1-6", Phase.FAILED, null, "2026-11-05T02:00:00Z");
        VMBackupSchedule s = schedule("kept", "ret");
        s.getSpec().timeZone = "Europe/Berlin";
        s.getSpec().successfulRunsHistoryLimit = 1;
        s.getSpec().failedRunsHistoryLimit = 1;
        s.getSpec().template.retention = new io.qmpbackup.api.v1alpha1.Retention();
        s.getSpec().template.retention.keepLast = 2;
        s.getSpec().template.retention.keepWeekly = 4;
        s = client.resource(s).create();
        await().atMost(Duration.ofSeconds(10)).until(() -> current("kept").getStatus() != null
                && condition(current("kept"), "RunsFailing") != null);
        VMBackupSchedule st = current("kept");
        assertThat(condition(st, "Ready").getStatus()).isEqualTo("True");
        assertThat(condition(st, "Suspended").getStatus()).isEqualTo("False");
        assertThat(condition(st, "RunsFailing").getStatus()).isEqualTo("True");
        assertThat(condition(st, "RunsFailing").getMessage()).contains("ret1 (kept-ret1-6: BackupFailed)");
        // failed runs follow failedRunsHistoryLimit; succeeded ones stay, whatever successfulRunsHistoryLimit says
        await().atMost(Duration.ofSeconds(10)).until(() -> client.resources(VMBackup.class).inNamespace(NS)
                .withName("kept-ret1-5").get() == null);
        assertThat(backups("kept")).extracting(b -> b.getMetadata().getName()).contains("kept-ret1-1",
                "kept-ret1-2", "kept-ret1-3", "kept-ret1-4", "kept-ret1-6");

        clock.advance(Duration.ofMinutes(5));
        pokeUntil(s, () -> backups("kept").size() == 6);
        VMBackup run = backups("kept").stream().filter(b -> b.getMetadata().getName().startsWith("kept-ret1-2"))
                .filter(b -> b.getMetadata().getName().length() > "kept-ret1-2".length()).findFirst().orElseThrow();
        assertThat(run.getSpec().retention.keepLast).isEqualTo(2);
        assertThat(run.getSpec().retention.keepWeekly).isEqualTo(4);
        assertThat(run.getSpec().retention.timeZone).as("the schedule's time zone").isEqualTo("Europe/Berlin");
        List<io.fabric8.kubernetes.api.model.Event> events = client.v1().events().inNamespace(NS).list().getItems()
                .stream().filter(e -> "kept".equals(e.getInvolvedObject().getName())).toList();
        assertThat(events).extracting(io.fabric8.kubernetes.api.model.Event::getReason).contains("RunsFailing",
                "RunStarted");
    }

    @Test
    void withoutRetentionTheCurrentChainsRunsOutliveTheHistoryLimitSoFullEveryStillCounts() {
        nodeA();
        vm("hist1", Map.of("set", "hist"));
        finishedRun("hist", "hist1", "hist-hist1-0", Phase.SUCCEEDED, "full", "2026-10-31T02:00:00Z");
        finishedRun("hist", "hist1", "hist-hist1-1", Phase.SUCCEEDED, "full", "2026-11-01T02:00:00Z");
        finishedRun("hist", "hist1", "hist-hist1-2", Phase.SUCCEEDED, "inc", "2026-11-02T02:00:00Z");
        finishedRun("hist", "hist1", "hist-hist1-3", Phase.SUCCEEDED, "inc", "2026-11-03T02:00:00Z");
        VMBackupSchedule s = schedule("hist", "hist");
        s.getSpec().successfulRunsHistoryLimit = 1;
        s.getSpec().fullEvery = 2;
        s = client.resource(s).create();
        await().atMost(Duration.ofSeconds(10)).until(() -> client.resources(VMBackup.class).inNamespace(NS)
                .withName("hist-hist1-0").get() == null);
        assertThat(backups("hist")).extracting(b -> b.getMetadata().getName())
                .containsExactlyInAnyOrder("hist-hist1-1", "hist-hist1-2", "hist-hist1-3");
        assertThat(condition(current("hist"), "RunsFailing").getStatus()).isEqualTo("False");
        clock.advance(Duration.ofMinutes(5));
        pokeUntil(s, () -> backups("hist").size() == 4);
        VMBackup next = backups("hist").stream().filter(b -> b.getStatus() == null || b.getStatus().completionTime
                == null).findFirst().orElseThrow();
        assertThat(next.getSpec().level).as("2 incrementals since the full: fullEvery 2 makes this one a full")
                .isEqualTo(io.qmpbackup.api.v1alpha1.BackupLevel.FULL);
    }

    @Test
    void aRunThatFinishesUpdatesTheScheduleAtOnceNotAtTheNextTick() {
        nodeA();
        vm("wake1", Map.of("set", "wake"));
        VMBackupSchedule s = schedule("wake", "wake");
        s.getSpec().schedule = "0 * * * *";
        s = client.resource(s).create();
        await().atMost(Duration.ofSeconds(10)).until(() -> current("wake").getStatus() != null);
        // ten seconds past the next full hour: that run is due, the one after is an hour away
        java.time.Instant now = clock.instant();
        clock.advance(Duration.between(now, now.truncatedTo(java.time.temporal.ChronoUnit.HOURS).plusSeconds(3610)));
        poke(s);
        await().atMost(Duration.ofSeconds(10)).until(() -> backups("wake").size() == 1
                && current("wake").getStatus().active.size() == 1);
        String run = backups("wake").get(0).getMetadata().getName();
        assertThat(current("wake").getStatus().active).containsExactly(run);
        assertThat(java.time.Instant.parse(current("wake").getStatus().nextScheduleTime))
                .as("no cron time wakes the schedule during this test")
                .isAfter(clock.instant().plus(Duration.ofMinutes(50)));

        // no poke from here on: the run fails by itself (NoAgent after the test profile's 3 s), and
        // only its change can bring that to the schedule
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            var c = condition(current("wake"), "RunsFailing");
            return c != null && "True".equals(c.getStatus()) && current("wake").getStatus().active.isEmpty();
        });
        assertThat(condition(current("wake"), "RunsFailing").getMessage()).contains("wake1 (" + run + ": NoAgent)");
    }

    @Test
    void aBadScheduleIsNotReadyAndSaysWhy() {
        VMBackupSchedule s = schedule("broken", "none");
        s.getSpec().schedule = "61 * * * *";
        client.resource(s).create();
        await().atMost(Duration.ofSeconds(10)).until(() -> current("broken").getStatus() != null
                && condition(current("broken"), "Ready") != null);
        var ready = condition(current("broken"), "Ready");
        assertThat(ready.getStatus()).isEqualTo("False");
        assertThat(ready.getReason()).isEqualTo("InvalidSchedule");
        assertThat(ready.getMessage()).contains("61");
        assertThat(client.v1().events().inNamespace(NS).list().getItems()).anySatisfy(e -> {
            assertThat(e.getInvolvedObject().getName()).isEqualTo("broken");
            assertThat(e.getReason()).isEqualTo("InvalidSchedule");
            assertThat(e.getType()).isEqualTo("Warning");
        });
    }
}
