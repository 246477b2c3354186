package io.qmpbackup.engine.backup;

import io.qmpbackup.engine.qmp.BlockGraph;
import io.qmpbackup.engine.qmp.QmpClient;
import io.qmpbackup.engine.qmp.QmpDisconnectedException;
import io.qmpbackup.engine.qmp.QmpException;
import io.qmpbackup.engine.repository.ChainDirectory;
import io.qmpbackup.engine.repository.TargetLock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * One live backup of a VM through image fleecing (QEMU 7.1+), as a list of steps:
 * <ol>
 * <li>check the options, take the target's lock and a run token, clean what dead runs left;</li>
 * <li>plan ({@link BackupPlanner}: which disks, which level, and why), touching nothing;</li>
 * <li>create the files ({@link TargetFiles}), change the block graph ({@link RunGraph}): targets,
 * {@code next} bitmaps, the snapshot point, the jobs, and wait for them ({@link JobProgress});</li>
 * <li>take the run's nodes out of the VM ({@link RunObjects}), rename and record the files
 * ({@link ChainRecorder}), and only then move change tracking forward ({@link BitmapCommit}).</li>
 * </ol>
 * Every step that changes the VM or the target registers its inverse on an {@link UndoStack};
 * failure, cancel and signals all unwind it, so a failed run leaves the VM, its change tracking
 * and the chain as they were. The filter is added without the {@code bitmap} option, so
 * snapshot-access can serve any cluster the job asks for (qmpbackup's "Permission denied" on
 * busy guests).
 */
public final class FleecingBackup {
    /** How long a backup waits for another backup or prune of the same target. */
    static final Duration TARGET_LOCK_WAIT = Duration.ofSeconds(60);

    private final QmpClient qmp;
    private final BlockGraph graph;
    private final BackupOptions o;
    private final BackupLog log;
    private final Cancellation cancel;
    private final List<String> warnings = new ArrayList<>();
    private String vm = "VM";
    /** Every disk of the VM as planning found it (TargetFiles keeps backup files off their images). */
    private List<Disk> vmDisks = List.of();

    public FleecingBackup(QmpClient qmp, BackupOptions options, BackupLog log) {
        this(qmp, options, log, new Cancellation());
    }

    public FleecingBackup(QmpClient qmp, BackupOptions options, BackupLog log, Cancellation cancel) {
        this.qmp = qmp;
        this.graph = new BlockGraph(qmp);
        this.o = options;
        this.log = log;
        this.cancel = cancel;
    }

    /** Asks a running backup to stop; it rolls back and {@link #run()} throws {@link BackupCancelledException}. */
    public void cancel(String reason) {
        cancel.cancel(reason);
    }

    public BackupResult run() throws BackupException {
        checkOptions();
        // before the target's lock, whose file would be left in the folder refused
        refuseDiskFolder(o.target());
        refuseDiskFolder(ChainDirectory.resolve(o.target(), o.monthly(), YearMonth.now(o.clock())));
        TargetLock targetLock;
        try {
            // one writer per target: a prune must not rewrite a manifest this run appends to
            targetLock = TargetLock.acquire(o.target(), TARGET_LOCK_WAIT, "the backup", log::info);
        } catch (IOException e) {
            throw new BackupException(e.getMessage(), e);
        }
        try (targetLock; RunLock lock = RunLock.acquire(o.lockDir())) {
            return runLocked(lock.token());
        } catch (IOException e) {
            throw new BackupException("cannot create the run lock in " + o.lockDir() + ": " + e.getMessage()
                    + " (set QMPBACKUP_LOCK_DIR to a writable folder)", e);
        }
    }

    private void checkOptions() throws BackupException {
        if (o.target() == null) {
            throw new BackupException("no backup target given: pass --target DIR");
        }
        if (!o.include().isEmpty() && !o.exclude().isEmpty()) {
            throw new BackupException("--include and --exclude were both given: specify either the disks to back up"
                    + " or the disks to leave out");
        }
        if (o.speedLimit() < 0) {
            throw new BackupException("--speed-limit must be 0 (unlimited) or a positive number of bytes per second");
        }
    }

    private BackupResult runLocked(String token) throws BackupException {
        String state = prepareVm(token);
        Path chainPath = ChainDirectory.resolve(o.target(), o.monthly(), YearMonth.now(o.clock()));
        boolean newMonth = o.monthly() && !Files.exists(chainPath);
        ChainDirectory chain = new ChainDirectory(chainPath, o.noSubdir());
        refuseOtherVm(chainPath);
        Path fleeceDir = o.fleeceDir() != null ? o.fleeceDir() : chainPath;
        try {
            Files.createDirectories(chainPath);
            Files.createDirectories(fleeceDir);
        } catch (IOException e) {
            throw new BackupException("cannot create backup folder " + chainPath + " or fleece folder " + fleeceDir
                    + ": " + e.getMessage() + "; check the path and its permissions", e);
        }
        new LeftoverCleaner(qmp, o.lockDir(), log).cleanFleeceFiles(fleeceDir, token);
        BackupPlan plan = plan(chain, newMonth);
        UndoStack undo = new UndoStack(this::warn);
        try {
            return execute(plan, chain, fleeceDir, token, state, undo);
        } catch (QmpException e) {
            if (Thread.currentThread().isInterrupted()) {
                throw new BackupCancelledException(vm + ": backup interrupted");
            }
            throw qmpFailure("the backup", e);
        } catch (IOException e) {
            throw new BackupException(vm + ": backup failed: " + e.getMessage()
                    + "; nothing was recorded and change tracking is unchanged, fix the cause and run it again", e);
        } finally {
            // after success only the temporary files and no-op inverses are left to run
            undo.unwind();
        }
    }

