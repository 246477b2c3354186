package io.qmpbackup.engine.restore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpbackup.engine.backup.BackupLevel;
import io.qmpbackup.engine.backup.BackupOptions;
import io.qmpbackup.engine.backup.BackupResult;
import io.qmpbackup.engine.repository.AtomicFiles;
import io.qmpbackup.engine.repository.TargetLock;
import io.qmpbackup.engine.testing.Chains;
import io.qmpbackup.engine.testing.Coreutils;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.RecordingLog;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import io.qmpbackup.engine.testing.CliProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import io.qmpbackup.engine.backup.BackupLog;
import io.qmpbackup.engine.backup.Cancellation;
import io.qmpbackup.engine.service.RestoreOutcome;
import io.qmpbackup.engine.service.RestoreRequest;
import io.qmpbackup.engine.service.RestoreService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * qmprestore against a real chain: FULL + 3 INC (the second compressed), taken by the engine
 * from a real QEMU, with a distinct pattern written before each backup, so the content of
 * every restore point is known (a copy of the live disk taken right after each backup).
 */
class RestoreIT {
    private static final int MIB = 1 << 20;

    @TempDir
    static Path base;

    static Path target;
    static Path folder;
    static final List<Path> expected = new ArrayList<>();
    static final List<String> points = new ArrayList<>();

    @TempDir
    Path tmp;

    @BeforeAll
    static void takeChain() throws Exception {
        Path img = QemuTools.createQcow2(base.resolve("disk1.qcow2"), "16M");
        DiskSpec disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        target = base.resolve("backup");
        folder = target.resolve("disk1.qcow2");
        try (TestVm vm = TestVm.start(base, List.of(disk))) {
            for (int step = 0; step < 4; step++) {
                vm.guestWrite(disk, (long) step * 2 * MIB, MIB, 0x10 + step);
                vm.guestWrite(disk, 12L * MIB, 65536, 0x40 + step);
                BackupLevel level = step == 0 ? BackupLevel.FULL : BackupLevel.INC;
                BackupResult r = Chains.backup(vm, BackupOptions.builder(level, target).compress(step == 2).build(),
                        new RecordingLog());
                points.add(r.disks().get(0).file().getFileName().toString());
                vm.flush(disk);
                Path copy = base.resolve("expected-" + step + ".qcow2");
                QemuTools.run("qemu-img", "convert", "-U", "-O", "qcow2", img.toString(), copy.toString());
                expected.add(copy);
            }
        }
    }

