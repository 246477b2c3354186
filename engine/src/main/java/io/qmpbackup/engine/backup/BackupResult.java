package io.qmpbackup.engine.backup;

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
     * @param sha256      checksum of the file as recorded ({@link io.qmpbackup.engine.repository.FileSum}: whole-file
     *                    SHA-256, or chunked with its tag)
     * @param tracked     the disk has change tracking (qcow2, writable); raw and pflash disks get a full each run
     */
    public record DiskResult(String disk, String nodeName, BackupLevel level, Path file, long bytesCopied,
            long fileSize, String sha256, boolean tracked) {
    }

    /**
     * The level run, as the change-tracked disks ran it: full when any of them got a full, inc when
     * they got incrementals (pflash and raw disks, copied whole each run, do not make it a full).
     */
    public BackupLevel level() {
        List<DiskResult> tracked = disks.stream().filter(DiskResult::tracked).toList();
        List<DiskResult> basis = tracked.isEmpty() ? disks : tracked;
        if (basis.stream().anyMatch(d -> d.level() == BackupLevel.FULL)) {
            return BackupLevel.FULL;
        }
        return basis.isEmpty() ? BackupLevel.COPY : basis.get(0).level();
    }
}
