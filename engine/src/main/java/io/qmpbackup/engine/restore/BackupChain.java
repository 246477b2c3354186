package io.qmpbackup.engine.restore;

import io.qmpbackup.engine.backup.BackupLevel;
import io.qmpbackup.engine.repository.ChainDirectory;
import io.qmpbackup.engine.repository.ChainManifest;
import io.qmpbackup.engine.repository.ChecksumRecord;
import io.qmpbackup.engine.repository.Holds;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The backup files of one disk folder, in backup order, checked for completeness before
 * anything is changed. Order comes from the chain manifest beside the folder when there is
 * one, else from the epoch in the file names; never from file modification times, so a
 * copied folder restores the same. Reads folders written by qmpbackup 0.67 too (no
 * manifest, INC files without a backing-file header).
 */
public final class BackupChain {
    private static final Pattern STAMPED = Pattern.compile("^(FULL|INC|COPY)-(\\d+)-(.+)$");
    private static final Pattern PLAIN_LINK = Pattern.compile("^(FULL|COPY)-(.+)$");

    private final Path dir;
    private final String disk;
    private final List<ChainFile> files;
    private final ChainManifest manifest;
    private final Path manifestPath;
    private final List<String> warnings;

    private BackupChain(Path dir, String disk, List<ChainFile> files, ChainManifest manifest, Path manifestPath,
            List<String> warnings) {
        this.dir = dir;
        this.disk = disk;
        this.files = files;
        this.manifest = manifest;
        this.manifestPath = manifestPath;
        this.warnings = warnings;
    }

    public Path dir() {
        return dir;
    }

    /** Image file name of the disk (the part after {@code FULL-<epoch>-}). */
    public String disk() {
        return disk;
    }

    /** Every backup file, oldest first. */
    public List<ChainFile> files() {
        return files;
    }

    public Optional<ChainManifest> manifest() {
        return Optional.ofNullable(manifest);
    }

    public Path manifestPath() {
        return manifestPath;
    }

    public List<String> warnings() {
        return warnings;
    }

    /**
     * The chain folder holding the manifest beside this disk folder, where holds on its files are
     * recorded; null for a folder with no manifest beside it (retention never prunes one).
     */
    public Path chainFolder() {
        Path parent = dir.toAbsolutePath().normalize().getParent();
        return manifestPath != null && parent != null && parent.equals(manifestPath.toAbsolutePath().getParent())
                ? parent : null;
    }

    /** The holds in force on this disk's files (an instant-restore overlay, an export). */
    public List<Holds.Hold> holds() throws RestoreException {
        if (chainFolder() == null) {
            return List.of();
        }
        try {
            return Holds.inForce(chainFolder(), disk, false);
        } catch (IOException e) {
            throw new RestoreException(e.getMessage(), e);
        }
    }

    public static BackupChain load(Path dir) throws RestoreException {
        return load(dir, null);
    }

    /**
     * The chain in {@code dir}; {@code filter} (qmprestore's --filter): only files whose name
     * holds it, so one disk of a flat --no-subdir folder can be restored; null for all.
     */
    public static BackupChain load(Path dir, String filter) throws RestoreException {
        Scan scan = scan(dir, listFolder(dir), filter);
        if (filter != null && scan.disks().size() > 1 && scan.disks().contains(filter)) {
            // --filter disk1.qcow2 beside olddisk1.qcow2: the disk of exactly that image name
            scan = scan.only(filter);
        }
        Set<String> disks = scan.disks();
        List<ChainFile> stamped = scan.stamped();
        List<ChainFile> plain = scan.plain();
        String disk = oneDisk(dir, disks, filter);
        List<String> warnings = new ArrayList<>();
        Path manifestPath = findManifest(dir, disk);
        ChainManifest manifest;
        try {
            manifest = manifestPath == null ? null : ChainManifest.read(manifestPath).orElse(null);
        } catch (IOException e) {
            throw new RestoreException(e.getMessage(), e);
        }
        List<ChainFile> ordered;
        if (manifest != null) {
            ordered = fromManifest(dir, manifest, stamped, plain, warnings);
        } else {
            ordered = new ArrayList<>(plain);
            stamped.sort(Comparator.comparingLong(ChainFile::epoch));
            ordered.addAll(stamped);
            ordered.replaceAll(f -> new ChainFile(f.path(), f.level(), f.epoch(), formatOf(f.path()), null));
        }
        Map<String, String> recorded = record(dir, disk);
        if (manifest == null) {
            checkRecordedFiles(dir, recorded, ordered);
        }
        ordered = withRecordedChecksums(ordered, recorded);
        BackupChain chain = new BackupChain(dir, disk, List.copyOf(ordered), manifest, manifestPath, warnings);
        chain.checkLinks();
        return chain;
    }

