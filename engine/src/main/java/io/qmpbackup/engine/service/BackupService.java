package io.qmpbackup.engine.service;

import io.qmpbackup.engine.backup.BackupException;
import io.qmpbackup.engine.backup.BackupLog;
import io.qmpbackup.engine.backup.BackupResult;
import io.qmpbackup.engine.backup.BitmapCleanup;
import io.qmpbackup.engine.backup.Cancellation;
import io.qmpbackup.engine.backup.Disk;
import io.qmpbackup.engine.backup.DiskDiscovery;
import io.qmpbackup.engine.backup.FleecingBackup;
import io.qmpbackup.engine.backup.LeftoverCleaner;
import io.qmpbackup.engine.backup.RunLock;
import io.qmpbackup.engine.qmp.QmpClient;
import io.qmpbackup.engine.qmp.QmpException;
import io.qmpbackup.engine.repository.ChainDirectory;
import io.qmpbackup.engine.repository.TargetLock;
import io.qmpbackup.engine.retention.ChainPruner;
import io.qmpbackup.engine.retention.RetentionPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

/**
 * The engine's front for backups: a request in, an outcome out. The command line and the
 * agent's controller both call it and only translate (flags or a spec into a request, an
 * outcome into an exit code or a status); how a backup is composed (connection, the run,
 * retention after success, lock waits, the clock) lives here once.
 */
public final class BackupService {
    /** How long a prune or a clean-up waits for a backup of the same target. */
    public static final Duration LOCK_WAIT = Duration.ofSeconds(60);

    private final Clock clock;
    private final Duration lockWait;

    public BackupService(Clock clock, Duration lockWait) {
        this.clock = clock;
        this.lockWait = lockWait;
    }

    /** The system's UTC clock and the standard lock wait. */
    public static BackupService standard() {
        return new BackupService(Clock.systemUTC(), LOCK_WAIT);
    }

    /**
     * Runs the backup; after it succeeded, the retention policy. The backup stands whatever the
     * prune does: a prune that cannot run is reported in the outcome and leaves every file. With a
     * remote, the target is then replicated; a failed upload is reported in the outcome, the local
     * backup stands.
     */
    public BackupOutcome backup(BackupRequest request, BackupLog log, Cancellation cancel)
            throws BackupException, QmpException {
        BackupResult result;
        try (QmpClient qmp = QmpClient.connect(request.socket(), request.connectTimeout(),
                request.options().passFds())) {
            result = new FleecingBackup(qmp, request.options(), log, cancel).run();
        }
        PruneOutcome retention = null;
        if (request.retention() != null) {
            retention = pruneAfterBackup(request.options().target(), request.retention(), log);
        }
        ReplicationOutcome replication = null;
        if (request.remote() != null) {
            try {
                replication = new RemoteService(clock, lockWait).replicate(request.options().target(),
                        request.remote(), request.retention(), log);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                replication = ReplicationOutcome.failed("interrupted", 0);
            }
        }
        return new BackupOutcome(result, retention, replication);
    }

    private PruneOutcome pruneAfterBackup(Path target, RetentionPolicy policy, BackupLog log) {
        try {
            return prune(target, policy, false, lockWait, log);
        } catch (IOException | IllegalArgumentException e) {
            log.warn("retention did not run: " + e.getMessage());
            return PruneOutcome.failed(e.getMessage());
        }
    }

    /** Deletes (or, with dryRun, lists) what the policy does not keep. */
    public PruneOutcome prune(Path target, RetentionPolicy policy, boolean dryRun, Duration wait, BackupLog log)
            throws IOException {
        ChainPruner.Result r = new ChainPruner(target, policy, log, clock, wait).prune(dryRun);
        return new PruneOutcome(r.chainsKept(), r.chainsPruned(), r.deleted(), r.bytesFreed(), r.kept(),
                r.warnings(), null);
    }

    /**
     * After the process that ran a backup died: removes what it left in the VM (nodes, jobs,
     * temporary bitmaps, fleece files) and its unfinished files, under the target's lock so that
     * no running backup of the target loses its files. Returns what was done, for a message.
     *
     * @param socket the VM's QMP socket, or null when it cannot be reached from here
     * @param target the backup target, or null when unknown
     */
    public String cleanAfterCrash(Path socket, Path target, BackupLog log) {
        StringBuilder done = new StringBuilder();
        if (socket != null) {
            try (QmpClient qmp = QmpClient.connect(socket, Duration.ofSeconds(10))) {
                LeftoverCleaner cleaner = new LeftoverCleaner(qmp, RunLock.defaultDirectory(), log);
                int n = cleaner.clean("");
                done.append("the VM was cleaned (").append(n).append(" leftover objects removed)");
                if (target != null) {
                    cleaner.cleanFleeceFiles(target, "");
                }
            } catch (QmpException e) {
                done.append("the VM could not be reached to clean it (").append(e.getMessage())
                        .append("); the next backup removes the leftovers first");
            }
        }
        if (target != null && Files.isDirectory(target)) {
            done.append(done.length() == 0 ? "" : ", ").append(removeUnfinished(target, log));
        }
        return done.toString();
    }

    private String removeUnfinished(Path target, BackupLog log) {
        try (TargetLock lock = TargetLock.acquire(target, lockWait, "the clean-up", log::info);
                Stream<Path> s = Files.walk(target, 3)) {
            for (Path p : s.filter(p -> p.getFileName().toString().endsWith(ChainDirectory.PARTIAL_SUFFIX)).toList()) {
                Files.deleteIfExists(p);
            }
            return "unfinished files removed";
        } catch (IOException e) {
            return "unfinished files could not be removed: " + e.getMessage();
        }
    }

    /** The VM's disks (info --show). */
    public List<Disk> disks(Path socket, Duration connectTimeout) throws QmpException {
        try (QmpClient qmp = QmpClient.connect(socket, connectTimeout)) {
            return DiskDiscovery.discover(qmp);
        }
    }

    /** cleanup --remove-bitmap: every qmpbackup bitmap, or one chain's; returns the names removed. */
    public List<String> removeBitmaps(Path socket, Duration connectTimeout, String uuid, BackupLog log)
            throws QmpException, BackupException {
        try (QmpClient qmp = QmpClient.connect(socket, connectTimeout)) {
            return new BitmapCleanup(qmp, log).removeBitmaps(uuid);
        }
    }
}
