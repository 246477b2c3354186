package io.qmpbackup.engine.service;

import java.nio.file.Path;

/**
 * One restore of a disk's backup folder.
 *
 * @param mode       what to do with the chain
 * @param dir        the disk's backup folder (already confined by the caller)
 * @param until      the restore point: a backup file name or its INC-&lt;epoch&gt; prefix; null for the newest
 * @param targetFile the new image (merge only)
 * @param skipCheck  no qemu-img check of the chain first
 * @param rateLimit  bytes per second for qemu-img commit, 0 for unlimited
 * @param filter     only the folder's files whose name holds this (one disk of a --no-subdir folder); null for all
 */
public record RestoreRequest(Mode mode, Path dir, String until, Path targetFile, boolean skipCheck, long rateLimit,
        String filter) {
    /** qmprestore's operations. */
    public enum Mode {
        /** A new image of the point; the backups stay untouched. */
        MERGE,
        /** In place: each INC names the file before it; {@code image} links to the point. */
        REBASE,
        /** In place: every INC up to the point committed into the FULL. */
        COMMIT,
        /** Like commit, with an internal snapshot per backup. */
        SNAPSHOTREBASE
    }

    public RestoreRequest(Mode mode, Path dir, String until, Path targetFile, boolean skipCheck, long rateLimit) {
        this(mode, dir, until, targetFile, skipCheck, rateLimit, null);
    }

    public RestoreRequest {
        if (mode == null || dir == null) {
            throw new IllegalArgumentException("a restore needs a mode and the disk's backup folder");
        }
        if (mode == Mode.MERGE && targetFile == null) {
            throw new IllegalArgumentException("merge writes a new image: give its path (--targetfile)");
        }
    }
}
