package io.qmpbackup.engine.retention;

import io.qmpbackup.engine.backup.BackupLog;
import io.qmpbackup.engine.backup.VmDescription;
import io.qmpbackup.engine.repository.AtomicFiles;
import io.qmpbackup.engine.repository.ChainDirectory;
import io.qmpbackup.engine.repository.ChainManifest;
import io.qmpbackup.engine.repository.ChecksumRecord;
import io.qmpbackup.engine.repository.TargetLock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Removes the {@code YYYY-MM} folders (--monthly) a prune emptied: a month folder whose manifests
 * list no backup any more goes, when nothing unknown is left in it. The target folder itself always
 * stays.
 */
final class EmptiedMonthFolders {
    private final Path target;
    private final BackupLog log;
    private final Consumer<String> warn;

    EmptiedMonthFolders(Path target, BackupLog log, Consumer<String> warn) {
        this.target = target;
        this.log = log;
        this.warn = warn;
    }

    /** @param manifests every manifest of the target, as the prune left them */
    void remove(Map<Path, ChainManifest> manifests) throws IOException {
        Map<Path, Boolean> emptyByFolder = new LinkedHashMap<>();
        manifests.forEach((mf, m) -> emptyByFolder.merge(mf.getParent(), m.entries.isEmpty(), Boolean::logicalAnd));
        for (Map.Entry<Path, Boolean> e : emptyByFolder.entrySet()) {
            Path folder = e.getKey();
            if (e.getValue() && !folder.equals(target) && TargetChains.isMonthFolder(folder)) {
                removeUnlessForeign(folder);
            }
        }
    }

    private void removeUnlessForeign(Path folder) throws IOException {
        if (TargetChains.hasBackupFiles(folder) || hasPartialFiles(folder)) {
            warn.accept(folder + " still holds backup files its manifests do not list: left in place");
            return;
        }
        List<Path> known = new ArrayList<>();
        List<Path> unknown = new ArrayList<>();
        try (Stream<Path> s = Files.list(folder)) {
            for (Path p : s.toList()) {
                (isOurs(p) ? known : unknown).add(p);
            }
        }
        if (!unknown.isEmpty()) {
            warn.accept(folder + ": every backup in it was pruned, but it also holds " + unknown.stream()
                    .map(p -> p.getFileName().toString()).toList() + ": the folder is left in place");
            return;
        }
        // manifests last: until they go, a retry still knows what the folder held
        known.sort((a, b) -> Boolean.compare(a.toString().endsWith(".chain.json"),
                b.toString().endsWith(".chain.json")));
        for (Path p : known) {
            if (Files.isDirectory(p)) {
                // a disk folder with nothing but its integrity record
                try (Stream<Path> inside = Files.list(p)) {
                    for (Path r : inside.toList()) {
                        Files.deleteIfExists(r);
                    }
                }
            }
            Files.deleteIfExists(p);
        }
        Files.deleteIfExists(folder);
        AtomicFiles.fsyncDirectory(target);
        log.info("removed " + folder + ": every chain in it was pruned");
    }

    /** What a backup run leaves beside the backups, so its presence does not make a folder foreign. */
    private static boolean isOurs(Path p) {
        String n = p.getFileName().toString();
        return n.equals(ChainDirectory.UUID_FILE) || n.endsWith(".chain.json") || n.endsWith(".config")
                || n.equals(VmDescription.FILE)
                || n.equals(TargetLock.FILE) || (Files.isDirectory(p) && holdsOnlyRecords(p));
    }

    private static boolean hasPartialFiles(Path folder) throws IOException {
        try (Stream<Path> s = Files.walk(folder, 2)) {
            return s.anyMatch(p -> p.getFileName().toString().endsWith(ChainDirectory.PARTIAL_SUFFIX));
        }
    }

    /** An empty folder, or one that holds only integrity records (of backups that are gone). */
    private static boolean holdsOnlyRecords(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.allMatch(p -> Files.isRegularFile(p) && ChecksumRecord.isRecord(p.getFileName().toString()));
        } catch (IOException e) {
            return false;
        }
    }
}
