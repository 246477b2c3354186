package io.qmpbackup.engine.service;

import io.qmpbackup.engine.backup.BackupOptions;
import io.qmpbackup.engine.remote.RemoteConfig;
import io.qmpbackup.engine.retention.RetentionPolicy;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One backup as a front door asks for it.
 *
 * @param socket         the VM's QMP socket (already checked by the caller against what it may reach)
 * @param connectTimeout how long to wait for QEMU's greeting
 * @param options        what the run does (level, target, disks, quiesce, ...)
 * @param retention      the policy to prune the target with after a successful backup, or null
 * @param remote         where to replicate the target after a successful backup (and its prune), or null
 */
public record BackupRequest(Path socket, Duration connectTimeout, BackupOptions options, RetentionPolicy retention,
        RemoteConfig remote) {
    /** A backup with no off-site copy. */
    public BackupRequest(Path socket, Duration connectTimeout, BackupOptions options, RetentionPolicy retention) {
        this(socket, connectTimeout, options, retention, null);
    }

    public BackupRequest {
        if (socket == null) {
            throw new IllegalArgumentException("no QMP socket given: pass --socket PATH");
        }
        connectTimeout = connectTimeout == null ? Duration.ofSeconds(10) : connectTimeout;
    }
}
