package io.qmpbackup.engine.backup;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpbackup.engine.testing.Chains;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.RecordingLog;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The guest comes first (qmpbackup 0.66's --cbw-timeout, QEMU's on-cbw-error=break-snapshot):
 * when copy-before-write cannot save a guest write's old data in time (the disk's reads throttled
 * far below what the write needs) or at all (the fleece folder a 1 MiB tmpfs that fills up), the
 * snapshot breaks instead of the guest's write failing or waiting on; the backup fails saying so,
 * leaves nothing in the VM, and the chain loses nothing: the next incremental rebuilds the disk
 * exactly.
 */
class GuestProtectionIT {
    private static final int MIB = 1 << 20;
    private static final int CBW_TIMEOUT = 5;

    @TempDir
    Path tmp;

    /** The disk as -blockdev: file, a throttle filter (its reads limited at run time), qcow2, the device. */
    private static List<String> readThrottled(Path img) {
        return List.of("-object", "throttle-group,id=tg0",
                "-blockdev", "driver=file,filename=" + img + ",node-name=f0",
                "-blockdev", "driver=throttle,throttle-group=tg0,file=f0,node-name=thr0",
                "-blockdev", "driver=qcow2,file=thr0,node-name=node-vda",
                "-device", "virtio-blk-pci,drive=node-vda,id=vda");
    }

    private static void readLimit(TestVm vm, long bytesPerSecond) throws Exception {
        // a throttle group's limits change at run time through its "limits" property (0: none)
        vm.control().execute("qom-set", java.util.Map.of("path", "/objects/tg0", "property", "limits",
                "value", java.util.Map.of("bps-read", bytesPerSecond)));
    }

