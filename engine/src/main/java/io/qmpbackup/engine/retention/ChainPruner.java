package io.qmpbackup.engine.retention;

import io.qmpbackup.engine.backup.BackupLog;
import io.qmpbackup.engine.repository.AtomicFiles;
import io.qmpbackup.engine.repository.ChainManifest;
import io.qmpbackup.engine.repository.TargetLock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Applies a {@link RetentionPolicy} to a backup target: the target folder itself and its
 * {@code YYYY-MM} folders (--monthly). Works from the chain manifests only ({@link TargetChains}):
 * a disk whose files are not all described by its manifest is left whole, with a warning.
 *
 * <p>Per manifest: the manifest without the pruned backups (and with them listed under
 * {@code pruned}) is written first, then their files are deleted; a month folder whose backups
 * are all gone is removed. A prune cut short leaves files the manifest already lists as pruned;
 * the next prune deletes them. It holds the target's {@link TargetLock}, so it never runs
 * beside a backup of the same target.
 */
public final class ChainPruner {
    private final Path target;
    private final RetentionPolicy policy;
    private final BackupLog log;
    private final Clock clock;
    private final Duration lockWait;

    public ChainPruner(Path target, RetentionPolicy policy, BackupLog log, Clock clock, Duration lockWait) {
        this.target = target;
        this.policy = policy;
        this.log = log;
        this.clock = clock;
        this.lockWait = lockWait;
    }

    /** What a prune did (or, dry, would do). */
    public record Result(int chainsKept, int chainsPruned, List<Path> deleted, long bytesFreed, List<String> kept,
            List<String> warnings) {
    }

    /**
     * What the policy decided.
     *
     * @param keptLines one line per kept chain, saying why
     * @param dropByManifest the entries that go, per manifest; by identity, as --no-timestamp fulls
     *     of different chains share one file name
     */
    private record Plan(int pruned, List<String> keptLines, Map<Path, Set<ChainManifest.Entry>> dropByManifest) {
        int kept() {
            return keptLines.size();
        }
    }

    /** The files a prune deleted (or, dry, would delete) and the bytes that frees. */
    private static final class Freed {
        final List<Path> files = new ArrayList<>();
        long bytes;

        void add(Path file, long size) {
            files.add(file);
            bytes += size;
        }
    }

    public Result prune(boolean dryRun) throws IOException {
        if (!Files.isDirectory(target)) {
            return new Result(0, 0, List.of(), 0, List.of(), List.of());
        }
        try (TargetLock lock = TargetLock.acquire(target, lockWait, "the prune", log::info)) {
            return pruneLocked(dryRun);
        }
    }

    private Result pruneLocked(boolean dryRun) throws IOException {
        List<String> warnings = new ArrayList<>();
        Consumer<String> warn = message -> {
            warnings.add(message);
            log.warn(message);
        };
        Freed freed = new Freed();
        TargetChains chains = TargetChains.read(target,
                dryRun ? (mf, m) -> { } : (mf, m) -> finishEarlierPrune(mf, m, freed), warn);
        Plan plan = decide(chains, dryRun);
        for (Map.Entry<Path, Set<ChainManifest.Entry>> d : plan.dropByManifest().entrySet()) {
            ChainManifest m = chains.manifests().get(d.getKey());
            if (dryRun) {
                countDrop(d.getKey(), m, d.getValue(), freed);
            } else {
                drop(d.getKey(), m, d.getValue(), freed);
            }
        }
        if (!dryRun) {
            new EmptiedMonthFolders(target, log, warn).remove(chains.manifests());
        }
        log.info((dryRun ? "dry run: " : "") + "retention " + policy + ": " + plan.kept() + " chain(s) kept, "
                + plan.pruned() + " pruned, " + freed.files.size() + " file(s), " + freed.bytes + " bytes "
                + (dryRun ? "to free" : "freed"));
        return new Result(plan.kept(), plan.pruned(), List.copyOf(freed.files), freed.bytes,
                List.copyOf(plan.keptLines()), List.copyOf(warnings));
    }

