package io.qmpbackup.engine.remote;

import io.qmpbackup.engine.backup.BackupLog;
import io.qmpbackup.engine.remote.TargetFiles.LocalFile;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Uploads files to the remote, one file at a time with its parts in parallel. An object that
 * already holds the file (its SHA-256 and size, under the same key id) is skipped, which is what
 * makes a replication cut short resumable file by file; within a file, {@link ObjectUpload}
 * continues the unfinished multipart upload. After each upload the object's head is read back:
 * the object counts only when it is there with the file's size and SHA-256. A backup file named
 * with its epoch is never overwritten: an object under its key with other data is what the file
 * was when it went off-site, and the remote's records still describe it.
 */
public final class Replicator implements AutoCloseable {
    private final RemoteStore store;
    private final BackupLog log;
    private final ExecutorService parts;
    private final RateLimit rate;

    public Replicator(RemoteStore store, BackupLog log) {
        this.store = store;
        this.log = log;
        this.parts = Executors.newFixedThreadPool(Math.max(1, store.config().parallelParts()), r -> {
            Thread t = new Thread(r, "s3-part");
            t.setDaemon(true);
            return t;
        });
        this.rate = new RateLimit(store.config().bandwidthLimit());
    }

    /**
     * What the upload of a set of files did.
     *
     * @param failures one line per file that is not verified on the remote
     */
    public record Result(int uploaded, int skipped, long bytesSent, int partsReused, List<String> failures) {
        public boolean complete() {
            return failures.isEmpty();
        }
    }

    /** Uploads each file not on the remote yet; a failed file is reported and the next one tried. */
    public Result upload(List<LocalFile> files) throws InterruptedException {
        int uploaded = 0;
        int skipped = 0;
        long bytes = 0;
        int reused = 0;
        List<String> failures = new ArrayList<>();
        ObjectUpload up = new ObjectUpload(store, parts, rate);
        for (LocalFile f : files) {
            String key = store.config().key(f.relative());
            try {
                if (store.holds(key, f.sha256(), f.size())) {
                    skipped++;
                    log.debug("remote: " + f.relative() + " already there");
                    continue;
                }
                if (!f.record() && stamped(f) && store.head(key).isPresent()) {
                    throw new RemoteException("s3://" + store.config().bucket() + "/" + key + " holds other data than"
                            + " the local file (changed after it went off-site by an in-place qmprestore commit, rebase"
                            + " or snapshotrebase? or another encryption key on this prefix?): the off-site copy is kept"
                            + " as it was, not overwritten, and no chain record of the target goes up until the local"
                            + " file is gone (pruned) or the target is replicated to a new prefix");
                }
                ObjectUpload.Sent s = up.upload(f.path(), key, f.sha256(), f.size());
                if (!store.holds(key, f.sha256(), f.size())) {
                    throw new RemoteException("s3://" + store.config().bucket() + "/" + key + " does not hold the"
                            + " uploaded file after its upload (size or SHA-256 differ)");
                }
                uploaded++;
                bytes += s.bytes();
                reused += s.partsReused();
                log.info("remote: uploaded " + f.relative() + " (" + f.size() + " bytes"
                        + (s.partsReused() > 0 ? ", " + s.partsReused() + " part(s) from an earlier attempt" : "")
                        + ")");
            } catch (IOException | RuntimeException e) {
                failures.add(f.relative() + ": " + e.getMessage());
                log.warn("remote: " + f.relative() + " not uploaded: " + e.getMessage());
            }
        }
        return new Result(uploaded, skipped, bytes, reused, List.copyOf(failures));
    }

    /**
     * A backup file named with its epoch (FULL-, INC-, COPY-<epoch>-): one backup's, for good. A
     * plain name (--no-timestamp) is replaced by each new full, off-site as locally.
     */
    private static boolean stamped(LocalFile f) {
        String name = f.relative().substring(f.relative().lastIndexOf('/') + 1);
        return io.qmpbackup.engine.repository.ChainDirectory.epochOf(name) >= 0;
    }

    @Override
    public void close() {
        parts.shutdownNow();
    }
}
