package io.qmpbackup.engine.repository;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.YearMonth;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * One backup chain folder, laid out as qmpbackup 0.67 writes it:
 *
 * <pre>
 * &lt;target&gt;[/YYYY-MM]/uuid                      the chain id
 * &lt;target&gt;[/YYYY-MM]/&lt;image&gt;.config            qemu-img info of the source image
 * &lt;target&gt;[/YYYY-MM]/&lt;image&gt;.chain.json        our chain manifest (beside the folder)
 * &lt;target&gt;[/YYYY-MM]/&lt;image&gt;/FULL-&lt;epoch&gt;-&lt;image&gt;   INC-..., COPY-...
 * </pre>
 *
 * Files are written as {@code *.partial} and renamed when complete.
 */
public final class ChainDirectory {
    public static final String UUID_FILE = "uuid";
    public static final String PARTIAL_SUFFIX = ".partial";
    private static final Pattern MONTH = Pattern.compile("\\d{4}-\\d{2}");
    private static final Pattern BACKUP_NAME = Pattern.compile("^(FULL|INC|COPY)-(\\d+)-(.+)$");

    private final Path dir;
    private final boolean noSubdir;

    public ChainDirectory(Path dir, boolean noSubdir) {
        this.dir = dir;
        this.noSubdir = noSubdir;
    }

    /** The chain folder for a target: {@code target/YYYY-MM} with --monthly, else the target itself. */
    public static Path resolve(Path target, boolean monthly, YearMonth month) {
        return monthly ? target.resolve(month.toString()) : target;
    }

    public Path path() {
        return dir;
    }

    public Optional<String> readUuid() throws IOException {
        Path f = dir.resolve(UUID_FILE);
        if (!Files.exists(f)) {
            return Optional.empty();
        }
        String s = Files.readString(f, StandardCharsets.UTF_8).trim();
        return s.isEmpty() ? Optional.empty() : Optional.of(s);
    }

    public void writeUuid(String uuid) throws IOException {
        AtomicFiles.write(dir.resolve(UUID_FILE), uuid.getBytes(StandardCharsets.UTF_8));
    }

    public Path diskFolder(String imageBasename) {
        return noSubdir ? dir : dir.resolve(imageBasename);
    }

    public Path configFile(String imageBasename) {
        return dir.resolve(imageBasename + ".config");
    }

    public Path manifestFile(String imageBasename) {
        return dir.resolve(imageBasename + ".chain.json");
    }

    public Optional<ChainManifest> manifest(String imageBasename) throws IOException {
        return ChainManifest.read(manifestFile(imageBasename));
    }

    /** Backup files (not partial) of this disk in its folder, in name order. */
    public List<Path> backupFiles(String imageBasename) throws IOException {
        return filesOf(imageBasename, n -> {
            Matcher m = BACKUP_NAME.matcher(n);
            return m.matches() && m.group(3).equals(imageBasename);
        });
    }

    public List<Path> partialFiles(String imageBasename) throws IOException {
        return filesOf(imageBasename, n -> n.endsWith(PARTIAL_SUFFIX) && n.contains(imageBasename));
    }

    /** Files in this disk's folder whose names pass {@code name}, in name order. */
    private List<Path> filesOf(String imageBasename, java.util.function.Predicate<String> name) throws IOException {
        Path folder = diskFolder(imageBasename);
        if (!Files.isDirectory(folder)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(folder)) {
            return s.filter(p -> name.test(p.getFileName().toString())).sorted().toList();
        }
    }

    /** True when the folder holds a FULL of this disk (or, for --no-timestamp backups, the plain image name). */
    public boolean hasFull(String imageBasename) throws IOException {
        if (backupFiles(imageBasename).stream().anyMatch(p -> p.getFileName().toString().startsWith("FULL-"))) {
            return true;
        }
        return Files.exists(diskFolder(imageBasename).resolve(imageBasename));
    }

    /**
     * An epoch for a new file name: now, or one past the newest file of this disk when that is
     * not earlier. Names stay unique and in backup order when backups start in the same second.
     */
    public long nextEpoch(String imageBasename, long nowSeconds) {
        long newest = 0;
        try {
            for (Path p : backupFiles(imageBasename)) {
                Matcher m = BACKUP_NAME.matcher(p.getFileName().toString());
                if (m.matches()) {
                    newest = Math.max(newest, Long.parseLong(m.group(2)));
                }
            }
            for (Path p : partialFiles(imageBasename)) {
                Matcher m = BACKUP_NAME.matcher(p.getFileName().toString().replace(PARTIAL_SUFFIX, ""));
                if (m.matches()) {
                    newest = Math.max(newest, Long.parseLong(m.group(2)));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Math.max(nowSeconds, newest + 1);
    }

    /** Epoch encoded in a backup file name, or -1. */
    /** A --monthly chain's folder name: YYYY-MM, as {@link #resolve} makes it. */
    public static boolean isMonthFolder(String name) {
        return MONTH.matcher(name).matches();
    }

    public static long epochOf(String fileName) {
        Matcher m = BACKUP_NAME.matcher(fileName);
        return m.matches() ? Long.parseLong(m.group(2)) : -1;
    }
}
