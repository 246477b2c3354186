package io.qmpbackup.engine.service;

import io.qmpbackup.engine.repository.ChainDirectory;
import io.qmpbackup.engine.repository.ChainManifest;
import io.qmpbackup.engine.restore.BackupChain;
import io.qmpbackup.engine.restore.ChainFile;
import io.qmpbackup.engine.restore.RestoreException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The restore points of a backup target or of one disk's folder, for listing: read from the chain
 * manifests (time, level, size, chain id as the backup recorded them), and for a folder with no
 * manifest (qmpbackup 0.67's) from the file names, as restore itself reads it. Reads only.
 */
public final class RestorePoints {
    private static final Pattern BACKUP_FILE = Pattern.compile("^(FULL|INC|COPY)-.+$");

    /**
     * One backup a restore can go to.
     *
     * @param time  when it was taken (its start; from the name's epoch when nothing better is recorded)
     * @param level full, inc or copy
     * @param size  bytes of its file
     * @param chain the chain id (the bitmap's suffix); null for a copy or when none is recorded
     * @param disk  the disk's image name
     * @param file  the backup file: what --until takes is its name
     */
    public record Point(Instant time, String level, long size, String chain, String disk, Path file) {
    }

    /** The points, and why some folder could not be read (the rest are still listed). */
    public record Listing(List<Point> points, List<String> warnings) {
    }

    private RestorePoints() {
    }

    /** Every point of a target: its chain folder and its YYYY-MM folders (--monthly), oldest first. */
    public static Listing ofTarget(Path target) throws IOException {
        List<Point> points = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        for (Path folder : chainFolders(target)) {
            Set<Path> described = new HashSet<>();
            for (Path mf : files(folder, p -> p.getFileName().toString().endsWith(".chain.json"))) {
                ChainManifest m = ChainManifest.read(mf).orElseThrow();
                Path files = folder.resolve(m.folder != null ? m.folder : String.valueOf(m.disk)).normalize();
                described.add(files);
                for (ChainManifest.Entry e : m.entries) {
                    points.add(point(m, e, files.resolve(e.file)));
                }
            }
            for (Path sub : files(folder, p -> Files.isDirectory(p)
                    && !ChainDirectory.isMonthFolder(p.getFileName().toString()))) {
                if (!described.contains(sub.normalize()) && hasBackups(sub)) {
                    try {
                        points.addAll(ofFolder(sub, null));
                    } catch (RestoreException e) {
                        warnings.add(e.getMessage());
                    }
                }
            }
        }
        // a manifest of another tool may name no disk
        points.sort(Comparator.comparing(Point::time).thenComparing(Point::disk,
                Comparator.nullsFirst(Comparator.naturalOrder())));
        return new Listing(List.copyOf(points), List.copyOf(warnings));
    }

    /**
     * The points of one disk's folder, oldest first, in the order a restore reads them;
     * {@code filter} as qmprestore's --filter (one disk of a --no-subdir folder), null for all.
     */
    public static List<Point> ofFolder(Path dir, String filter) throws RestoreException {
        BackupChain chain = BackupChain.load(dir, filter);
        Optional<ChainManifest> m = chain.manifest();
        List<Point> points = new ArrayList<>();
        for (ChainFile f : chain.files()) {
            Optional<ChainManifest.Entry> e = m.flatMap(x -> x.entries.stream().filter(y -> f.name().equals(y.file))
                    .findFirst());
            points.add(e.isPresent() ? point(m.get(), e.get(), f.path())
                    : new Point(Instant.ofEpochSecond(f.epoch()), f.level(), size(f.path(), 0), null, chain.disk(),
                            f.path()));
        }
        return points;
    }

    private static Point point(ChainManifest m, ChainManifest.Entry e, Path file) {
        Instant time = Instant.ofEpochSecond(e.epoch);
        if (e.startedAt != null) {
            try {
                time = Instant.parse(e.startedAt);
            } catch (DateTimeParseException ignored) {
                // the epoch in the name is as good to the second
            }
        }
        return new Point(time, e.level, size(file, e.fileSize), "copy".equals(e.level) ? null : m.chain, m.disk,
                file);
    }

    /** The file's size now (a commit may have grown it), else what the manifest recorded. */
    private static long size(Path file, long recorded) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return recorded;
        }
    }

    private static List<Path> chainFolders(Path target) throws IOException {
        List<Path> folders = new ArrayList<>();
        folders.add(target);
        folders.addAll(files(target, p -> Files.isDirectory(p)
                && ChainDirectory.isMonthFolder(p.getFileName().toString())));
        return folders;
    }

    private static boolean hasBackups(Path dir) throws IOException {
        return !files(dir, p -> BACKUP_FILE.matcher(p.getFileName().toString()).matches()).isEmpty();
    }

    private static List<Path> files(Path dir, java.util.function.Predicate<Path> which) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(which).sorted().toList();
        }
    }
}
