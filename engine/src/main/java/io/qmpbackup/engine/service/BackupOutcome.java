package io.qmpbackup.engine.service;

import io.qmpbackup.engine.backup.BackupResult;

/**
 * A successful backup and what retention did after it.
 *
 * @param backup    what the run wrote
 * @param retention the prune that followed, or null when no policy was given
 * @param replication the upload to the remote that followed, or null when no remote was given
 */
public record BackupOutcome(BackupResult backup, PruneOutcome retention, ReplicationOutcome replication) {
    public BackupOutcome(BackupResult backup, PruneOutcome retention) {
        this(backup, retention, null);
    }
}
