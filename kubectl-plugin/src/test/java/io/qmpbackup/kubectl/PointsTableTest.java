package io.qmpbackup.kubectl;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.qmpbackup.api.v1alpha1.BackupLevel;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSchedule;
import io.qmpbackup.api.v1alpha1.VMBackupSpec;
import io.qmpbackup.api.v1alpha1.VMBackupStatus;
import io.qmpbackup.api.v1alpha1.VmRef;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PointsTableTest {
    static VMBackup run(String name, String vm, Phase phase, String level, String completed) {
        VMBackup b = new VMBackup();
        b.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace("vms")
                .withCreationTimestamp("2026-01-01T00:00:00Z").build());
        b.setSpec(new VMBackupSpec());
        b.getSpec().vm = new VmRef();
        b.getSpec().vm.name = vm;
        b.getSpec().level = BackupLevel.AUTO;
        if (phase != null) {
            b.setStatus(new VMBackupStatus());
            b.getStatus().phase = phase;
            b.getStatus().level = level;
            b.getStatus().completionTime = completed;
            b.getStatus().node = "node-a";
            b.getStatus().chainId = "0f3c2a9e-1111-2222-3333-444455556666";
            b.getStatus().chainPath = "web1";
        }
        return b;
    }

    @Test
    void pointsOfAVmNewestLastWithLevelPhaseChainAndNode() {
        List<VMBackup> all = List.of(
                run("web1-inc", "web1", Phase.SUCCEEDED, "inc", "2026-03-01T10:00:05.5Z"),
                run("web1-full", "web1", Phase.SUCCEEDED, "full", "2026-03-01T09:00:00Z"),
                run("db1-full", "db1", Phase.SUCCEEDED, "full", "2026-03-01T08:00:00Z"),
                run("web1-failed", "web1", Phase.FAILED, null, "2026-03-01T11:00:00Z"));
        String table = PointsTable.render(PointsTable.ofVm(all, "web1"));
        assertThat(table).isEqualTo(String.join("\n",
                "NAME          TIME                   LEVEL   PHASE       CHAIN             NODE",
                "web1-full     2026-03-01T09:00:00Z   full    Succeeded   0f3c2a9e (web1)   node-a",
                "web1-inc      2026-03-01T10:00:05Z   inc     Succeeded   0f3c2a9e (web1)   node-a",
                "web1-failed   2026-03-01T11:00:00Z   auto    Failed      0f3c2a9e (web1)   node-a", ""));
    }

    @Test
    void aRunNotStartedYetIsPendingAtItsCreationTime() {
        String table = PointsTable.render(PointsTable.ofVm(List.of(run("web1-new", "web1", null, null, null)), "web1"));
        assertThat(table.lines().toList().get(1).split(" +"))
                .containsExactly("web1-new", "2026-01-01T00:00:00Z", "auto", "Pending", "-", "-");
    }

    @Test
    void aScheduledRunBySocketBelongsToTheVmOfItsLabel() {
        VMBackup bySocket = run("nightly-web1", "web1", Phase.SUCCEEDED, "full", "2026-03-01T09:00:00Z");
        bySocket.getSpec().vm = new VmRef();
        bySocket.getSpec().vm.node = "node-a";
        bySocket.getSpec().vm.qmpSocket = "/run/vm/web1.qmp";
        bySocket.getMetadata().setLabels(Map.of(VMBackupSchedule.VM_LABEL, "web1"));
        assertThat(PointsTable.ofVm(List.of(bySocket), "web1")).containsExactly(bySocket);
        assertThat(PointsTable.ofVm(List.of(bySocket), "db1")).isEmpty();
    }
}
