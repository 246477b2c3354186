package io.qmpbackup.engine.cli;

import io.qmpbackup.engine.repository.ChainDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * What a folder given as a backup target that holds no chain probably is, and the --target to
 * give instead: a disk's folder inside a target (its backup files are here, its manifest beside
 * it), a target of qmpbackup 0.67's own (a uuid, no manifests), or a folder of targets (the
 * folders in it hold chains).
 */
final class TargetHint {
    private TargetHint() {
    }

    static String of(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            List<Path> entries = s.sorted().toList();
            if (entries.stream().anyMatch(p -> p.getFileName().toString().equals(ChainDirectory.UUID_FILE))) {
                return "it holds a chain's uuid but no chain manifest (<disk>.chain.json): a chain written by"
                        + " qmpbackup 0.67 itself, which prune leaves as it is";
            }
            if (entries.stream().anyMatch(p -> ChainDirectory.epochOf(p.getFileName().toString()) >= 0)) {
                Path up = folder.toAbsolutePath().normalize().getParent();
                return "it holds backup files, so it is a disk's folder: give the target that holds it, --target "
                        + up;
            }
            List<String> targets = entries.stream().filter(p -> Files.isDirectory(p) && holdsChain(p))
                    .map(p -> p.getFileName().toString()).toList();
            if (!targets.isEmpty()) {
                return "the folders " + targets + " in it hold chains: give each as --target (" + folder.resolve(
                        targets.get(0)) + ")";
            }
            return "give the folder the backups were written to, which holds uuid and <disk>.chain.json";
        }
    }

    /** A chain manifest in the target, or in one of its --monthly YYYY-MM folders. */
    static boolean holdsManifest(Path target) throws IOException {
        try (Stream<Path> s = Files.list(target)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (n.endsWith(".chain.json") || ChainDirectory.isMonthFolder(n) && Files.isDirectory(p)
                        && holdsChain(p)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean holdsChain(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).anyMatch(n -> n.equals(ChainDirectory.UUID_FILE) || n.endsWith(".chain.json"));
        } catch (IOException e) {
            return false;
        }
    }
}
