package io.qmpbackup.engine.backup;

import io.qmpbackup.engine.qmp.BlockGraph;
import io.qmpbackup.engine.qmp.BlockJob;
import io.qmpbackup.engine.qmp.JobWatch;
import io.qmpbackup.engine.qmp.QmpDisconnectedException;
import io.qmpbackup.engine.qmp.QmpException;
import java.time.Duration;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Waits for the run's jobs: woken by QEMU's job events and by a cancel, it reads query-jobs,
 * reports progress, and fails the run as soon as one job fails or vanishes.
 */
final class JobProgress {
    /** A wait re-reads the jobs at least this often, for the progress report. */
    private static final Duration REPORT = Duration.ofMillis(200);
    private static final long DEBUG_EVERY_NANOS = 10_000_000_000L;

    private final BlockGraph graph;
    private final BackupLog log;
    private final String vm;
    private final int cbwTimeout;

    JobProgress(BlockGraph graph, BackupLog log, String vm, int cbwTimeout) {
        this.graph = graph;
        this.log = log;
        this.vm = vm;
        this.cbwTimeout = cbwTimeout;
    }

    /** Returns the bytes each job copied, by disk index. */
    long[] await(BackupPlan plan, String token, Cancellation cancel) throws QmpException, BackupException {
        long[] copied = new long[plan.disks().size()];
        long lastDebug = System.nanoTime();
        try (JobWatch watch = JobWatch.open(graph.client());
                AutoCloseable wake = cancel.onCancel(watch::poke)) {
            while (true) {
                long seen = watch.mark();
                if (!graph.client().isConnected()) {
                    throw new QmpDisconnectedException("connection to QEMU closed during the backup");
                }
                cancel.check(vm);
                if (poll(plan, token, copied)) {
                    return copied;
                }
                if (System.nanoTime() - lastDebug > DEBUG_EVERY_NANOS) {
                    lastDebug = System.nanoTime();
                    log.debug(vm + ": " + java.util.Arrays.stream(copied).sum() + " bytes copied so far");
                }
                watch.await(seen, REPORT);
            }
        } catch (QmpException | BackupException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** One look at the jobs; true when all have concluded without error. */
    private boolean poll(BackupPlan plan, String token, long[] copied) throws QmpException, BackupException {
        Map<String, BlockJob> jobs = graph.jobs().stream().collect(Collectors.toMap(BlockJob::id,
                Function.identity(), (a, b) -> a));
        long done = 0;
        long total = 0;
        int finished = 0;
        String failure = null;
        boolean snapshotBroken = false;
        for (BackupPlan.DiskPlan p : plan.disks()) {
            BlockJob j = jobs.get(Names.job(token, p.index()));
            if (j == null) {
                throw new BackupException(vm + ": backup job " + Names.job(token, p.index()) + " of "
                        + p.disk().describe() + " vanished from QEMU (dismissed by someone else?)");
            }
            done += j.current();
            total += j.total();
            if (j.concluded()) {
                finished++;
                copied[p.index()] = j.current();
                if (j.failed() && failure == null) {
                    failure = p.disk().describe() + ": " + j.error();
                    snapshotBroken = p.fleeced() && j.error().contains("Permission denied");
                }
            }
        }
        log.progress(done, total);
        if (failure != null && snapshotBroken) {
            throw new BackupException(vm + ": backup job failed for " + failure + ": the snapshot was broken to"
                    + " protect the guest: copy-before-write could not save the old data of a guest write in time"
                    + " (--cbw-timeout " + cbwTimeout + " s) or could not write it to the fleece image (fleece"
                    + " folder full or failing?). The guest's writes went on; nothing was recorded and change"
                    + " tracking is unchanged. Give a faster or larger --fleece-dir, a longer --cbw-timeout, or run"
                    + " the backup when the guest writes less");
        }
        if (failure != null) {
            throw new BackupException(vm + ": backup job failed for " + failure
                    + "; nothing was recorded and change tracking is unchanged, fix the cause (target space?)"
                    + " and run the backup again");
        }
        return finished == plan.disks().size();
    }
}
