package io.qmpbackup.engine.restore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpbackup.engine.backup.BackupLevel;
import io.qmpbackup.engine.backup.BackupOptions;
import io.qmpbackup.engine.backup.BackupResult;
import io.qmpbackup.engine.backup.Cancellation;
import io.qmpbackup.engine.repository.AtomicFiles;
import io.qmpbackup.engine.repository.Holds;
import io.qmpbackup.engine.repository.Qcow2Header;
import io.qmpbackup.engine.retention.RetentionPolicy;
import io.qmpbackup.engine.service.PruneOutcome;
import io.qmpbackup.engine.service.RestoreRequest;
import io.qmpbackup.engine.service.RestoreService;
import io.qmpbackup.engine.service.BackupService;
import io.qmpbackup.engine.testing.Chains;
import io.qmpbackup.engine.testing.CliProcess;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.RecordingLog;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Instant recovery against a real chain taken from a real QEMU: FULL + 3 INC, then a second
 * FULL (so retention has an older chain to prune), a known pattern before each backup and a
 * standalone copy of the disk after each, so every point's content is known.
 */
class InstantRecoveryIT {
    private static final int MIB = 1 << 20;
    private static final long SIZE = 32L * MIB;

    static Path base;

    static Path target;
    static final List<Path> expected = new ArrayList<>();
    static final List<String> points = new ArrayList<>();

    @TempDir
    Path tmp;

    @BeforeAll
    static void takeChains() throws Exception {
        takeChainsOnce();
    }

