package io.qmpbackup.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.qmpbackup.api.v1alpha1.BackupLevel;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.QemuVM;
import io.qmpbackup.api.v1alpha1.QemuVMSpec;
import io.qmpbackup.api.v1alpha1.RestoreMode;
import io.qmpbackup.api.v1alpha1.RestoreSource;
import io.qmpbackup.api.v1alpha1.StorageRef;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSpec;
import io.qmpbackup.api.v1alpha1.VMBackupStatus;
import io.qmpbackup.api.v1alpha1.VMRestore;
import io.qmpbackup.api.v1alpha1.VMRestoreSpec;
import io.qmpbackup.api.v1alpha1.VMRestoreStatus;
import io.qmpbackup.api.v1alpha1.VmRef;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Who may reach what, end to end (both packaged jars, the in-process API server, real QEMU): the
 * release namespace owns the default socket folder, team-a was given a folder of its own, team-b
 * nothing. Every refusal is checked to have left nothing behind: no file, the VMs' block nodes
 * and bitmaps as they were, the disk images byte for byte.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TenancyE2EIT {
    private static final String RELEASE = "vms";
    private static final String TEAM_A = "team-a";
    private static final String TEAM_B = "team-b";
    private static final int MIB = 1 << 20;

    private Path base;
    private Path storage;
    private Deployment deployment;
    private Process operator;
    private KubernetesClient client;
    private TestVm releaseVm;
    private DiskSpec releaseDisk;
    private TestVm teamVm;
    private DiskSpec teamDisk;

    @BeforeAll
    void deploy() throws Exception {
        base = Files.createTempDirectory(Path.of("/tmp"), "tenancy");
        Path releaseDir = Files.createDirectories(base.resolve("vm"));
        Path teamDir = Files.createDirectories(base.resolve("team-a-vms"));
        storage = Files.createDirectories(base.resolve("storage"));
        Path img1 = QemuTools.createQcow2(releaseDir.resolve("web1.qcow2"), "32M");
        QemuTools.write(img1, "qcow2", 0, 8 * MIB, 0x21);
        releaseDisk = new DiskSpec("vda", img1, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        releaseVm = TestVm.start(releaseDir, List.of(releaseDisk));
        Path img2 = QemuTools.createQcow2(teamDir.resolve("app1.qcow2"), "32M");
        QemuTools.write(img2, "qcow2", 0, 8 * MIB, 0x42);
        teamDisk = new DiskSpec("vda", img2, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        teamVm = TestVm.start(teamDir, List.of(teamDisk));

        deployment = new Deployment(base.resolve("logs"));
        client = deployment.client();
        deployment.node("node-a");
        // one folder as a plain path (the release namespace's), one assigned to team-a: both forms
        // of agent.socketDirs, rendered by the chart into qmpbackup.agent.socket-dirs
        Path values = Files.writeString(base.resolve("values.yaml"), String.join("\n",
                "operator: {noAgentTimeout: 10s, leaderElection: false, agentLostTimeout: 0s}",
                "agent:",
                "  heartbeatInterval: 1s",
                "  discovery: {interval: 1s, pattern: qmp.sock}",
                "  socketDirs:",
                "    - " + releaseDir,
                "    - {path: " + teamDir + ", namespace: " + TEAM_A + "}",
                "  storage: [{name: default, hostPath: " + storage + "}]", ""));
        ChartEnv chart = ChartEnv.render(client, values, "node-a", RELEASE);
        assertThat(chart.agent.get("QMPBACKUP_AGENT_SOCKET_DIRS")).isEqualTo(releaseDir + "," + teamDir + "=" + TEAM_A);
        operator = deployment.startOperator(chart.operator);
        Map<String, String> env = new HashMap<>(chart.agent);
        env.put("QMPBACKUP_LOCK_DIR", base.resolve("locks").toString());
        deployment.startAgent("agent", env);

        VMBackup first = backup(RELEASE, "rel-full", BackupLevel.FULL, vm -> {
            vm.node = "node-a";
            vm.qmpSocket = releaseVm.qmpSocket().toString();
        }, "web1");
        assertThat(first.getStatus().phase).as(first.getStatus().message).isEqualTo(Phase.SUCCEEDED);
        assertThat(storage.resolve(RELEASE).resolve(first.getStatus().disks.get(0).file)).exists();
        assertThat(first.getStatus().chainPath).isEqualTo("web1");
    }

    @AfterAll
    void tearDown() {
        if (deployment != null) {
            deployment.close();
        }
        for (TestVm vm : new TestVm[] {releaseVm, teamVm}) {
            if (vm != null) {
                vm.close();
            }
        }
    }

    @Test
    @Order(1)
    void aNamespaceGivenNothingCannotBackUpTheReleaseNamespacesVm() throws Exception {
        Untouched before = untouched();
        VMBackup bySocket = backup(TEAM_B, "steal-by-socket", BackupLevel.FULL, vm -> {
            vm.node = "node-a";
            vm.qmpSocket = releaseVm.qmpSocket().toString();
        }, "web1");
        assertThat(bySocket.getStatus().phase).isEqualTo(Phase.FAILED);
        assertThat(bySocket.getStatus().reason).isEqualTo("NotPermitted");
        assertThat(bySocket.getStatus().message).contains(TEAM_B).contains(releaseVm.qmpSocket().toString())
                .contains("qmpbackup.agent.socket-dirs").contains("agent.socketDirs");
        // the operator knows the agents' folders (the chart gives it the same values): no node saw it
        assertThat(bySocket.getMetadata().getLabels()).doesNotContainKey(VMBackup.NODE_LABEL);
        assertThat(bySocket.getStatus().node).isNull();

        // a QemuVM in its own namespace pointing at that socket (the test server enforces no RBAC,
        // so a tenant could write one): the agent judges the socket, not who wrote the QemuVM
        QemuVM forged = new QemuVM();
        forged.setMetadata(new ObjectMetaBuilder().withName("forged").withNamespace(TEAM_B).build());
        forged.setSpec(new QemuVMSpec());
        forged.getSpec().node = "node-a";
        forged.getSpec().qmpSocket = releaseVm.qmpSocket().toString();
        client.resource(forged).create();
        VMBackup byForged = backup(TEAM_B, "steal-by-qemuvm", BackupLevel.FULL, vm -> vm.name = "forged", "web1");
        assertThat(byForged.getStatus().reason).as(byForged.getStatus().message).isEqualTo("NotPermitted");
        assertThat(byForged.getStatus().message).contains(TEAM_B).contains(releaseVm.qmpSocket().toString());

        // the release namespace's own QemuVM is not found from another namespace
        await().atMost(Duration.ofSeconds(30)).until(() -> client.resources(QemuVM.class).inNamespace(RELEASE)
                .withName("node-a-qmp").get() != null);
        VMBackup byName = backup(TEAM_B, "steal-by-name", BackupLevel.FULL, vm -> vm.name = "node-a-qmp", "web1");
        assertThat(byName.getStatus().phase).isEqualTo(Phase.FAILED);
        assertThat(byName.getStatus().reason).isEqualTo("QemuVMNotFound");

        // the guest agent socket is judged the same way (team-a owns the QMP socket, not this one)
        VMBackup agentSocket = backup(TEAM_A, "steal-agent-socket", BackupLevel.FULL, vm -> {
            vm.node = "node-a";
            vm.qmpSocket = teamVm.qmpSocket().toString();
            vm.agentSocket = releaseVm.qmpSocket3().toString();
        }, "app1");
        assertThat(agentSocket.getStatus().reason).as(agentSocket.getStatus().message).isEqualTo("NotPermitted");
        assertThat(agentSocket.getStatus().message).contains("guest agent socket").contains(TEAM_A);
        assertThat(untouched()).isEqualTo(before);
    }

    @Test
    @Order(2)
    void aNamespaceGivenNothingCannotRestoreTheReleaseNamespacesChain() throws Exception {
        Untouched before = untouched();
        Path target = storage.resolve(TEAM_B).resolve("restore/web1.qcow2");
        VMRestoreStatus byBackup = restore(TEAM_B, "steal-by-backup", RestoreMode.MERGE, src -> src.backup = "rel-full",
                target.toString());
        assertThat(byBackup.phase).isEqualTo(Phase.FAILED);
        assertThat(byBackup.reason).isEqualTo("BackupNotFound");

        // the same storage path names team-b's own area, where there is no chain
        VMRestoreStatus byPath = restore(TEAM_B, "steal-by-path", RestoreMode.MERGE, src -> storageSource(src, "web1"),
                target.toString());
        assertThat(byPath.phase).isEqualTo(Phase.FAILED);
        assertThat(byPath.reason).isEqualTo("RestoreFailed");
        assertThat(byPath.message).contains("web1/web1.qcow2").contains(TEAM_B);

        // '..' to reach the release namespace's area: refused by the agent (no schema rule here)
        VMRestoreStatus dotDot = restore(TEAM_B, "steal-by-dotdot", RestoreMode.REBASE,
                src -> storageSource(src, "../" + RELEASE + "/web1"), null);
        assertThat(dotDot.phase).isEqualTo(Phase.FAILED);
        // the operator's spec check refuses it first; the agent's own check is shown in test 5
        assertThat(dotDot.reason).isIn("InvalidSpec", "InvalidStoragePath");
        VMRestoreStatus absolute = restore(TEAM_B, "steal-by-absolute", RestoreMode.REBASE,
                src -> storageSource(src, storage.resolve(RELEASE).resolve("web1").toString()), null);
        assertThat(absolute.reason).isIn("InvalidSpec", "InvalidStoragePath");
        assertThat(target).doesNotExist();
        assertThat(untouched()).isEqualTo(before);
    }

    @Test
    @Order(3)
    void aNamespaceGivenAFolderBacksUpItsVmThereAndRestoresIt() throws Exception {
        await().atMost(Duration.ofSeconds(30)).until(() -> client.resources(QemuVM.class).inNamespace(TEAM_A)
                .withName("node-a-qmp").get() != null);
        QemuVM discovered = client.resources(QemuVM.class).inNamespace(TEAM_A).withName("node-a-qmp").get();
        assertThat(discovered.getSpec().qmpSocket).isEqualTo(teamVm.qmpSocket().toString());
        VMBackup full = backup(TEAM_A, "app1-full", BackupLevel.FULL, vm -> vm.name = "node-a-qmp", "app1");
        assertThat(full.getStatus().phase).as(full.getStatus().message).isEqualTo(Phase.SUCCEEDED);
        assertThat(full.getStatus().chainPath).isEqualTo("app1");
        assertThat(full.getStatus().disks.get(0).file).startsWith("app1/app1.qcow2/FULL-");
        assertThat(storage.resolve(TEAM_A).resolve(full.getStatus().disks.get(0).file)).exists();

        teamVm.guestWrite(teamDisk, 16L * MIB, MIB, 0x43);
        VMBackup inc = backup(TEAM_A, "app1-inc", BackupLevel.INC, vm -> {
            vm.node = "node-a";
            vm.qmpSocket = teamVm.qmpSocket().toString();
        }, "app1");
        assertThat(inc.getStatus().phase).as(inc.getStatus().message).isEqualTo(Phase.SUCCEEDED);
        assertThat(inc.getStatus().disks.get(0).bytesWritten).isEqualTo(MIB);

        Path target = storage.resolve(TEAM_A).resolve("restore/app1.qcow2");
        VMRestoreStatus restored = restore(TEAM_A, "app1-restore", RestoreMode.MERGE, src -> src.backup = "app1-inc",
                target.toString());
        assertThat(restored.phase).as(restored.message).isEqualTo(Phase.SUCCEEDED);
        assertThat(restored.outputFile).isEqualTo(target.toString());
        teamVm.flush(teamDisk);
        QemuTools.Result cmp = QemuTools.compare(teamDisk.image(), "qcow2", target, "qcow2");
        assertThat(cmp.exit()).as(cmp.out()).isZero();
        assertThat(storage.resolve(RELEASE).resolve("app1")).doesNotExist();
    }

    @Test
    @Order(4)
    void aMergeOutsideTheAreaOverAFileOrThroughASymlinkIsRefusedAndLeavesNothing() throws Exception {
        Path area = storage.resolve(TEAM_A);
        Path elsewhere = Files.createDirectories(base.resolve("elsewhere"));
        // a link out of the area (as a mistake or an old mount could leave one)
        Files.createSymbolicLink(area.resolve("escape"), elsewhere);
        VMBackup full = client.resources(VMBackup.class).inNamespace(TEAM_A).withName("app1-full").get();
        Path chainFile = area.resolve(full.getStatus().disks.get(0).file);
        Untouched before = untouched();

        VMRestoreStatus outside = restore(TEAM_A, "merge-outside", RestoreMode.MERGE, src -> src.backup = "app1-full",
                base.resolve("outside.qcow2").toString());
        assertThat(outside.reason).as(outside.message).isEqualTo("NotPermitted");
        assertThat(outside.message).contains(area.toString());
        assertThat(base.resolve("outside.qcow2")).doesNotExist();

        VMRestoreStatus otherArea = restore(TEAM_A, "merge-other-area", RestoreMode.MERGE,
                src -> src.backup = "app1-full", storage.resolve(RELEASE).resolve("restore/app1.qcow2").toString());
        assertThat(otherArea.reason).as(otherArea.message).isEqualTo("NotPermitted");

        VMRestoreStatus overImage = restore(TEAM_A, "merge-over-image", RestoreMode.MERGE,
                src -> src.backup = "app1-full", teamDisk.image().toString());
        assertThat(overImage.reason).as(overImage.message).isEqualTo("NotPermitted");

        VMRestoreStatus overChain = restore(TEAM_A, "merge-over-chain-file", RestoreMode.MERGE,
                src -> src.backup = "app1-full", chainFile.toString());
        assertThat(overChain.reason).as(overChain.message).isEqualTo("NotPermitted");
        assertThat(overChain.message).contains("backup chain folder");

        // the image test 3 restored: in the area, outside any chain, but there already
        VMRestoreStatus overRestored = restore(TEAM_A, "merge-over-restored", RestoreMode.MERGE,
                src -> src.backup = "app1-full", area.resolve("restore/app1.qcow2").toString());
        assertThat(overRestored.reason).as(overRestored.message).isEqualTo("TargetExists");

        // lexically inside the area, so past the operator: the agent finds the chain folder's uuid
        VMRestoreStatus inChain = restore(TEAM_A, "merge-into-chain-folder", RestoreMode.MERGE,
                src -> src.backup = "app1-full", area.resolve("app1/restored.qcow2").toString());
        assertThat(inChain.reason).as(inChain.message).isEqualTo("NotPermitted");
        assertThat(inChain.message).contains("backup chain folder");
        assertThat(area.resolve("app1/restored.qcow2")).doesNotExist();

        VMRestoreStatus throughLink = restore(TEAM_A, "merge-through-symlink", RestoreMode.MERGE,
                src -> src.backup = "app1-full", area.resolve("escape/new/app1.qcow2").toString());
        assertThat(throughLink.reason).as(throughLink.message).isEqualTo("NotPermitted");
        try (Stream<Path> s = Files.list(elsewhere)) {
            assertThat(s).as("nothing written through the link").isEmpty();
        }
        assertThat(untouched()).isEqualTo(before);
    }

    @Test
    @Order(5)
    void withNoOperatorCheckInFrontTheAgentItselfRefusesDotDotAndAbsolutePaths() throws Exception {
        // work handed straight to the agent, as if the operator's checks (and the schema's CEL
        // rules, which the test server does not enforce) had let it through
        operator.destroy();
        operator.waitFor();
        Untouched before = untouched();
        for (String path : List.of("../" + RELEASE + "/web1", storage.resolve(RELEASE).resolve("web1").toString())) {
            VMBackupStatus s = directBackup("direct-" + Integer.toHexString(path.hashCode()), vm -> {
                vm.node = "node-a";
                vm.qmpSocket = teamVm.qmpSocket().toString();
            }, path).getStatus();
            // the agent's spec check (the schema's rules, again) or its own path check
            assertThat(s.reason).as(path + ": " + s.message).isIn("InvalidSpec", "InvalidStoragePath");
            assertThat(s.message).contains(path);
        }
        // a socket of the release namespace's folder, handed to the agent directly: it judges it itself
        VMBackup steal = directBackup("direct-socket", vm -> {
            vm.node = "node-a";
            vm.qmpSocket = releaseVm.qmpSocket().toString();
        }, "web1");
        assertThat(steal.getStatus().reason).as(steal.getStatus().message).isEqualTo("NotPermitted");
        assertThat(steal.getStatus().message).contains(TEAM_A).contains(releaseVm.qmpSocket().toString());
        assertThat(deployment.log("agent")).contains("refused");
        // source.disk is no schema field with a rule: only the agent's own path check stands here
        VMRestore r = new VMRestore();
        r.setMetadata(new ObjectMetaBuilder().withName("direct-rebase").withNamespace(TEAM_A)
                .withLabels(Map.of(VMBackup.NODE_LABEL, "node-a")).build());
        r.setSpec(new VMRestoreSpec());
        r.getSpec().source = new RestoreSource();
        storageSource(r.getSpec().source, "web1");
        r.getSpec().source.disk = "../../" + RELEASE + "/web1/web1.qcow2";
        r.getSpec().mode = RestoreMode.REBASE;
        r.getSpec().node = "node-a";
        VMRestore created = client.resource(r).create();
        created.setStatus(new VMRestoreStatus());
        created.getStatus().phase = Phase.SCHEDULED;
        created.getStatus().node = "node-a";
        client.resource(created).updateStatus();
        await().atMost(Duration.ofSeconds(30)).until(() -> client.resources(VMRestore.class).inNamespace(TEAM_A)
                .withName("direct-rebase").get().getStatus().phase.terminal());
        VMRestoreStatus rs = client.resources(VMRestore.class).inNamespace(TEAM_A).withName("direct-rebase").get()
                .getStatus();
        assertThat(rs.reason).as(rs.message).isEqualTo("InvalidStoragePath");
        assertThat(storage.resolve(RELEASE).resolve("web1/web1.qcow2/image")).doesNotExist();
        assertThat(untouched()).isEqualTo(before);
    }

    // ---- helpers

    private VMBackup backup(String ns, String name, BackupLevel level, Consumer<VmRef> vm, String path) {
        VMBackup b = new VMBackup();
        b.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns).build());
        VMBackupSpec spec = new VMBackupSpec();
        spec.vm = new VmRef();
        vm.accept(spec.vm);
        spec.level = level;
        spec.storage = new StorageRef();
        spec.storage.location = "default";
        spec.storage.path = path;
        b.setSpec(spec);
        client.resource(b).create();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> {
            VMBackupStatus s = client.resources(VMBackup.class).inNamespace(ns).withName(name).get().getStatus();
            return s != null && s.phase != null && s.phase.terminal();
        });
        return client.resources(VMBackup.class).inNamespace(ns).withName(name).get();
    }

    /** A team-a VMBackup handed to node-a's agent as the operator would (label, Scheduled), with no operator check. */
    private VMBackup directBackup(String name, Consumer<VmRef> vm, String path) {
        VMBackup b = new VMBackup();
        b.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(TEAM_A)
                .withLabels(Map.of(VMBackup.NODE_LABEL, "node-a")).build());
        b.setSpec(new VMBackupSpec());
        b.getSpec().vm = new VmRef();
        vm.accept(b.getSpec().vm);
        b.getSpec().level = BackupLevel.FULL;
        b.getSpec().storage = new StorageRef();
        b.getSpec().storage.location = "default";
        b.getSpec().storage.path = path;
        VMBackup created = client.resource(b).create();
        created.setStatus(new VMBackupStatus());
        created.getStatus().phase = Phase.SCHEDULED;
        created.getStatus().node = "node-a";
        client.resource(created).updateStatus();
        await().atMost(Duration.ofSeconds(30)).until(() -> client.resources(VMBackup.class).inNamespace(TEAM_A)
                .withName(name).get().getStatus().phase.terminal());
        return client.resources(VMBackup.class).inNamespace(TEAM_A).withName(name).get();
    }

    private static void storageSource(RestoreSource src, String path) {
        src.storage = new StorageRef();
        src.storage.location = "default";
        src.storage.path = path;
        src.disk = "web1.qcow2";
    }

    private VMRestoreStatus restore(String ns, String name, RestoreMode mode, Consumer<RestoreSource> source,
            String targetFile) {
        VMRestore r = new VMRestore();
        r.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns).build());
        VMRestoreSpec spec = new VMRestoreSpec();
        spec.source = new RestoreSource();
        source.accept(spec.source);
        spec.mode = mode;
        spec.targetFile = targetFile;
        if (spec.source.backup == null) {
            spec.node = "node-a";
        }
        r.setSpec(spec);
        client.resource(r).create();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).until(() -> {
            VMRestoreStatus s = client.resources(VMRestore.class).inNamespace(ns).withName(name).get().getStatus();
            return s != null && s.phase != null && s.phase.terminal();
        });
        return client.resources(VMRestore.class).inNamespace(ns).withName(name).get().getStatus();
    }

    private Untouched untouched() throws Exception {
        return Untouched.of(List.of(storage, releaseVm.dir(), teamVm.dir(), base.resolve("elsewhere")),
                Map.of(releaseVm, releaseDisk, teamVm, teamDisk));
    }
}
