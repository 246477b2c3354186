package io.qmpbackup.engine.retention;

import io.qmpbackup.engine.repository.ChainManifest;
import io.qmpbackup.engine.repository.Holds;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The holds in force on a target's chains, read once per chain folder and disk. A record no
 * longer in force (its overlay streamed or deleted, its export ended) is deleted when
 * {@code release} is set, so a dry run changes nothing.
 */
final class ChainHolds {
    private final boolean release;
    private final Map<String, List<Holds.Hold>> byFolderAndDisk = new HashMap<>();

    ChainHolds(boolean release) {
        this.release = release;
    }

    /** What holds one of the chain's files, described; null when nothing does. */
    String heldBy(Chain c) throws IOException {
        Path folder = c.manifestFile().toAbsolutePath().getParent();
        String key = folder + "\0" + c.disk();
        List<Holds.Hold> holds = byFolderAndDisk.get(key);
        if (holds == null) {
            holds = Holds.inForce(folder, c.disk(), release);
            byFolderAndDisk.put(key, holds);
        }
        for (Holds.Hold h : holds) {
            for (ChainManifest.Entry e : c.entries()) {
                if (h.holds(c.disk(), e.file)) {
                    return h.describe();
                }
            }
        }
        return null;
    }
}
