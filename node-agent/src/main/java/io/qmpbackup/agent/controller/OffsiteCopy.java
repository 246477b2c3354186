package io.qmpbackup.agent.controller;

import io.qmpbackup.api.v1alpha1.OffsiteStatus;
import io.qmpbackup.api.v1alpha1.RunTransitions;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupStatus;
import io.qmpbackup.engine.backup.Cancellation;
import io.qmpbackup.engine.remote.RemoteConfig;
import io.qmpbackup.engine.retention.RetentionPolicy;
import io.qmpbackup.engine.service.RemoteService;
import io.qmpbackup.engine.service.ReplicationOutcome;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Consumer;

/**
 * A succeeded backup's off-site copy: the engine's replication of the whole target (so a copy
 * that failed before is caught up by the next one), tried a few times, written to
 * status.offsite and the Offsite condition. It never changes the backup's phase: the local
 * backup stands whatever the upload does.
 */
final class OffsiteCopy {
    private final StatusWriter<VMBackup, VMBackupStatus> status;
    private final Cancellation cancel;
    private final Clock clock;
    private final int attempts;
    private final Duration retryDelay;

    OffsiteCopy(StatusWriter<VMBackup, VMBackupStatus> status, Cancellation cancel, Clock clock, int attempts,
            Duration retryDelay) {
        this.status = status;
        this.cancel = cancel;
        this.clock = clock;
        this.attempts = Math.max(1, attempts);
        this.retryDelay = retryDelay;
    }

    /** status.offsite as the backup's own success writes it: the copy is still to come. */
    static Consumer<VMBackupStatus> pending(RemoteConfig remote, Instant now) {
        return s -> {
            s.offsite = new OffsiteStatus();
            s.offsite.state = OffsiteStatus.PENDING;
            s.offsite.remote = remote.toString();
            s.offsite.message = "the upload starts now";
            RunTransitions.offsite(s, false, "Pending", s.offsite.message, now);
        };
    }

    /** status.offsite when the remote's config could not be read: failed before any upload. */
    static Consumer<VMBackupStatus> refused(String reason, String message, Instant now) {
        return s -> {
            s.offsite = new OffsiteStatus();
            s.offsite.state = OffsiteStatus.FAILED;
            s.offsite.attempts = 0;
            s.offsite.message = message + "; the local backup stands";
            s.offsite.completionTime = now.toString();
            RunTransitions.offsite(s, false, reason, s.offsite.message, now);
        };
    }

    /** Replicates {@code target}; {@code policy} is the backup's retention (the remote may have its own). */
    void run(RemoteConfig remote, Path target, RetentionPolicy policy) {
        RemoteService service = RemoteService.standard();
        for (int attempt = 1; attempt <= attempts; attempt++) {
            int n = attempt;
            status.amend(s -> state(s, OffsiteStatus.UPLOADING, n, "uploading (attempt " + n + " of " + attempts
                    + ")", false, "Uploading"));
            ReplicationOutcome o;
            try {
                o = service.replicate(target, remote, policy, status.log());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                failed(n, "interrupted: " + e.getMessage());
                return;
            }
            if (o.offsite()) {
                status.amend(s -> {
                    state(s, OffsiteStatus.UPLOADED, n, o.summary(), true, "Uploaded");
                    s.offsite.filesUploaded = o.uploaded();
                    s.offsite.filesSkipped = o.skipped();
                    s.offsite.bytesSent = o.bytesSent();
                    s.offsite.remotePruned = o.deleted().isEmpty() ? null : o.deleted();
                    s.offsite.completionTime = clock.instant().toString();
                });
                return;
            }
            if (attempt == attempts) {
                failed(n, o.summary());
                return;
            }
            status.log().warn("off-site copy, attempt " + n + " of " + attempts + ": " + o.summary());
            if (!pause(retryDelay.multipliedBy(attempt))) {
                failed(n, "cancelled before the next attempt: " + cancel.reason());
                return;
            }
        }
    }

    private void failed(int attempt, String why) {
        status.amend(s -> {
            state(s, OffsiteStatus.FAILED, attempt, why + "; the local backup stands, and the next backup's upload"
                    + " uploads what is missing", false, "UploadFailed");
            s.offsite.completionTime = clock.instant().toString();
        });
    }

    private void state(VMBackupStatus s, String state, int attempt, String message, boolean uploaded, String reason) {
        if (s.offsite == null) {
            s.offsite = new OffsiteStatus();
        }
        s.offsite.state = state;
        s.offsite.attempts = attempt;
        s.offsite.message = message;
        RunTransitions.offsite(s, uploaded, reason, message, clock.instant());
    }

    /** Sleeps unless cancelled meanwhile; false when cancelled. */
    private boolean pause(Duration d) {
        long until = System.nanoTime() + d.toNanos();
        while (System.nanoTime() < until) {
            if (cancel.cancelled()) {
                return false;
            }
            try {
                Thread.sleep(Math.min(200, Math.max(1, (until - System.nanoTime()) / 1_000_000)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return !cancel.cancelled();
    }

    /** A copy the agent was making when it stopped: Failed, so no status says Uploading forever. */
    static boolean interrupted(VMBackupStatus s) {
        return s != null && s.offsite != null && (OffsiteStatus.PENDING.equals(s.offsite.state)
                || OffsiteStatus.UPLOADING.equals(s.offsite.state));
    }

    static void markInterrupted(VMBackupStatus s, Instant now) {
        s.offsite.state = OffsiteStatus.FAILED;
        s.offsite.message = "the node agent restarted during the upload; the next backup's upload uploads what is"
                + " missing";
        s.offsite.completionTime = now.toString();
        RunTransitions.offsite(s, false, "AgentRestarted", s.offsite.message, now);
    }
}