    /** The VM's name, QEMU version and run state; what dead runs left is removed. Returns the run state. */
    private String prepareVm(String token) throws BackupException {
        String state;
        try {
            String name = graph.vmName();
            vm = name.isEmpty() ? "VM on " + qmp.socket() : "VM " + name;
            int[] v = qmp.version();
            if (v[0] < 7 || (v[0] == 7 && v[1] < 1)) {
                throw new BackupException(vm + " runs QEMU " + v[0] + "." + v[1] + "." + v[2]
                        + ": image fleecing needs QEMU 7.1 or newer; upgrade QEMU");
            }
            state = graph.runState();
            LeftoverCleaner cleaner = new LeftoverCleaner(qmp, o.lockDir(), log);
            cleaner.clean(token);
            Set<String> live = cleaner.liveRuns(token);
            if (!live.isEmpty()) {
                throw new BackupException(vm + " is being backed up by another qmpbackup run right now (run "
                        + live + "); wait for it to finish and try again");
            }
        } catch (QmpException e) {
            throw qmpFailure("preparing the backup", e);
        }
        log.info(vm + ": QEMU " + String.join(".", Arrays.stream(qmp.version()).mapToObj(String::valueOf).toList())
                + ", state " + state);
        return state;
    }

    private BackupPlan plan(ChainDirectory chain, boolean newMonth) throws BackupException {
        BackupPlan plan;
        try {
            vmDisks = DiskDiscovery.discover(qmp);
            plan = new BackupPlanner(o, () -> UUID.randomUUID().toString())
                    .plan(vm, vmDisks, ChainState.of(chain, newMonth));
        } catch (QmpException e) {
            throw qmpFailure("listing the disks", e);
        } catch (IOException e) {
            throw new BackupException("cannot read the chain in " + chain.path() + ": " + e.getMessage(), e);
        }
        plan.notes().forEach(log::info);
        plan.warnings().forEach(this::warn);
        for (BackupPlan.DiskPlan p : plan.disks()) {
            log.info(vm + ": " + p.disk().describe() + " -> " + p.level().lower());
        }
        return plan;
    }

    private BackupResult execute(BackupPlan plan, ChainDirectory chain, Path fleeceDir, String token, String state,
            UndoStack undo) throws QmpException, IOException, BackupException {
        Instant started = o.clock().instant();
        List<DiskFiles> files = new TargetFiles(o, chain, vm, this::warn, vmDisks).prepare(plan, fleeceDir, token, undo, cancel);
        // before the nodes' inverse: unwinding takes the nodes away first, so QEMU lets go of a sink before it stops
        TargetSinks sinks = TargetSinks.start(o, files, fleeceDir, token, undo, log, vm);
        RunObjects objects = new RunObjects();
        // registered after the files: unwinding takes the nodes away before it deletes their files
        undo.push("remove the backup's nodes and jobs from the VM", () -> {
            if (qmp.isConnected()) { // a VM that is gone took its graph with it
                objects.teardown(graph, this::warn);
            }
        });
        RunGraph run = new RunGraph(graph, objects, o, log, vm, token, this::warn);
        run.attach(files, sinks, cancel);
        List<UndoStack.Entry> nextBitmaps = new ArrayList<>();
        run.addNextBitmaps(plan, undo, nextBitmaps);
        cancel.check(vm);
        TpmState.Run tpm = o.tpmState() == null ? null
                : new TpmState.Run(o.tpmState(), chain.path(), token, started.getEpochSecond(), undo);
        boolean quiesced = run.snapshotPoint(plan, state, tpm == null ? null : tpm::take);
        long jobsStart = System.nanoTime();
        run.startJobs(plan, cancel);
        long[] copied = new JobProgress(graph, log, vm, o.cbwTimeout()).await(plan, token, cancel);
        log.debug(vm + ": block jobs took " + (System.nanoTime() - jobsStart) / 1_000_000 + " ms");
        delayRemoval();
        objects.teardown(graph, this::warn);
        if (!objects.graphClean()) {
            throw new BackupException(vm + ": the backup jobs finished but QEMU refused to remove the backup's"
                    + " nodes (see the warnings above); nothing was recorded and change tracking is unchanged");
        }
        long finishStart = System.nanoTime();
        ChainRecorder recorder = new ChainRecorder(o, chain, log, vm);
        List<ChainRecorder.Written> written = recorder.finish(files, copied, run.direct(), sinks, undo);
        log.debug(vm + ": fsync, checksum and rename took " + (System.nanoTime() - finishStart) / 1_000_000 + " ms");
        recorder.record(written, plan, quiesced, started);
        if (tpm != null) {
            log.info(vm + ": TPM state of the snapshot point kept in " + tpm.keep());
        }
        describeVm(chain, plan);
        new BitmapCommit(graph, vm, this::warn, log).commit(plan, token, nextBitmaps);
        log.info(vm + ": backup complete" + (quiesced ? " (filesystems frozen at the snapshot point)"
                : o.quiesce() ? " (crash-consistent: filesystems were NOT frozen)" : " (crash-consistent)"));
        return result(plan, chain, written, quiesced);
    }

