package io.qmpbackup.engine.cli;

import io.qmpbackup.engine.backup.Cancellation;
import io.qmpbackup.engine.service.RestoreRequest;
import io.qmpbackup.engine.service.RestoreService;
import io.qmpbackup.engine.service.VerifyOutcome;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.ScopeType;

/**
 * {@code qmprestore}: restores a disk's backup folder with qmprestore's subcommands and flags.
 * rebase, commit and snapshotrebase change the folder in place; merge writes a new image and
 * leaves the backups as they are; verify checks every file.
 */
@Command(name = "qmprestore", mixinStandardHelpOptions = true, version = "qmprestore (QMPBackup Operator) 0.1.0",
        description = "Restore QEMU disk backups written by qmpbackup.",
        subcommands = {QmpRestoreCommand.Rebase.class, QmpRestoreCommand.Commit.class, QmpRestoreCommand.Merge.class,
                QmpRestoreCommand.SnapshotRebase.class, QmpRestoreCommand.Verify.class, QmpRestoreCommand.Vm.class,
                QmpRestoreCommand.Tpm.class, LiveRestoreCommands.Instant.class, LiveRestoreCommands.Export.class,
                RemoteCommands.Download.class, ListCommands.FolderPoints.class, ListCommands.Completion.class, CommandLine.HelpCommand.class})
public final class QmpRestoreCommand extends CliMain.Tool implements Callable<Integer> {
    @Option(names = "--skip-check", scope = ScopeType.INHERIT, description = "do not run qemu-img check first")
    boolean skipCheck;

    @Option(names = "--remote", description = "restore from this remote (a config file): --dir is then the disk"
            + " folder's path in the remote; merge and download only")
    Path remote;

    @Option(names = "--download-dir", description = "with --remote: where the chain is downloaded to (kept);"
            + " default: a folder beside the target file, removed after the restore")
    Path downloadDir;

    io.qmpbackup.engine.remote.RemoteConfig remoteConfig(Object command) {
        if (remote == null) {
            throw new CommandLine.ParameterException(new CommandLine(command), "download needs --remote CONFIG"
                    + " before the command: qmprestore --remote remote.properties download --dir ... --to ...");
        }
        return RemoteCommands.load(remote, command);
    }


    /** The commands that read a remote; rebase, commit and snapshotrebase refuse it themselves, saying why. */
    private static final java.util.Set<String> REMOTE_COMMANDS = java.util.Set.of("merge", "rebase", "commit",
            "snapshotrebase", "download");

