package io.qmpbackup.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.qmpbackup.api.v1alpha1.BackupLevel;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupStatus;
import io.qmpbackup.engine.repository.AtomicFiles;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.Swtpm;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * VMBackup spec.vm.tpmState, as deployed (both packaged jars, chart values, a real swtpm and QEMU):
 * a TPM state folder inside the folder the admin assigned (agent.tpmStateDirs) is kept with the
 * backup; one outside every assigned folder is refused before anything is touched.
 */
class TpmE2EIT {
    private static final String NS = "vms";

    @Test
    void aBackupKeepsTheTpmStateOnlyFromAnAssignedFolder() throws Exception {
        Path base = Files.createTempDirectory(Path.of("/tmp"), "tpm-e2e");
        Path vmDir = Files.createDirectories(base.resolve("vm"));
        Path tpmRoot = Files.createDirectories(base.resolve("tpm"));
        Path storage = Files.createDirectories(base.resolve("storage"));
        try (Swtpm swtpm = Swtpm.start(tpmRoot.resolve("web1"));
                Swtpm stray = Swtpm.start(base.resolve("elsewhere/web1"))) {
            DiskSpec disk = new DiskSpec("vda", QemuTools.createQcow2(vmDir.resolve("web1.qcow2"), "16M"), "qcow2",
                    Attach.BLOCKDEV_VIRTIO, null);
            TestVm vm = new TestVm(vmDir, List.of(disk), false, swtpm.qemuArgs());
            vm.start();
            try (vm; Deployment d = new Deployment(base.resolve("logs"))) {
                KubernetesClient client = d.client();
                d.node("node-a");
                Path values = Files.writeString(base.resolve("values.yaml"), String.join("\n",
                        "operator: {noAgentTimeout: 20s, leaderElection: false, agentLostTimeout: 0s}",
                        "agent:",
                        "  discovery: {interval: 0s}",
                        "  socketDirs: [" + vmDir + "]",
                        "  tpmStateDirs: [" + tpmRoot + "]",
                        "  storage: [{name: default, hostPath: " + storage + "}]", ""));
                ChartEnv chart = ChartEnv.render(client, values, "node-a", NS);
                d.startOperator(chart.operator);
                Map<String, String> env = new HashMap<>(chart.agent);
                env.put("QMPBACKUP_LOCK_DIR", base.resolve("locks").toString());
                d.startAgent("agent", env);

                VMBackupStatus kept = backup(client, "with-tpm", vm, swtpm.stateDir()).getStatus();
                assertThat(kept.phase).as(kept.message).isEqualTo(Phase.SUCCEEDED);
                Path tpm = storage.resolve(NS).resolve("web1/tpm");
                Path run;
                try (Stream<Path> s = Files.list(tpm)) {
                    run = s.filter(p -> p.getFileName().toString().matches("\\d+")).findFirst().orElseThrow();
                }
                assertThat(AtomicFiles.sha256(run.resolve("tpm2-00.permall"), false))
                        .isEqualTo(AtomicFiles.sha256(swtpm.stateDir().resolve("tpm2-00.permall"), false));

                VMBackupStatus refused = backup(client, "stray-tpm", vm, stray.stateDir()).getStatus();
                assertThat(refused.phase).isEqualTo(Phase.FAILED);
                assertThat(refused.reason).as(refused.message).isEqualTo("TpmStateOutsideAllowedDirs");
                assertThat(refused.message).contains(stray.stateDir().toString()).contains("agent.tpmStateDirs");
                try (Stream<Path> s = Files.list(tpm)) {
                    assertThat(s.count()).as("nothing more kept").isEqualTo(1);
                }
            }
        }
    }

    private static VMBackup backup(KubernetesClient client, String name, TestVm vm, Path tpmState) {
        VMBackup b = Runs.bySocket(NS, name, vm.qmpSocket(), BackupLevel.FULL, "web1");
        b.getSpec().vm.tpmState = tpmState.toString();
        return Runs.run(client, b);
    }
}
