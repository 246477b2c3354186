package io.qmpbackup.engine.service;

import java.util.List;

/**
 * What a replication to the remote did.
 *
 * @param offsite   true only when every file the remote keeps was uploaded (or already there) and
 *                  read back with its size and SHA-256, and the records after them
 * @param uploaded  files uploaded now
 * @param skipped   files already on the remote with the same SHA-256
 * @param bytesSent bytes sent (after encryption), parts kept from an interrupted attempt not counted
 * @param partsReused parts of an interrupted multipart upload that were kept
 * @param deleted   objects remote retention deleted (paths relative to the target)
 * @param failures  one line per file (or step) that failed; empty when {@code offsite}
 * @param seconds   how long it took
 */
public record ReplicationOutcome(boolean offsite, int uploaded, int skipped, long bytesSent, int partsReused,
        List<String> deleted, List<String> failures, double seconds) {

    static ReplicationOutcome failed(String why, double seconds) {
        return new ReplicationOutcome(false, 0, 0, 0, 0, List.of(), List.of(why), seconds);
    }

    /** One line for a log or a status message. */
    public String summary() {
        return (offsite ? "off-site: verified" : "off-site: NOT complete") + ", " + uploaded + " file(s) uploaded, "
                + skipped + " already there, " + bytesSent + " bytes sent"
                + (partsReused > 0 ? ", " + partsReused + " part(s) resumed" : "")
                + (deleted.isEmpty() ? "" : ", " + deleted.size() + " remote object(s) pruned")
                + String.format(java.util.Locale.ROOT, " in %.1f s", seconds)
                + (failures.isEmpty() ? "" : "; first failure: " + failures.get(0));
    }
}
