package io.qmpbackup.engine.restore;

import io.qmpbackup.engine.repository.ChainDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * The one rule for a new file a restore writes beside a chain (a merged image, an instant
 * overlay): it must not exist yet, its folder must, and it must not lie inside the backup
 * folder: the whole target around the chain ({@link #chainRoot}), every disk's and month's
 * folder in it. There qmpbackup 0.67's qmprestore (which reads every file of
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
        Path dir = chainRoot(real(chain.dir()));
        if (real(folder).startsWith(dir)) {
            throw new RestoreException(what + " " + file + " would lie inside the backup folder " + dir
                    + ", where qmpbackup 0.67's restore would take it for a backup file and an off-site copy would"
                    + " upload it; put it elsewhere");
        }
    }

    /**
     * The backup target around a disk's folder: the chain's folder above it where that holds the
     * chain's uuid or the disk's manifest (a target of copies only has no uuid), and above that
     * the target of a --monthly chain (its YYYY-MM folder's parent, which the other months share).
     */
    private static Path chainRoot(Path diskFolder) {
        Path root = diskFolder;
        Path up = diskFolder.getParent();
        if (up != null && (Files.exists(up.resolve(ChainDirectory.UUID_FILE), LinkOption.NOFOLLOW_LINKS)
                || Files.exists(up.resolve(diskFolder.getFileName() + ".chain.json"), LinkOption.NOFOLLOW_LINKS))) {
            root = up;
        }
        Path name = root.getFileName();
        if (root.getParent() != null && name != null && ChainDirectory.isMonthFolder(name.toString())) {
            root = root.getParent();
        }
        return root;
    }

    private static Path real(Path p) throws RestoreException {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            throw new RestoreException("cannot resolve " + p + ": " + e.getMessage(), e);
        }
    }
}
