package io.qmpbackup.engine.cli;

import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpbackup.engine.backup.BackupLevel;
import io.qmpbackup.engine.backup.BackupOptions;
import io.qmpbackup.engine.backup.TargetIo;
import io.qmpbackup.engine.backup.BackupResult;
import io.qmpbackup.engine.backup.Cancellation;
import io.qmpbackup.engine.backup.Disk;
import io.qmpbackup.engine.qmp.Json;
import io.qmpbackup.engine.retention.RetentionPolicy;
import io.qmpbackup.engine.service.BackupOutcome;
import io.qmpbackup.engine.service.BackupRequest;
import io.qmpbackup.engine.service.BackupService;
import io.qmpbackup.engine.service.PruneOutcome;
import io.qmpbackup.engine.sink.LowPriority;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code qmpbackup}: the engine as a local command line, with qmpbackup 0.67's subcommands and
 * flags. Exit 0 on success; on failure exit 1 and one line on stderr that names the VM or
 * disk, the problem and the fix.
 */
@Command(name = "qmpbackup", mixinStandardHelpOptions = true, version = "qmpbackup (QMPBackup Operator) 0.1.0",
        description = "Live full and incremental backups of running QEMU virtual machines through QMP.",
        subcommands = {QmpBackupCommand.Backup.class, QmpBackupCommand.Info.class, QmpBackupCommand.Cleanup.class,
            QmpBackupCommand.Prune.class, RemoteCommands.Replicate.class, LiveRestoreCommands.Stream.class, ListCommands.TargetPoints.class,
            ListCommands.Completion.class, CommandLine.HelpCommand.class})
public final class QmpBackupCommand extends CliMain.Tool implements Callable<Integer> {

    @Option(names = "--socket", description = "the VM's QMP socket: a path, or tcp:HOST:PORT (every command but"
            + " prune)")
    Path socket;

    @Option(names = "--agent-socket", description = "path to the VM's guest agent socket (for --quiesce)")
    Path agentSocket;

