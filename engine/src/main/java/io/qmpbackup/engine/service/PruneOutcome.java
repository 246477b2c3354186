package io.qmpbackup.engine.service;

import java.nio.file.Path;
import java.util.List;

/**
 * What a prune did, or why it did not run.
 *
 * @param chainsKept   chains left in place
 * @param chainsPruned chains deleted (or, in a dry run, that would be)
 * @param deleted      the files deleted
 * @param bytesFreed   their size
 * @param kept         one line per kept chain, for the log
 * @param warnings     disks left whole and why
 * @param failure      why the prune did not run (every file is still in place), or null
 */
public record PruneOutcome(int chainsKept, int chainsPruned, List<Path> deleted, long bytesFreed, List<String> kept,
        List<String> warnings, String failure) {

    public PruneOutcome {
        deleted = List.copyOf(deleted);
        kept = List.copyOf(kept);
        warnings = List.copyOf(warnings);
    }

    static PruneOutcome failed(String why) {
        return new PruneOutcome(0, 0, List.of(), 0, List.of(), List.of(), why);
    }

    public boolean ran() {
        return failure == null;
    }
}