    /**
     * Before anything is written: the target is a disk's folder inside another chain (its manifest
     * lies beside it). A chain started there would write its own uuid, manifest and integrity record
     * among that chain's files and replace the record that chain's verify reads.
     */
    private void refuseDiskFolder(Path chainPath) throws BackupException {
        Path abs = chainPath.toAbsolutePath().normalize();
        try {
            abs = Files.exists(abs) ? abs.toRealPath() : abs; // a symlink to a disk folder is one
        } catch (IOException e) {
            throw new BackupException("cannot resolve the target " + chainPath + ": " + e.getMessage(), e);
        }
        Path up = abs.getParent();
        if (up != null && abs.getFileName() != null && Files.exists(up.resolve(abs.getFileName() + ".chain.json"))) {
            throw new BackupException("the target " + chainPath + " is the disk folder of the chain in " + up
                    + " (its manifest " + abs.getFileName() + ".chain.json lies there): give --target " + up
                    + " to go on with that chain, or a folder of its own");
        }
    }

    /** Before anything is written: the target's chain is another VM's (vm.json beside it says so). */
    private void refuseOtherVm(Path chainPath) throws BackupException {
        String other;
        try {
            other = VmDescription.otherVm(qmp, chainPath, o.noSubdir());
        } catch (IOException e) {
            throw new BackupException(vm + ": cannot read " + VmDescription.FILE + " in " + chainPath + ": "
                    + e.getMessage() + "; fix or remove it", e);
        }
        if (other != null) {
            throw new BackupException(vm + ": the chain in " + chainPath + " was taken of another VM, " + other.strip()
                    + "; a target holds one VM's backups (their disk folders and chains would mix): give this VM a"
                    + " --target of its own (the same VM renamed: remove that file, or give the VM a -uuid)");
        }
    }

    /** vm.json beside the chain: what the VM was (a restore brings the machine back from it). */
    private void describeVm(ChainDirectory chain, BackupPlan plan) {
        try {
            VmDescription.write(chain.path(), o.noSubdir(), VmDescription.capture(qmp, plan, o.clock().instant()));
        } catch (IOException e) {
            warn(vm + ": cannot write " + VmDescription.FILE + " in " + chain.path() + ": " + e.getMessage()
                    + " (the backup itself is complete)");
        }
    }

    /** --remove-delay: the backup's nodes stay this long after the jobs (a cancel cuts it short). */
    private void delayRemoval() throws BackupException {
        long ms = o.removeDelay().toMillis();
        if (ms <= 0) {
            return;
        }
        log.info(vm + ": removing the backup's nodes in " + o.removeDelay().toSeconds() + " s (--remove-delay)");
        long end = System.nanoTime() + ms * 1_000_000;
        while (System.nanoTime() < end) {
            cancel.check(vm);
            try {
                Thread.sleep(Math.min(200, Math.max(1, (end - System.nanoTime()) / 1_000_000)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private BackupResult result(BackupPlan plan, ChainDirectory chain, List<ChainRecorder.Written> written,
            boolean quiesced) {
        List<BackupResult.DiskResult> disks = new ArrayList<>();
        for (ChainRecorder.Written w : written) {
            BackupPlan.DiskPlan p = w.files().plan();
            disks.add(new BackupResult.DiskResult(p.disk().name(), p.disk().nodeName(), p.level(),
                    w.files().finalFile(), w.bytesCopied(), w.fileSize(), w.sha256(), p.tracked()));
        }
        return new BackupResult(vm, chain.path(), plan.chainId(), quiesced, disks, List.copyOf(warnings));
    }

    private BackupException qmpFailure(String during, QmpException e) {
        if (e instanceof QmpDisconnectedException) {
            return new BackupException(vm + " went away during " + during + " (" + e.getMessage()
                    + "); no backup was recorded and the chain's change tracking was not advanced;"
                    + " start the VM and run the backup again (auto takes a full if the bitmap was lost)", e);
        }
        return new BackupException(vm + ": QEMU refused a step of " + during + ": " + e.getMessage()
                + "; nothing was recorded and change tracking is unchanged", e);
    }

    private void warn(String message) {
        warnings.add(message);
        log.warn(message);
    }
}
