package io.qmpbackup.engine.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpbackup.engine.testing.Chains;
import io.qmpbackup.engine.testing.CliProcess;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.RecordingLog;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A backup through the checksum sink that fails mid-job (the CLI signalled, killed, or the sink's
 * writes failing on a full target) leaves no partial file, no sink socket, no node, job or
 * temporary bitmap in the VM, the chain bitmap as it was, and the next INC exact.
 */
class ChecksumSinkFailureIT {
    private static final int MIB = 1 << 20;
    private static final TargetIo SINK = new TargetIo(TargetIo.Cache.DIRECT, null, TargetIo.Checksum.SINK);

    @TempDir
    Path tmp;

    private DiskSpec disk;
    private Path target;
    private final RecordingLog log = new RecordingLog();

    private BackupOptions sink(BackupLevel level) {
        return BackupOptions.builder(level, target).targetIo(SINK).build();
    }

    private TestVm startVmWithFullBackup(Path targetDir) throws Exception {
        Path img = QemuTools.createQcow2(tmp.resolve("disk1.qcow2"), "64M");
        QemuTools.write(img, "qcow2", 0, 8 * MIB, 0x5a);
        disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        target = targetDir;
        TestVm vm = TestVm.start(tmp, List.of(disk));
        Chains.backup(vm, sink(BackupLevel.FULL), log);
        vm.guestWrite(disk, 16L * MIB, 20L * MIB, 0x6b);
        vm.guestWrite(disk, 4096, 4096, 0x7c);
        return vm;
    }

    @ParameterizedTest(name = "SIG{0}")
    @ValueSource(strings = {"TERM", "KILL"})
    void aSignalledRunLeavesNothingAndTheNextIncIsExact(String signal) throws Exception {
        try (TestVm vm = startVmWithFullBackup(tmp.resolve("backup"))) {
            CliProcess cli = CliProcess.start(tmp, "--socket", vm.qmpSocket().toString(), "backup", "--level", "inc",
                    "--target", target.toString(), "--checksum", "sink", "--speed-limit", Integer.toString(2 * MIB));
            FailureIT.awaitRunningJob(vm);
            assertThat(sockets()).as("the sink listens while the job runs").hasSize(1);
            cli.signal(signal);
            assertThat(cli.waitFor()).as(cli.toString()).isNotZero();
            if (signal.equals("KILL")) {
                // nothing could clean up: the next run does, first
                assertThat(Chains.qmpbackupNodes(vm.control())).isNotEmpty();
                Chains.backup(vm, sink(BackupLevel.INC), log);
                assertThat(log.warnings).anyMatch(w -> w.contains("checksum sink socket of an interrupted run"));
            } else {
                assertThat(cli.stderr()).contains("cancelled");
                assertNothingLeft(vm);
                Chains.backup(vm, sink(BackupLevel.INC), log);
            }
            assertNothingLeft(vm);
            assertChainEqualsDisk(vm, 2);
        }
    }

    @Test
    void sinkWritesFailingOnAFullTargetLoseNothingAndLeaveNothing() throws Exception {
        Path small = Files.createDirectories(tmp.resolve("small"));
        Mounts.tmpfs(small, "24M");
        try (TestVm vm = startVmWithFullBackup(small.resolve("backup"))) {
            assertThatThrownBy(() -> Chains.backup(vm, sink(BackupLevel.INC), log))
                    .isInstanceOf(BackupException.class).hasMessageContaining("change tracking is unchanged");
            assertNothingLeft(vm);
            Mounts.remount(small, "96M");
            Chains.backup(vm, sink(BackupLevel.INC), log);
            assertNothingLeft(vm);
            assertChainEqualsDisk(vm, 2);
        } finally {
            Mounts.unmount(small);
        }
    }

    private List<Path> sockets() throws Exception {
        try (Stream<Path> s = Files.walk(tmp)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".sink")).toList();
        }
    }

    private void assertNothingLeft(TestVm vm) throws Exception {
        assertThat(Chains.qmpbackupNodes(vm.control())).as("qmpbackup nodes in the VM").isEmpty();
        assertThat(Chains.jobs(vm.control())).as("jobs in the VM").isEmpty();
        assertThat(Chains.bitmaps(vm.control(), "node-vda")).as("bitmaps: only the chain's")
                .hasSize(1).allMatch(b -> !b.startsWith("qmpbackup-run-"));
        assertThat(sockets()).as("sink sockets").isEmpty();
        try (Stream<Path> s = Files.walk(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".partial"))
                    .noneMatch(n -> n.contains(".fleece."));
        }
    }

    private void assertChainEqualsDisk(TestVm vm, int expectedFiles) throws Exception {
        vm.flush(disk);
        List<Path> chain = Chains.currentChain(target, "disk1.qcow2");
        assertThat(chain).hasSize(expectedFiles);
        Path rebuilt = QemuTools.reconstruct(chain, tmp.resolve("rebuild"), tmp.resolve("rebuilt.qcow2"));
        QemuTools.Result cmp = QemuTools.compare(disk.image(), "qcow2", rebuilt, "qcow2");
        assertThat(cmp.exit()).as(cmp.out()).isZero();
    }
}
