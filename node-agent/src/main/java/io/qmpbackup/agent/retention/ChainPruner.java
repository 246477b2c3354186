package io.qmpbackup.agent.retention;

import io.qmpbackup.agent.backup.BackupLog;
import io.qmpbackup.agent.repository.AtomicFiles;
import io.qmpbackup.agent.repository.ChainDirectory;
import io.qmpbackup.agent.repository.ChainManifest;
import io.qmpbackup.agent.repository.TargetLock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Applies a {@link RetentionPolicy} to a backup target: the target folder itself and its
 * {@code YYYY-MM} folders (--monthly). Works from the chain manifests only: a disk whose files
 * are not all described by its manifest (a chain begun by another tool, an incremental whose
 * recorded backing file is not the backup before it) is left whole, with a warning.
 *
 * <p>Per manifest: the manifest without the pruned backups (and with them listed under
 * {@code pruned}) is written first, then their files are deleted; a month folder whose backups
 * are all gone is removed. A prune cut short leaves files the manifest already lists as pruned;
 * the next prune deletes them. It holds the target's {@link TargetLock}, so it never runs
 * beside a backup of the same target.
 */
public final class ChainPruner {
    private static final Pattern MONTH = Pattern.compile("\\d{4}-\\d{2}");
    private static final Pattern BACKUP_FILE = Pattern.compile("^(FULL|INC|COPY)-\\d+-.+$");

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

    /** A full and the incrementals built on it, or a copy: one disk's files in one chain folder. */
    record Chain(String disk, Path folder, Path manifestFile, List<ChainManifest.Entry> entries) {
        String first() {
            return entries.get(0).file;
        }

        List<Instant> points() {
            return entries.stream().map(ChainPruner::pointOf).toList();
        }
    }

    /** What a prune did (or, dry, would do). */
    public record Result(int chainsKept, int chainsPruned, List<Path> deleted, long bytesFreed, List<String> kept,
            List<String> warnings) {
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
        List<Path> deleted = new ArrayList<>();
        long[] freed = {0};
        Map<Path, ChainManifest> manifests = new LinkedHashMap<>();
        for (Path folder : chainFolders()) {
            List<Path> folderManifests = manifestFiles(folder);
            for (Path mf : folderManifests) {
                ChainManifest m = ChainManifest.read(mf).orElseThrow();
                manifests.put(mf, m);
                if (!dryRun) {
                    finishEarlierPrune(mf, m, deleted, freed);
                }
            }
            if (folderManifests.isEmpty() && hasBackupFiles(folder)) {
                warn(warnings, folder + " holds backups but no chain manifest (*.chain.json): retention leaves it"
                        + " alone; it only prunes chains written by this tool");
            }
        }

        Map<String, List<Chain>> byDisk = new LinkedHashMap<>();
        Set<String> unprunable = new HashSet<>();
        for (Map.Entry<Path, ChainManifest> e : manifests.entrySet()) {
            ChainManifest m = e.getValue();
            String disk = m.disk != null ? m.disk : e.getKey().getFileName().toString().replace(".chain.json", "");
            String problem = split(e.getKey(), m, disk, byDisk.computeIfAbsent(disk, k -> new ArrayList<>()));
            if (problem != null) {
                unprunable.add(disk);
                warn(warnings, disk + ": " + problem + "; retention keeps every backup of this disk");
            }
        }

        // the newest full-based chain of each disk is what the next incremental builds on, even when
        // copies came after it
        Set<Chain> tracked = new HashSet<>();
        for (List<Chain> chains : byDisk.values()) {
            for (int i = chains.size() - 1; i >= 0; i--) {
                if ("full".equals(chains.get(i).entries().get(0).level)) {
                    tracked.add(chains.get(i));
                    break;
                }
            }
        }
        Map<Chain, String> keep = policy.keep(byDisk, Chain::points, tracked::contains);
        List<String> keptLines = new ArrayList<>();
        int kept = 0;
        int pruned = 0;
        // entries by identity: --no-timestamp fulls of different chains share one file name
        Map<Path, Set<ChainManifest.Entry>> dropByManifest = new LinkedHashMap<>();
        for (List<Chain> chains : byDisk.values()) {
            for (Chain c : chains) {
                if (keep.containsKey(c) || unprunable.contains(c.disk())) {
                    kept++;
                    keptLines.add(describe(c) + ": kept ("
                            + keep.getOrDefault(c, "disk not prunable") + ")");
                } else {
                    pruned++;
                    dropByManifest.computeIfAbsent(c.manifestFile(),
                            k -> java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>()))
                            .addAll(c.entries());
                    log.info((dryRun ? "would prune " : "pruning ") + describe(c));
                }
            }
        }
        keptLines.forEach(l -> log.debug(l));