    /** The chain, taken once per test JVM (PointExportIT reads it too); removed when the JVM ends. */
    static synchronized void takeChainsOnce() throws Exception {
        if (!points.isEmpty()) {
            return;
        }
        List<String> names = new ArrayList<>();
        List<Path> copies = new ArrayList<>();
        base = Files.createTempDirectory("instant-chain");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> QemuTools.deleteQuietly(base)));
        Path img = QemuTools.createQcow2(base.resolve("disk1.qcow2"), "32M");
        DiskSpec disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        target = base.resolve("backup");
        try (TestVm vm = TestVm.start(base, List.of(disk))) {
            for (int step = 0; step < 5; step++) {
                vm.guestWrite(disk, (long) step * 4 * MIB, 2 * MIB, 0x10 + step);
                vm.guestWrite(disk, 30L * MIB, 65536, 0x40 + step);
                BackupLevel level = step == 0 || step == 4 ? BackupLevel.FULL : BackupLevel.INC;
                BackupResult r = Chains.backup(vm, BackupOptions.builder(level, target).build(), new RecordingLog());
                names.add(r.disks().get(0).file().getFileName().toString());
                vm.flush(disk);
                Path copy = base.resolve("expected-" + step + ".qcow2");
                QemuTools.run("qemu-img", "convert", "-U", "-O", "qcow2", img.toString(), copy.toString());
                copies.add(copy);
            }
        }
        expected.addAll(copies);
        points.addAll(names); // last: a chain taken halfway is taken again, not read
    }

    @Test
    void overlayIsThePointAndAVmWritingIntoItChangesNoBackupFile() throws Exception {
        Path t = copyOfTarget(tmp.resolve("t"));
        Path folder = t.resolve("disk1.qcow2");
        Map<String, String> before = checksums(folder);
        Path overlay = tmp.resolve("vm1.qcow2");
        InstantOverlay.Result r = service().instant(folder, null, points.get(3), overlay, false, new RecordingLog());

        assertThat(r.point()).hasSize(4);
        assertThat(r.links()).isEmpty();
        assertThat(Qcow2Header.backingFile(overlay)).startsWith("json:");
        assertSame(overlay, 3);
        assertThat(Holds.read(t)).singleElement().satisfies(h -> {
            assertThat(h.overlay()).isEqualTo(overlay);
            assertThat(h.active()).isTrue();
        });

        DiskSpec d = new DiskSpec("vda", overlay, "qcow2", Attach.DRIVE_VIRTIO, null);
        try (TestVm vm = TestVm.start(Files.createDirectories(tmp.resolve("vm")), List.of(d))) {
            vm.guestWrite(d, 0, MIB, 0x77);
            vm.guestWrite(d, 9L * MIB, 3 * MIB, 0x78);
            vm.flush(d);
            vm.quit();
        }
        assertThat(checksums(folder)).as("every backup file, byte for byte").isEqualTo(before);
        assertThat(QemuTools.readsPattern(overlay, "qcow2", 0, MIB, 0x77)).isTrue();
        assertThat(QemuTools.readsPattern(overlay, "qcow2", 9L * MIB, 3 * MIB, 0x78)).isTrue();
        assertThat(QemuTools.readsPattern(overlay, "qcow2", 4L * MIB, 2 * MIB, 0x11)).as("the point below").isTrue();

        Path newest = tmp.resolve("newest.qcow2");
        InstantOverlay.Result n = service().instant(folder, null, null, newest, false, new RecordingLog());
        assertThat(n.point()).extracting(ChainFile::name).containsExactly(points.get(4));
        assertSame(newest, 4);
    }

    @Test
    void aChainTooLongForOneBackingNameGetsLinkImages() throws Exception {
        Path deep = tmp;
        for (int i = 0; i < 4; i++) {
            deep = deep.resolve("a-rather-long-folder-name-so-the-chain-description-outgrows-qcow2-limit-" + i);
        }
        Path t = copyOfTarget(deep);
        Path overlay = tmp.resolve("deep.qcow2");
        InstantOverlay.Result r = service().instant(t.resolve("disk1.qcow2"), null, points.get(3), overlay, false,
                new RecordingLog());
        assertThat(r.links()).hasSize(4); // the folder and one link per INC
        assertThat(Qcow2Header.backingFile(overlay)).isEqualTo(r.links().get(3).toString());
        assertSame(overlay, 3);
    }

    @Test
    void refusalsChangeNothing() throws Exception {
        Path t = copyOfTarget(tmp.resolve("t"));
        Path folder = t.resolve("disk1.qcow2");
        Map<String, String> before = checksums(folder);
        Path exists = Files.writeString(tmp.resolve("exists.qcow2"), "x");
        assertThatThrownBy(() -> service().instant(folder, null, null, exists, false, new RecordingLog()))
                .hasMessageContaining("already exists");
        assertThatThrownBy(() -> service().instant(folder, null, "INC-1", tmp.resolve("o.qcow2"), false,
                new RecordingLog())).hasMessageContaining("names no backup");
        assertThatThrownBy(() -> service().instant(folder, null, null, folder.resolve("o.qcow2"), false,
                new RecordingLog())).hasMessageContaining("inside the backup folder");
        assertThat(checksums(folder)).isEqualTo(before);
        assertThat(Holds.read(t)).isEmpty();
        assertThat(tmp.resolve("o.qcow2")).doesNotExist();
    }

    @Test
    void aHeldChainIsNeitherPrunedNorChangedInPlace() throws Exception {
        Path t = copyOfTarget(tmp.resolve("t"));
        Path folder = t.resolve("disk1.qcow2");
        Path overlay = tmp.resolve("held.qcow2");
        service().instant(folder, null, points.get(2), overlay, false, new RecordingLog());
        RetentionPolicy lastOne = new RetentionPolicy(1, 0, 0, 0, ZoneOffset.UTC);

        RecordingLog dry = new RecordingLog();
        PruneOutcome d = BackupService.standard().prune(t, lastOne, true, Duration.ofSeconds(5), dry);
        assertThat(d.deleted()).isEmpty();
        assertThat(dry.infos).anyMatch(l -> l.contains("held by instant-restore overlay " + overlay));
        PruneOutcome p = BackupService.standard().prune(t, lastOne, false, Duration.ofSeconds(5), new RecordingLog());
        assertThat(p.deleted()).isEmpty();
        assertThat(folder.resolve(points.get(0))).exists();
        assertThatThrownBy(() -> service().restore(new RestoreRequest(RestoreRequest.Mode.COMMIT, folder, null, null,
                false, 0), new RecordingLog(), new Cancellation())).hasMessageContaining("is held by");

        Files.delete(overlay); // the overlay gone: the hold no longer stands
        PruneOutcome after = BackupService.standard().prune(t, lastOne, false, Duration.ofSeconds(5),
                new RecordingLog());
        assertThat(after.deleted()).hasSize(4);
        assertThat(Holds.read(t)).as("the stale hold record is removed").isEmpty();
        assertThat(t.resolve(Holds.FOLDER)).as("and its folder with the last one").doesNotExist();
    }

    @Test
    void streamWithGuestWritesAndInterruptionsEndsStandaloneAndEqual() throws Exception {
        Path t = copyOfTarget(tmp.resolve("t"));
        Path overlay = tmp.resolve("live.qcow2");
        service().instant(t.resolve("disk1.qcow2"), null, points.get(3), overlay, false, new RecordingLog());
        Path want = tmp.resolve("want.qcow2");
        Files.copy(expected.get(3), want);
        DiskSpec d = new DiskSpec("vda", overlay, "qcow2", Attach.DRIVE_VIRTIO, null);
        Path vmDir = Files.createDirectories(tmp.resolve("vm"));
        TestVm vm = TestVm.startRunning(vmDir, List.of(d));
        try {
            // 1: the stream process is signalled halfway: it cancels the job, keeping what it copied
            CliProcess first = CliProcess.startTool(tmp, "qmpbackup", "--socket", vm.qmpSocket().toString(),
                    "stream", "--device", "drive-vda", "--speed-limit", Long.toString(MIB));
            guestWrites(vm, d, want, 0);
            Thread.sleep(1500);
            first.signal("TERM");
            assertThat(first.waitFor()).as(first.toString()).isNotZero();
            assertThat(Qcow2Header.backingFile(overlay)).as("still on its chain").isNotNull();

            // 2: the stream process is killed outright: the job goes on in QEMU, and the next run waits for it
            CliProcess killed = CliProcess.startTool(tmp, "qmpbackup", "--socket", vm.qmpSocket().toString(),
                    "stream", "--device", "drive-vda", "--speed-limit", Long.toString(MIB / 2));
            // a JVM's start is slow on a loaded machine: kill it once its job runs, not after a fixed time
            TestVm running = vm;
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(60))
                    .until(() -> Chains.jobs(running.control()).contains("qmpbackup-stream-drive-vda"));
            Thread.sleep(500);
            killed.signal("KILL");
            killed.waitFor();
            assertThat(Chains.jobs(vm.control())).as("the job outlives its caller").contains("qmpbackup-stream-drive-vda");

            // 3: QEMU itself dies halfway through the run that took the job over; the VM comes back on the overlay
            CliProcess second = CliProcess.startTool(tmp, "qmpbackup", "--socket", vm.qmpSocket().toString(),
                    "stream", "--device", "drive-vda", "--speed-limit", Long.toString(MIB / 2));
            guestWrites(vm, d, want, 1);
            CliProcess taking = second;
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(60))
                    .until(() -> taking.stdout().contains("is already there"));
            Thread.sleep(500);
            vm.flush(d);
            vm.kill();
            second.waitFor();
            assertThat(Qcow2Header.backingFile(overlay)).as("killed halfway: still on its chain").isNotNull();
            vm = TestVm.startRunning(vmDir, List.of(d));

            assertThat(second.stdout()).contains("is already there");

            // 4: run again to the end, guest still writing
            CliProcess last = CliProcess.startTool(tmp, "qmpbackup", "--socket", vm.qmpSocket().toString(),
                    "stream", "--device", "drive-vda");
            guestWrites(vm, d, want, 2);
            assertThat(last.waitFor()).as(last.toString()).isZero();
            assertThat(last.stderr() + last.stdout()).contains("stands alone").contains("1 hold(s) released");
            vm.flush(d);
            vm.quit();
        } finally {
            vm.close();
        }
        assertThat(Qcow2Header.backingFile(overlay)).as("qemu-img info shows no backing").isNull();
        assertThat(QemuTools.run("qemu-img", "info", overlay.toString())).doesNotContain("backing file");
        QemuTools.Result cmp = QemuTools.compare(want, "qcow2", overlay, "qcow2");
        assertThat(cmp.exit()).as(cmp.out()).isZero();
        assertThat(Holds.read(t)).isEmpty();
        PruneOutcome p = BackupService.standard().prune(t, new RetentionPolicy(1, 0, 0, 0, ZoneOffset.UTC), false,
                Duration.ofSeconds(5), new RecordingLog());
        assertThat(p.deleted()).as("after the stream the old chain may go").hasSize(4);
    }

    /** A few writes through the guest device, mirrored offline into {@code want}. */
    private static void guestWrites(TestVm vm, DiskSpec d, Path want, int round) throws Exception {
        for (int i = 0; i < 4; i++) {
            long off = (long) (i * 8 + round * 2) * MIB + 4096L * round;
            int pattern = 0x90 + round * 8 + i;
            vm.guestWrite(d, off, 256 * 1024, pattern);
            QemuTools.write(want, "qcow2", off, 256 * 1024, pattern);
        }
    }

    private static RestoreService service() {
        return RestoreService.standard();
    }

    /** A copy of the whole backup target, so each test may hold, prune and stream. */
    static Path copyOfTarget(Path to) throws IOException {
        return Chains.copyTarget(target, to);
    }

    static void assertSame(Path image, int point) throws IOException {
        QemuTools.Result cmp = QemuTools.compare(expected.get(point), "qcow2", image, "qcow2");
        assertThat(cmp.exit()).as("point %d (%s): %s", point, points.get(point), cmp.out()).isZero();
    }

    static Map<String, String> checksums(Path dir) throws IOException {
        return Chains.sha256s(dir);
    }
}