    @Option(names = "--connect-timeout", defaultValue = "10", description = "seconds to wait for the QMP greeting")
    int connectTimeout;


    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        throw CliMain.missingCommand(spec);
    }

    /** The QMP socket every command but prune needs. */
    Path socket() {
        if (socket == null) {
            throw new CommandLine.ParameterException(new CommandLine(this), "missing --socket: give the path of the"
                    + " VM's QMP socket before the command, e.g. qmpbackup --socket /run/vm1.qmp backup ...");
        }
        return socket;
    }

    Duration connectTimeout() {
        return Duration.ofSeconds(connectTimeout);
    }

    @Command(name = "backup", mixinStandardHelpOptions = true, description = "back up the VM's disks")
    static final class Backup implements Callable<Integer> {
        @ParentCommand
        QmpBackupCommand top;

        @Option(names = {"-l", "--level"}, required = true, converter = Choices.Level.class,
                completionCandidates = Choices.Level.class, description = "${COMPLETION-CANDIDATES}: full starts a"
                + " chain, inc adds the changes since the last backup, auto is inc when it can be, copy is a"
                + " standalone full outside any chain")
        BackupLevel level;

        @Option(names = {"-t", "--target"}, required = true, description = "backup target folder")
        Path target;

        @Option(names = "--uuid", description = "chain id (names the bitmap: qmpbackup-<uuid>)")
        String uuid;

        @Option(names = "--monthly", description = "chains in YYYY-MM folders; auto starts a new full each month")
        boolean monthly;

        @Option(names = {"-i", "--include"}, split = ",", description = "back up only these disks (device or node names)")
        List<String> include;

        @Option(names = {"-e", "--exclude"}, split = ",", description = "leave these disks out")
        List<String> exclude;

        @Option(names = "--include-raw", description = "back up raw disks too (full and copy only)")
        boolean includeRaw;

        @Option(names = "--compress", description = "compress the backup images")
        boolean compress;

        @Option(names = "--speed-limit", defaultValue = "0", converter = Sizes.Converter.class,
                description = "bytes per second per disk (200M, 1G, ...), 0 = unlimited; QEMU counts the"
                        + " disk's whole size against it, allocated or not (a full of a 16 GiB disk at 400M takes"
                        + " ~41 s however little it holds)")
        long speedLimit;

        @Option(names = {"--quiesce", "--quisce"}, description = "freeze guest filesystems through the guest agent")
        boolean quiesce;

        @Option(names = "--no-subdir", description = "no per-disk folders")
        boolean noSubdir;

        @Option(names = "--no-timestamp", description = "name full/copy files after the image alone")
        boolean noTimestamp;

        @Option(names = "--no-symlink", description = "no FULL-/COPY- symlink for --no-timestamp files")
        boolean noSymlink;

        @Option(names = "--fleece-dir", description = "folder for temporary fleece images (default: the target)")
        Path fleeceDir;

        @Option(names = "--agent-timeout", defaultValue = "10", description = "seconds to wait for the guest agent")
        int agentTimeout;

        @Option(names = "--target-cache", defaultValue = "direct", converter = Choices.Cache.class,
                completionCandidates = Choices.Cache.class, description = "how QEMU writes the backup files:"
                + " direct (O_DIRECT: out of the host's page cache; the fastest measured here) or buffered (page"
                + " cache, one fsync at the end, then dropped from the cache) (default: direct)")
        TargetIo.Cache targetCache;

        @Option(names = "--blockdev-aio", converter = Choices.Aio.class, completionCandidates = Choices.Aio.class,
                description = "QEMU's aio for the backup files: ${COMPLETION-CANDIDATES} (native with O_DIRECT"
                + " only; default: threads)")
        String blockdevAio;

        @Option(names = "--checksum", converter = Choices.Checksum.class, completionCandidates = Choices.Checksum.class,
                description = "how each backup file's checksum is taken: sink (QEMU writes the file through this"
                + " process, which hashes it on the way: chunked SHA-256, no read-back) or read-back (the file is"
                + " read back after the job: SHA-256 of the whole file); --pass-fds always reads back"
                + " (default: sink)")
        TargetIo.Checksum checksum;

        @Option(names = "--blockdev-disable-cache", description = "qmpbackup's flag: the backup files through the page"
                + " cache with flushes honoured (= --target-cache buffered)")
        boolean blockdevDisableCache;

        @Option(names = "--pause", description = "pause the VM while the snapshot point is set (milliseconds), instead"
                + " of freezing its filesystems through the guest agent")
        boolean pause;

        @Option(names = "--progress-interval", defaultValue = "20", description = "seconds between progress lines,"
                + " 0 for none (default: 20)")
        int progressInterval;

        @Option(names = "--remove-delay", defaultValue = "0", description = "seconds to wait after the jobs before"
                + " the backup's nodes are removed from the VM (default: 0)")
        int removeDelay;

        @Option(names = "--tpm-state", description = "the VM's swtpm state folder (swtpm --tpmstate dir=): copied"
                + " while the VM is paused at the snapshot point, kept in <chain>/tpm/<epoch>/")
        Path tpmState;

        @Option(names = "--cbw-timeout", defaultValue = "45", description = "seconds a guest write may wait while"
                + " its old data is saved for the backup; past that (or when the fleece image cannot be written)"
                + " the snapshot breaks, the guest's writes go on and the backup fails; 0 = no limit (default: 45)")
        int cbwTimeout;

        @Option(names = "--pass-fds", description = "open the backup files here and hand QEMU the open files (QMP"
                + " add-fd) instead of their paths: for a target QEMU cannot reach (another mount namespace, or"
                + " QEMU running as a user without access)")
        boolean passFds;

        @CommandLine.Mixin
        RetentionOptions retention;

        @Option(names = "--remote", description = "after the backup (and its prune), replicate the target to this"
                + " remote (a config file); a failed upload leaves the backup and exits 3")
        Path remote;

        @Override
        public Integer call() throws Exception {
            RetentionPolicy policy = retention.policy(this);
            TargetCheck.folder(target, "backup target", "--target");
            io.qmpbackup.engine.remote.RemoteConfig remoteConfig = remote == null ? null
                    : RemoteCommands.load(remote, this);
            if (fleeceDir != null) {
                TargetCheck.folder(fleeceDir, "fleece folder", "--fleece-dir");
            }
            BackupOptions options = BackupOptions.builder(level, target).uuid(uuid).monthly(monthly).include(include)
                    .exclude(exclude).includeRaw(includeRaw).compress(compress).speedLimit(speedLimit)
                    .quiesce(quiesce).agentSocket(top.agentSocket).noSubdir(noSubdir).noTimestamp(noTimestamp)
                    .noSymlink(noSymlink).fleeceDir(fleeceDir).agentTimeout(Duration.ofSeconds(agentTimeout))
                    .passFds(passFds).cbwTimeout(cbwTimeout).targetIo(new TargetIo(blockdevDisableCache
                            ? TargetIo.Cache.BUFFERED : targetCache, blockdevAio, checksum))
                    .pause(pause).removeDelay(Duration.ofSeconds(removeDelay)).tpmState(tpmState).build();
            top.log.progressEvery(progressInterval);
            // a process that does nothing but the backup yields all of its CPU to the guest (LowPriority);
            // run inside another program (the tests), only the sink's threads do
            if (CliMain.ownsProcess() && !LowPriority.lowerProcess()) {
                top.log.debug("qmpbackup: could not lower this process's CPU priority to nice "
                        + LowPriority.NICE + " (renice from util-linux missing?); the backup runs at"
                        + " normal priority");
            }
            Cancellation cancel = new Cancellation();
            SignalGuard.watch(cancel);
            BackupOutcome outcome = BackupService.standard().backup(new BackupRequest(top.socket(),
                    top.connectTimeout(), options, policy, remoteConfig), top.log, cancel);
            BackupResult result = outcome.backup();
            for (BackupResult.DiskResult d : result.disks()) {
                top.log.info("  " + d.disk() + ": " + d.level().lower() + " " + d.file());
            }
            if (result.chainId() != null) {
                top.log.info("chain " + result.chainId() + " in " + result.chainDir());
            }
            if (outcome.retention() != null && !outcome.retention().ran()) {
                // the backup is safe on disk; a prune that fails says so and exits 1
                throw new java.io.IOException("the backup succeeded, but retention did not run: "
                        + outcome.retention().failure());
            }
            return outcome.replication() == null ? 0 : RemoteCommands.report(outcome.replication(), top.log);
        }
    }

    @Command(name = "prune", mixinStandardHelpOptions = true, description = "delete the chains of a backup target a retention policy does not keep")
    static final class Prune implements Callable<Integer> {
        @ParentCommand
        QmpBackupCommand top;

        @Option(names = {"-t", "--target"}, required = true, description = "backup target folder")
        Path target;

        @CommandLine.Mixin
        RetentionOptions retention;

        @Option(names = "--dry-run", description = "show what would be deleted, delete nothing")
        boolean dryRun;

        @Option(names = "--wait", defaultValue = "60", description = "seconds to wait for a backup of the target")
        int waitSeconds;

        @Override
        public Integer call() throws Exception {
            RetentionPolicy policy = retention.policy(this);
            if (policy == null) {
                throw new CommandLine.ParameterException(new CommandLine(this), "prune needs a policy: give"
                        + " --keep-last N and/or --keep-daily/--keep-weekly/--keep-monthly N");
            }
            if (!java.nio.file.Files.isDirectory(target)) {
                throw new CommandLine.ParameterException(new CommandLine(this), "backup target " + target
                        + " is not a folder: give the --target the backups were written to");
            }
            PruneOutcome r = BackupService.standard().prune(target, policy, dryRun, Duration.ofSeconds(waitSeconds),
                    top.log);
            r.kept().forEach(top.log::info);
            for (Path f : r.deleted()) {
                top.log.info((dryRun ? "  would delete " : "  deleted ") + f);
            }
            if (r.failure() == null && r.chainsKept() == 0 && r.chainsPruned() == 0 && !TargetHint.holdsManifest(target)) {
                // a prune that finds no chain manifest is a wrong --target: a cron job would never prune (one
                // whose manifests it leaves whole has said why in a warning)
                throw new java.io.IOException("no chain in " + target + ": " + TargetHint.of(target));
            }
            return 0;
        }
    }

    @Command(name = "info", mixinStandardHelpOptions = true, description = "show the VM's disks or bitmaps")
    static final class Info implements Callable<Integer> {
        @ParentCommand
        QmpBackupCommand top;

        @Option(names = "--show", required = true, converter = Choices.Show.class,
                completionCandidates = Choices.Show.class, description = "${COMPLETION-CANDIDATES}: the disks, or"
                + " their change-tracking bitmaps")
        String show;

        @Override
        public Integer call() throws Exception {
            ArrayNode out = Json.array();
            for (Disk d : BackupService.standard().disks(top.socket(), top.connectTimeout())) {
                out.add(describe(d, show.equals("blockdev")));
            }
            System.out.println(Json.MAPPER.writer(SerializationFeature.INDENT_OUTPUT).writeValueAsString(out));
            return 0;
        }

        private static ObjectNode describe(Disk d, boolean blockdev) {
            ObjectNode o = Json.obj("device", d.device(), "node", d.nodeName(), "name", d.name());
            if (blockdev) {
                o.put("format", d.format());
                o.put("filename", d.filename());
                o.put("virtual_size", d.virtualSize());
                o.put("qdev", d.qdev());
                o.put("read_only", d.readOnly());
                o.put("pflash", d.pflash());
                o.put("backing_image", d.hasBacking());
                o.put("backup", d.isRaw() && !d.pflash() ? "raw: only with --include-raw (full/copy)"
                        : d.format().equals("qcow2") && !d.readOnly() ? "full/inc/copy"
                                : d.format().equals("raw") || d.format().equals("qcow2") ? "full/copy"
                                        : "unsupported format");
            }
            o.set("bitmaps", Json.MAPPER.valueToTree(d.bitmaps()));
            return o;
        }
    }

    @Command(name = "cleanup", mixinStandardHelpOptions = true, description = "remove change-tracking bitmaps")
    static final class Cleanup implements Callable<Integer> {
        @ParentCommand
        QmpBackupCommand top;

        @Option(names = {"--remove-bitmap", "--remove-bitmaps"}, required = true,
                description = "remove qmpbackup bitmaps from every disk")
        boolean removeBitmap;

        @Option(names = "--uuid", description = "only the bitmap of this chain")
        String uuid;

        @Override
        public Integer call() throws Exception {
            List<String> removed = BackupService.standard().removeBitmaps(top.socket(), top.connectTimeout(), uuid,
                    top.log);
            top.log.info("removed " + removed.size() + " bitmap(s)" + (removed.isEmpty() ? "" : ": " + removed));
            return 0;
        }
    }

    public static void main(String[] args) {
        CliMain.ownProcess();
        CliMain.exit(run(args));
    }

    /** Runs the command line; returns the exit code. */
    public static int run(String... args) {
        return CliMain.run("qmpbackup", new QmpBackupCommand(), args);
    }
}