    @Test
    void aCopyBeforeWriteThatTimesOutBreaksTheSnapshotAndTheGuestWaitsNoLonger() throws Exception {
        int timeout = 2;
        Path img = QemuTools.createQcow2(tmp.resolve("disk1.qcow2"), "64M");
        QemuTools.write(img, "qcow2", 0, 48 * MIB, 0x5b);
        DiskSpec disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, "node-vda");
        Path target = tmp.resolve("backup");
        RecordingLog log = new RecordingLog();
        TestVm vm = new TestVm(tmp, List.of(), true, readThrottled(img));
        vm.start();
        try (vm) {
            Chains.backup(vm, BackupOptions.builder(BackupLevel.FULL, target).build(), log);
            List<String> bitmapsBefore = Chains.bitmaps(vm.control(), "node-vda");
            vm.guestWrite(disk, 0, 16L * MIB, 0x31);
            // 256 KiB/s of reads: the job (itself limited to 1 MiB/s, so it still needs old data when the
            // guest writes) fills the throttle's bucket, and saving the old data of the 8 MiB write
            // below would take ~32 s more
            readLimit(vm, 256 * 1024);
            CompletableFuture<Throwable> run = CompletableFuture.supplyAsync(() -> {
                try {
                    Chains.backup(vm, BackupOptions.builder(BackupLevel.INC, target).cbwTimeout(timeout)
                            .speedLimit(MIB).build(), log);
                    return null;
                } catch (Exception e) {
                    return e;
                }
            });
            FailureIT.awaitRunningJob(vm);
            long start = System.nanoTime();
            vm.guestWrite(disk, 24L * MIB, 8L * MIB, 0x32);
            long writeMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            readLimit(vm, 0); // the job's reads queued behind the throttle go on now, and find the snapshot broken
            Throwable failure = run.get(120, TimeUnit.SECONDS);

            assertThat(writeMillis).as("the guest's write waited for the timeout, and no longer")
                    .isGreaterThanOrEqualTo(timeout * 1000L - 200).isLessThan(timeout * 1000L + 4000);
            assertBrokenAndNothingLeft(failure, timeout, vm, bitmapsBefore);
            Path rebuilt = nextIncIsExact(vm, disk, target, log);
            assertThat(QemuTools.readsPattern(rebuilt, "qcow2", 24L * MIB, 8L * MIB, 0x32)).isTrue();
            assertThat(QemuTools.readsPattern(rebuilt, "qcow2", 0, 16L * MIB, 0x31)).isTrue();
        }
    }

    @Test
    void aFleeceImageThatCannotBeWrittenBreaksTheSnapshotNotTheGuest() throws Exception {
        Path img = QemuTools.createQcow2(tmp.resolve("disk1.qcow2"), "64M");
        QemuTools.write(img, "qcow2", 0, 32 * MIB, 0x5a);
        DiskSpec disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        Path target = tmp.resolve("backup");
        Path fleece = Files.createDirectories(tmp.resolve("fleece"));
        RecordingLog log = new RecordingLog();
        try (TestVm vm = TestVm.start(tmp, List.of(disk))) {
            Chains.backup(vm, BackupOptions.builder(BackupLevel.FULL, target).build(), log);
            List<String> bitmapsBefore = Chains.bitmaps(vm.control(), "node-vda");
            Mounts.tmpfs(fleece, "1M");
            try {
                // slow enough that the guest's writes land while the job still needs the old data
                BackupOptions slow = BackupOptions.builder(BackupLevel.INC, target).fleeceDir(fleece)
                        .speedLimit(MIB).cbwTimeout(CBW_TIMEOUT).build();
                vm.guestWrite(disk, 0, 16L * MIB, 0x11);
                CompletableFuture<Throwable> run = CompletableFuture.supplyAsync(() -> {
                    try {
                        Chains.backup(vm, slow, log);
                        return null;
                    } catch (Exception e) {
                        return e;
                    }
                });
                FailureIT.awaitRunningJob(vm);
                long start = System.nanoTime();
                // overwrites data the job has not read yet: its old contents must go to the full fleece image
                vm.guestWrite(disk, 20L * MIB, 8L * MIB, 0x22);
                long writeMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                Throwable failure = run.get(120, TimeUnit.SECONDS);

                assertThat(writeMillis).as("the guest's write waited at most the cbw-timeout")
                        .isLessThan(CBW_TIMEOUT * 1000L);
                assertBrokenAndNothingLeft(failure, CBW_TIMEOUT, vm, bitmapsBefore);
            } finally {
                Mounts.unmount(fleece);
            }
            // the guest's writes all went in; the next incremental carries every one of them
            Path rebuilt = nextIncIsExact(vm, disk, target, log);
            assertThat(QemuTools.readsPattern(rebuilt, "qcow2", 20L * MIB, 8L * MIB, 0x22))
                    .as("the write made while the snapshot broke is in the rebuilt disk").isTrue();
        }
    }

    /** The backup failed saying the snapshot broke, and left no node, job, extra bitmap, partial or fleece file. */
    private void assertBrokenAndNothingLeft(Throwable failure, int timeout, TestVm vm, List<String> bitmapsBefore)
            throws Exception {
        assertThat(failure).as("the backup fails").isInstanceOf(BackupException.class);
        assertThat(failure.getMessage()).contains("the snapshot was broken to protect the guest")
                .contains("--cbw-timeout " + timeout).contains("change tracking is unchanged");
        assertThat(Chains.qmpbackupNodes(vm.control())).as("nodes left in the VM").isEmpty();
        assertThat(Chains.jobs(vm.control())).as("jobs left in the VM").isEmpty();
        assertThat(Chains.bitmaps(vm.control(), "node-vda")).as("only the chain's bitmap")
                .hasSameSizeAs(bitmapsBefore);
        try (Stream<Path> s = Files.walk(tmp)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".partial"))
                    .noneMatch(n -> n.contains(".fleece."));
        }
    }

    /** The next INC after the broken one: FULL + INC rebuild the disk exactly; returns the rebuilt image. */
    private Path nextIncIsExact(TestVm vm, DiskSpec disk, Path target, RecordingLog log) throws Exception {
        Chains.backup(vm, BackupOptions.builder(BackupLevel.INC, target).build(), log);
        vm.flush(disk);
        List<Path> chain = Chains.currentChain(target, "disk1.qcow2");
        assertThat(chain).hasSize(2);
        Path rebuilt = QemuTools.reconstruct(chain, tmp.resolve("rebuild"), tmp.resolve("rebuilt.qcow2"));
        QemuTools.Result cmp = QemuTools.compare(disk.image(), "qcow2", rebuilt, "qcow2");
        assertThat(cmp.exit()).as(cmp.out()).isZero();
        return rebuilt;
    }
}
