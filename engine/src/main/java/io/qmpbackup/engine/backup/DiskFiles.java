package io.qmpbackup.engine.backup;

import io.qmpbackup.engine.repository.ChainManifest;
import java.nio.file.Path;

/**
 * A disk's files in one run.
 *
 * @param plan        what the run does with the disk
 * @param basename    the image file name: names the disk's folder and its backup files
 * @param folder      the disk's backup folder
 * @param partial     the backup file while it is written
 * @param finalFile   its name once complete
 * @param fleeceFile  the temporary fleece image (null when the disk is not fleeced)
 * @param backingFile the file an INC builds on (a name in the same folder), else null
 * @param epoch       the time in the file name
 * @param manifest    the disk's chain manifest as read before the run (null when it has none)
 * @param replaces    the final name is a --no-timestamp name that an earlier backup already used
 */
public record DiskFiles(BackupPlan.DiskPlan plan, String basename, Path folder, Path partial, Path finalFile,
        Path fleeceFile, String backingFile, long epoch, ChainManifest manifest, boolean replaces) {

    /** The format the backup file is written in ({@link BackupPlan.DiskPlan#targetFormat}). */
    public String targetFormat() {
        return plan.targetFormat();
    }

    public Disk disk() {
        return plan.disk();
    }

    public BackupLevel level() {
        return plan.level();
    }
}