        for (Map.Entry<Path, Set<ChainManifest.Entry>> d : dropByManifest.entrySet()) {
            Path mf = d.getKey();
            ChainManifest m = manifests.get(mf);
            Path folder = filesFolder(mf, m);
            List<ChainManifest.Entry> drop = m.entries.stream().filter(d.getValue()::contains).toList();
            // --no-timestamp names every full after the image: a name a kept entry still uses stays
            Set<String> stillListed = new HashSet<>();
            m.entries.stream().filter(x -> !d.getValue().contains(x)).forEach(x -> stillListed.add(x.file));
            if (dryRun) {
                for (ChainManifest.Entry x : drop) {
                    if (stillListed.contains(x.file)) {
                        continue;
                    }
                    deleted.add(folder.resolve(x.file));
                    freed[0] += sizeOf(folder.resolve(x.file));
                }
                continue;
            }
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
            m.write(mf);
            Set<String> gone = new HashSet<>();
            for (ChainManifest.Entry x : drop) {
                if (stillListed.contains(x.file)) {
                    continue;
                }
                Path f = folder.resolve(x.file);
                long size = sizeOf(f);
                if (Files.deleteIfExists(f)) {
                    deleted.add(f);
                    freed[0] += size;
                }
                gone.add(x.file);
            }
            removeLinksTo(folder, gone);
            AtomicFiles.fsyncDirectory(folder);
        }
        if (!dryRun) {
            removeEmptyMonths(manifests, warnings);
        }
        log.info((dryRun ? "dry run: " : "") + "retention " + policy + ": " + kept + " chain(s) kept, " + pruned
                + " pruned, " + deleted.size() + " file(s), " + freed[0] + " bytes " + (dryRun ? "to free" : "freed"));
        return new Result(kept, pruned, List.copyOf(deleted), freed[0], List.copyOf(keptLines), List.copyOf(warnings));
    }

    /**
     * Splits one manifest into chains. Returns why the disk cannot be pruned safely, or null: every
     * incremental must follow a full in this manifest and name the backup before it as its backing file.
     */
    private static String split(Path manifestFile, ChainManifest m, String disk, List<Chain> out) {
        Path folder = manifestFile.getParent();
        if (filesFolder(manifestFile, m) == null) {
            return manifestFile + " names its files' folder '" + m.folder + "', which is not beside it";
        }
        for (ChainManifest.Entry e : m.entries) {
            if (!plainName(e.file)) {
                return manifestFile + " lists '" + e.file + "', which is not a plain file name";
            }
        }
        List<Chain> chains = new ArrayList<>();
        List<ChainManifest.Entry> current = null;
        String previous = null;
        for (ChainManifest.Entry e : m.entries) {
            switch (e.level == null ? "" : e.level) {
                case "copy" -> chains.add(new Chain(disk, folder, manifestFile, List.of(e)));
                case "full" -> {
                    current = new ArrayList<>();
                    current.add(e);
                    chains.add(new Chain(disk, folder, manifestFile, current));
                    previous = e.file;
                }
                case "inc" -> {
                    if (current == null) {
                        return manifestFile + " starts with incremental " + e.file + " whose full it does not list";
                    }
                    if (e.backingFile != null && !Path.of(e.backingFile).getFileName().toString().equals(previous)) {
                        return e.file + " builds on " + e.backingFile + ", not on the backup before it (" + previous
                                + ")";
                    }
                    current.add(e);
                    previous = e.file;
                }
                default -> {
                    return manifestFile + " lists " + e.file + " with unknown level '" + e.level + "'";
                }
            }
        }
        out.addAll(chains);
        return null;
    }

    /**
     * The folder a manifest's files lie in: the chain folder itself (--no-subdir) or a folder in
     * it; null for anything else, so a damaged manifest can never point a deletion elsewhere.
     */
    static Path filesFolder(Path manifestFile, ChainManifest m) {
        Path chainDir = manifestFile.toAbsolutePath().getParent().normalize();
        String name = m.folder != null ? m.folder : m.disk;
        if (name == null) {
            return null;
        }
        Path folder = chainDir.resolve(name).normalize();
        return folder.equals(chainDir) || chainDir.equals(folder.getParent()) ? folder : null;
    }

    /** A file name without any folder part. */
    static boolean plainName(String f) {
        return f != null && !f.isEmpty() && !f.equals(".") && !f.equals("..") && f.indexOf('/') < 0
                && f.indexOf('\\') < 0 && f.indexOf('\0') < 0;
    }

    static Instant pointOf(ChainManifest.Entry e) {
        if (e.startedAt != null) {
            try {
                return Instant.parse(e.startedAt);
            } catch (DateTimeParseException ignored) {
                // fall back to the epoch in the name
            }
        }
        return Instant.ofEpochSecond(e.epoch);
    }

    private String describe(Chain c) {
        String where = target.relativize(c.folder()).toString();
        return (where.isEmpty() ? "" : where + "/") + c.disk() + ": " + c.first()
                + (c.entries().size() > 1 ? " + " + (c.entries().size() - 1) + " incremental(s)" : "");
    }

    private List<Path> chainFolders() throws IOException {
        List<Path> folders = new ArrayList<>();
        folders.add(target);
        try (Stream<Path> s = Files.list(target)) {
            s.filter(p -> Files.isDirectory(p) && MONTH.matcher(p.getFileName().toString()).matches()).sorted()
                    .forEach(folders::add);
        }
        return folders;
    }

    private static List<Path> manifestFiles(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".chain.json") && Files.isRegularFile(p)).sorted()
                    .toList();
        }
    }

    private static boolean hasBackupFiles(Path folder) throws IOException {
        try (Stream<Path> s = Files.walk(folder, 2)) {
            return s.anyMatch(p -> BACKUP_FILE.matcher(p.getFileName().toString()).matches());
        }
    }

    /** Deletes files an earlier, interrupted prune already struck from the manifest. */
    private void finishEarlierPrune(Path manifestFile, ChainManifest m, List<Path> deleted, long[] freed)
            throws IOException {
        Path files = filesFolder(manifestFile, m);
        if (files == null) {
            return;
        }
        Set<String> listed = new HashSet<>();
        m.entries.forEach(e -> listed.add(e.file));
        for (ChainManifest.Pruned p : m.pruned) {
            if (!plainName(p.file)) {
                continue;
            }
            Path f = files.resolve(p.file);
            if (!listed.contains(p.file) && Files.exists(f)) {
                long size = sizeOf(f);
                Files.delete(f);
                deleted.add(f);
                freed[0] += size;
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

    /** A month folder whose manifests list no backup any more goes, when nothing unknown is left in it. */
    private void removeEmptyMonths(Map<Path, ChainManifest> manifests, List<String> warnings) throws IOException {
        Map<Path, Boolean> emptyByFolder = new LinkedHashMap<>();
        manifests.forEach((mf, m) -> emptyByFolder.merge(mf.getParent(), m.entries.isEmpty(), Boolean::logicalAnd));
        for (Map.Entry<Path, Boolean> e : emptyByFolder.entrySet()) {
            Path folder = e.getKey();
            if (!e.getValue() || folder.equals(target) || !MONTH.matcher(folder.getFileName().toString()).matches()) {
                continue;
            }
            if (hasBackupFiles(folder) || hasPartialFiles(folder)) {
                warn(warnings, folder + " still holds backup files its manifests do not list: left in place");
                continue;
            }
            List<Path> known = new ArrayList<>();
            List<Path> unknown = new ArrayList<>();
            try (Stream<Path> s = Files.list(folder)) {
                for (Path p : s.toList()) {
                    String n = p.getFileName().toString();
                    boolean ours = n.equals(ChainDirectory.UUID_FILE) || n.endsWith(".chain.json")
                            || n.endsWith(".config") || n.equals(TargetLock.FILE)
                            || (Files.isDirectory(p) && isEmpty(p));
                    (ours ? known : unknown).add(p);
                }
            }
            if (!unknown.isEmpty()) {
                warn(warnings, folder + ": every backup in it was pruned, but it also holds " + unknown.stream()
                        .map(p -> p.getFileName().toString()).toList() + ": the folder is left in place");
                continue;
            }
            // manifests last: until they go, a retry still knows what the folder held
            known.sort((a, b) -> Boolean.compare(a.toString().endsWith(".chain.json"),
                    b.toString().endsWith(".chain.json")));
            for (Path p : known) {
                Files.deleteIfExists(p);
            }
            Files.deleteIfExists(folder);
            AtomicFiles.fsyncDirectory(target);
            log.info("removed " + folder + ": every chain in it was pruned");
        }
    }

    private static boolean hasPartialFiles(Path folder) throws IOException {
        try (Stream<Path> s = Files.walk(folder, 2)) {
            return s.anyMatch(p -> p.getFileName().toString().endsWith(ChainDirectory.PARTIAL_SUFFIX));
        }
    }

    private static boolean isEmpty(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }

    private static long sizeOf(Path f) {
        try {
            return Files.size(f);
        } catch (IOException e) {
            return 0;
        }
    }

    private void warn(List<String> warnings, String message) {
        warnings.add(message);
        log.warn(message);
    }
}