    /**
     * --remote and --download-dir are the tool's options, so picocli takes them before any command:
     * one that reads a local folder would quietly run on a local folder of that name instead.
     */
    @Override
    void check(CommandLine.ParseResult parsed) {
        CommandLine.ParseResult leaf = parsed;
        while (leaf.subcommand() != null) {
            leaf = leaf.subcommand();
        }
        String command = leaf.commandSpec().name();
        if (leaf == parsed || command.equals("help")) {
            return;
        }
        if (remote != null && !REMOTE_COMMANDS.contains(command)) {
            throw new CommandLine.ParameterException(leaf.commandSpec().commandLine(), "--remote works with merge and"
                    + " download only; " + command + " reads a local folder: download the chain first (qmprestore"
                    + " --remote CONFIG download --dir PATH --to DIR), then run " + command + " on DIR/PATH");
        }
        if (downloadDir != null && (remote == null || command.equals("download"))) {
            throw new CommandLine.ParameterException(leaf.commandSpec().commandLine(), "--download-dir is where a"
                    + " merge with --remote downloads the chain; " + (remote == null ? "without --remote nothing is"
                    + " downloaded" : "download takes --to") + ": leave it out");
        }
    }

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        throw CliMain.missingCommand(spec);
    }

    abstract static class ChainCommand implements Callable<Integer> {
        @ParentCommand
        QmpRestoreCommand top;

        @Option(names = "--dir", required = true, description = "the disk's backup folder")
        Path dir;

        @Option(names = "--until", description = "restore up to this backup (file name or its INC-<epoch> prefix)")
        String until;

        @Option(names = "--filter", description = "only the folder's files whose name holds this string: one disk"
                + " of a --no-subdir folder (its image name, e.g. disk1.qcow2)")
        String filter;

        @Option(names = "--dry-run", description = "print the qemu-img steps, change nothing")
        boolean dryRun;

        abstract RestoreRequest request();

        Integer fromRemote() throws Exception {
            return fromRemoteOf(this);
        }

        RestoreRequest request(RestoreRequest.Mode mode, Path targetFile, long rateLimit) {
            return new RestoreRequest(mode, dir, until, targetFile, top.skipCheck, rateLimit,
                    filter == null || filter.isEmpty() ? null : filter);
        }

        @Override
        public Integer call() throws Exception {
            RestoreService service = RestoreService.standard();
            if (top.remote != null) {
                return fromRemote();
            }
            if (dryRun) {
                service.plan(request(), top.log).forEach(System.out::println);
                return 0;
            }
            Cancellation cancel = new Cancellation();
            SignalGuard.watch(cancel);
            service.restore(request(), top.log, cancel);
            top.log.info("done");
            return 0;
        }
    }

    /** merge from the remote: download the chain, checked, then merge from the local copy. */
    private static Integer fromRemoteOf(ChainCommand c) throws Exception {
        RestoreRequest q = c.request();
        if (q.mode() != RestoreRequest.Mode.MERGE || c.dryRun) {
            throw new CommandLine.ParameterException(new CommandLine(c), "with --remote only merge (into a new"
                    + " --targetfile) and download run: rebase, commit and snapshotrebase change the"
                    + " folder in place; download it (qmprestore --remote ... download) and run them there");
        }
        var config = c.top.remoteConfig(c);
        boolean scratch = c.top.downloadDir == null;
        Path root = scratch ? q.targetFile().toAbsolutePath().resolveSibling(q.targetFile().getFileName()
                + ".download") : c.top.downloadDir;
        if (scratch && java.nio.file.Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            // the scratch folder is removed after the restore: never one that was there before
            throw new io.qmpbackup.engine.restore.RestoreException("the download folder " + root + " (beside the"
                    + " target file, removed afterwards) already exists: remove it, or give --download-dir");
        }
        Cancellation cancel = new Cancellation();
        SignalGuard.watch(cancel);
        try {
            io.qmpbackup.engine.service.RemoteService.standard().restore(config, c.dir.toString(), root, q, c.top.log,
                    cancel);
        } finally {
            if (scratch) {
                io.qmpbackup.engine.repository.AtomicFiles.deleteTree(root);
            }
        }
        c.top.log.info("done");
        return 0;
    }

    @Command(name = "rebase", mixinStandardHelpOptions = true, description = "point each INC at the file before it (in place); link 'image' to the newest")
    static final class Rebase extends ChainCommand {
        @Override
        RestoreRequest request() {
            return request(RestoreRequest.Mode.REBASE, null, 0);
        }
    }

    @Command(name = "commit", mixinStandardHelpOptions = true, description = "commit every INC into the FULL (in place; the INCs are removed)")
    static final class Commit extends ChainCommand {
        @Option(names = "--rate-limit", defaultValue = "0", converter = Sizes.Converter.class,
                description = "bytes per second for qemu-img commit (200M, 1G, ...), 0 = unlimited")
        long rateLimit;

        @Override
        RestoreRequest request() {
            return request(RestoreRequest.Mode.COMMIT, null, rateLimit);
        }
    }

    @Command(name = "snapshotrebase", mixinStandardHelpOptions = true, description = "commit like commit, with an internal snapshot per backup")
    static final class SnapshotRebase extends ChainCommand {
        @Option(names = "--rate-limit", defaultValue = "0", converter = Sizes.Converter.class,
                description = "bytes per second for qemu-img commit (200M, 1G, ...), 0 = unlimited")
        long rateLimit;

        @Override
        RestoreRequest request() {
            return request(RestoreRequest.Mode.SNAPSHOTREBASE, null, rateLimit);
        }
    }

    @Command(name = "merge", mixinStandardHelpOptions = true, description = "write the restore point into a new image; backups stay untouched")
    static final class Merge extends ChainCommand {
        @Option(names = "--targetfile", required = true, description = "the new image")
        Path targetFile;

        @Option(names = "--rate-limit", hidden = true, defaultValue = "0", converter = Sizes.Converter.class,
                description = "accepted for qmprestore compatibility; merge reads each byte once")
        long rateLimit;

        @Override
        RestoreRequest request() {
            return request(RestoreRequest.Mode.MERGE, targetFile, 0);
        }
    }

    @Command(name = "vm", mixinStandardHelpOptions = true, description = "print a QEMU command line skeleton of the VM"
            + " the chain was taken from (its vm.json)")
    static final class Vm implements Callable<Integer> {
        @ParentCommand
        QmpRestoreCommand top;

        @Option(names = "--dir", required = true, description = "the chain folder (or a disk folder in it)")
        Path dir;

        @Override
        public Integer call() throws Exception {
            List<String> lines = RestoreService.standard().vmSkeleton(dir);
            System.out.println(String.join(" \\\n  ", lines));
            return 0;
        }
    }

    @Command(name = "tpm", mixinStandardHelpOptions = true, description = "put the TPM state kept with the chain"
            + " into a new swtpm state folder")
    static final class Tpm implements Callable<Integer> {
        @ParentCommand
        QmpRestoreCommand top;

        @Option(names = "--dir", required = true, description = "the chain folder (or a disk folder in it)")
        Path dir;

        @Option(names = "--to", required = true, description = "the swtpm state folder to write (empty or new)")
        Path to;

        @Option(names = "--until", description = "the state of this backup (INC-<epoch>...) or the newest before it")
        String until;

        @Override
        public Integer call() throws Exception {
            Path run = RestoreService.standard().restoreTpm(dir, until, to);
            top.log.info("TPM state of " + run + " written to " + to);
            return 0;
        }
    }

    @Command(name = "verify", mixinStandardHelpOptions = true, description = "check every file of the folder: structure and recorded checksums")
    static final class Verify implements Callable<Integer> {
        @ParentCommand
        QmpRestoreCommand top;

        @Option(names = "--dir", required = true, description = "the disk's backup folder")
        Path dir;

        @Option(names = "--structure-only", description = "check the files' structure only (qemu-img check): for"
                + " folders with no recorded checksums, such as qmpbackup's own; without it a file with no"
                + " recorded checksum fails")
        boolean structureOnly;

        @Override
        public Integer call() throws Exception {
            VerifyOutcome r = RestoreService.standard().verify(dir, structureOnly, top.log);
            top.log.info("verify: " + r.files() + " file(s) sound, " + r.checksummed() + " matched their recorded"
                    + " checksum");
            return 0;
        }
    }

    public static void main(String[] args) {
        CliMain.exit(run(args));
    }

    /** Runs the command line; returns the exit code. */
    public static int run(String... args) {
        return CliMain.run("qmprestore", new QmpRestoreCommand(), args);
    }
}
