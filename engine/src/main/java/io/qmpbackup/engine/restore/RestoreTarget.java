package io.qmpbackup.engine.restore;

import io.qmpbackup.engine.repository.ChainDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * The one rule for a new file a restore writes beside a chain (a merged image, an instant
 * overlay): it must not exist yet, its folder must, and it must not lie inside the backup
 * folder: the chain's (the one holding its {@code uuid}, with every disk's folder) or, for a
 * folder without one, the disk's. There qmpbackup 0.67's qmprestore (which reads every file of
 * a disk folder but uuid and *.config) would take it for a backup file, and an off-site copy
 * would upload it with the backups. The folders are compared with symlinks resolved, so a link
 * into the backup folder is refused too. Checked before anything is written: a refusal changes
 * nothing.
 */
final class RestoreTarget {
    private RestoreTarget() {
    }

    /** {@code what} names the file in the messages ("target file", "overlay"). */
    static void check(Path target, BackupChain chain, String what) throws RestoreException {
        Path file = target.toAbsolutePath().normalize();
        if (Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            throw new RestoreException(what + " " + file + " already exists: refusing to overwrite it; pass"
                    + " another --targetfile or remove it");
        }
        Path folder = file.getParent();
        if (folder == null || !Files.isDirectory(folder)) {
            throw new RestoreException("folder of the " + what + " " + file + " does not exist; create it first");
        }
        Path dir = chainRoot(chain.dir().toAbsolutePath().normalize());
        if (real(folder).startsWith(real(dir))) {
            throw new RestoreException(what + " " + file + " would lie inside the backup folder " + dir
                    + ", where qmpbackup 0.67's restore would take it for a backup file and an off-site copy would"
                    + " upload it; put it elsewhere");
        }
    }

    /** The chain's folder: the one above the disk's folder where that holds the chain's uuid, else the disk's. */
    private static Path chainRoot(Path diskFolder) {
        Path up = diskFolder.getParent();
        return up != null && Files.exists(up.resolve(ChainDirectory.UUID_FILE), LinkOption.NOFOLLOW_LINKS) ? up
                : diskFolder;
    }

    private static Path real(Path p) throws RestoreException {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            throw new RestoreException("cannot resolve " + p + ": " + e.getMessage(), e);
        }
    }
}
