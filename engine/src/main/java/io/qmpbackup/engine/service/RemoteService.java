package io.qmpbackup.engine.service;

import io.qmpbackup.engine.backup.BackupLog;
import io.qmpbackup.engine.backup.Cancellation;
import io.qmpbackup.engine.remote.ChainDownload;
import io.qmpbackup.engine.remote.RemoteConfig;
import io.qmpbackup.engine.remote.RemoteShadow;
import io.qmpbackup.engine.remote.RemoteStore;
import io.qmpbackup.engine.remote.Replicator;
import io.qmpbackup.engine.remote.TargetFiles;
import io.qmpbackup.engine.repository.TargetLock;
import io.qmpbackup.engine.restore.RestoreException;
import io.qmpbackup.engine.retention.ChainPruner;
import io.qmpbackup.engine.retention.RetentionPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

/**
 * The engine's front for off-site copies: replication of a backup target to its remote (after a
 * backup, or to catch up), remote retention, and download of a disk's chain for a restore on any
 * node. A replication never fails the backup it follows: its outcome says whether the backup is
 * off-site.
 */
public final class RemoteService {
    private final Clock clock;
    private final Duration lockWait;

    public RemoteService(Clock clock, Duration lockWait) {
        this.clock = clock;
        this.lockWait = lockWait;
    }

    public static RemoteService standard() {
        return new RemoteService(Clock.systemUTC(), BackupService.LOCK_WAIT);
    }

    /**
     * Uploads what the remote lacks of {@code target}: data first, then the chain records, then
     * deletes what remote retention no longer keeps (the remote's own keep-* values, else
     * {@code localPolicy}, else only what the local target pruned).
     */
    public ReplicationOutcome replicate(Path target, RemoteConfig config, RetentionPolicy localPolicy, BackupLog log)
            throws InterruptedException {
        long start = System.nanoTime();
        Path scratch = null;
        try (RemoteStore store = new RemoteStore(config); Replicator up = new Replicator(store, log)) {
            scratch = Files.createTempDirectory("qmpbackup-remote-");
            RemoteShadow shadow = shadow(target, store, localPolicy, scratch, log);
            Replicator.Result data = up.upload(shadow.dataToUpload());
            Replicator.Result records = data.complete() ? up.upload(shadow.recordsToUpload())
                    : new Replicator.Result(0, 0, 0, 0, List.of("chain records not uploaded: data upload incomplete"));
            List<String> failures = new ArrayList<>(data.failures());
            failures.addAll(records.failures());
            List<String> deleted = List.of();
            if (failures.isEmpty()) {
                deleted = shadow.toDelete();
                store.delete(deleted.stream().map(config::key).toList());
                deleted.forEach(rel -> log.info("remote: pruned " + rel));
            }
            ReplicationOutcome o = new ReplicationOutcome(failures.isEmpty(), data.uploaded() + records.uploaded(),
                    data.skipped() + records.skipped(), data.bytesSent() + records.bytesSent(),
                    data.partsReused() + records.partsReused(), deleted, List.copyOf(failures), seconds(start));
            if (o.offsite()) {
                log.info("remote " + config + ": " + o.summary());
            } else {
                log.warn("remote " + config + ": " + o.summary());
            }
            return o;
        } catch (IOException | RuntimeException e) {
            log.warn("remote " + config + ": replication failed: " + e.getMessage());
            return ReplicationOutcome.failed(e.getMessage(), seconds(start));
        } finally {
            deleteQuietly(scratch);
        }
    }

    /** The remote as it will be, retention applied; built under the target's lock so no backup or prune is halfway. */
    private RemoteShadow shadow(Path target, RemoteStore store, RetentionPolicy localPolicy, Path scratch,
            BackupLog log) throws IOException {
        RemoteConfig c = store.config();
        RemoteShadow shadow;
        try (TargetLock lock = TargetLock.acquire(target, lockWait, "the replication", log::info)) {
            shadow = RemoteShadow.build(store, TargetFiles.scan(target), scratch.resolve("remote"),
                    c.hasOwnRetention());
        }
        RetentionPolicy policy = c.hasOwnRetention() ? new RetentionPolicy(c.keepLast(), c.keepDaily(),
                c.keepWeekly(), c.keepMonthly(), localPolicy != null ? localPolicy.zone() : ZoneOffset.UTC)
                : localPolicy;
        if (policy == null) {
            shadow.dropPruned();
        } else {
            new ChainPruner(shadow.root(), policy, prefixed(log), clock, lockWait).prune(false);
        }
        return shadow;
    }

    /** Downloads a disk's folder ({@code dir}, relative to the target) into {@code root}, checked file by file. */
    public ChainDownload.Result download(RemoteConfig config, String dir, Path root, BackupLog log) throws IOException {
        try (RemoteStore store = new RemoteStore(config)) {
            return new ChainDownload(store, log).download(dir, root);
        }
    }

    /**
     * A restore from the remote: downloads the disk's chain into {@code root} and restores it from
     * there as {@code request} says (its dir is replaced by the downloaded folder).
     */
    public RestoreOutcome restore(RemoteConfig config, String dir, Path root, RestoreRequest request, BackupLog log,
            Cancellation cancel) throws IOException, RestoreException {
        if (request.targetFile() != null
                && Files.exists(request.targetFile(), java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            // before the download, which may take long: the restore would refuse it afterwards
            throw new RestoreException("target file " + request.targetFile() + " already exists: refusing to"
                    + " overwrite it; pass another --targetfile or remove it (nothing was downloaded)");
        }
        ChainDownload.Result d = download(config, dir, root, log);
        log.info("remote: " + d.files() + " file(s), " + d.bytes() + " bytes downloaded and checked into "
                + d.folder());
        RestoreRequest local = new RestoreRequest(request.mode(), d.folder(), request.until(), request.targetFile(),
                request.skipCheck(), request.rateLimit(), request.filter());
        return RestoreService.standard().restore(local, log, cancel);
    }

    private static BackupLog prefixed(BackupLog log) {
        return new BackupLog() {
            @Override
            public void info(String message) {
                log.info("remote retention: " + message);
            }

            @Override
            public void warn(String message) {
                log.warn("remote retention: " + message);
            }
        };
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try {
            io.qmpbackup.engine.repository.AtomicFiles.deleteTree(dir);
        } catch (IOException e) {
            // a scratch folder in the temp directory: left for the system's clean-up
        }
    }
}