    private static Map<String, String> record(Path dir, String disk) throws RestoreException {
        try {
            return ChecksumRecord.read(dir, disk);
        } catch (IOException e) {
            throw new RestoreException(e.getMessage(), e);
        }
    }

    /**
     * Checksums the manifest does not give (a folder copied without it, or a manifest that lost
     * them), taken from the integrity record inside the folder.
     */
    private static List<ChainFile> withRecordedChecksums(List<ChainFile> files, Map<String, String> recorded) {
        return files.stream().map(f -> f.sha256() != null || !recorded.containsKey(f.name()) ? f
                : new ChainFile(f.path(), f.level(), f.epoch(), f.format(), recorded.get(f.name()))).toList();
    }

    /**
     * Without the manifest, the record still lists the chain's files in order: a FULL or INC it
     * names that is gone while a later one is there is a gap (INC files name no backing file, so
     * their headers cannot tell).
     */
    private static void checkRecordedFiles(Path dir, Map<String, String> recorded, List<ChainFile> present)
            throws RestoreException {
        Set<String> here = new HashSet<>();
        present.forEach(f -> here.add(f.name()));
        String missing = null;
        for (String name : recorded.keySet()) {
            if (!here.contains(name) && !name.startsWith("COPY-")) {
                missing = missing == null ? name : missing;
            } else if (here.contains(name) && missing != null && !name.startsWith("COPY-")) {
                throw new RestoreException("the chain in " + dir + " has a gap: " + missing + ", listed in its"
                        + " integrity record before " + name + ", is missing; put it back, or restore a point before"
                        + " it with --until");
            }
        }
    }

    /** The backup files a folder's entries hold: timestamped ones, and --no-timestamp ones by their link. */
    private record Scan(Set<String> disks, List<ChainFile> stamped, List<ChainFile> plain) {
        /** The files of the one disk of this image name. */
        Scan only(String image) {
            List<ChainFile> s = stamped.stream().filter(f -> {
                Matcher m = STAMPED.matcher(f.path().getFileName().toString());
                return m.matches() && m.group(3).equals(image);
            }).collect(java.util.stream.Collectors.toCollection(ArrayList::new));
            List<ChainFile> p = plain.stream().filter(f -> f.path().getFileName().toString().equals(image))
                    .collect(java.util.stream.Collectors.toCollection(ArrayList::new));
            return new Scan(new LinkedHashSet<>(List.of(image)), s, p);
        }
    }

    private static Scan scan(Path dir, List<Path> entries, String filter) {
        Scan scan = new Scan(new LinkedHashSet<>(), new ArrayList<>(), new ArrayList<>());
        for (Path p : entries) {
            String n = p.getFileName().toString();
            if (filter != null && !n.contains(filter)) {
                continue;
            }
            Matcher m = STAMPED.matcher(n);
            Matcher link = PLAIN_LINK.matcher(n);
            if (m.matches() && !Files.isSymbolicLink(p)) {
                scan.disks().add(m.group(3));
                scan.stamped().add(new ChainFile(p, m.group(1).toLowerCase(), Long.parseLong(m.group(2)), null,
                        null));
            } else if (link.matches() && Files.isSymbolicLink(p) && Files.isRegularFile(dir.resolve(link.group(2)))) {
                // --no-timestamp: the image-named file, with a FULL-/COPY- link to it
                scan.disks().add(link.group(2));
                scan.plain().add(new ChainFile(dir.resolve(link.group(2)), link.group(1).toLowerCase(), 0, null,
                        null));
            }
        }
        return scan;
    }

