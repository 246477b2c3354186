package io.qmpbackup.engine.backup;

import java.util.List;

/**
 * What a run will do, decided before anything in the VM or the target changes.
 *
 * @param vm        the VM, as messages name it
 * @param chainId   the chain uuid the run records (null when only copies are taken)
 * @param bitmap    the chain's change-tracking bitmap name
 * @param disks     the disks to back up, in the VM's order
 * @param notes     info lines for the log: disks left out and why, disks copied whole for want of tracking
 * @param warnings  what the user should know: a fallback to full, a raw disk skipped
 */
public record BackupPlan(String vm, String chainId, String bitmap, List<DiskPlan> disks, List<String> notes,
        List<String> warnings) {

    public BackupPlan {
        disks = List.copyOf(disks);
        notes = List.copyOf(notes);
        warnings = List.copyOf(warnings);
    }

    /**
     * One disk of the run.
     *
     * @param disk     the disk as discovered
     * @param index    its number in the run (names its nodes and job)
     * @param level    full, inc or copy (never auto)
     * @param reason   why this level (for the log and for tests)
     * @param tracked  it has change tracking (a writable qcow2): its bitmap moves forward on success
     * @param fleeced  the guest can write to it while it is read, so it is read through a snapshot
     */
    public record DiskPlan(Disk disk, int index, BackupLevel level, String reason, boolean tracked, boolean fleeced) {
        /** The run moves this disk's change tracking forward (and records the chain's bitmap for it). */
        public boolean advancesTracking() {
            return tracked && level != BackupLevel.COPY;
        }

        /**
         * The format the backup file is written in: the disk's, except a raw disk's INC, which is a
         * qcow2 (a sparse raw file cannot tell clusters the guest zeroed from clusters that did not
         * change; qcow2 keeps the difference, so a restore over the FULL is exact).
         */
        public String targetFormat() {
            return level == BackupLevel.INC && disk.isRaw() ? "qcow2" : disk.format();
        }
    }
}
