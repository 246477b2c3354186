package io.qmpbackup.engine.restore;

import io.qmpbackup.engine.backup.BackupLevel;
import java.nio.file.Path;

/**
 * One backup file of a disk's folder.
 *
 * @param path    where it lies
 * @param level   full, inc or copy
 * @param epoch   backup time from its name (0 for --no-timestamp files)
 * @param format  qcow2 or raw
 * @param sha256  checksum from the chain manifest or the record ({@link io.qmpbackup.engine.repository.FileSum}:
 *                whole-file SHA-256 or tagged chunked; null without one)
 */
public record ChainFile(Path path, String level, long epoch, String format, String sha256) {
    public String name() {
        return path.getFileName().toString();
    }

    /** The one place a file's level (as the manifest and the file name spell it) is compared. */
    public boolean is(BackupLevel l) {
        return l.lower().equals(level);
    }

    public boolean isInc() {
        return is(BackupLevel.INC);
    }

    /** Matches a --until value: the file name, or its {@code INC-<epoch>} / {@code FULL-<epoch>} prefix. */
    public boolean matches(String until) {
        String n = name();
        return n.equals(until) || n.startsWith(until + "-") && until.matches("(FULL|INC|COPY)-\\d+");
    }
}
