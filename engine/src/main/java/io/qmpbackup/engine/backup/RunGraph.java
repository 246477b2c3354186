package io.qmpbackup.engine.backup;

import io.qmpbackup.engine.qmp.BlockGraph;
import io.qmpbackup.engine.qmp.QmpCommandException;
import io.qmpbackup.engine.qmp.QmpException;
import io.qmpbackup.engine.qmp.Transaction;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

/**
 * The run's changes to the VM's block graph, in the order that makes the chain exact: targets
 * and fleece images attached, a fresh {@code next} bitmap on every tracked disk (change tracking
 * for the next backup starts <em>before</em> the snapshot point), the snapshot point (each
 * device's drive swapped for a copy-before-write filter, a snapshot-access node on top), then one
 * transaction that starts every job. Each object is recorded in {@link RunObjects} as it is made.
 */
final class RunGraph {
    /** Above the job's 1 MiB buffers; a block of it is freed once (see {@link #primeAllocator}). */
    static final long PRIME_BYTES = 8L << 20;

    private final BlockGraph graph;
    private final RunObjects objects;
    private final BackupOptions o;
    private final BackupLog log;
    private final String vm;
    private final String token;
    private final Consumer<String> warn;
    private boolean direct;

    RunGraph(BlockGraph graph, RunObjects objects, BackupOptions options, BackupLog log, String vm, String token,
            Consumer<String> warn) {
        this.graph = graph;
        this.objects = objects;
        this.o = options;
        this.log = log;
        this.vm = vm;
        this.token = token;
        this.warn = warn;
    }

    static String target(String token, int disk) {
        return Names.node(token, "t", disk);
    }

    static String fleece(String token, int disk) {
        return Names.node(token, "f", disk);
    }

    static String filter(String token, int disk) {
        return Names.node(token, "c", disk);
    }

    static String snapshot(String token, int disk) {
        return Names.node(token, "s", disk);
    }

    /** Whether the targets are written with O_DIRECT (else through the page cache); known after {@link #attach}. */
    boolean direct() {
        return direct;
    }

    /** The node a disk's job reads: the snapshot when the disk is fleeced, else the disk itself. */
    String source(BackupPlan.DiskPlan p) {
        return p.fleeced() ? snapshot(token, p.index()) : p.disk().nodeName();
    }

    /**
     * Attaches each disk's target (over its sink when it has one) and fleece image, after priming
     * QEMU's allocator ({@link #primeAllocator}).
     */
    void attach(List<DiskFiles> files, TargetSinks sinks, Cancellation cancel) throws QmpException, BackupException {
        direct = o.targetIo().cache() == TargetIo.Cache.DIRECT;
        primeAllocator(files);
        for (DiskFiles f : files) {
            cancel.check(vm);
            int i = f.plan().index();
            if (sinks.of(i) != null) {
                graph.addImageOverNbd(target(token, i), f.targetFormat(), sinks.of(i).socket().toString(),
                        sinks.of(i).export(), f.targetFormat().equals("qcow2"));
                objects.add(RunObjects.Kind.TARGET, i, target(token, i), null);
            } else {
                attachFile(f, i);
            }
            if (f.plan().fleeced()) {
                String fleeceNode = fleece(token, i);
                graph.addFleeceImage(fleeceNode, handOverIfAsked(f.fleeceFile(), fleeceNode, i));
                objects.add(RunObjects.Kind.FLEECE, i, fleeceNode, null);
            }
        }
    }

