package io.qmpbackup.agent.backup;

import java.nio.file.Path;
import java.util.List;

/**
 * What a successful run wrote.
 *
 * @param vm        the VM's name (query-name) or its socket
 * @param chainDir  the chain folder (target, or target/YYYY-MM)
 * @param chainId   the chain uuid (null for copy)
 * @param quiesced  guest filesystems were frozen at the snapshot point
 * @param disks     one entry per disk backed up
 * @param warnings  what went less than perfectly (for example: quiesce asked but agent absent)
 */
public record BackupResult(String vm, Path chainDir, String chainId, boolean quiesced, List<DiskResult> disks,
        List<String> warnings) {

    /**
     * @param disk        the disk's user-facing name
     * @param nodeName    its node name
     * @param level       the level run for this disk (full, inc, copy)
     * @param file        the backup file written
     * @param bytesCopied what the job copied
     * @param fileSize    bytes on disk
     * @param sha256      checksum of the file
     */
    public record DiskResult(String disk, String nodeName, BackupLevel level, Path file, long bytesCopied,
            long fileSize, String sha256) {
    }

    /** The level run: full when any disk got a full, else the common level. */
    public BackupLevel level() {
        if (disks.stream().anyMatch(d -> d.level() == BackupLevel.FULL)) {
            return BackupLevel.FULL;
        }
        return disks.isEmpty() ? BackupLevel.COPY : disks.get(0).level();
    }
}
