package io.qmpbackup.engine.backup;

import io.qmpbackup.engine.repository.ChainManifest;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Decides, from the VM's disks, the options and the chain on disk, which disks a run backs up
 * and at which level, with the reason for each. Pure: it reads nothing but what it is given
 * and changes nothing, so a refusal here leaves the VM and the target as they were. The options
 * themselves (include and exclude together, a negative speed) are checked before it runs.
 */
public final class BackupPlanner {
    private final BackupOptions o;
    private final Supplier<String> newChainId;

    /** @param newChainId makes the id of a new chain (a random UUID outside tests) */
    public BackupPlanner(BackupOptions options, Supplier<String> newChainId) {
        this.o = options;
        this.newChainId = newChainId;
    }

    public BackupPlan plan(String vm, List<Disk> all, ChainState chain) throws BackupException {
        checkNames(vm, all);
        List<String> warnings = new ArrayList<>();
        for (String n : o.exclude()) {
            if (all.stream().noneMatch(d -> d.matches(n))) {
                warnings.add(vm + " has no disk named '" + n + "' (--exclude): nothing to exclude; its disks are "
                        + names(all));
            }
        }
        Optional<String> folderUuid = chain.uuid();
        if (o.uuid() != null && !o.uuid().isBlank() && folderUuid.isPresent() && !folderUuid.get().equals(o.uuid())
                && o.level() != BackupLevel.COPY) {
            throw new BackupException("target " + chain.path() + " holds chain " + folderUuid.get() + " but --uuid "
                    + o.uuid() + " was given: use another --target for a second chain, or drop --uuid");
        }
        String bitmap = Names.chainBitmap(folderUuid.orElse(o.uuid() == null ? "" : o.uuid()));
        List<BackupPlan.DiskPlan> disks = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        for (Disk d : all) {
            String leftOut = leaveOut(vm, d, warnings);
            if (leftOut != null) {
                if (!leftOut.isEmpty()) {
                    notes.add(leftOut);
                }
                continue;
            }
            // raw disks too (with --include-raw): their bitmap cannot be stored in the image, so it
            // lives as long as the QEMU process (qmpbackup 0.67's non-persistent bitmaps)
            boolean tracked = (d.format().equals("qcow2") || d.isRaw() && !d.pflash()) && !d.readOnly();
            boolean fleeced = !d.readOnly() && !d.qdev().isEmpty();
            Decision level = level(vm, d, tracked, chain, bitmap, warnings);
            if (!tracked && o.level() != BackupLevel.FULL && o.level() != BackupLevel.COPY) {
                notes.add(vm + ": " + level.reason);
            }
            disks.add(new BackupPlan.DiskPlan(d, disks.size(), level.level, level.reason, tracked, fleeced));
        }
        if (disks.isEmpty()) {
            throw new BackupException(vm + " has no disk to back up (disks: " + names(all)
                    + "); check --include/--exclude, or pass --include-raw for raw disks");
        }
        boolean chained = disks.stream().anyMatch(BackupPlan.DiskPlan::advancesTracking);
        String chainId = !chained ? null : folderUuid.orElse(o.uuid() != null && !o.uuid().isBlank() ? o.uuid()
                : newChainId.get());
        return new BackupPlan(vm, chainId, bitmap, disks, notes, warnings);
    }

    private void checkNames(String vm, List<Disk> all) throws BackupException {
        for (String n : o.include()) {
            if (all.stream().noneMatch(d -> d.matches(n))) {
                throw new BackupException(vm + " has no disk named '" + n + "' (--include): its disks are "
                        + names(all) + "; see info --show blockdev");
            }
        }
    }

    /**
     * Why the disk stays out of the run (an info line; empty when a warning already says it), or null
     * when it is backed up.
     */
    private String leaveOut(String vm, Disk d, List<String> warnings) throws BackupException {
        boolean excluded = o.exclude().stream().anyMatch(d::matches);
        boolean included = o.include().isEmpty() || o.include().stream().anyMatch(d::matches);
        if (excluded || (!included && !d.pflash())) {
            return vm + ": leaving out " + d.describe() + (excluded ? " (--exclude)" : " (not in --include)");
        }
        if (!d.format().equals("qcow2") && !d.format().equals("raw")) {
            throw new BackupException(vm + ": " + d.describe() + " is attached through a '" + d.format()
                    + "' node, which this tool cannot back up; exclude it with --exclude " + d.name());
        }
        if (d.isRaw() && !d.pflash() && !o.includeRaw()) {
            String w = vm + ": leaving out raw " + d.describe() + ": raw disks are backed up only with --include-raw"
                    + " (their change tracking lasts only while the QEMU process runs), or convert it to qcow2 / a"
                    + " qcow2 with a raw data_file";
            warnings.add(w);
            return "";
        }
        return null;
    }