    /** Which chains stay, and why; a chain of an unprunable disk stays whatever the policy says. */
    private Plan decide(TargetChains chains, boolean dryRun) throws IOException {
        Map<Chain, String> keep = policy.keep(chains.byDisk(), Chain::points, chains.trackedChains()::contains);
        List<String> keptLines = new ArrayList<>();
        int pruned = 0;
        Map<Path, Set<ChainManifest.Entry>> dropByManifest = new LinkedHashMap<>();
        ChainHolds holds = new ChainHolds(!dryRun);
        for (List<Chain> diskChains : chains.byDisk().values()) {
            for (Chain c : diskChains) {
                String held = holds.heldBy(c);
                if (held != null && keep.containsKey(c)) {
                    keptLines.add(c.describe(target) + ": kept (" + keep.get(c) + "; held by " + held + ")");
                } else if (held != null) {
                    log.info(c.describe(target) + ": kept although the policy would prune it: held by " + held
                            + "; it goes once the overlay is streamed (qmpbackup stream) or deleted, or the export"
                            + " ends");
                    keptLines.add(c.describe(target) + ": kept (held by " + held + ")");
                } else if (keep.containsKey(c) || chains.unprunable().contains(c.disk())) {
                    keptLines.add(c.describe(target) + ": kept (" + keep.getOrDefault(c, "disk not prunable") + ")");
                } else {
                    pruned++;
                    dropByManifest.computeIfAbsent(c.manifestFile(),
                            k -> Collections.newSetFromMap(new IdentityHashMap<>())).addAll(c.entries());
                    log.info((dryRun ? "would prune " : "pruning ") + c.describe(target));
                }
            }
        }
        keptLines.forEach(log::debug);
        return new Plan(pruned, keptLines, dropByManifest);
    }

    /** What {@link #drop} would delete and free, touching nothing. */
    private static void countDrop(Path manifestFile, ChainManifest m, Set<ChainManifest.Entry> dropped,
            Freed freed) {
        Path folder = TargetChains.filesFolder(manifestFile, m);
        Set<String> stillListed = namesKept(m, dropped);
        for (ChainManifest.Entry x : inManifestOrder(m, dropped)) {
            if (!stillListed.contains(x.file)) {
                freed.add(folder.resolve(x.file), sizeOf(folder.resolve(x.file)));
            }
        }
    }

    /**
     * Writes the manifest without the dropped entries before deleting their files, so a prune cut
     * short leaves only files the manifest lists as pruned, which {@link #finishEarlierPrune} deletes.
     */
    private void drop(Path manifestFile, ChainManifest m, Set<ChainManifest.Entry> dropped, Freed freed)
            throws IOException {
        Path folder = TargetChains.filesFolder(manifestFile, m);
        List<ChainManifest.Entry> drop = inManifestOrder(m, dropped);
        Set<String> stillListed = namesKept(m, dropped);
        moveToPruned(m, drop);
        m.write(manifestFile);
        Set<String> gone = new HashSet<>();
        for (ChainManifest.Entry x : drop) {
            if (stillListed.contains(x.file)) {
                continue;
            }
            Path f = folder.resolve(x.file);
            long size = sizeOf(f);
            if (Files.deleteIfExists(f)) {
                freed.add(f, size);
            }
            gone.add(x.file);
        }
        removeLinksTo(folder, gone);
        AtomicFiles.fsyncDirectory(folder);
    }

    private void moveToPruned(ChainManifest m, List<ChainManifest.Entry> drop) {
        String now = clock.instant().toString();
        for (ChainManifest.Entry x : drop) {
            ChainManifest.Pruned p = new ChainManifest.Pruned();
            p.file = x.file;
            p.level = x.level;
            p.epoch = x.epoch;
            p.fileSize = x.fileSize;
            p.prunedAt = now;
            m.pruned.add(p);
        }
        m.entries.removeAll(drop);
        m.renumber();
    }

    private static List<ChainManifest.Entry> inManifestOrder(ChainManifest m, Set<ChainManifest.Entry> dropped) {
        return m.entries.stream().filter(dropped::contains).toList();
    }

    /** --no-timestamp names every full after the image: a name a kept entry still uses stays. */
    private static Set<String> namesKept(ChainManifest m, Set<ChainManifest.Entry> dropped) {
        Set<String> names = new HashSet<>();
        m.entries.stream().filter(x -> !dropped.contains(x)).forEach(x -> names.add(x.file));
        return names;
    }

    /** Deletes files an earlier, interrupted prune already struck from the manifest. */
    private void finishEarlierPrune(Path manifestFile, ChainManifest m, Freed freed) throws IOException {
        Path files = TargetChains.filesFolder(manifestFile, m);
        if (files == null) {
            return;
        }
        Set<String> listed = new HashSet<>();
        m.entries.forEach(e -> listed.add(e.file));
        for (ChainManifest.Pruned p : m.pruned) {
            if (!TargetChains.plainName(p.file)) {
                continue;
            }
            Path f = files.resolve(p.file);
            if (!listed.contains(p.file) && Files.exists(f)) {
                long size = sizeOf(f);
                Files.delete(f);
                freed.add(f, size);
                log.info("deleted " + f + ": pruned earlier, its deletion had not finished");
            }
        }
    }

    /** The FULL-/COPY- symlinks --no-timestamp made to files now deleted. */
    private static void removeLinksTo(Path folder, Set<String> deleted) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            for (Path p : s.filter(Files::isSymbolicLink).toList()) {
                Path to = Files.readSymbolicLink(p);
                if (to.getFileName() != null && deleted.contains(to.getFileName().toString()) && !Files.exists(p)) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private static long sizeOf(Path f) {
        try {
            return Files.size(f);
        } catch (IOException e) {
            return 0;
        }
    }
}
