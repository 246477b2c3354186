package io.qmpbackup.engine.service;

import io.qmpbackup.engine.backup.BackupLog;
import io.qmpbackup.engine.backup.Cancellation;
import io.qmpbackup.engine.restore.BackupChain;
import io.qmpbackup.engine.restore.ChainRestore;
import io.qmpbackup.engine.restore.ChainVerifier;
import io.qmpbackup.engine.restore.InstantOverlay;
import io.qmpbackup.engine.restore.LiveStream;
import io.qmpbackup.engine.restore.PointExport;
import io.qmpbackup.engine.qmp.QmpClient;
import io.qmpbackup.engine.qmp.QmpException;
import io.qmpbackup.engine.restore.RestoreException;
import io.qmpbackup.engine.restore.TpmRestore;
import io.qmpbackup.engine.restore.VmSkeleton;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.util.List;

/**
 * The engine's front for restores: loads the chain, plans the mode's steps (refusing before the
 * first one runs), runs them with cancellation between steps, and says where the result is.
 * The chain's warnings go to the log and into the outcome.
 */
public final class RestoreService {
    private final ZoneId zone;

    /** @param zone names the internal snapshots of snapshotrebase */
    public RestoreService(ZoneId zone) {
        this.zone = zone;
    }

    public static RestoreService standard() {
        return new RestoreService(ZoneId.systemDefault());
    }

    /** The steps the request would run (--dry-run); nothing is changed. */
    public List<String> plan(RestoreRequest request, BackupLog log) throws RestoreException {
        Planned p = planned(request, log);
        return p.steps.stream().map(ChainRestore.Step::describe).toList();
    }

    public RestoreOutcome restore(RestoreRequest request, BackupLog log, Cancellation cancel) throws RestoreException {
        Planned p = planned(request, log);
        try {
            p.restore.run(p.steps, cancel);
        } catch (RestoreException e) {
            if (request.mode() == RestoreRequest.Mode.MERGE) {
                removePartial(ChainRestore.partialOf(request.targetFile()), log);
            }
            throw e;
        }
        String check = request.mode() == RestoreRequest.Mode.MERGE ? "qemu-img check: no errors"
                : "chain checked before changes";
        return new RestoreOutcome(p.output, p.steps.stream().map(ChainRestore.Step::describe).toList(),
                p.chain.warnings(), request.skipCheck() ? "not checked (--skip-check)" : check);
    }

    /**
     * verify: every file's structure and recorded checksum (with {@code structureOnly}, the
     * structure alone); throws naming the damage, or a file with nothing to check it against.
     */
    public VerifyOutcome verify(Path dir, boolean structureOnly, BackupLog log) throws RestoreException {
        BackupChain chain = load(dir, null, log);
        ChainVerifier.Result r = ChainVerifier.verify(chain, structureOnly, log);
        if (!r.ok()) {
            throw new RestoreException("verify of " + dir + " failed: " + r.damaged() + (r.problems().size() > 1
                    ? " (and " + (r.problems().size() - 1) + " more file(s), listed above)" : ""));
        }
        return new VerifyOutcome(r.files(), r.checksummed());
    }

    /**
     * Instant recovery: a new overlay on the point (O(1) whatever the disk's size), with a hold
     * that keeps retention off its backing files until it is streamed or deleted.
     */
    public InstantOverlay.Result instant(Path dir, String filter, String until, Path overlay, boolean skipCheck,
            BackupLog log) throws RestoreException {
        return InstantOverlay.create(load(dir, filter, log), until, overlay, skipCheck, log);
    }

    /**
     * A read-only NBD export of the point, up until {@link PointExport#close}. Call it from a thread
     * that lives as long as the export (the server ends with that thread).
     */
    public PointExport export(Path dir, String filter, String until, PointExport.Listen listen, BackupLog log)
            throws RestoreException {
        return PointExport.start(load(dir, filter, log), until, listen, log);
    }

    /**
     * Finishes a live restore: streams the disk's backing chain into the overlay the VM runs
     * from, then releases the overlay's holds.
     */
    public LiveStream.Result stream(Path socket, Duration connectTimeout, String device, long speed, BackupLog log,
            Cancellation cancel) throws RestoreException, QmpException {
        try (QmpClient qmp = QmpClient.connect(socket, connectTimeout, false)) {
            return new LiveStream(qmp, log).run(device, speed, cancel);
        }
    }

    /** Puts the TPM state kept with a chain into {@code to}; returns the run folder it came from. */
    public Path restoreTpm(Path dir, String until, Path to) throws RestoreException {
        return TpmRestore.restore(dir, until, to);
    }

    /** The QEMU command line skeleton of the VM a chain (or disk folder) was taken from. */
    public List<String> vmSkeleton(Path dir) throws RestoreException {
        return VmSkeleton.of(VmSkeleton.descriptionOf(dir));
    }

    private record Planned(BackupChain chain, ChainRestore restore, List<ChainRestore.Step> steps, Path output) {
    }

    private Planned planned(RestoreRequest q, BackupLog log) throws RestoreException {
        BackupChain chain = load(q.dir(), q.filter(), log);
        ChainRestore r = new ChainRestore(chain, q.skipCheck(), zone, log);
        return switch (q.mode()) {
            case MERGE -> new Planned(chain, r, r.planMerge(q.targetFile(), q.until()), q.targetFile());
            case REBASE -> new Planned(chain, r, r.planRebase(q.until()), chain.dir().resolve("image"));
            case COMMIT -> new Planned(chain, r, r.planCommit(q.until(), q.rateLimit()), full(chain, q.until()));
            case SNAPSHOTREBASE -> new Planned(chain, r, r.planSnapshotRebase(q.until(), q.rateLimit()),
                    full(chain, q.until()));
        };
    }

    private static Path full(BackupChain chain, String until) throws RestoreException {
        return chain.pointUpTo(until).get(0).path();
    }

    private static BackupChain load(Path dir, String filter, BackupLog log) throws RestoreException {
        BackupChain chain = BackupChain.load(dir, filter);
        chain.warnings().forEach(log::warn);
        return chain;
    }

    private static void removePartial(Path partial, BackupLog log) {
        try {
            Files.deleteIfExists(partial);
        } catch (IOException e) {
            log.warn("cannot remove the unfinished image " + partial + ": " + e.getMessage() + "; delete it by hand");
        }
    }
}
