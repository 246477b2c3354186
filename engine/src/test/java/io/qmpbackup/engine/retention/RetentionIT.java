package io.qmpbackup.engine.retention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.qmpbackup.engine.backup.BackupCancelledException;
import io.qmpbackup.engine.backup.BackupLevel;
import io.qmpbackup.engine.backup.BackupOptions;
import io.qmpbackup.engine.backup.BackupResult;
import io.qmpbackup.engine.backup.FleecingBackup;
import io.qmpbackup.engine.qmp.QmpClient;
import io.qmpbackup.engine.repository.ChainManifest;
import io.qmpbackup.engine.repository.ChecksumRecord;
import io.qmpbackup.engine.testing.CliProcess;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.RecordingLog;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Retention on chains a real QEMU wrote: what goes is deleted whole, every restore point that
 * is kept still restores to the bytes the disk held at that time, and the chain goes on.
 */
class RetentionIT {
    private static final int MIB = 1 << 20;

    @TempDir
    Path tmp;

    /** A VM with one disk and the backups taken of it, with a copy of the disk at each point. */
    private final class Fleet implements AutoCloseable {
        final Path img;
        final DiskSpec disk;
        final TestVm vm;
        final Path target;
        final Map<String, Path> expected = new LinkedHashMap<>();
        int step;

        Fleet(String name) throws Exception {
            Path dir = Files.createDirectories(tmp.resolve(name));
            img = QemuTools.createQcow2(dir.resolve("disk1.qcow2"), "16M");
            disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
            vm = TestVm.start(dir, List.of(disk));
            target = dir.resolve("backup");
        }

        /** Writes something new, backs up at {@code when}, keeps a copy of the disk as it is now. */
        BackupResult backup(BackupLevel level, String when, boolean monthly) throws Exception {
            step++;
            vm.guestWrite(disk, (long) (step % 14) * MIB, MIB / 2, 0x10 + step);
            Clock clock = Clock.fixed(Instant.parse(when), ZoneOffset.UTC);
            BackupResult r;
            try (QmpClient qmp = QmpClient.connect(vm.qmpSocket(), Duration.ofSeconds(10))) {
                r = new FleecingBackup(qmp, BackupOptions.builder(level, target).monthly(monthly).clock(clock).build(),
                        new RecordingLog()).run();
            }
            vm.flush(disk);
            Path copy = tmp.resolve("expected-" + r.disks().get(0).file().getFileName());
            QemuTools.run("qemu-img", "convert", "-U", "-O", "qcow2", img.toString(), copy.toString());
            expected.put(r.disks().get(0).file().getFileName().toString(), copy);
            return r;
        }

        @Override
        public void close() {
            vm.close();
        }
    }

    private static ChainPruner.Result prune(Path target, RetentionPolicy policy, RecordingLog log) throws Exception {
        return new ChainPruner(target, policy, log, Clock.fixed(Instant.parse("2027-06-01T00:00:00Z"), ZoneOffset.UTC),
                Duration.ofSeconds(30)).prune(false);
    }

