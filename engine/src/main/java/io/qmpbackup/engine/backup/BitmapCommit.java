package io.qmpbackup.engine.backup;

import io.qmpbackup.engine.qmp.BlockGraph;
import io.qmpbackup.engine.qmp.QmpException;
import io.qmpbackup.engine.qmp.Transaction;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The last step of a good run: each disk's chain bitmap becomes {@code next} (clear, merge,
 * remove in one transaction). Only now does change tracking move forward; until here the chain
 * bitmap held every change since the last good backup.
 */
final class BitmapCommit {
    private final BlockGraph graph;
    private final String vm;
    private final Consumer<String> warn;
    private final BackupLog log;

    BitmapCommit(BlockGraph graph, String vm, Consumer<String> warn, BackupLog log) {
        this.graph = graph;
        this.vm = vm;
        this.warn = warn;
        this.log = log;
    }

    /**
     * @param nextBitmaps the undo entries of the {@code next} bitmaps: released when the commit
     *                    succeeds; on failure they stay and remove the bitmaps when the run unwinds
     */
    void commit(BackupPlan plan, String token, List<UndoStack.Entry> nextBitmaps) {
        String next = Names.nextBitmap(token);
        String chainBitmap = Names.chainBitmap(plan.chainId());
        Transaction t = new Transaction();
        for (BackupPlan.DiskPlan p : plan.disks()) {
            if (!p.advancesTracking()) {
                continue;
            }
            String node = p.disk().nodeName();
            Optional<Bitmap> existing = currentBitmap(p.disk(), chainBitmap);
            if (existing.isPresent() && !existing.get().inconsistent()) {
                t.clearBitmap(node, chainBitmap);
            } else {
                if (existing.isPresent()) {
                    removeInconsistent(node, chainBitmap);
                }
                // a raw image cannot store a bitmap: a raw disk's tracking lives as long as this QEMU process
                t.addBitmap(node, chainBitmap, !p.disk().isRaw());
            }
            t.mergeBitmap(node, chainBitmap, node, next).removeBitmap(node, next);
        }
        if (t.isEmpty()) {
            return;
        }
        try {
            graph.run(t);
            nextBitmaps.forEach(UndoStack.Entry::release);
        } catch (QmpException e) {
            warn.accept(vm + ": the backup files are complete, but change tracking could not be moved forward ("
                    + e.getMessage() + "); the next incremental will copy some data again, or auto will take a full");
        }
    }

    private Optional<Bitmap> currentBitmap(Disk disk, String name) {
        try {
            for (Disk d : DiskDiscovery.discover(graph.client())) {
                if (d.nodeName().equals(disk.nodeName())) {
                    return d.bitmap(name);
                }
            }
        } catch (QmpException e) {
            log.debug("cannot re-read bitmaps: " + e.getMessage());
        }
        return disk.bitmap(name);
    }

    private void removeInconsistent(String node, String name) {
        try {
            graph.removeBitmap(node, name);
        } catch (QmpException e) {
            warn.accept(vm + ": cannot remove bitmap " + name + " from node " + node + ": " + e.getMessage());
        }
    }
}
