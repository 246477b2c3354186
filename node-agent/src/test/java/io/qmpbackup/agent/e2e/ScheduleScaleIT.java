package io.qmpbackup.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.qmpbackup.api.v1alpha1.BackupTemplate;
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
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Scale: 1,000 QemuVMs on 100 nodes, one schedule selecting all, one tick of the packaged
 * operator (its heap capped as the chart's memory limit caps it): every VM gets exactly one
 * VMBackup. Prints the tick's time and the operator's resident memory.
 */
class ScheduleScaleIT {
    private static final String NS = "fleet";

    @Test
    void oneTickBacksUpAThousandVmsOnce() throws Exception {
        Path base = Files.createTempDirectory(Path.of("/tmp"), "scale");
        try (Deployment d = new Deployment(base.resolve("logs"))) {
            KubernetesClient client = d.client();
            for (int n = 0; n < 100; n++) {
                d.node("node-" + n);
            }
            for (int i = 0; i < 1000; i++) {
                QemuVM q = new QemuVM();
                q.setMetadata(new ObjectMetaBuilder().withName("vm-" + i).withNamespace(NS)
                        .withLabels(Map.of("fleet", "all")).build());
                q.setSpec(new QemuVMSpec());
                q.getSpec().node = "node-" + (i % 100);
                q.getSpec().qmpSocket = "/run/qemu/vm-" + i + ".qmp";
                client.resource(q).create();
            }
            Process operator = d.startOperator(Map.of("QMPBACKUP_OPERATOR_LEADER_ELECTION_ENABLED", "false",
                    "QMPBACKUP_OPERATOR_NO_AGENT_TIMEOUT", "10m"), List.of("-Xmx256m"));
            VMBackupSchedule s = new VMBackupSchedule();
            s.setMetadata(new ObjectMetaBuilder().withName("all").withNamespace(NS).build());
            s.setSpec(new VMBackupScheduleSpec());
            s.getSpec().schedule = "* * * * *";
            s.getSpec().vmSelector = new LabelSelectorBuilder().withMatchLabels(Map.of("fleet", "all")).build();
            s.getSpec().template = new BackupTemplate();
            s.getSpec().template.storage = new StorageRef();
            s.getSpec().template.storage.location = "default";
            s.getSpec().template.storage.path = "fleet";
            client.resource(s).create();

            Instant tick = Instant.now().truncatedTo(ChronoUnit.MINUTES).plus(1, ChronoUnit.MINUTES);
            await().atMost(Duration.ofSeconds(150)).pollInterval(Duration.ofMillis(200)).until(() ->
                    client.resources(VMBackup.class).inNamespace(NS).list().getItems().size() >= 1000);
            Duration tickTime = Duration.between(tick, Instant.now());
            List<VMBackup> all = client.resources(VMBackup.class).inNamespace(NS).list().getItems();
            Map<String, Long> perVm = all.stream().collect(Collectors.groupingBy(
                    b -> b.getMetadata().getLabels().get(VMBackupSchedule.VM_LABEL), Collectors.counting()));
            assertThat(perVm).hasSize(1000);
            assertThat(perVm.values()).containsOnly(1L);
            long rssKib = Files.readAllLines(Path.of("/proc/" + operator.pid() + "/status")).stream()
                    .filter(l -> l.startsWith("VmRSS:")).map(l -> Long.parseLong(l.replaceAll("\\D", "")))
                    .findFirst().orElse(-1L);
            System.out.println("scale: 1000 QemuVMs on 100 nodes, one tick -> " + all.size() + " VMBackups in "
                    + tickTime.toMillis() + " ms after the tick (at most ~1 s of that is the test's polling);"
                    + " operator RSS " + rssKib / 1024 + " MiB");
            assertThat(tickTime).as("the tick handled").isLessThan(Duration.ofSeconds(30));
        }
    }
}
