package io.qmpbackup.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import io.qmpbackup.api.v1alpha1.BackupTemplate;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.QemuVM;
import io.qmpbackup.api.v1alpha1.QemuVMSpec;
import io.qmpbackup.api.v1alpha1.StorageRef;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSchedule;
import io.qmpbackup.api.v1alpha1.VMBackupScheduleSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * A schedule fires for 50 real VMs on one node. The agent runs at most maxConcurrent (4 here)
 * backups at once; the others wait in Scheduled (reason Queued) and run in turn; every VM gets
 * exactly one backup, and each backup is its disk, byte for byte.
 */
class FleetConcurrencyIT {
    private static final String NS = "fleet";
    private static final int VMS = 50;
    private static final int MAX_CONCURRENT = 4;
    private static final int MIB = 1 << 20;

    @Test
    void fiftyVmsOnOneNodeRunFourAtATimeAndAllSucceed() throws Exception {
        Path base = Files.createTempDirectory(Path.of("/tmp"), "fleet");
        Path vmsDir = Files.createDirectories(base.resolve("vms"));
        Path storage = Files.createDirectories(base.resolve("storage"));
        List<TestVm> vms = new ArrayList<>();
        try (Deployment d = new Deployment(base.resolve("logs"))) {
            for (int i = 0; i < VMS; i++) {
                Path dir = Files.createDirectories(vmsDir.resolve("vm-" + i));
                Path img = QemuTools.createQcow2(dir.resolve("disk.qcow2"), "8M");
                QemuTools.write(img, "qcow2", 0, 4 * MIB, 0x10 + i);
                vms.add(TestVm.start(dir, List.of(new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null))));
            }
            KubernetesClient client = d.client();
            d.node("node-a");
            Path values = Files.writeString(base.resolve("values.yaml"), String.join("\n",
                    "operator: {noAgentTimeout: 10m, leaderElection: false}",
                    "agent:",
                    "  maxConcurrent: " + MAX_CONCURRENT,
                    "  discovery: {interval: 0s}",
                    "  socketDirs: [" + vmsDir + "]",
                    "  storage: [{name: default, hostPath: " + storage + "}]", ""));
            ChartEnv chart = ChartEnv.render(client, values, "node-a", NS);
            d.startOperator(chart.operator);
            Map<String, String> agentEnv = new HashMap<>(chart.agent);
            agentEnv.put("QMPBACKUP_LOCK_DIR", base.resolve("locks").toString());
            d.startAgent("agent", agentEnv);
            for (int i = 0; i < VMS; i++) {
                QemuVM q = new QemuVM();
                q.setMetadata(new ObjectMetaBuilder().withName("vm-" + i).withNamespace(NS)
                        .withLabels(Map.of("fleet", "fifty")).build());
                q.setSpec(new QemuVMSpec());
                q.getSpec().node = "node-a";
                q.getSpec().qmpSocket = vms.get(i).qmpSocket().toString();
                client.resource(q).create();
            }
            VMBackupSchedule s = new VMBackupSchedule();
            s.setMetadata(new ObjectMetaBuilder().withName("fifty").withNamespace(NS).build());
            s.setSpec(new VMBackupScheduleSpec());
            // fires once, at the next whole minute (a schedule firing every minute would fire again mid-test)
            java.time.ZonedDateTime at = java.time.ZonedDateTime.now(java.time.ZoneOffset.UTC)
                    .plusSeconds(75).truncatedTo(java.time.temporal.ChronoUnit.MINUTES);
            s.getSpec().schedule = at.getMinute() + " " + at.getHour() + " " + at.getDayOfMonth() + " "
                    + at.getMonthValue() + " *";
            s.getSpec().vmSelector = new LabelSelectorBuilder().withMatchLabels(Map.of("fleet", "fifty")).build();
            s.getSpec().template = new BackupTemplate();
            s.getSpec().template.storage = new StorageRef();
            s.getSpec().template.storage.location = "default";
            s.getSpec().template.storage.path = "fifty";
            // slow enough that the queue is visible: a full of the 8 MiB disk takes about a second
            s.getSpec().template.speedLimit = 8L * MIB;
            client.resource(s).create();

            // the next minute fires the schedule for all 50 at once
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(() ->
                    client.resources(VMBackup.class).inNamespace(NS).list().getItems().size() >= VMS);
            Instant fired = Instant.now();
            Set<String> reasons = new TreeSet<>();
            int[] peakSeen = {0};
            await().atMost(Duration.ofSeconds(300)).pollInterval(Duration.ofMillis(100)).until(() -> {
                List<VMBackup> all = client.resources(VMBackup.class).inNamespace(NS).list().getItems();
                int running = 0;
                for (VMBackup b : all) {
                    if (b.getStatus() != null && b.getStatus().reason != null) {
                        reasons.add(b.getStatus().reason);
                    }
                    if (b.getStatus() != null && b.getStatus().phase == Phase.RUNNING) {
                        running++;
                    }
                }
                peakSeen[0] = Math.max(peakSeen[0], running);
                assertThat(running).as("backups Running at once").isLessThanOrEqualTo(MAX_CONCURRENT);
                return all.stream().allMatch(b -> b.getStatus() != null && b.getStatus().phase != null
                        && b.getStatus().phase.terminal());
            });
            Duration drained = Duration.between(fired, Instant.now());

            List<VMBackup> all = client.resources(VMBackup.class).inNamespace(NS).list().getItems();
            assertThat(all).hasSize(VMS);
            assertThat(all).allSatisfy(b -> assertThat(b.getStatus().phase).as(b.getMetadata().getName() + ": "
                    + b.getStatus().message).isEqualTo(Phase.SUCCEEDED));
            assertThat(all.stream().map(b -> b.getSpec().vm.name).distinct()).hasSize(VMS);
            assertThat(reasons).as("the rest waited their turn").contains("Queued");
            // the agent's own start and end times: never more than 4 overlapped, and 4 did
            int peak = peakOverlap(all);
            assertThat(peak).isEqualTo(MAX_CONCURRENT);
            for (VMBackup b : all) {
                int i = Integer.parseInt(b.getSpec().vm.name.substring(3));
                TestVm vm = vms.get(i);
                vm.flush(vm.disks().get(0));
                Path file = storage.resolve(NS).resolve(b.getStatus().disks.get(0).file);
                QemuTools.Result cmp = QemuTools.compare(vm.disks().get(0).image(), "qcow2", file, "qcow2");
                assertThat(cmp.exit()).as(b.getMetadata().getName() + ": " + cmp.out()).isZero();
            }
            System.out.println("fleet: " + VMS + " VMs on one node, maxConcurrent " + MAX_CONCURRENT + ": all "
                    + "succeeded " + drained.toMillis() + " ms after the schedule fired; peak overlap " + peak
                    + " (agent times), " + peakSeen[0] + " Running seen by polling; reasons seen " + reasons);
        } finally {
            vms.forEach(TestVm::close);
        }
    }

    /** The most [startTime, completionTime] intervals that overlap at one instant. */
    static int peakOverlap(List<VMBackup> runs) {
        List<long[]> edges = new ArrayList<>();
        for (VMBackup b : runs) {
            edges.add(new long[] {Instant.parse(b.getStatus().startTime).toEpochMilli() * 1000, 1});
            edges.add(new long[] {Instant.parse(b.getStatus().completionTime).toEpochMilli() * 1000, -1});
        }
        // at equal times an end comes before a start: a slot freed and taken at once is no overlap
        edges.sort((a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]));
        int now = 0;
        int peak = 0;
        for (long[] e : edges) {
            now += (int) e[1];
            peak = Math.max(peak, now);
        }
        return peak;
    }
}