    /**
     * The first backup a QEMU process runs is half as fast as the next ones, on glibc: each 1 MiB
     * copy buffer of the job is a fresh mmap, faulted in page by page, until malloc's dynamic mmap
     * threshold rises above the buffer size, which it does only when a larger mmapped block is
     * freed (measured, 4 GiB full: 19-25 s of QEMU CPU in a fresh QEMU, 2-4 s in one that had run a
     * backup before; qmpbackup 0.67 the same; docs/internals.md, "Speed and the guest"). Opening a
     * fleece image read-only with a {@link #PRIME_BYTES} refcount cache (allocated at open, never
     * touched) and closing it again frees such a block, so even the first backup copies through
     * reused memory. Two QMP commands; a refused open only costs the speed, a failed close fails
     * the run (the node holds the fleece image, and the teardown removes it). The threshold never
     * falls again, so a primed QEMU stays primed. Not with --pass-fds: QEMU cannot open our paths.
     */
    private void primeAllocator(List<DiskFiles> files) throws QmpException {
        DiskFiles f = files.stream().filter(d -> d.fleeceFile() != null).findFirst().orElse(null);
        if (f == null || o.passFds()) {
            return;
        }
        String node = Names.node(token, "p", f.plan().index());
        try {
            graph.addReadOnlyImage(node, f.fleeceFile().toString(), PRIME_BYTES);
        } catch (QmpCommandException e) {
            log.debug(vm + ": could not prime QEMU's allocator (" + e.description() + "); the copy may run slower");
            return;
        }
        try {
            graph.deleteNode(node);
        } catch (QmpException e) {
            objects.add(RunObjects.Kind.FLEECE, f.plan().index(), node, null); // the teardown tries again
            throw e;
        }
    }

    /** A target QEMU opens itself (or gets as a descriptor with --pass-fds). */
    private void attachFile(DiskFiles f, int i) throws QmpException, BackupException {
        String targetFile = handOverIfAsked(f.partial(), target(token, i), i);
        String node = target(token, i);
        String format = f.targetFormat();
        boolean qcow2 = format.equals("qcow2");
        try {
            graph.addImage(node, format, targetFile, direct, o.targetIo().aioFor(direct), qcow2);
        } catch (QmpCommandException e) {
            if (!direct) {
                throw e;
            }
            // O_DIRECT is refused by some filesystems (tmpfs, some FUSE): fall back to the page cache
            log.info(vm + ": target " + f.partial() + " cannot be opened with O_DIRECT (" + e.description()
                    + "); writing through the page cache");
            direct = false;
            graph.addImage(node, format, targetFile, false, o.targetIo().aioFor(false), qcow2);
        }
        objects.add(RunObjects.Kind.TARGET, i, node, null);
    }