    /** The folder's entries, sorted; refused when it is missing or holds an unfinished file. */
    private static List<Path> listFolder(Path dir) throws RestoreException {
        if (!Files.isDirectory(dir)) {
            throw new RestoreException("backup folder " + dir + " does not exist (pass the disk's folder, for example"
                    + " /backup/web1/disk1.qcow2)");
        }
        List<Path> entries;
        try (Stream<Path> s = Files.list(dir)) {
            entries = s.sorted().toList();
        } catch (IOException e) {
            throw new RestoreException("cannot list " + dir + ": " + e.getMessage(), e);
        }
        for (Path p : entries) {
            if (p.getFileName().toString().endsWith(ChainDirectory.PARTIAL_SUFFIX)) {
                throw new RestoreException("folder " + dir + " holds an unfinished backup file " + p.getFileName()
                        + " (an interrupted backup left it; it is not part of the chain): delete it, then restore");
            }
        }
        return entries;
    }

    private static String oneDisk(Path dir, Set<String> disks, String filter) throws RestoreException {
        if (disks.isEmpty()) {
            throw new RestoreException("folder " + dir + " holds no backup files (FULL-*, INC-*, COPY-*): pass the"
                    + " folder of one disk, inside the backup target");
        }
        if (disks.size() > 1 && filter != null) {
            throw new RestoreException("folder " + dir + " holds backups of several disks whose names hold '" + filter
                    + "' " + disks + ": give --filter one whole image name of them");
        }
        if (disks.size() > 1) {
            throw new RestoreException("folder " + dir + " holds backups of several disks " + disks
                    + " (a --no-subdir backup): pick one with --filter <image name>, or copy one disk's files into a"
                    + " folder of their own");
        }
        return disks.iterator().next();
    }

    private static Path findManifest(Path dir, String disk) {
        Path beside = dir.toAbsolutePath().getParent() == null ? null
                : dir.toAbsolutePath().getParent().resolve(disk + ".chain.json");
        if (beside != null && Files.exists(beside) && dir.getFileName().toString().equals(disk)) {
            return beside;
        }
        Path inside = dir.resolve(disk + ".chain.json");
        return Files.exists(inside) ? inside : null;
    }

    private static List<ChainFile> fromManifest(Path dir, ChainManifest manifest, List<ChainFile> stamped,
            List<ChainFile> plain, List<String> warnings) throws RestoreException {
        List<ChainFile> ordered = new ArrayList<>();
        Set<String> listed = new LinkedHashSet<>();
        int expected = 1;
        for (ChainManifest.Entry e : manifest.entries) {
            if (e.sequence != expected++) {
                throw new RestoreException("chain manifest of " + dir + " skips from backup " + (expected - 2)
                        + " to " + e.sequence + ": the manifest was edited or damaged; restore from the file names by"
                        + " moving the manifest away");
            }
            Path p = dir.resolve(e.file);
            if (!Files.exists(p)) {
                if (e.sequence < manifest.entries.size() && !BackupLevel.COPY.lower().equals(e.level)) {
                    throw new RestoreException("the chain in " + dir + " has a gap: " + e.file + " (backup "
                            + e.sequence + " of " + manifest.entries.size() + ") is missing; restore a point before it"
                            + " with --until, or put the file back");
                }
                throw new RestoreException("the newest backup file " + e.file + " listed in the chain manifest is"
                        + " missing from " + dir + "; put it back, or restore an earlier point with --until");
            }
            listed.add(e.file);
            // a raw disk's FULL and COPY are raw (whatever their bytes look like), its INCs qcow2
            String format = "raw".equals(manifest.sourceFormat) && !BackupLevel.INC.lower().equals(e.level) ? "raw"
                    : formatOf(p);
            ordered.add(new ChainFile(p, e.level, e.epoch, format, e.recorded()));
        }
        for (ChainFile f : stamped) {
            if (!listed.contains(f.name())) {
                warnings.add(f.name() + " lies in " + dir + " but is not in its chain manifest: left out");
            }
        }
        for (ChainFile f : plain) {
            if (!listed.contains(f.name())) {
                warnings.add(f.name() + " lies in " + dir + " but is not in its chain manifest: left out");
            }
        }
        return ordered;
    }