    private record Decision(BackupLevel level, String reason) {
    }

    private Decision level(String vm, Disk d, boolean tracked, ChainState chain, String bitmap,
            List<String> warnings) throws BackupException {
        BackupLevel asked = o.level();
        if (asked == BackupLevel.COPY) {
            return new Decision(BackupLevel.COPY, "--level copy");
        }
        if (!tracked) {
            if (asked == BackupLevel.INC && d.isRaw() && !d.pflash()) {
                throw new BackupException(vm + ": " + d.describe() + " has no change tracking (" + (d.readOnly()
                        ? "read-only" : "a raw pflash") + "): run --level full, copy or auto, or leave it out with"
                        + " --exclude " + d.name());
            }
            return new Decision(BackupLevel.FULL, asked == BackupLevel.FULL ? "--level full"
                    : d.describe() + " has no change tracking (" + (d.readOnly() ? "read-only" : d.format())
                            + "): taking a full copy of it");
        }
        if (asked == BackupLevel.FULL) {
            return new Decision(BackupLevel.FULL, "--level full");
        }
        String problem = incProblem(d, chain, bitmap);
        if (problem == null) {
            return new Decision(BackupLevel.INC, "the chain and its bitmap " + bitmap + " are intact");
        }
        if (asked == BackupLevel.INC) {
            throw new BackupException(vm + ": cannot take an incremental backup of " + d.describe() + ": " + problem
                    + "; run --level full (or --level auto, which falls back to full by itself)");
        }
        if (!chain.newMonth() && chain.uuid().isPresent()) {
            warnings.add(vm + ": " + d.describe() + ": " + problem + "; taking a full backup instead");
        }
        return new Decision(BackupLevel.FULL, problem);
    }

    /** Why an INC of this disk is impossible, or null when it is possible. */
    private static String incProblem(Disk d, ChainState chain, String bitmapName) throws BackupException {
        if (chain.newMonth()) {
            return "a new month starts a new chain";
        }
        if (chain.uuid().isEmpty()) {
            return "there is no chain in " + chain.path() + " yet (no uuid file)";
        }
        Optional<Bitmap> bm = d.bitmap(bitmapName);
        if (bm.isEmpty() && d.isRaw()) {
            return "its change-tracking bitmap " + bitmapName + " is missing: a raw disk's tracking lives only while"
                    + " its QEMU process runs (QEMU was restarted since the last backup, or the chain is new)";
        }
        if (bm.isEmpty()) {
            return "its change-tracking bitmap " + bitmapName + " is missing (VM restarted with a non-persistent"
                    + " bitmap, bitmaps removed, or a different chain)";
        }
        if (!bm.get().usable()) {
            return "its change-tracking bitmap " + bitmapName + " " + bm.get().problem();
        }
        ChainState.DiskChain dc;
        try {
            dc = chain.disk(d.basename());
        } catch (IOException e) {
            throw new BackupException(e.getMessage(), e);
        }
        Optional<ChainManifest> m = dc.manifest();
        if (m.isPresent() && m.get().currentChain().isEmpty()) {
            return "its chain manifest has no full backup";
        }
        if (m.isEmpty() && !dc.hasFull()) {
            return "there is no full backup of it in " + dc.folder();
        }
        if (m.isEmpty() && !dc.partials().isEmpty()) {
            return "an unfinished backup file " + dc.partials().get(0)
                    + " lies in the folder and the chain has no manifest, so it may be broken";
        }
        if (dc.missingLast().isPresent()) {
            return "the newest backup file of the chain, " + dc.missingLast().get() + ", is missing";
        }
        return null;
    }

    private static String names(List<Disk> disks) {
        return disks.stream().map(Disk::name).toList().toString();
    }
}