    /** The folder's files but its integrity record (checked on its own where it matters). */
    private static List<String> files(Path folder) throws Exception {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> !ChecksumRecord.isRecord(n)).sorted().toList();
        }
    }

    /** Restores {@code point} of the chain in {@code folder} with qmprestore merge and compares it. */
    private void assertRestores(Path folder, String point, Path expected) throws Exception {
        Path out = tmp.resolve("restored-" + point);
        CliProcess c = CliProcess.runTool(tmp, "qmprestore", "merge", "--dir", folder.toString(), "--until", point,
                "--targetfile", out.toString());
        assertThat(c.exitCode()).as(c.toString()).isZero();
        QemuTools.Result cmp = QemuTools.compare(expected, "qcow2", out, "qcow2");
        assertThat(cmp.exit()).as("restore of %s: %s", point, cmp.out()).isZero();
        Files.delete(out);
    }

    @Test
    void keepLastDeletesOldChainsWholeAndEveryKeptPointStillRestores() throws Exception {
        try (Fleet f = new Fleet("keeplast")) {
            List<String> names = new ArrayList<>();
            String[] days = {"01", "02", "03", "04", "05", "06", "07"};
            BackupLevel[] levels = {BackupLevel.FULL, BackupLevel.INC, BackupLevel.FULL, BackupLevel.INC,
                    BackupLevel.INC, BackupLevel.FULL, BackupLevel.INC};
            String chainId = null;
            for (int i = 0; i < days.length; i++) {
                BackupResult r = f.backup(levels[i], "2026-11-" + days[i] + "T02:00:00Z", false);
                chainId = r.chainId();
                names.add(r.disks().get(0).file().getFileName().toString());
            }
            Path folder = f.target.resolve("disk1.qcow2");
            RecordingLog log = new RecordingLog();
            ChainPruner.Result r = prune(f.target, new RetentionPolicy(2, 0, 0, 0, ZoneOffset.UTC), log);

            assertThat(r.chainsPruned()).isEqualTo(1);
            assertThat(r.chainsKept()).isEqualTo(2);
            assertThat(r.deleted()).extracting(p -> p.getFileName().toString()).containsExactly(names.get(0),
                    names.get(1));
            assertThat(r.bytesFreed()).isPositive();
            assertThat(files(folder)).containsExactlyElementsOf(names.subList(2, 7).stream().sorted().toList());
            // the record inside the folder follows the prune: only the kept files, in chain order
            assertThat(ChecksumRecord.read(folder, "disk1.qcow2").keySet()).containsExactlyElementsOf(
                    names.subList(2, 7));
            ChainManifest m = ChainManifest.read(f.target.resolve("disk1.qcow2.chain.json")).orElseThrow();
            assertThat(m.entries).extracting(e -> e.file).containsExactlyElementsOf(names.subList(2, 7));
            assertThat(m.entries).extracting(e -> e.sequence).containsExactly(1, 2, 3, 4, 5);
            assertThat(m.pruned).extracting(p -> p.file).containsExactly(names.get(0), names.get(1));
            assertThat(Files.readString(f.target.resolve("uuid"))).isEqualTo(chainId);

            for (String kept : names.subList(2, 7)) {
                assertRestores(folder, kept, f.expected.get(kept));
            }
            CliProcess gone = CliProcess.runTool(tmp, "qmprestore", "merge", "--dir", folder.toString(), "--until",
                    names.get(1), "--targetfile", tmp.resolve("x.qcow2").toString());
            assertThat(gone.exitCode()).isEqualTo(1);
            assertThat(gone.stderr()).contains("names no backup");
            CliProcess verify = CliProcess.runTool(tmp, "qmprestore", "verify", "--dir", folder.toString());
            assertThat(verify.exitCode()).as(verify.toString()).isZero();

            // change tracking was not touched: the next incremental builds on the newest kept backup
            BackupResult next = f.backup(BackupLevel.AUTO, "2026-11-08T02:00:00Z", false);
            assertThat(next.level()).isEqualTo(BackupLevel.INC);
            String nextName = next.disks().get(0).file().getFileName().toString();
            assertRestores(folder, nextName, f.expected.get(nextName));

            // a second prune with the same policy finds nothing more to do
            ChainPruner.Result again = prune(f.target, new RetentionPolicy(2, 0, 0, 0, ZoneOffset.UTC), log);
            assertThat(again.deleted()).isEmpty();
            assertThat(again.chainsKept()).isEqualTo(2);
        }
    }

    @Test
    void monthlyFoldersGoWholeUnderGfsAndKeptMonthsRestore() throws Exception {
        try (Fleet f = new Fleet("monthly")) {
            f.backup(BackupLevel.AUTO, "2027-01-10T02:00:00Z", true);
            String jan20 = name(f.backup(BackupLevel.AUTO, "2027-01-20T02:00:00Z", true));
            String feb10 = name(f.backup(BackupLevel.AUTO, "2027-02-10T02:00:00Z", true));
            String feb20 = name(f.backup(BackupLevel.AUTO, "2027-02-20T02:00:00Z", true));
            String mar10 = name(f.backup(BackupLevel.AUTO, "2027-03-10T02:00:00Z", true));
            assertThat(mar10).startsWith("FULL-");
            assertThat(files(f.target)).contains("2027-01", "2027-02", "2027-03");

            RecordingLog log = new RecordingLog();
            // dry run first: says what would go, changes nothing
            ChainPruner.Result dry = new ChainPruner(f.target, new RetentionPolicy(0, 0, 0, 2, ZoneOffset.UTC), log,
                    Clock.systemUTC(), Duration.ofSeconds(5)).prune(true);
            assertThat(dry.deleted()).hasSize(2);
            assertThat(files(f.target.resolve("2027-01").resolve("disk1.qcow2"))).hasSize(2);

            ChainPruner.Result r = prune(f.target, new RetentionPolicy(0, 0, 0, 2, ZoneOffset.UTC), log);
            // monthly 2: March's and February's newest points are kept; January goes, folder and all
            assertThat(r.chainsPruned()).isEqualTo(1);
            assertThat(r.deleted()).extracting(p -> p.getFileName().toString()).contains(jan20);
            assertThat(files(f.target)).doesNotContain("2027-01").contains("2027-02", "2027-03");
            assertThat(log.infos).anyMatch(l -> l.contains("removed") && l.contains("2027-01"));
            assertRestores(f.target.resolve("2027-02").resolve("disk1.qcow2"), feb20, f.expected.get(feb20));
            assertRestores(f.target.resolve("2027-02").resolve("disk1.qcow2"), feb10, f.expected.get(feb10));
            assertRestores(f.target.resolve("2027-03").resolve("disk1.qcow2"), mar10, f.expected.get(mar10));
        }
    }

    @Test
    void theNewestGoodChainSurvivesRunsThatFailedAfterIt() throws Exception {
        try (Fleet f = new Fleet("failed")) {
            f.backup(BackupLevel.FULL, "2026-11-01T02:00:00Z", false);
            f.backup(BackupLevel.INC, "2026-11-02T02:00:00Z", false);
            String good = name(f.backup(BackupLevel.FULL, "2026-11-03T02:00:00Z", false));
            // three fulls that fail half-way (cancelled while copying): they must not count as chains
            f.vm.guestWrite(f.disk, 0, 8 * MIB, 0x66);
            for (int i = 0; i < 3; i++) {
                RecordingLog log = new RecordingLog();
                AtomicLong seen = log.progress;
                try (QmpClient qmp = QmpClient.connect(f.vm.qmpSocket(), Duration.ofSeconds(10))) {
                    FleecingBackup b = new FleecingBackup(qmp, BackupOptions.builder(BackupLevel.FULL, f.target)
                            .speedLimit(MIB).clock(Clock.fixed(Instant.parse("2026-11-0" + (4 + i) + "T02:00:00Z"),
                                    ZoneOffset.UTC)).build(), log);
                    CompletableFuture<Throwable> run = CompletableFuture.supplyAsync(() -> {
                        try {
                            b.run();
                            return null;
                        } catch (Exception e) {
                            return e;
                        }
                    });
                    await().atMost(Duration.ofSeconds(30)).until(() -> seen.get() > 0 || run.isDone());
                    b.cancel("test");
                    assertThat(run.get()).isInstanceOf(BackupCancelledException.class);
                }
            }
            Path folder = f.target.resolve("disk1.qcow2");
            assertThat(files(folder)).noneMatch(n -> n.endsWith(".partial"));

            ChainPruner.Result r = prune(f.target, new RetentionPolicy(1, 0, 0, 0, ZoneOffset.UTC), new RecordingLog());
            assertThat(r.chainsKept()).isEqualTo(1);
            assertThat(files(folder)).containsExactly(good);
            assertRestores(folder, good, f.expected.get(good));
        }
    }

    @Test
    void copiesAfterAChainNeverCostTheChainChangeTrackingContinues() throws Exception {
        try (Fleet f = new Fleet("copies")) {
            String full = name(f.backup(BackupLevel.FULL, "2026-11-01T02:00:00Z", false));
            String inc = name(f.backup(BackupLevel.INC, "2026-11-02T02:00:00Z", false));
            String copy1 = name(f.backup(BackupLevel.COPY, "2026-11-03T02:00:00Z", false));
            String copy2 = name(f.backup(BackupLevel.COPY, "2026-11-04T02:00:00Z", false));
            Path folder = f.target.resolve("disk1.qcow2");
            ChainPruner.Result r = prune(f.target, new RetentionPolicy(1, 0, 0, 0, ZoneOffset.UTC), new RecordingLog());
            // keepLast 1 counts the newest copy; the full + inc stay because the bitmap continues them
            assertThat(r.deleted()).extracting(p -> p.getFileName().toString()).containsExactly(copy1);
            assertThat(files(folder)).containsExactlyInAnyOrder(full, inc, copy2);
            String next = name(f.backup(BackupLevel.INC, "2026-11-05T02:00:00Z", false));
            assertRestores(folder, next, f.expected.get(next));
            assertRestores(folder, copy2, f.expected.get(copy2));
        }
    }

    @Test
    void noTimestampFullsThatShareANameAreNeverDeletedUnderTheKeptOne() throws Exception {
        try (Fleet f = new Fleet("notimestamp")) {
            Path folder = f.target.resolve("disk1.qcow2");
            for (int i = 1; i <= 2; i++) {
                f.step++;
                f.vm.guestWrite(f.disk, (long) i * MIB, MIB / 2, 0x30 + i);
                try (QmpClient qmp = QmpClient.connect(f.vm.qmpSocket(), Duration.ofSeconds(10))) {
                    new FleecingBackup(qmp, BackupOptions.builder(BackupLevel.FULL, f.target).noTimestamp(true)
                            .clock(Clock.fixed(Instant.parse("2026-11-0" + i + "T02:00:00Z"), ZoneOffset.UTC)).build(),
                            new RecordingLog()).run();
                }
            }
            f.vm.flush(f.disk);
            ChainPruner.Result r = prune(f.target, new RetentionPolicy(1, 0, 0, 0, ZoneOffset.UTC), new RecordingLog());
            assertThat(r.chainsPruned()).isEqualTo(1);
            assertThat(r.deleted()).isEmpty();
            assertThat(files(folder)).containsExactlyInAnyOrder("disk1.qcow2", "FULL-disk1.qcow2");
            assertThat(QemuTools.compare(f.img, "qcow2", folder.resolve("disk1.qcow2"), "qcow2").exit()).isZero();
        }
    }

    @Test
    void aPruneCutShortIsFinishedByTheNextOne() throws Exception {
        try (Fleet f = new Fleet("resume")) {
            String first = name(f.backup(BackupLevel.FULL, "2026-11-01T02:00:00Z", false));
            String second = name(f.backup(BackupLevel.FULL, "2026-11-02T02:00:00Z", false));
            Path folder = f.target.resolve("disk1.qcow2");
            Path saved = tmp.resolve("saved-first");
            Files.copy(folder.resolve(first), saved);
            prune(f.target, new RetentionPolicy(1, 0, 0, 0, ZoneOffset.UTC), new RecordingLog());
            assertThat(files(folder)).containsExactly(second);

            // as if the process died between writing the manifest and deleting the file
            Files.copy(saved, folder.resolve(first));
            CliProcess restore = CliProcess.runTool(tmp, "qmprestore", "merge", "--dir", folder.toString(),
                    "--targetfile", tmp.resolve("latest.qcow2").toString());
            assertThat(restore.exitCode()).as("a leftover file does not disturb a restore: %s", restore).isZero();

            RecordingLog log = new RecordingLog();
            ChainPruner.Result r = prune(f.target, new RetentionPolicy(1, 0, 0, 0, ZoneOffset.UTC), log);
            assertThat(r.deleted()).extracting(p -> p.getFileName().toString()).containsExactly(first);
            assertThat(log.infos).anyMatch(l -> l.contains("its deletion had not finished"));
            assertThat(files(folder)).containsExactly(second);
        }
    }

    @Test
    void aDiskWhoseChainStartedElsewhereIsLeftWhole() throws Exception {
        try (Fleet f = new Fleet("foreign")) {
            f.backup(BackupLevel.FULL, "2026-11-01T02:00:00Z", false);
            f.backup(BackupLevel.INC, "2026-11-02T02:00:00Z", false);
            f.backup(BackupLevel.FULL, "2026-11-03T02:00:00Z", false);
            // the manifest loses its first entry, as when the chain began with another tool
            Path mf = f.target.resolve("disk1.qcow2.chain.json");
            ChainManifest m = ChainManifest.read(mf).orElseThrow();
            m.entries.remove(0);
            m.write(mf);
            RecordingLog log = new RecordingLog();
            ChainPruner.Result r = prune(f.target, new RetentionPolicy(1, 0, 0, 0, ZoneOffset.UTC), log);
            assertThat(r.deleted()).isEmpty();
            assertThat(r.warnings()).singleElement().asString().contains("starts with incremental")
                    .contains("keeps every backup of this disk");
            assertThat(files(f.target.resolve("disk1.qcow2"))).hasSize(3);

            // a damaged manifest cannot point a deletion outside the chain folder
            Path victim = Files.createDirectories(f.target.getParent().resolve("victim"));
            m = ChainManifest.read(mf).orElseThrow();
            m.entries.add(0, new ChainManifest.Entry());
            m.entries.get(0).level = "full";
            m.entries.get(0).file = "FULL-1-disk1.qcow2";
            Files.writeString(victim.resolve("FULL-1-disk1.qcow2"), "not a backup");
            m.folder = "../../victim";
            m.write(mf);
            ChainPruner.Result outside = prune(f.target, new RetentionPolicy(1, 0, 0, 0, ZoneOffset.UTC), log);
            assertThat(outside.deleted()).isEmpty();
            assertThat(outside.warnings()).anyMatch(w -> w.contains("not beside it"));
            assertThat(victim.resolve("FULL-1-disk1.qcow2")).exists();
            m.folder = "disk1.qcow2";
            m.entries.get(0).file = "../../victim/FULL-1-disk1.qcow2";
            m.write(mf);
            ChainPruner.Result escaping = prune(f.target, new RetentionPolicy(1, 0, 0, 0, ZoneOffset.UTC), log);
            assertThat(escaping.deleted()).isEmpty();
            assertThat(escaping.warnings()).anyMatch(w -> w.contains("not a plain file name"));
            assertThat(victim.resolve("FULL-1-disk1.qcow2")).exists();
        }
    }

    @Test
    void aPruneWaitsForABackupOfTheSameTargetAndKeepsItsEntry() throws Exception {
        try (Fleet f = new Fleet("lock")) {
            f.backup(BackupLevel.FULL, "2026-11-01T02:00:00Z", false);
            f.vm.guestWrite(f.disk, 0, 8 * MIB, 0x77);
            RecordingLog slowLog = new RecordingLog();
            AtomicLong seen = slowLog.progress;
            CompletableFuture<BackupResult> slow = CompletableFuture.supplyAsync(() -> {
                try (QmpClient qmp = QmpClient.connect(f.vm.qmpSocket(), Duration.ofSeconds(10))) {
                    return new FleecingBackup(qmp, BackupOptions.builder(BackupLevel.FULL, f.target).speedLimit(4 * MIB)
                            .clock(Clock.fixed(Instant.parse("2026-11-02T02:00:00Z"), ZoneOffset.UTC)).build(),
                            slowLog).run();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            await().atMost(Duration.ofSeconds(30)).until(() -> seen.get() > 0);
            CompletableFuture<ChainPruner.Result> pruning = CompletableFuture.supplyAsync(() -> {
                try {
                    return prune(f.target, new RetentionPolicy(1, 0, 0, 0, ZoneOffset.UTC), new RecordingLog());
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> !pruning.isDone());
            assertThat(slow.isDone()).isFalse();
            BackupResult second = slow.get();
            ChainPruner.Result r = pruning.get();
            // the prune ran after the backup: it saw the new full and pruned the first chain
            assertThat(r.chainsPruned()).isEqualTo(1);
            ChainManifest m = ChainManifest.read(f.target.resolve("disk1.qcow2.chain.json")).orElseThrow();
            assertThat(m.entries).singleElement().satisfies(e -> assertThat(e.file)
                    .isEqualTo(second.disks().get(0).file().getFileName().toString()));
        }
    }

    @Test
    void theCliPrunesAfterABackupAndOnItsOwn() throws Exception {
        try (Fleet f = new Fleet("cli")) {
            f.backup(BackupLevel.FULL, "2026-11-01T02:00:00Z", false);
            f.backup(BackupLevel.INC, "2026-11-02T02:00:00Z", false);
            Path folder = f.target.resolve("disk1.qcow2");
            CliProcess bad = CliProcess.runTool(tmp, "qmpbackup", "prune", "-t", f.target.toString());
            assertThat(bad.exitCode()).isNotZero();
            assertThat(bad.stderr()).contains("--keep-last");
            CliProcess backup = CliProcess.runTool(tmp, "qmpbackup", "--socket", f.vm.qmpSocket().toString(),
                    "backup", "-l", "full", "-t", f.target.toString(), "--keep-last", "1");
            assertThat(backup.exitCode()).as(backup.toString()).isZero();
            assertThat(files(folder)).singleElement().asString().startsWith("FULL-");
            CliProcess dry = CliProcess.runTool(tmp, "qmpbackup", "prune", "-t", f.target.toString(), "--keep-last",
                    "1", "--dry-run");
            assertThat(dry.exitCode()).as(dry.toString()).isZero();
            assertThat(dry.stdout() + dry.stderr()).contains("0 pruned");
        }
    }

    private static String name(BackupResult r) {
        return r.disks().get(0).file().getFileName().toString();
    }
}