    /** qcow2 when the file starts with the qcow2 magic, else raw. */
    static String formatOf(Path p) {
        try (InputStream in = Files.newInputStream(p)) {
            byte[] magic = in.readNBytes(4);
            return magic.length == 4 && magic[0] == 'Q' && magic[1] == 'F' && magic[2] == 'I' && magic[3] == (byte) 0xfb
                    ? "qcow2" : "raw";
        } catch (IOException e) {
            return "raw";
        }
    }

    /**
     * Every INC must follow a FULL, and where an INC names its backing file (neither tool writes
     * one; a rebase restore does) it must name the file before it: anything else is a gap.
     */
    private void checkLinks() throws RestoreException {
        ChainFile previous = null;
        for (ChainFile f : files) {
            if (f.is(BackupLevel.COPY)) {
                continue;
            }
            if (f.isInc()) {
                if (previous == null) {
                    throw new RestoreException("the chain in " + dir + " has no FULL backup before " + f.name()
                            + ": its start is missing; a restore needs the FULL it builds on");
                }
                if (!"qcow2".equals(f.format())) {
                    throw new RestoreException(f.name() + " in " + dir + " is not a qcow2 image: damaged or not a"
                            + " backup file; run verify");
                }
                String backing = backingOf(f);
                if (backing != null && !Path.of(backing).getFileName().toString().equals(previous.name())) {
                    throw new RestoreException("the chain in " + dir + " has a gap: " + f.name() + " builds on "
                            + backing + " but the backup before it is " + previous.name() + "; put the missing files"
                            + " back, or restore a point before the gap with --until");
                }
            }
            previous = f;
        }
    }

    /** The backing file name in a qcow2 header (offset 8: its offset, 16: its length), or null. */
    static String backingOf(ChainFile f) throws RestoreException {
        try {
            return io.qmpbackup.engine.repository.Qcow2Header.backingFile(f.path());
        } catch (IOException e) {
            throw new RestoreException(f.name() + " in " + f.path().getParent() + " cannot be read as a qcow2 image: "
                    + e.getMessage() + "; run verify", e);
        }
    }

    /**
     * The files a restore of one point needs, oldest first: a COPY alone, a FULL alone, or a
     * FULL and the INCs after it up to the point.
     *
     * @param until a file name or its {@code INC-<epoch>} prefix; null for the newest point
     */
    public List<ChainFile> pointUpTo(String until) throws RestoreException {
        int end = files.size() - 1;
        if (until != null) {
            end = -1;
            for (int i = 0; i < files.size(); i++) {
                if (files.get(i).matches(until)) {
                    end = i;
                }
            }
            if (end < 0) {
                throw new RestoreException("--until " + until + " names no backup in " + dir + ": its points are "
                        + files.stream().map(ChainFile::name).toList());
            }
        }
        ChainFile last = files.get(end);
        if (!last.isInc()) {
            return List.of(last);
        }
        List<ChainFile> point = new ArrayList<>();
        for (int i = end; i >= 0; i--) {
            ChainFile f = files.get(i);
            if (f.is(BackupLevel.COPY)) {
                continue;
            }
            point.add(0, f);
            if (f.is(BackupLevel.FULL)) {
                return point;
            }
        }
        throw new RestoreException("the chain in " + dir + " has no FULL backup before " + last.name());
    }
}