    /** A copy of the whole backup target (folder and the manifest beside it), for in-place modes. */
    private Path copyOfFolder() throws IOException {
        Path t = tmp.resolve("copy");
        try (Stream<Path> s = Files.walk(target)) {
            for (Path p : s.toList()) {
                Path d = t.resolve(target.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(d);
                } else {
                    Files.copy(p, d, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
        return t.resolve("disk1.qcow2");
    }

    private static void assertSame(Path restored, String fmt, int point) throws IOException {
        QemuTools.Result cmp = QemuTools.compare(expected.get(point), "qcow2", restored, fmt);
        assertThat(cmp.exit()).as("restore point %d (%s): %s", point, points.get(point), cmp.out()).isZero();
    }

    private static Map<String, String> checksums(Path dir) throws IOException {
        Map<String, String> sums = new LinkedHashMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.sorted().toList()) {
                sums.put(p.getFileName().toString(), AtomicFiles.sha256(p));
            }
        }
        return sums;
    }

    private CliProcess restore(String... args) throws Exception {
        return CliProcess.runTool(tmp, "qmprestore", args);
    }

    private CliProcess ok(String... args) throws Exception {
        CliProcess c = restore(args);
        assertThat(c.exitCode()).as(c.toString()).isZero();
        return c;
    }

    @Test
    void mergeRestoresEveryPointAndLeavesTheBackupsUntouched() throws Exception {
        Map<String, String> before = checksums(folder);
        ok("merge", "--dir", folder.toString(), "--targetfile", tmp.resolve("latest.qcow2").toString());
        assertSame(tmp.resolve("latest.qcow2"), "qcow2", 3);
        for (int p = 0; p < 4; p++) {
            String until = p % 2 == 0 ? points.get(p) : points.get(p).replaceAll("^(INC-\\d+)-.*", "$1");
            Path out = tmp.resolve("point-" + p + ".qcow2");
            ok("merge", "--dir", folder.toString(), "--targetfile", out.toString(), "--until", until);
            assertSame(out, "qcow2", p);
        }
        assertThat(checksums(folder)).isEqualTo(before);
        assertThat(tmp.resolve("latest.qcow2.partial")).doesNotExist();
    }

    @ParameterizedTest(name = "until point {0}")
    @ValueSource(ints = {3, 1})
    void rebaseInPlaceLinksTheImage(int point) throws Exception {
        Path dir = copyOfFolder();
        List<String> args = new ArrayList<>(List.of("rebase", "--dir", dir.toString()));
        if (point != 3) {
            args.addAll(List.of("--until", points.get(point)));
        }
        ok(args.toArray(String[]::new));
        Path image = dir.resolve("image");
        assertThat(Files.isSymbolicLink(image)).isTrue();
        assertThat(Files.readSymbolicLink(image).toString()).isEqualTo(points.get(point));
        assertSame(image, "qcow2", point);
        CliProcess again = restore("rebase", "--dir", dir.toString());
        assertThat(again.exitCode()).isEqualTo(1);
        assertThat(again.stderr()).contains("already been rebased");
        // rebase wrote each INC's backing file and recorded the new checksums: verify still holds
        ok("verify", "--dir", dir.toString());
    }

    @Test
    void anInPlaceRestoreWaitsWhileABackupOrPruneHoldsTheTarget() throws Exception {
        Path dir = copyOfFolder();
        Path copiedTarget = dir.getParent();
        assertThat(copiedTarget.resolve(TargetLock.FILE)).as("backups leave the lock file").exists();
        CliProcess c;
        try (TargetLock held = TargetLock.acquire(copiedTarget, java.time.Duration.ofSeconds(1), "the test")) {
            c = CliProcess.startTool(tmp, "qmprestore", "commit", "--dir", dir.toString());
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).until(() ->
                    (c.stdout() + c.stderr()).contains("waits for another backup or prune"));
            org.awaitility.Awaitility.await().during(java.time.Duration.ofSeconds(1))
                    .atMost(java.time.Duration.ofSeconds(2)).until(c::isAlive);
            assertThat(dir.resolve(points.get(1))).as("nothing changed while it waited").exists();
        }
        assertThat(c.waitFor()).as(c.toString()).isZero();
        assertSame(dir.resolve(points.get(0)), "qcow2", 3);
        assertThat(dir.resolve(points.get(1))).doesNotExist();
    }

    @ParameterizedTest(name = "until point {0}")
    @ValueSource(ints = {3, 2})
    void commitIntoTheFull(int point) throws Exception {
        Path dir = copyOfFolder();
        List<String> args = new ArrayList<>(List.of("commit", "--dir", dir.toString(), "--rate-limit",
                Integer.toString(512 * MIB)));
        if (point != 3) {
            args.addAll(List.of("--until", points.get(point)));
        }
        ok(args.toArray(String[]::new));
        assertSame(dir.resolve(points.get(0)), "qcow2", point);
        for (int p = 1; p <= point; p++) {
            assertThat(dir.resolve(points.get(p))).doesNotExist();
        }
        ok("verify", "--dir", dir.toString());
        if (point < 3) {
            // the INC after the point now builds on the FULL: the rest of the chain still restores
            ok("merge", "--dir", dir.toString(), "--targetfile", tmp.resolve("rest.qcow2").toString());
            assertSame(tmp.resolve("rest.qcow2"), "qcow2", 3);
        }
    }

    @Test
    void snapshotRebaseKeepsEveryPointAsAnInternalSnapshot() throws Exception {
        Path dir = copyOfFolder();
        ok("snapshotrebase", "--dir", dir.toString());
        Path full = dir.resolve(points.get(0));
        assertSame(full, "qcow2", 3);
        String list = QemuTools.run("qemu-img", "snapshot", "-l", full.toString());
        List<String> names = list.lines().skip(2).map(l -> l.trim().split("\\s+")[1]).toList();
        assertThat(names).hasSize(4).first().isEqualTo("FULL-BACKUP");
        for (int p = 0; p < 4; p++) {
            Path out = tmp.resolve("snap-" + p + ".qcow2");
            QemuTools.run("qemu-img", "convert", "-l", "snapshot.name=" + names.get(p), "-O", "qcow2", full.toString(),
                    out.toString());
            assertSame(out, "qcow2", p);
        }
    }

    @Test
    void snapshotRebaseUntilAPointStopsThere() throws Exception {
        Path dir = copyOfFolder();
        ok("snapshotrebase", "--dir", dir.toString(), "--until", points.get(1).replaceAll("^(INC-\\d+)-.*", "$1"));
        Path full = dir.resolve(points.get(0));
        assertSame(full, "qcow2", 1);
        assertThat(QemuTools.run("qemu-img", "snapshot", "-l", full.toString()).lines().skip(2).count()).isEqualTo(2);
        assertThat(dir.resolve(points.get(1))).doesNotExist();
        // the rest of the chain now builds on the FULL and still restores the newest point
        ok("merge", "--dir", dir.toString(), "--targetfile", tmp.resolve("rest.qcow2").toString());
        assertSame(tmp.resolve("rest.qcow2"), "qcow2", 3);
    }

    @Test
    void dryRunPrintsTheStepsAndChangesNothing() throws Exception {
        Path dir = copyOfFolder();
        Map<String, String> before = checksums(dir);
        CliProcess c = ok("commit", "--dir", dir.toString(), "--dry-run");
        assertThat(c.stdout()).contains("qemu-img rebase -u -f qcow2 -F qcow2 -b " + points.get(0))
                .contains("qemu-img commit -q -f qcow2 " + dir.resolve(points.get(1)));
        assertThat(checksums(dir)).isEqualTo(before);
        CliProcess m = ok("merge", "--dir", dir.toString(), "--targetfile", tmp.resolve("x.qcow2").toString(),
                "--dry-run");
        assertThat(m.stdout()).contains("qemu-img convert").contains("json:");
        assertThat(tmp.resolve("x.qcow2")).doesNotExist();
    }

    @Test
    void refusalsComeBeforeAnyChange() throws Exception {
        Path dir = copyOfFolder();
        Map<String, String> before = checksums(dir);
        CliProcess unknown = restore("commit", "--dir", dir.toString(), "--until", "INC-1");
        assertThat(unknown.exitCode()).isEqualTo(1);
        assertThat(unknown.stderr()).contains("--until INC-1 names no backup").contains(points.get(1));

        Files.writeString(dir.resolve("INC-9999999999-disk1.qcow2.partial"), "half");
        CliProcess partial = restore("rebase", "--dir", dir.toString());
        assertThat(partial.stderr()).contains("unfinished backup file");
        Files.delete(dir.resolve("INC-9999999999-disk1.qcow2.partial"));

        Files.move(dir.resolve(points.get(2)), tmp.resolve(points.get(2)));
        CliProcess gap = restore("merge", "--dir", dir.toString(), "--targetfile", tmp.resolve("g.qcow2").toString());
        assertThat(gap.exitCode()).isEqualTo(1);
        assertThat(gap.stderr()).contains("gap").contains(points.get(2));
        Files.move(tmp.resolve(points.get(2)), dir.resolve(points.get(2)));

        Files.move(dir.resolve(points.get(0)), tmp.resolve(points.get(0)));
        CliProcess noFull = restore("merge", "--dir", dir.toString(), "--targetfile", tmp.resolve("f.qcow2").toString());
        assertThat(noFull.exitCode()).isEqualTo(1);
        assertThat(noFull.stderr()).contains(points.get(0)).contains("missing");
        Files.move(tmp.resolve(points.get(0)), dir.resolve(points.get(0)));

        assertThat(checksums(dir)).isEqualTo(before);
        assertThat(tmp.resolve("g.qcow2")).doesNotExist();
    }

    @Test
    void verifyFindsAFlippedByteInAnyFileOfAFolderCopiedAlone() throws Exception {
        // the disk's folder alone, as a user copies it off-site: the manifest beside it stays behind
        Path dir = Files.createDirectories(tmp.resolve("offsite/disk1.qcow2"));
        try (Stream<Path> s = Files.list(folder)) {
            for (Path p : s.toList()) {
                Files.copy(p, dir.resolve(p.getFileName()), StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
        assertThat(dir.getParent().resolve("disk1.qcow2.chain.json")).doesNotExist();
        // taken through the checksum sink: the chunked record (old folders' SHA256SUMS: ChecksumSinkIT)
        Path record = dir.resolve("SHA256CHUNKS-disk1.qcow2.config");
        assertThat(record).exists();
        assertThat(dir.resolve("SHA256SUMS-disk1.qcow2.config")).doesNotExist();
        CliProcess clean = ok("verify", "--dir", dir.toString());
        assertThat(clean.stdout()).contains("4 file(s) sound, 4 matched");
        // standard tools check the folder too, with the README's loop
        QemuTools.Result tools = Coreutils.checkFolder(dir, record);
        assertThat(tools.exit()).as(tools.out()).isZero();
        assertThat(tools.out().lines()).hasSize(4).allMatch(l -> l.endsWith(": OK"));
        for (int p = 0; p < 4; p++) {
            Path f = dir.resolve(points.get(p));
            long offset = Files.size(f) - 4096 - 17;
            flip(f, offset);
            CliProcess damaged = restore("verify", "--dir", dir.toString());
            assertThat(damaged.exitCode()).as(damaged.toString()).isEqualTo(1);
            assertThat(damaged.stderr()).contains(points.get(p));
            QemuTools.Result seen = Coreutils.checkFolder(dir, record);
            assertThat(seen.exit()).as("coreutils see it too: " + seen.out()).isNotZero();
            assertThat(seen.out()).contains(points.get(p) + ": FAILED");
            flip(f, offset);
        }
        ok("verify", "--dir", dir.toString());

        // the record keeps the order too: a file gone from the middle is a gap, not a shorter chain
        Path second = dir.resolve(points.get(1));
        Files.move(second, tmp.resolve(points.get(1)));
        CliProcess gap = restore("merge", "--dir", dir.toString(), "--targetfile", tmp.resolve("g.qcow2").toString());
        assertThat(gap.exitCode()).as(gap.toString()).isEqualTo(1);
        assertThat(gap.stderr()).contains("has a gap").contains(points.get(1));
        Files.move(tmp.resolve(points.get(1)), second);

        // no record and no manifest: nothing to check the bytes against, which is no pass
        Files.delete(record);
        CliProcess unchecked = restore("verify", "--dir", dir.toString());
        assertThat(unchecked.exitCode()).as(unchecked.toString()).isEqualTo(1);
        assertThat(unchecked.stderr()).contains("no checksum recorded").contains("--structure-only");
        CliProcess structure = ok("verify", "--structure-only", "--dir", dir.toString());
        assertThat(structure.stdout()).contains("4 file(s) sound, 0 matched");
    }

    @Test
    void qmpbackupStyleFolderWithoutManifestOrBackingHeaders() throws Exception {
        // what qmpbackup 0.67 writes: no manifest, INC files that name no backing file, and
        // modification times that say nothing about the order
        Path dir = Files.createDirectories(tmp.resolve("qmpbackup/ide0-hd0"));
        for (int p = 0; p < 4; p++) {
            Path copy = dir.resolve(points.get(p));
            Files.copy(folder.resolve(points.get(p)), copy);
            if (p > 0) {
                QemuTools.run("qemu-img", "rebase", "-u", "-f", "qcow2", "-b", "", copy.toString());
            }
            Files.setLastModifiedTime(copy, FileTime.fromMillis(1_000_000_000_000L - p * 1000L));
        }
        assertThat(QemuTools.run("qemu-img", "info", dir.resolve(points.get(3)).toString())).doesNotContain("backing");
        ok("merge", "--dir", dir.toString(), "--targetfile", tmp.resolve("m.qcow2").toString(), "--until",
                points.get(2));
        assertSame(tmp.resolve("m.qcow2"), "qcow2", 2);
        ok("rebase", "--dir", dir.toString());
        assertSame(dir.resolve("image"), "qcow2", 3);
    }

    @Test
    void rawDiskChainRestoresWholeAndUntruncated() throws Exception {
        Path raw = QemuTools.createRaw(tmp.resolve("lvm.raw"), "24M");
        QemuTools.write(raw, "raw", 23L * MIB, MIB, 0x5d);
        DiskSpec disk = new DiskSpec("vdb", raw, "raw", Attach.DRIVE_VIRTIO, null);
        Path t = tmp.resolve("rawbackup");
        try (TestVm vm = TestVm.start(tmp, List.of(disk))) {
            Chains.backup(vm, BackupOptions.builder(BackupLevel.FULL, t).includeRaw(true).build(), new RecordingLog());
        }
        // restored onto tmpfs (O_DIRECT there depends on the kernel: the merge probes and falls back)
        Path shm = Files.createTempDirectory(Path.of("/dev/shm"), "qmprestore");
        Path out = shm.resolve("restored.raw");
        try {
            ok("merge", "--dir", t.resolve("lvm.raw").toString(), "--targetfile", out.toString());
            assertThat(Files.size(out)).isEqualTo(Files.size(raw));
            assertThat(QemuTools.compare(raw, "raw", out, "raw").exit()).isZero();
        } finally {
            Files.deleteIfExists(out);
            Files.delete(shm);
        }
        ok("verify", "--dir", t.resolve("lvm.raw").toString());
    }

    /** A log that cancels the restore when a step it names starts. */
    private static BackupLog cancelWhen(String stepStart, Cancellation cancel, List<String> warnings) {
        return new BackupLog() {
            @Override
            public void info(String message) {
                if (message.startsWith(stepStart)) {
                    cancel.cancel("test");
                }
            }

            @Override
            public void warn(String message) {
                warnings.add(message);
            }
        };
    }

    @Test
    void aCancelBetweenStepsStopsAMergeAndLeavesNoImageBehind() throws Exception {
        Path out = tmp.resolve("merged.qcow2");
        Cancellation cancel = new Cancellation();
        List<String> warnings = new ArrayList<>();
        Map<String, String> before = checksums(folder);
        assertThatThrownBy(() -> RestoreService.standard().restore(new RestoreRequest(RestoreRequest.Mode.MERGE,
                folder, null, out, false, 0), cancelWhen("qemu-img convert", cancel, warnings), cancel))
                .isInstanceOf(RestoreException.class)
                .hasMessageContaining("cancelled (test) before: qemu-img check");
        assertThat(out).doesNotExist();
        assertThat(ChainRestore.partialOf(out)).doesNotExist();
        assertThat(checksums(folder)).isEqualTo(before);
    }

    @Test
    void anInPlaceRestoreStopsBeforeItsFirstChangeButOnceChangingRunsToItsEnd() throws Exception {
        Path dir = copyOfFolder();
        Map<String, String> before = checksums(dir);
        Cancellation early = new Cancellation();
        RestoreRequest commit = new RestoreRequest(RestoreRequest.Mode.COMMIT, dir, null, null, false, 0);
        assertThatThrownBy(() -> RestoreService.standard().restore(commit,
                cancelWhen("qemu-img check", early, new ArrayList<>()), early))
                .hasMessageContaining("cancelled (test)").hasMessageContaining("the backup files are unchanged");
        assertThat(checksums(dir)).isEqualTo(before);

        Cancellation late = new Cancellation();
        List<String> warnings = new ArrayList<>();
        RestoreOutcome done = RestoreService.standard().restore(commit, cancelWhen("qemu-img rebase", late, warnings),
                late);
        assertThat(warnings).anySatisfy(w -> assertThat(w).contains("runs to its end so the chain stays whole"));
        assertThat(done.output().getFileName().toString()).isEqualTo(points.get(0));
        assertSame(done.output(), "qcow2", 3);
    }

    private static void flip(Path f, long offset) throws IOException {
        try (var ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.READ,
                java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1);
            ch.read(b, offset);
            b.put(0, (byte) (b.get(0) ^ 0x01));
            b.rewind();
            ch.write(b, offset);
        }
    }
}