    /**
     * With --pass-fds: opens {@code file} here and gives QEMU its own copy of the descriptor
     * (add-fd); QEMU opens {@code /dev/fdset/<id>} instead of the path, which it may not see (a
     * volume mounted only in this container). The fdset's tag is the node's name, so a later run
     * can find and remove it.
     */
    private String handOverIfAsked(Path file, String node, int disk) throws QmpException, BackupException {
        if (!o.passFds()) {
            return file.toString();
        }
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            long fdset = graph.addFd(f.getFD(), node);
            objects.add(RunObjects.Kind.FDSET, disk, node, Long.toString(fdset));
            log.info(vm + ": " + file.getFileName() + " handed to QEMU open, as /dev/fdset/" + fdset);
            return "/dev/fdset/" + fdset;
        } catch (IOException e) {
            throw new BackupException(vm + ": cannot open " + file + " to hand it to QEMU: " + e.getMessage(), e);
        }
    }

    /** A non-persistent {@code next} bitmap on every disk whose tracking moves forward. */
    void addNextBitmaps(BackupPlan plan, UndoStack undo, List<UndoStack.Entry> handles) throws QmpException {
        String next = Names.nextBitmap(token);
        for (BackupPlan.DiskPlan p : plan.disks()) {
            if (p.advancesTracking()) {
                String node = p.disk().nodeName();
                graph.addBitmap(node, next, false);
                handles.add(undo.push("remove bitmap " + next + " from node " + node, () -> {
                    if (graph.client().isConnected()) { // a VM that is gone took the bitmap with it
                        graph.removeBitmap(node, next);
                    }
                }));
            }
        }
    }

    /** What else belongs to the snapshot point: done while the VM is paused there. */
    interface AtSnapshotPoint {
        void run() throws BackupException;
    }

    /**
     * Freezes (optionally), inserts every filter, runs {@code atPoint} (null: nothing; else the VM
     * is paused for it), thaws. Returns whether the guest was frozen.
     */
    boolean snapshotPoint(BackupPlan plan, String runState, AtSnapshotPoint atPoint)
            throws QmpException, BackupException {
        if (o.pause() && o.quiesce()) {
            log.info(vm + ": --pause: the VM is paused at the snapshot point instead of freezing its filesystems"
                    + " through the guest agent (as qmpbackup does)");
        }
        boolean quiesce = o.quiesce() && !o.pause();
        GuestFreeze freeze = quiesce ? GuestFreeze.freeze(o.agentSocket(), o.agentTimeout(), vm, log) : null;
        boolean frozen = freeze != null && freeze.frozen();
        if (quiesce && !frozen) {
            warn.accept(freeze.problem());
        }
        long fleeced = plan.disks().stream().filter(BackupPlan.DiskPlan::fleeced).count();
        boolean paused = false;
        try {
            // --pause: asked for; several disks: one snapshot point for all, a crash-consistent state across them
            if (runState.equals("running") && (o.pause() || atPoint != null || !frozen && fleeced > 1)) {
                log.info(vm + ": pausing the VM while the snapshot point is set on " + fleeced + " disk(s)");
                graph.stop();
                paused = true;
            }
            insertFilters(plan);
            if (atPoint != null) {
                atPoint.run();
            }
        } finally {
            if (paused) {
                resume();
            }
            if (freeze != null) {
                freeze.thaw();
                if (freeze.problem() != null && frozen) {
                    warn.accept(freeze.problem());
                }
            }
        }
        for (BackupPlan.DiskPlan p : plan.disks()) {
            if (p.fleeced()) {
                String snap = snapshot(token, p.index());
                graph.addSnapshotAccess(snap, filter(token, p.index()));
                objects.add(RunObjects.Kind.SNAPSHOT, p.index(), snap, null);
            }
        }
        return frozen;
    }

    private void insertFilters(BackupPlan plan) throws QmpException {
        for (BackupPlan.DiskPlan p : plan.disks()) {
            if (!p.fleeced()) {
                continue;
            }
            String filter = filter(token, p.index());
            // above the device's own node (its filters stay in the guest's write path); it goes back there
            graph.addCopyBeforeWrite(filter, p.disk().rootNode(), fleece(token, p.index()), o.cbwTimeout());
            objects.add(RunObjects.Kind.FILTER, p.index(), filter, null);
            graph.setDrive(p.disk().qdev(), filter);
            objects.add(RunObjects.Kind.DRIVE, p.index(), p.disk().qdev(), p.disk().rootNode());
        }
    }

    private void resume() {
        try {
            graph.cont();
        } catch (QmpException e) {
            warn.accept(vm + ": could not resume the VM after the snapshot point: " + e.getMessage()
                    + "; resume it with the QMP command 'cont'");
        }
    }

    /**
     * One transaction starts every job. An INC reads the snapshot through a copy of the chain
     * bitmap (made on the job's source node in the same transaction); the chain bitmap itself is
     * not touched until the run has succeeded.
     */
    void startJobs(BackupPlan plan, Cancellation cancel) throws QmpException, BackupException {
        cancel.check(vm);
        Transaction t = new Transaction();
        for (BackupPlan.DiskPlan p : plan.disks()) {
            String jobBitmap = null;
            if (p.level() == BackupLevel.INC) {
                jobBitmap = Names.jobBitmap(token);
                t.addBitmap(source(p), jobBitmap, false)
                        .mergeBitmap(source(p), jobBitmap, p.disk().nodeName(), Names.chainBitmap(plan.chainId()));
            }
            t.backup(Names.job(token, p.index()), source(p), target(token, p.index()), jobBitmap,
                    o.compress() && p.disk().format().equals("qcow2"), o.speedLimit());
        }
        graph.run(t);
        for (BackupPlan.DiskPlan p : plan.disks()) {
            objects.add(RunObjects.Kind.JOB, p.index(), Names.job(token, p.index()), null);
            if (p.level() == BackupLevel.INC && !p.fleeced()) {
                // on a snapshot node the job's bitmap goes with the node; on the disk itself it must be removed
                objects.add(RunObjects.Kind.BITMAP, -1, Names.jobBitmap(token), p.disk().nodeName());
            }
        }
    }
}
