package io.qmpbackup.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.qmpbackup.api.v1alpha1.BackupLevel;
import io.qmpbackup.api.v1alpha1.OffsiteStatus;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.RestoreMode;
import io.qmpbackup.api.v1alpha1.RestoreSource;
import io.qmpbackup.api.v1alpha1.StorageRef;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupStatus;
import io.qmpbackup.api.v1alpha1.VMRestore;
import io.qmpbackup.api.v1alpha1.VMRestoreSpec;
import io.qmpbackup.api.v1alpha1.VMRestoreStatus;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.S3TestServer;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.jclouds.blobstore.domain.StorageMetadata;
import org.jclouds.blobstore.options.ListContainerOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Off-site copies as deployed: both packaged jars and two node agents, node-a (the VM and its
 * backups) and node-b, configured from the chart's agent.remotes (its ConfigMap written where the
 * agents read it, its Secret's keys as files beside it), a real S3 (S3Proxy on 127.0.0.1), a real
 * QEMU. Backups on node-a go off-site, encrypted. Then node-a's storage is lost (its chain folder
 * moved out of every storage location on this machine, so no local copy exists anywhere) and
 * node-b restores byte-exact from the bucket alone. A damaged object, a location without a remote
 * and a store that is down each fail the way they should, losing nothing. Both agents get the
 * same storage paths, as one chart's DaemonSet gives every node.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OffsiteE2EIT {
    private static final String NS = "vms";
    private static final String BUCKET = "vm-backups";
    private static final int MIB = 1 << 20;

    private Path base;
    private Path storage;
    private Path lost;
    private Path expected;
    private S3TestServer s3;
    private Deployment deployment;
    private KubernetesClient client;
    private TestVm vm;
    private DiskSpec disk;

    @BeforeAll
    void deployTwoNodes() throws Exception {
        base = Files.createTempDirectory(Path.of("/tmp"), "offsite-e2e");
        Path vmDir = Files.createDirectories(base.resolve("vm"));
        storage = Files.createDirectories(base.resolve("storage"));
        Path img = QemuTools.createQcow2(vmDir.resolve("web1.qcow2"), "32M");
        QemuTools.write(img, "qcow2", 0, 6 * MIB, 0x41);
        disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        vm = TestVm.start(vmDir, List.of(disk));
        s3 = S3TestServer.start();
        s3.config(BUCKET, "", null); // creates the bucket
        deployment = new Deployment(base.resolve("logs"));
        client = deployment.client();
        deployment.node("node-a");
        deployment.node("node-b");
        String remotes = String.join("\n",
                "  remotes:",
                "    default: {endpoint: '" + s3.endpoint() + "', bucket: " + BUCKET + ", prefix: cluster-a,",
                "              existingSecret: s3-cred, encrypt: true, partChecksum: md5, partSize: 5M}",
                "  remoteUpload: {attempts: 2, retryDelay: 1s}", "");
        ChartEnv a = chart("node-a", vmDir, remotes);
        deployment.startOperator(a.operator);
        startAgent("agent-a", "node-a", a);
        startAgent("agent-b", "node-b", chart("node-b", vmDir, remotes));
    }

    /** The chart rendered for one node: its own storage, plus a location "plain" that has no remote. */
    private ChartEnv chart(String node, Path vmDir, String remotes) throws Exception {
        Path plain = Files.createDirectories(storage.resolveSibling("plain"));
        Path values = Files.writeString(base.resolve(node + "-values.yaml"), String.join("\n",
                "operator: {noAgentTimeout: 20s, leaderElection: false, agentLostTimeout: 0s}",
                "agent:",
                "  discovery: {interval: 0s}",
                "  socketDirs: [" + vmDir + "]",
                "  storage: [{name: default, hostPath: " + storage + "}, {name: plain, hostPath: " + plain + "}]",
                remotes));
        return ChartEnv.render(client, values, node, NS);
    }

    /** As the kubelet would mount them: the remotes ConfigMap's files, the Secret's keys beside them. */
    private void startAgent(String name, String node, ChartEnv chart) throws Exception {
        Path etc = base.resolve(node + "/etc");
        Path remotes = Files.createDirectories(etc.resolve("remotes"));
        chart.configMaps.get("qmpbackup-node-agent-remotes").forEach((file, text) -> write(remotes.resolve(file), text));
        Path secret = Files.createDirectories(etc.resolve("remote-secrets/default"));
        Map<String, String> creds = s3.environment();
        write(secret.resolve("access-key-id"), creds.get("AWS_ACCESS_KEY_ID"));
        write(secret.resolve("secret-access-key"), creds.get("AWS_SECRET_ACCESS_KEY"));
        write(secret.resolve("encryption-key"), Base64.getEncoder().encodeToString(new byte[] {
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
            30, 31, 32}));
        Map<String, String> env = new HashMap<>(chart.agent);
        assertThat(env.get("QMPBACKUP_AGENT_REMOTE_DIR")).isEqualTo("/etc/qmpbackup/remotes");
        env.put("QMPBACKUP_AGENT_REMOTE_DIR", remotes.toString());
        env.put("QMPBACKUP_LOCK_DIR", base.resolve(node + "/locks").toString());
        deployment.startAgent(name, env);
    }

    @AfterAll
    void tearDown() throws Exception {
        if (deployment != null) {
            deployment.close();
        }
        if (vm != null) {
            vm.close();
        }
        if (s3 != null) {
            s3.close();
        }
    }

    @Test
    @Order(1)
    void backupsGoOffSiteEncryptedUnderTheNamespacesPrefix() throws Exception {
        VMBackupStatus full = backup("full", BackupLevel.FULL);
        vm.guestWrite(disk, 20L * MIB, 3 * MIB, 0x42);
        VMBackupStatus inc = backup("inc", BackupLevel.INC);
        vm.flush(disk);
        expected = base.resolve("expected.qcow2");
        QemuTools.run("qemu-img", "convert", "-U", "-O", "qcow2", disk.image().toString(), expected.toString());
        for (VMBackupStatus s : List.of(full, inc)) {
            assertThat(s.offsite.remote).contains(BUCKET).contains("cluster-a/" + NS + "/web1").contains("encrypted");
            assertThat(s.offsite.attempts).isEqualTo(1);
            assertThat(condition(s, "Offsite").getStatus()).isEqualTo("True");
        }
        assertThat(inc.offsite.filesUploaded).as("the INC and the records").isGreaterThan(0);
        assertThat(inc.offsite.filesSkipped).as("the FULL is there already").isGreaterThan(0);
        List<String> keys = keys();
        assertThat(keys).isNotEmpty().allMatch(k -> k.startsWith("cluster-a/" + NS + "/web1/"));
        assertThat(keys).anyMatch(k -> k.matches(".*/web1.qcow2/FULL-\\d+-web1.qcow2"))
                .anyMatch(k -> k.matches(".*/web1.qcow2/INC-\\d+-web1.qcow2"));
        // encrypted: the guest's pattern is nowhere in the stored FULL
        byte[] stored = blob(keys.stream().filter(k -> k.contains("/FULL-")).findFirst().orElseThrow());
        assertThat(indexOf(stored, pattern(0x41, 4096))).isNegative();
    }

    @Test
    @Order(2)
    void aNodeThatNeverHeldTheBackupRestoresItByteExact() throws Exception {
        Path area = storage.resolve(NS);
        lost = base.resolve("node-a-lost");
        Files.move(area.resolve("web1"), lost);
        assertThat(area.resolve("web1")).doesNotExist();
        VMRestoreStatus local = restore("from-local", r -> {
            r.source.remote = false;
            r.targetFile = area.resolve("restored/local.qcow2").toString();
        });
        assertThat(local.phase).isEqualTo(Phase.FAILED);
        assertThat(local.message).as("no local copy is left").contains("no backup folder").contains("source.remote");
        Path out = area.resolve("restored/web1.qcow2");
        VMRestoreStatus s = restore("from-remote", r -> r.targetFile = out.toString());
        assertThat(s.phase).as(s.message).isEqualTo(Phase.SUCCEEDED);
        assertThat(s.node).isEqualTo("node-b");
        assertThat(s.message).contains("downloaded from").contains(BUCKET);
        assertThat(s.check).contains("integrity record");
        QemuTools.Result cmp = QemuTools.compare(expected, "qcow2", out, "qcow2");
        assertThat(cmp.exit()).as(cmp.out()).isZero();
        assertThat(area.resolve(".qmpbackup-remote/from-remote")).as("the download is removed after a merge")
                .doesNotExist();
        assertThat(area.resolve("web1")).doesNotExist();
    }

    @Test
    @Order(3)
    void aDamagedRemoteObjectIsNamedAndNothingIsRestored() throws Exception {
        String fullKey = keys().stream().filter(k -> k.contains("/FULL-")).findFirst().orElseThrow();
        byte[] original = blob(fullKey);
        byte[] damaged = original.clone();
        damaged[damaged.length / 2] ^= 0x01;
        put(fullKey, damaged);
        try {
            Path out = storage.resolve(NS).resolve("restored/damaged.qcow2");
            VMRestoreStatus s = restore("damaged", r -> r.targetFile = out.toString());
            assertThat(s.phase).as(s.message).isEqualTo(Phase.FAILED);
            assertThat(s.reason).isEqualTo("RestoreFailed");
            assertThat(s.message).contains(fullKey.substring(fullKey.lastIndexOf('/') + 1)).contains("nothing was restored");
            assertThat(out).doesNotExist();
            assertThat(out.resolveSibling("damaged.qcow2.partial")).doesNotExist();
            assertThat(storage.resolve(NS).resolve(".qmpbackup-remote/damaged")).doesNotExist();
        } finally {
            put(fullKey, original);
        }
    }

    @Test
    @Order(4)
    void aLocationWithoutARemoteIsRefusedBeforeAnythingIsTouched() {
        Path out = storage.resolveSibling("plain").resolve(NS).resolve("none.qcow2");
        VMRestoreStatus s = restore("no-remote", r -> {
            r.source.backup = null;
            r.source.storage = new StorageRef();
            r.source.storage.location = "plain";
            r.source.storage.path = "web1";
            r.source.disk = "web1.qcow2";
            r.targetFile = out.toString();
        });
        assertThat(s.phase).isEqualTo(Phase.FAILED);
        assertThat(s.reason).as(s.message).isEqualTo("RemoteNotConfigured");
        assertThat(s.message).contains("agent.remotes.plain");
        assertThat(out).doesNotExist();
    }

    @Test
    @Order(5)
    void aStoreThatIsDownFailsTheCopyNotTheBackup() throws Exception {
        Files.move(lost, storage.resolve(NS).resolve("web1")); // node-a's storage is back: its chain goes on
        s3.close();
        s3 = null;
        vm.guestWrite(disk, 10L * MIB, MIB, 0x43);
        VMBackup b = Runs.run(client, Runs.bySocket(NS, "store-down", vm.qmpSocket(), BackupLevel.INC, "web1"));
        assertThat(b.getStatus().phase).as(b.getStatus().message).isEqualTo(Phase.SUCCEEDED);
        VMBackupStatus s = awaitOffsite("store-down", OffsiteStatus.FAILED);
        assertThat(s.phase).isEqualTo(Phase.SUCCEEDED);
        assertThat(s.offsite.attempts).isEqualTo(2);
        assertThat(s.offsite.message).contains("the local backup stands");
        Condition c = condition(s, "Offsite");
        assertThat(c.getStatus()).isEqualTo("False");
        assertThat(c.getReason()).isEqualTo("UploadFailed");
    }

    private VMBackupStatus backup(String name, BackupLevel level) {
        VMBackup b = Runs.run(client, Runs.bySocket(NS, name, vm.qmpSocket(), level, "web1"));
        assertThat(b.getStatus().phase).as(b.getStatus().message).isEqualTo(Phase.SUCCEEDED);
        return awaitOffsite(name, OffsiteStatus.UPLOADED);
    }

    private VMBackupStatus awaitOffsite(String name, String state) {
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(() -> {
            VMBackupStatus s = client.resources(VMBackup.class).inNamespace(NS).withName(name).get().getStatus();
            return s.offsite != null && (state.equals(s.offsite.state) || OffsiteStatus.FAILED.equals(s.offsite.state));
        });
        VMBackupStatus s = client.resources(VMBackup.class).inNamespace(NS).withName(name).get().getStatus();
        assertThat(s.offsite.state).as(s.offsite.message).isEqualTo(state);
        return s;
    }

    private VMRestoreStatus restore(String name, Consumer<VMRestoreSpec> more) {
        VMRestore r = new VMRestore();
        r.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
        VMRestoreSpec spec = new VMRestoreSpec();
        spec.source = new RestoreSource();
        spec.source.backup = "inc";
        spec.source.remote = true;
        spec.mode = RestoreMode.MERGE;
        spec.node = "node-b";
        more.accept(spec);
        r.setSpec(spec);
        client.resource(r).create();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(() -> {
            VMRestoreStatus s = client.resources(VMRestore.class).inNamespace(NS).withName(name).get().getStatus();
            return s != null && s.phase != null && s.phase.terminal();
        });
        return client.resources(VMRestore.class).inNamespace(NS).withName(name).get().getStatus();
    }

    private static Condition condition(VMBackupStatus s, String type) {
        return s.conditions.stream().filter(c -> type.equals(c.getType())).findFirst().orElseThrow();
    }

    private List<String> keys() {
        return s3.blobs().list(BUCKET, ListContainerOptions.Builder.recursive()).stream().map(StorageMetadata::getName)
                .sorted().toList();
    }

    private byte[] blob(String key) throws Exception {
        return s3.object(BUCKET, key);
    }

    private void put(String key, byte[] bytes) {
        s3.replace(BUCKET, key, bytes);
    }

    private static byte[] pattern(int value, int n) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, (byte) value);
        return b;
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        return S3TestServer.indexOf(hay, needle);
    }

    private static void write(Path p, String text) {
        try {
            Files.writeString(p, text);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
