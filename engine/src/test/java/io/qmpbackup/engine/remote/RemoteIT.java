package io.qmpbackup.engine.remote;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpbackup.engine.service.RemoteService;
import io.qmpbackup.engine.testing.CliProcess;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.RecordingLog;
import io.qmpbackup.engine.testing.S3TestServer;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Off-site copies of a real chain from a real QEMU, through bin/qmpbackup and bin/qmprestore
 * (credentials in their environment, as documented), against S3Proxy on
 * 127.0.0.1: each backup replicated by {@code qmpbackup backup --remote}; one whose remote is
 * unreachable stands locally and exits 3, {@code qmpbackup replicate} catches up; a "second
 * node" with nothing local restores every point byte-exact with {@code qmprestore --remote merge};
 * a damaged object fails the restore, named.
 */
class RemoteIT {
    private static final int MIB = 1 << 20;
    static S3TestServer s3;
    static Path base;
    static Path config;
    static Path target;
    static final List<Path> expected = new ArrayList<>();
    static final List<String> points = new ArrayList<>();
    static final List<Integer> exits = new ArrayList<>();

    @TempDir
    Path tmp;

    @BeforeAll
    static void takeChainWithRemote() throws Exception {
        QemuTools.requireQemu();
        s3 = S3TestServer.start();
        base = Files.createTempDirectory("remote-it");
        config = remoteConfig(base, s3.config("remote-it", "node1", null).bucket(), "http://127.0.0.1:"
                + s3.endpoint().getPort(), false);
        Path unreachable = remoteConfig(base.resolve("down"), "remote-it", "http://127.0.0.1:9", true);
        Path img = QemuTools.createQcow2(base.resolve("disk1.qcow2"), "32M");
        DiskSpec disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        target = Files.createDirectories(base.resolve("backup"));
        try (TestVm vm = TestVm.start(base, List.of(disk))) {
            for (int step = 0; step < 4; step++) {
                vm.guestWrite(disk, (long) step * 5 * MIB, 3 * MIB, 0x21 + step);
                exits.add(cli("qmpbackup", "--socket", vm.qmpSocket().toString(), "backup", "-l",
                        step == 0 ? "full" : "inc", "-t", target.toString(), "--remote",
                        (step == 2 ? unreachable : config).toString()));
                vm.flush(disk);
                Path copy = base.resolve("expected-" + step + ".qcow2");
                QemuTools.run("qemu-img", "convert", "-U", "-O", "qcow2", img.toString(), copy.toString());
                expected.add(copy);
            }
        }
        try (var s = Files.list(target.resolve("disk1.qcow2"))) {
            s.map(p -> p.getFileName().toString()).filter(n -> n.matches("(FULL|INC)-.*")).sorted()
                    .forEach(points::add);
        }
    }

    @AfterAll
    static void stop() throws Exception {
        s3.close();
        QemuTools.deleteQuietly(base);
    }

    /** Runs bin/qmpbackup or bin/qmprestore with the remote's credentials in its environment; returns its exit code. */
    private static int cli(String tool, String... args) throws Exception {
        CliProcess p = CliProcess.startTool(base.resolve("cli"), tool, s3.environment(), args);
        int exit = p.waitFor();
        assertThat(p.stdout() + p.stderr()).doesNotContain(s3.environment().get(RemoteConfig.ENV_SECRET_KEY));
        return exit;
    }

    /**
     * A config file as an admin writes one: credentials from the environment, or ({@code files}) the
     * secret in a file beside it; never in the config.
     */
    private static Path remoteConfig(Path dir, String bucket, String endpoint, boolean files) throws Exception {
        Files.createDirectories(dir);
        var env = s3.environment();
        Files.writeString(dir.resolve("secret"), env.get(RemoteConfig.ENV_SECRET_KEY));
        Path f = dir.resolve("remote.properties");
        Files.writeString(f, "endpoint=" + endpoint + "\nbucket=" + bucket + "\nprefix=node1\npath-style=true\n"
                + (files ? "access-key-id=" + env.get(RemoteConfig.ENV_ACCESS_KEY) + "\nsecret-access-key-file=secret\n"
                : "") + "part-size=5M\npart-checksum=md5\n");
        return f;
    }

    @Test
    void aBackupWhoseRemoteFailsStandsExitsThreeAndReplicateCatchesUp() throws Exception {
        assertThat(exits).containsExactly(0, 0, 3, 0);
        assertThat(points).hasSize(4);
        // the fourth backup replicated everything, the third's files too; a catch-up now sends nothing
        assertThat(cli("qmpbackup", "replicate", "-t", target.toString(), "--remote", config.toString()))
                .isZero();
        var o = RemoteService.standard().replicate(target, RemoteConfig.load(config, s3.environment()), null,
                new RecordingLog());
        assertThat(o.offsite()).isTrue();
        assertThat(o.uploaded()).isZero();
    }

    @Test
    void aNodeThatNeverHeldTheBackupRestoresEveryPointByteExact() throws Exception {
        for (int i = 0; i < points.size(); i++) {
            Path out = tmp.resolve("restored-" + i + ".qcow2");
            assertThat(cli("qmprestore", "--remote", config.toString(), "merge", "--dir", "disk1.qcow2",
                    "--until", points.get(i), "--targetfile", out.toString())).isZero();
            assertThat(QemuTools.compare(out, "qcow2", expected.get(i), "qcow2").exit()).as("point " + i).isZero();
            assertThat(tmp.resolve("restored-" + i + ".qcow2.download")).doesNotExist();
        }
        Path kept = tmp.resolve("node2");
        assertThat(cli("qmprestore", "--remote", config.toString(), "download", "--dir", "disk1.qcow2", "--to",
                kept.toString())).isZero();
        assertThat(cli("qmprestore", "verify", "--dir", kept.resolve("disk1.qcow2").toString())).isZero();
        // the scratch folder beside the target is removed afterwards: never one that was there before
        Path mine = Files.createDirectories(tmp.resolve("again.qcow2.download"));
        Files.writeString(mine.resolve("notes.txt"), "mine");
        assertThat(cli("qmprestore", "--remote", config.toString(), "merge", "--dir", "disk1.qcow2", "--targetfile",
                tmp.resolve("again.qcow2").toString())).isEqualTo(1);
        assertThat(mine.resolve("notes.txt")).hasContent("mine");
        assertThat(tmp.resolve("again.qcow2")).doesNotExist();
    }

    @Test
    void aDamagedObjectFailsTheRestoreAndLeavesNoImage() throws Exception {
        RemoteConfig c = RemoteConfig.load(config, s3.environment());
        RemoteConfig copy = new RemoteConfig(c.endpoint(), c.bucket(), "damaged", c.region(), true, c.accessKeyId(),
                c.secretAccessKey(), null, c.partSize(), 2, 0, PartChecksum.MD5, 0, 0, 0, 0);
        assertThat(RemoteService.standard().replicate(target, copy, null, new RecordingLog()).offsite()).isTrue();
        RemoteReplicationTest.damage(s3.blobs(), c.bucket(), "damaged/disk1.qcow2/" + points.get(1), 70_000);
        Path cfg = tmp.resolve("damaged.properties");
        Files.writeString(cfg, Files.readString(config).replace("prefix=node1", "prefix=damaged"));
        Path out = tmp.resolve("restored.qcow2");
        assertThat(cli("qmprestore", "--remote", cfg.toString(), "merge", "--dir", "disk1.qcow2", "--targetfile",
                out.toString())).isEqualTo(1);
        assertThat(out).doesNotExist();
    }
}
