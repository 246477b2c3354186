package io.qmpbackup.engine.backup;

import io.qmpbackup.engine.qmp.BlockGraph;
import io.qmpbackup.engine.qmp.QmpClient;
import io.qmpbackup.engine.qmp.QmpException;
import java.util.ArrayList;
import java.util.List;

/** {@code cleanup --remove-bitmap}: removes the change-tracking bitmaps this tool (or qmpbackup) made. */
public final class BitmapCleanup {
    private final QmpClient qmp;
    private final BackupLog log;

    public BitmapCleanup(QmpClient qmp, BackupLog log) {
        this.qmp = qmp;
        this.log = log;
    }

    /**
     * Removes every {@code qmpbackup-*} bitmap, or only the chain bitmap {@code qmpbackup-<uuid>}
     * when a uuid is given. Bitmaps of a backup that is running right now are left alone; those
     * of interrupted runs go with the rest of their leftovers.
     */
    public List<String> removeBitmaps(String uuid) throws QmpException, BackupException {
        new LeftoverCleaner(qmp, RunLock.defaultDirectory(), log).clean("");
        List<String> removed = new ArrayList<>();
        for (Disk d : DiskDiscovery.discover(qmp)) {
            for (Bitmap b : d.bitmaps()) {
                boolean ours = b.name().startsWith("qmpbackup-");
                boolean wanted = uuid == null || uuid.isBlank() ? ours : b.name().equals(Names.chainBitmap(uuid));
                if (!wanted || Names.tokenOf(b.name()) != null && b.name().startsWith("qmpbackup-run-")) {
                    continue;
                }
                if (b.busy()) {
                    throw new BackupException("bitmap " + b.name() + " on " + d.describe() + " is in use by a running"
                            + " backup; wait for it to finish and run cleanup again");
                }
                new BlockGraph(qmp).removeBitmap(d.nodeName(), b.name());
                log.info("removed bitmap " + b.name() + " from " + d.describe());
                removed.add(b.name());
            }
        }
        if (uuid != null && !uuid.isBlank() && removed.isEmpty()) {
            log.warn("no bitmap " + Names.chainBitmap(uuid) + " found on any disk");
        }
        return removed;
    }
}
