package io.qmpbackup.engine.retention;

import io.qmpbackup.engine.backup.BackupLevel;
import io.qmpbackup.engine.repository.ChainDirectory;
import io.qmpbackup.engine.repository.ChainManifest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A target's chains as its chain manifests describe them: those in the target folder itself and
 * in its {@code YYYY-MM} folders (--monthly). Nothing but the manifests counts, so a disk whose
 * files are not all described by its manifest (a chain begun by another tool, an incremental whose
 * recorded backing file is not the backup before it) is unprunable, with a warning that says why.
 *
 * @param manifests every manifest, by its file, in the order they were read
 * @param byDisk per disk, its chains oldest first
 * @param unprunable the disks whose every backup must stay
 */
record TargetChains(Map<Path, ChainManifest> manifests, Map<String, List<Chain>> byDisk, Set<String> unprunable) {
    private static final Pattern BACKUP_FILE = Pattern.compile("^(FULL|INC|COPY)-\\d+-.+$");

    /** Sees each manifest as soon as it is read, before a later manifest that cannot be read ends the read. */
    @FunctionalInterface
    interface ManifestVisitor {
        void visit(Path manifestFile, ChainManifest m) throws IOException;
    }

    static TargetChains read(Path target, ManifestVisitor onRead, Consumer<String> warn) throws IOException {
        Map<Path, ChainManifest> manifests = readManifests(target, onRead, warn);
        Map<String, List<Chain>> byDisk = new LinkedHashMap<>();
        Set<String> unprunable = new HashSet<>();
        for (Map.Entry<Path, ChainManifest> e : manifests.entrySet()) {
            ChainManifest m = e.getValue();
            String disk = m.disk != null ? m.disk : e.getKey().getFileName().toString().replace(".chain.json", "");
            // the disk is listed even when its manifest fails, so the order of disks stays the order read
            String problem = split(e.getKey(), m, disk, byDisk.computeIfAbsent(disk, k -> new ArrayList<>()));
            if (problem != null) {
                unprunable.add(disk);
                warn.accept(disk + ": " + problem + "; retention keeps every backup of this disk");
            }
        }
        return new TargetChains(manifests, byDisk, unprunable);
    }

    /**
     * Each disk's newest full-based chain: what the next incremental builds on, even when copies
     * came after it.
     */
    Set<Chain> trackedChains() {
        Set<Chain> tracked = new HashSet<>();
        for (List<Chain> chains : byDisk.values()) {
            for (int i = chains.size() - 1; i >= 0; i--) {
                if (chains.get(i).fullBased()) {
                    tracked.add(chains.get(i));
                    break;
                }
            }
        }
        return tracked;
    }

    private static Map<Path, ChainManifest> readManifests(Path target, ManifestVisitor onRead, Consumer<String> warn)
            throws IOException {
        Map<Path, ChainManifest> manifests = new LinkedHashMap<>();
        for (Path folder : chainFolders(target)) {
            List<Path> folderManifests = manifestFiles(folder);
            for (Path mf : folderManifests) {
                ChainManifest m = ChainManifest.read(mf).orElseThrow();
                manifests.put(mf, m);
                onRead.visit(mf, m);
            }
            if (folderManifests.isEmpty() && hasBackupFiles(folder)) {
                warn.accept(folder + " holds backups but no chain manifest (*.chain.json): retention leaves it"
                        + " alone; it only prunes chains written by this tool");
            }
        }
        return manifests;
    }

    /**
     * Splits one manifest into chains. Returns why the disk cannot be pruned safely, or null: every
     * incremental must follow a full in this manifest and name the backup before it as its backing file.
     */
    private static String split(Path manifestFile, ChainManifest m, String disk, List<Chain> out) {
        String unsafe = pathProblem(manifestFile, m);
        if (unsafe != null) {
            return unsafe;
        }
        Path folder = manifestFile.getParent();
        List<Chain> chains = new ArrayList<>();
        List<ChainManifest.Entry> current = null;
        for (ChainManifest.Entry e : m.entries) {
            BackupLevel level = Chain.levelOf(e);
            if (level == null) {
                return manifestFile + " lists " + e.file + " with unknown level '" + e.level + "'";
            }
            switch (level) {
                case COPY -> chains.add(new Chain(disk, folder, manifestFile, List.of(e)));
                case FULL -> {
                    current = new ArrayList<>();
                    current.add(e);
                    chains.add(new Chain(disk, folder, manifestFile, current));
                }
                case INC -> {
                    String broken = incrementalProblem(manifestFile, e, current);
                    if (broken != null) {
                        return broken;
                    }
                    current.add(e);
                }
            }
        }
        out.addAll(chains);
        return null;
    }

    /** Why deleting what the manifest lists could reach outside its chain folder, or null. */
    private static String pathProblem(Path manifestFile, ChainManifest m) {
        if (filesFolder(manifestFile, m) == null) {
            return manifestFile + " names its files' folder '" + m.folder + "', which is not beside it";
        }
        for (ChainManifest.Entry e : m.entries) {
            if (!plainName(e.file)) {
                return manifestFile + " lists '" + e.file + "', which is not a plain file name";
            }
        }
        return null;
    }

    /** Why incremental {@code e} does not extend the chain so far ({@code current}, null before a full), or null. */
    private static String incrementalProblem(Path manifestFile, ChainManifest.Entry e,
            List<ChainManifest.Entry> current) {
        if (current == null) {
            return manifestFile + " starts with incremental " + e.file + " whose full it does not list";
        }
        String previous = current.get(current.size() - 1).file;
        if (e.backingFile != null && !Path.of(e.backingFile).getFileName().toString().equals(previous)) {
            return e.file + " builds on " + e.backingFile + ", not on the backup before it (" + previous + ")";
        }
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

    static boolean isMonthFolder(Path folder) {
        return ChainDirectory.isMonthFolder(folder.getFileName().toString());
    }

    /** Backup files by their names, whether or not a manifest lists them. */
    static boolean hasBackupFiles(Path folder) throws IOException {
        try (Stream<Path> s = Files.walk(folder, 2)) {
            return s.anyMatch(p -> BACKUP_FILE.matcher(p.getFileName().toString()).matches());
        }
    }

    private static List<Path> chainFolders(Path target) throws IOException {
        List<Path> folders = new ArrayList<>();
        folders.add(target);
        try (Stream<Path> s = Files.list(target)) {
            s.filter(p -> Files.isDirectory(p) && isMonthFolder(p)).sorted().forEach(folders::add);
        }
        return folders;
    }

    private static List<Path> manifestFiles(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".chain.json") && Files.isRegularFile(p)).sorted()
                    .toList();
        }
    }
}
