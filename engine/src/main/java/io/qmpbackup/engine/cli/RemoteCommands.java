package io.qmpbackup.engine.cli;

import io.qmpbackup.engine.remote.ChainDownload;
import io.qmpbackup.engine.remote.RemoteConfig;
import io.qmpbackup.engine.retention.RetentionPolicy;
import io.qmpbackup.engine.service.RemoteService;
import io.qmpbackup.engine.service.ReplicationOutcome;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * The off-site commands: {@code qmpbackup replicate} (catch a target's remote up) and
 * {@code qmprestore download}. The remote is a config file; its secrets come from the environment
 * or files it names, never from an argument (which {@code ps} shows).
 */
final class RemoteCommands {
    /** Exit code of a backup that succeeded locally but is not (yet) off-site: the backup stands, retry replicate. */
    static final int NOT_OFFSITE = 3;

    private RemoteCommands() {
    }

    /** Reads a remote config; a bad one is a usage error that names the file. */
    static RemoteConfig load(Path file, Object command) {
        try {
            return RemoteConfig.load(file, System.getenv());
        } catch (java.io.IOException | IllegalArgumentException e) {
            throw new CommandLine.ParameterException(new CommandLine(command), "remote config " + file + ": "
                    + e.getMessage());
        }
    }

    /** Logs what a replication did; returns the exit code for it. */
    static int report(ReplicationOutcome o, ConsoleLog log) {
        if (o.offsite()) {
            return 0;
        }
        o.failures().forEach(f -> log.warn("  not off-site: " + f));
        log.warn("the backup is NOT off-site yet; run qmpbackup replicate --target ... --remote ... to catch up");
        return NOT_OFFSITE;
    }

    @Command(name = "replicate", mixinStandardHelpOptions = true, description = "upload what the remote lacks of a"
            + " backup target (files, then chain records), verified, then apply remote retention; exit 3 when not"
            + " everything is off-site")
    static final class Replicate implements Callable<Integer> {
        @ParentCommand
        QmpBackupCommand top;

        @Option(names = {"-t", "--target"}, required = true, description = "backup target folder")
        Path target;

        @Option(names = "--remote", required = true, description = "the remote's config file (endpoint, bucket,"
                + " prefix, credentials from the environment or files)")
        Path remote;

        @CommandLine.Mixin
        RetentionOptions retention;

        @Override
        public Integer call() throws Exception {
            RetentionPolicy policy = retention.policy(this);
            if (!Files.isDirectory(target)) {
                throw new CommandLine.ParameterException(new CommandLine(this), "backup target " + target
                        + " is not a folder: give the --target the backups were written to");
            }
            RemoteConfig config = load(remote, this);
            return report(RemoteService.standard().replicate(target, config, policy, top.log), top.log);
        }
    }

    @Command(name = "download", mixinStandardHelpOptions = true, description = "download a disk's backup folder"
            + " from the remote (qmprestore --remote CONFIG download), each file checked against its integrity"
            + " record")
    static final class Download implements Callable<Integer> {
        @ParentCommand
        QmpRestoreCommand top;

        @Option(names = "--dir", required = true, description = "the disk folder's path in the remote, relative to"
                + " the target (disk1.qcow2, 2026-12/disk1.qcow2)")
        String dir;

        @Option(names = "--to", required = true, description = "local folder to lay the chain out in, as the target"
                + " was")
        Path to;

        @Override
        public Integer call() throws Exception {
            ChainDownload.Result r = RemoteService.standard().download(top.remoteConfig(this), dir, to, top.log);
            top.log.info("downloaded " + r.files() + " file(s), " + r.bytes() + " bytes, checked, into " + r.folder());
            return 0;
        }
    }
}
