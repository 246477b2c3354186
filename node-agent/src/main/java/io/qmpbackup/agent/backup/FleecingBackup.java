package io.qmpbackup.agent.backup;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpbackup.agent.qmp.Json;
import io.qmpbackup.agent.qmp.QmpClient;
import io.qmpbackup.agent.qmp.QmpCommandException;
import io.qmpbackup.agent.qmp.QmpDisconnectedException;
import io.qmpbackup.agent.qmp.QmpEvent;
import io.qmpbackup.agent.qmp.QmpException;
import io.qmpbackup.agent.repository.AtomicFiles;
import io.qmpbackup.agent.repository.ChainDirectory;
import io.qmpbackup.agent.repository.ChainManifest;
import io.qmpbackup.agent.repository.QemuImg;
import io.qmpbackup.agent.repository.TargetLock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * One live backup of a VM through image fleecing (QEMU 7.1+).
 *
 * <p>The order is what makes the chain exact under concurrent guest writes:
 * <ol>
 * <li>targets and fleece images are created and attached;</li>
 * <li>a fresh bitmap {@code next} is added on every tracked disk: change tracking for the
 * next backup starts <em>before</em> the snapshot point;</li>
 * <li>guest filesystems are frozen (--quiesce), the VM is paused for a moment when it has
 * several disks, and each device's drive is swapped for a copy-before-write filter (the
 * snapshot point), with a snapshot-access node on top; then the VM runs on and thaws;</li>
 * <li>one transaction starts every job: an INC reads the snapshot through a copy of the
 * chain bitmap; the chain bitmap itself is not touched;</li>
 * <li>only when every job succeeded and every file is renamed into place and recorded in the
 * manifest is the chain bitmap replaced by {@code next} (one transaction: clear, merge,
 * remove). On any failure {@code next} is simply removed: the chain bitmap still holds every
 * change since the last good backup.</li>
 * </ol>
 * The filter is added without the {@code bitmap} option, so snapshot-access can serve any
 * cluster the job asks for (qmpbackup's "Permission denied" on busy guests).
 */
public final class FleecingBackup {
    private static final long POLL_MILLIS = 200;

    private final QmpClient qmp;
    private final BackupOptions o;
    private final BackupLog log;
    private final Object wakeup = new Object();
    private final List<String> warnings = new ArrayList<>();
    private volatile String cancelReason;
    private String vm = "VM";

    public FleecingBackup(QmpClient qmp, BackupOptions options, BackupLog log) {
        this.qmp = qmp;
        this.o = options;
        this.log = log;
    }

    /** Asks a running backup to stop; it rolls back and {@link #run()} throws {@link BackupCancelledException}. */
    public void cancel(String reason) {
        cancelReason = reason;
        synchronized (wakeup) {
            wakeup.notifyAll();
        }
    }

    /** Per-disk state of the run; flags record what exists, so rollback undoes exactly that. */
    private static final class DiskRun {
        final Disk disk;
        final int index;
        BackupLevel level;
        boolean tracked;
        boolean fleeced;
        String basename;
        Path folder;
        Path partial;
        Path finalFile;
        Path fleeceFile;
        String backingFile;
        String targetNode;
        String fleeceNode;
        String cbwNode;
        String snapNode;
        String jobId;
        long epoch;
        boolean targetAttached;
        boolean fleeceAttached;
        /** fdsets holding the target's and the fleece image's open files (passFds), or -1. */
        long targetFdset = -1;
        long fleeceFdset = -1;
        boolean cbwAdded;
        boolean driveSwapped;
        boolean snapAdded;
        boolean nextBitmapAdded;
        boolean jobStarted;
        boolean jobDismissed;
        long bytesCopied;
        long fileSize;
        String sha256;
        ChainManifest manifest;

        DiskRun(Disk disk, int index) {
            this.disk = disk;
            this.index = index;
        }

        String sourceNode() {
            return fleeced ? snapNode : disk.nodeName();
        }
    }

    /** How long a backup waits for another backup or prune of the same target. */
    static final Duration TARGET_LOCK_WAIT = Duration.ofSeconds(60);

    public BackupResult run() throws BackupException {
        checkTarget();
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

    private void checkTarget() throws BackupException {
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
        String status;
        try {
            JsonNode name = qmp.execute("query-name");
            vm = name.path("name").asText("").isEmpty() ? "VM on " + qmp.socket() : "VM " + name.path("name").asText();
            int[] v = qmp.version();
            if (v[0] < 7 || (v[0] == 7 && v[1] < 1)) {
                throw new BackupException(vm + " runs QEMU " + v[0] + "." + v[1] + "." + v[2]
                        + ": image fleecing needs QEMU 7.1 or newer; upgrade QEMU");
            }
            status = qmp.execute("query-status").path("status").asText();
            LeftoverCleaner cleaner = new LeftoverCleaner(qmp, o.lockDir(), log);
            cleaner.clean(token);
            if (!cleaner.liveRuns(token).isEmpty()) {
                throw new BackupException(vm + " is being backed up by another qmpbackup run right now (run "
                        + cleaner.liveRuns(token) + "); wait for it to finish and try again");
            }
        } catch (QmpException e) {
            throw qmpFailure("preparing the backup", e);
        }
        log.info(vm + ": QEMU " + String.join(".", java.util.Arrays.stream(qmp.version()).mapToObj(String::valueOf)
                .toList()) + ", state " + status);

        Path chainPath = ChainDirectory.resolve(o.target(), o.monthly(), YearMonth.now(o.clock()));
        boolean newMonth = o.monthly() && !Files.exists(chainPath);
        ChainDirectory chain = new ChainDirectory(chainPath, o.noSubdir());
        Path fleeceDir = o.fleeceDir() != null ? o.fleeceDir() : chainPath;
        try {
            Files.createDirectories(chainPath);
            Files.createDirectories(fleeceDir);
        } catch (IOException e) {
            throw new BackupException("cannot create backup folder " + chainPath + " or fleece folder " + fleeceDir
                    + ": " + e.getMessage() + "; check the path and its permissions", e);
        }
        new LeftoverCleaner(qmp, o.lockDir(), log).cleanFleeceFiles(fleeceDir, token);

        List<DiskRun> runs = plan(token, chain, newMonth);
        String chainId = runs.stream().anyMatch(r -> r.tracked && r.level != BackupLevel.COPY) ? chainUuid(chain) : null;
        boolean quiesced = false;
        boolean success = false;
        Instant started = o.clock().instant();
        try {
            prepareFiles(runs, chain, fleeceDir, token);
            attachNodes(runs);
            addNextBitmaps(runs, token);
            checkCancelled();
            quiesced = snapshotPoint(runs, status);
            long jobsStart = System.nanoTime();
            startJobs(runs, chainId, token);
            waitForJobs(runs);
            log.debug(vm + ": block jobs took " + (System.nanoTime() - jobsStart) / 1_000_000 + " ms");
            dismissJobs(runs);
            if (!teardown(runs)) {
                throw new BackupException(vm + ": the backup jobs finished but QEMU refused to remove the backup's"
                        + " nodes (see the warnings above); nothing was recorded and change tracking is unchanged");
            }
            long finishStart = System.nanoTime();
            finishFiles(runs);
            log.debug(vm + ": fsync, checksum and rename took " + (System.nanoTime() - finishStart) / 1_000_000 + " ms");
            recordChain(runs, chain, chainId, quiesced, started);
            commitBitmaps(runs, chainId, token);
            success = true;
        } catch (QmpException e) {
            throw qmpFailure("the backup", e);
        } catch (IOException e) {
            throw new BackupException(vm + ": backup failed: " + e.getMessage()
                    + "; nothing was recorded and change tracking is unchanged, fix the cause and run it again", e);
        } finally {
            if (!success) {
                rollback(runs);
            }
            deleteFleeceFiles(runs);
        }

        List<BackupResult.DiskResult> results = new ArrayList<>();
        for (DiskRun r : runs) {
            results.add(new BackupResult.DiskResult(r.disk.name(), r.disk.nodeName(), r.level, r.finalFile,
                    r.bytesCopied, r.fileSize, r.sha256, r.tracked));
        }
        log.info(vm + ": backup complete" + (quiesced ? " (filesystems frozen at the snapshot point)"
                : o.quiesce() ? " (crash-consistent: filesystems were NOT frozen)" : " (crash-consistent)"));
        return new BackupResult(vm, chainPath, chainId, quiesced, results, List.copyOf(warnings));
    }

    // ---------------------------------------------------------------- planning

    private List<DiskRun> plan(String token, ChainDirectory chain, boolean newMonth) throws BackupException {
        List<Disk> all;
        try {
            all = DiskDiscovery.discover(qmp);
        } catch (QmpException e) {
            throw qmpFailure("listing the disks", e);
        }
        for (String n : o.include()) {
            if (all.stream().noneMatch(d -> d.matches(n))) {
                throw new BackupException(vm + " has no disk named '" + n + "' (--include): its disks are "
                        + names(all) + "; see info --show blockdev");
            }
        }
        for (String n : o.exclude()) {
            if (all.stream().noneMatch(d -> d.matches(n))) {
                warn(vm + " has no disk named '" + n + "' (--exclude): nothing to exclude; its disks are " + names(all));
            }
        }
        Optional<String> folderUuid;
        try {
            folderUuid = chain.readUuid();
        } catch (IOException e) {
            throw new BackupException("cannot read the chain id " + chain.path().resolve("uuid") + ": " + e.getMessage(), e);
        }
        if (o.uuid() != null && !o.uuid().isBlank() && folderUuid.isPresent() && !folderUuid.get().equals(o.uuid())
                && o.level() != BackupLevel.COPY) {
            throw new BackupException("target " + chain.path() + " holds chain " + folderUuid.get() + " but --uuid "
                    + o.uuid() + " was given: use another --target for a second chain, or drop --uuid");
        }
        String bitmapName = Names.chainBitmap(folderUuid.orElse(o.uuid() == null ? "" : o.uuid()));

        List<DiskRun> runs = new ArrayList<>();
        int index = 0;
        for (Disk d : all) {
            boolean excluded = o.exclude().stream().anyMatch(d::matches);
            boolean included = o.include().isEmpty() || o.include().stream().anyMatch(d::matches);
            if (excluded || (!included && !d.pflash())) {
                log.info(vm + ": leaving out " + d.describe() + (excluded ? " (--exclude)" : " (not in --include)"));
                continue;
            }
            if (!d.format().equals("qcow2") && !d.format().equals("raw")) {
                throw new BackupException(vm + ": " + d.describe() + " is attached through a '" + d.format()
                        + "' node, which this tool cannot back up; exclude it with --exclude " + d.name());
            }
            if (d.isRaw() && !d.pflash() && !o.includeRaw()) {
                warn(vm + ": leaving out raw " + d.describe() + ": raw disks are backed up only with --include-raw"
                        + " (full and copy only), or convert it to qcow2 / a qcow2 with a raw data_file");
                continue;
            }
            DiskRun r = new DiskRun(d, index++);
            r.tracked = d.format().equals("qcow2") && !d.readOnly();
            r.fleeced = !d.readOnly() && !d.qdev().isEmpty();
            r.basename = d.basename();
            r.level = levelFor(r, chain, folderUuid, bitmapName, newMonth);
            r.targetNode = Names.node(token, "t", r.index);
            r.fleeceNode = Names.node(token, "f", r.index);
            r.cbwNode = Names.node(token, "c", r.index);
            r.snapNode = Names.node(token, "s", r.index);
            r.jobId = Names.job(token, r.index);
            runs.add(r);
        }
        if (runs.isEmpty()) {
            throw new BackupException(vm + " has no disk to back up (disks: " + names(all)
                    + "); check --include/--exclude, or pass --include-raw for raw disks");
        }
        for (DiskRun r : runs) {
            log.info(vm + ": " + r.disk.describe() + " -> " + r.level.lower());
        }
        return runs;
    }

    private BackupLevel levelFor(DiskRun r, ChainDirectory chain, Optional<String> folderUuid, String bitmapName,
            boolean newMonth) throws BackupException {
        Disk d = r.disk;
        BackupLevel asked = o.level();
        if (asked == BackupLevel.COPY) {
            return BackupLevel.COPY;
        }
        if (!r.tracked) {
            if (asked == BackupLevel.INC && d.isRaw() && !d.pflash()) {
                throw new BackupException(vm + ": " + d.describe() + " is raw: raw disks support full and copy backups"
                        + " only; run --level full, copy or auto, leave it out with --exclude " + d.name()
                        + ", or convert it to qcow2");
            }
            if (asked != BackupLevel.FULL) {
                log.info(vm + ": " + d.describe() + " has no change tracking (" + (d.readOnly() ? "read-only"
                        : d.format()) + "): taking a full copy of it");
            }
            return BackupLevel.FULL;
        }
        if (asked == BackupLevel.FULL) {
            return BackupLevel.FULL;
        }
        String reason = incProblem(r, chain, folderUuid, bitmapName, newMonth);
        if (reason == null) {
            return BackupLevel.INC;
        }
        if (asked == BackupLevel.INC) {
            throw new BackupException(vm + ": cannot take an incremental backup of " + d.describe() + ": " + reason
                    + "; run --level full (or --level auto, which falls back to full by itself)");
        }
        if (!newMonth && folderUuid.isPresent()) {
            warn(vm + ": " + d.describe() + ": " + reason + "; taking a full backup instead");
        }
        return BackupLevel.FULL;
    }

    /** Why an INC of this disk is impossible, or null when it is possible. */
    private String incProblem(DiskRun r, ChainDirectory chain, Optional<String> folderUuid, String bitmapName,
            boolean newMonth) throws BackupException {
        if (newMonth) {
            return "a new month starts a new chain";
        }
        if (folderUuid.isEmpty()) {
            return "there is no chain in " + chain.path() + " yet (no uuid file)";
        }
        Optional<Bitmap> bm = r.disk.bitmap(bitmapName);
        if (bm.isEmpty()) {
            return "its change-tracking bitmap " + bitmapName + " is missing (VM restarted with a non-persistent"
                    + " bitmap, bitmaps removed, or a different chain)";
        }
        if (!bm.get().usable()) {
            return "its change-tracking bitmap " + bitmapName + " " + bm.get().problem();
        }
        try {
            Optional<ChainManifest> m = chain.manifest(r.basename);
            if (m.isPresent() && m.get().currentChain().isEmpty()) {
                return "its chain manifest has no full backup";
            }
            if (m.isEmpty() && !chain.hasFull(r.basename)) {
                return "there is no full backup of it in " + chain.diskFolder(r.basename);
            }
            if (m.isEmpty() && !chain.partialFiles(r.basename).isEmpty()) {
                return "an unfinished backup file " + chain.partialFiles(r.basename).get(0)
                        + " lies in the folder and the chain has no manifest, so it may be broken";
            }
            if (m.isPresent()) {
                r.manifest = m.get();
                Path last = chain.diskFolder(r.basename).resolve(m.get().last().orElseThrow().file);
                if (!Files.exists(last)) {
                    return "the newest backup file of the chain, " + last + ", is missing";
                }
            }
        } catch (IOException e) {
            throw new BackupException(vm + ": " + e.getMessage(), e);
        }
        return null;
    }

    private String chainUuid(ChainDirectory chain) throws BackupException {
        try {
            Optional<String> existing = chain.readUuid();
            if (existing.isPresent()) {
                return existing.get();
            }
        } catch (IOException e) {
            throw new BackupException("cannot read " + chain.path().resolve("uuid") + ": " + e.getMessage(), e);
        }
        return o.uuid() != null && !o.uuid().isBlank() ? o.uuid() : UUID.randomUUID().toString();
    }

    // ---------------------------------------------------------------- files and nodes

    private void prepareFiles(List<DiskRun> runs, ChainDirectory chain, Path fleeceDir, String token)
            throws IOException, BackupException {
        long now = o.clock().instant().getEpochSecond();
        for (DiskRun r : runs) {
            checkCancelled();
            r.folder = chain.diskFolder(r.basename);
            Files.createDirectories(r.folder);
            removeStalePartials(chain, r);
            if (r.manifest == null) {
                r.manifest = chain.manifest(r.basename).orElse(null);
            }
            saveConfig(chain, r);
            r.epoch = chain.nextEpoch(r.basename, now);
            String name = o.noTimestamp() && r.level != BackupLevel.INC ? r.basename
                    : r.level.prefix() + "-" + r.epoch + "-" + r.basename;
            r.finalFile = r.folder.resolve(name);
            r.partial = r.folder.resolve(name + ChainDirectory.PARTIAL_SUFFIX);
            if (Files.exists(r.finalFile) && !(o.noTimestamp() && r.level != BackupLevel.INC)) {
                throw new BackupException(vm + ": backup file " + r.finalFile + " already exists; refusing to"
                        + " overwrite it");
            }
            if (r.level == BackupLevel.INC) {
                r.backingFile = previousFile(chain, r);
            }
            List<String> args = new ArrayList<>(List.of("create", "-q", "-f", r.disk.format()));
            if (r.disk.format().equals("qcow2")) {
                args.addAll(qcow2Options(chain, r));
                if (r.backingFile != null) {
                    args.addAll(List.of("-F", "qcow2", "-b", r.backingFile, "-u"));
                }
            }
            args.add(r.partial.toString());
            args.add(Long.toString(r.disk.virtualSize()));
            QemuImg.run(args.toArray(String[]::new));
            if (r.fleeced) {
                r.fleeceFile = fleeceDir.resolve(".qmpbackup-" + token + "-" + r.index + ".fleece.qcow2");
                QemuImg.run("create", "-q", "-f", "qcow2", r.fleeceFile.toString(),
                        Long.toString(r.disk.virtualSize()));
            }
        }
    }

    /**
     * Unfinished files of interrupted runs. Ours never advanced change tracking, so they are
     * garbage; an INC over a manifest-less (qmpbackup) chain with such a file was refused in
     * planning, since qmpbackup clears its bitmap before the file is complete.
     */
    private void removeStalePartials(ChainDirectory chain, DiskRun r) throws IOException {
        for (Path p : chain.partialFiles(r.basename)) {
            Files.deleteIfExists(p);
            warn(vm + ": removed unfinished backup file " + p + " left by an interrupted run");
        }
    }

    private void saveConfig(ChainDirectory chain, DiskRun r) {
        Path image = Path.of(r.disk.filename());
        if (!image.isAbsolute() || !Files.exists(image)) {
            warn(vm + ": cannot read image " + r.disk.filename() + " from here; " + chain.configFile(r.basename)
                    + " (qemu-img info of the source) is not written");
            return;
        }
        try {
            AtomicFiles.write(chain.configFile(r.basename), QemuImg.run("info", "-U", "--output=json",
                    image.toString()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        } catch (IOException e) {
            warn(vm + ": cannot save " + chain.configFile(r.basename) + ": " + e.getMessage());
        }
    }

    private List<String> qcow2Options(ChainDirectory chain, DiskRun r) throws BackupException {
        List<String> opts = new ArrayList<>();
        try {
            Path config = chain.configFile(r.basename);
            if (!Files.exists(config)) {
                return opts;
            }
            JsonNode info = Json.MAPPER.readTree(config.toFile());
            if (info.has("cluster-size")) {
                opts.addAll(List.of("-o", "cluster_size=" + info.get("cluster-size").asLong()));
            }
            String compat = info.path("format-specific").path("data").path("compat").asText("");
            if (r.tracked && r.level != BackupLevel.COPY && compat.equals("0.10")) {
                throw new BackupException(vm + ": " + r.disk.describe() + " is a qcow2 version 2 image (compat=0.10),"
                        + " which cannot store change-tracking bitmaps; upgrade it with `qemu-img amend -o compat=1.1`"
                        + " while the VM is off, or use --level copy");
            }
        } catch (IOException e) {
            warn(vm + ": cannot read " + chain.configFile(r.basename) + ": " + e.getMessage());
        }
        return opts;
    }

    /**
     * The file an INC builds on: the manifest's newest FULL or INC (a COPY is no part of the chain:
     * the bitmap kept tracking since the backup before it), else the newest FULL/INC by name.
     */
    private String previousFile(ChainDirectory chain, DiskRun r) throws IOException, BackupException {
        if (r.manifest != null) {
            for (int i = r.manifest.entries.size() - 1; i >= 0; i--) {
                if (!"copy".equals(r.manifest.entries.get(i).level)) {
                    return r.manifest.entries.get(i).file;
                }
            }
        }
        List<Path> files = chain.backupFiles(r.basename);
        Path newest = null;
        long newestEpoch = -1;
        for (Path p : files) {
            String n = p.getFileName().toString();
            long e = ChainDirectory.epochOf(n);
            if (!n.startsWith("COPY-") && e > newestEpoch) {
                newest = p;
                newestEpoch = e;
            }
        }
        if (newest == null) {
            throw new BackupException(vm + ": no full backup of " + r.disk.describe() + " in " + r.folder
                    + "; run --level full");
        }
        return newest.getFileName().toString();
    }

    private void attachNodes(List<DiskRun> runs) throws QmpException, BackupException {
        for (DiskRun r : runs) {
            checkCancelled();
            ObjectNode target = Json.obj("driver", r.disk.format(), "node-name", r.targetNode);
            if (r.disk.format().equals("qcow2")) {
                target.set("backing", com.fasterxml.jackson.databind.node.NullNode.getInstance());
            }
            String targetFile = r.partial.toString();
            if (o.passFds()) {
                r.targetFdset = handOver(r.partial, r.targetNode);
                targetFile = "/dev/fdset/" + r.targetFdset;
            }
            target.set("file", Json.obj("driver", "file", "filename", targetFile,
                    "cache", Json.obj("direct", true), "aio", "native"));
            try {
                qmp.execute("blockdev-add", target);
            } catch (QmpCommandException e) {
                // O_DIRECT is refused by some filesystems (tmpfs, some FUSE): fall back to the page cache
                log.info(vm + ": target " + r.partial + " cannot be opened with O_DIRECT (" + e.description()
                        + "); writing through the page cache");
                target.set("file", Json.obj("driver", "file", "filename", targetFile));
                qmp.execute("blockdev-add", target);
            }
            r.targetAttached = true;
            if (r.fleeced) {
                String fleeceFile = r.fleeceFile.toString();
                if (o.passFds()) {
                    r.fleeceFdset = handOver(r.fleeceFile, r.fleeceNode);
                    fleeceFile = "/dev/fdset/" + r.fleeceFdset;
                }
                qmp.execute("blockdev-add", Json.obj("driver", "qcow2", "node-name", r.fleeceNode, "discard", "unmap",
                        "file", Json.obj("driver", "file", "filename", fleeceFile)));
                r.fleeceAttached = true;
            }
        }
    }

    /**
     * Opens {@code file} here and gives QEMU its own copy of the descriptor (add-fd); QEMU opens
     * {@code /dev/fdset/<id>} instead of the path, which it may not see (a volume mounted only in
     * this container). The fdset's tag is the node's name, so a later run can find and remove it.
     */
    private long handOver(Path file, String node) throws QmpException, BackupException {
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(file.toFile(), "rw")) {
            long fdset = qmp.addFd(f.getFD(), node);
            log.info(vm + ": " + file.getFileName() + " handed to QEMU open, as /dev/fdset/" + fdset);
            return fdset;
        } catch (IOException e) {
            throw new BackupException(vm + ": cannot open " + file + " to hand it to QEMU: " + e.getMessage(), e);
        }
    }

    private void addNextBitmaps(List<DiskRun> runs, String token) throws QmpException {
        for (DiskRun r : runs) {
            if (r.tracked && r.level != BackupLevel.COPY) {
                qmp.execute("block-dirty-bitmap-add", Json.obj("node", r.disk.nodeName(), "name",
                        Names.nextBitmap(token), "persistent", false));
                r.nextBitmapAdded = true;
            }
        }
    }

    /** Freezes (optionally), inserts every filter, thaws. Returns whether the guest was frozen. */
    private boolean snapshotPoint(List<DiskRun> runs, String status) throws QmpException, BackupException {
        GuestFreeze freeze = o.quiesce() ? GuestFreeze.freeze(o.agentSocket(), o.agentTimeout(), vm, log) : null;
        boolean frozen = freeze != null && freeze.frozen();
        if (o.quiesce() && !frozen) {
            warn(freeze.problem());
        }
        long fleeced = runs.stream().filter(r -> r.fleeced).count();
        boolean pause = !frozen && fleeced > 1 && status.equals("running");
        boolean paused = false;
        try {
            if (pause) {
                // one snapshot point for all disks: a crash-consistent state across them
                log.info(vm + ": pausing the VM while the snapshot point is set on " + fleeced + " disks");
                qmp.execute("stop");
                paused = true;
            }
            for (DiskRun r : runs) {
                if (!r.fleeced) {
                    continue;
                }
                qmp.execute("blockdev-add", Json.obj("driver", "copy-before-write", "node-name", r.cbwNode,
                        "file", r.disk.nodeName(), "target", r.fleeceNode,
                        "on-cbw-error", "break-snapshot", "cbw-timeout", 60));
                r.cbwAdded = true;
                qmp.execute("qom-set", Json.obj("path", r.disk.qdev(), "property", "drive", "value", r.cbwNode));
                r.driveSwapped = true;
            }
        } finally {
            if (paused) {
                try {
                    qmp.execute("cont");
                } catch (QmpException e) {
                    warn(vm + ": could not resume the VM after the snapshot point: " + e.getMessage()
                            + "; resume it with the QMP command 'cont'");
                }
            }
            if (freeze != null) {
                freeze.thaw();
                if (freeze.problem() != null && frozen) {
                    warn(freeze.problem());
                }
            }
        }
        for (DiskRun r : runs) {
            if (r.fleeced) {
                qmp.execute("blockdev-add", Json.obj("driver", "snapshot-access", "node-name", r.snapNode,
                        "file", r.cbwNode));
                r.snapAdded = true;
            }
        }
        return frozen;
    }

    private void startJobs(List<DiskRun> runs, String chainId, String token) throws QmpException, BackupException {
        checkCancelled();
        ArrayNode actions = Json.array();
        for (DiskRun r : runs) {
            ObjectNode backup = Json.obj("job-id", r.jobId, "device", r.sourceNode(), "target", r.targetNode,
                    "sync", r.level == BackupLevel.INC ? "incremental" : "full", "auto-finalize", true,
                    "auto-dismiss", false);
            if (r.level == BackupLevel.INC) {
                String jobBitmap = Names.jobBitmap(token);
                actions.add(action("block-dirty-bitmap-add", Json.obj("node", r.sourceNode(), "name", jobBitmap,
                        "persistent", false)));
                ArrayNode sources = Json.array();
                sources.add(Json.obj("node", r.disk.nodeName(), "name", Names.chainBitmap(chainId)));
                actions.add(action("block-dirty-bitmap-merge", Json.obj("node", r.sourceNode(), "target", jobBitmap,
                        "bitmaps", sources)));
                backup.put("bitmap", jobBitmap);
            }
            if (o.compress() && r.disk.format().equals("qcow2")) {
                backup.put("compress", true);
            }
            if (o.speedLimit() > 0) {
                backup.put("speed", o.speedLimit());
            }
            actions.add(action("blockdev-backup", backup));
        }
        qmp.execute("transaction", Json.obj("actions", actions));
        for (DiskRun r : runs) {
            r.jobStarted = true;
        }
    }

    private static ObjectNode action(String type, ObjectNode data) {
        return Json.obj("type", type, "data", data);
    }

    private void waitForJobs(List<DiskRun> runs) throws QmpException, BackupException {
        long lastReport = 0;
        try (AutoCloseable sub = qmp.onEvent(this::wake)) {
            while (true) {
                if (!qmp.isConnected()) {
                    throw new QmpDisconnectedException("connection to QEMU closed during the backup");
                }
                if (cancelReason != null) {
                    throw new BackupCancelledException(vm + ": backup cancelled (" + cancelReason + ")");
                }
                long done = 0;
                long total = 0;
                int finished = 0;
                String failure = null;
                JsonNode jobs = qmp.execute("query-jobs");
                for (DiskRun r : runs) {
                    JsonNode j = find(jobs, r.jobId);
                    if (j == null) {
                        throw new BackupException(vm + ": backup job " + r.jobId + " of " + r.disk.describe()
                                + " vanished from QEMU (dismissed by someone else?)");
                    }
                    done += j.path("current-progress").asLong();
                    total += j.path("total-progress").asLong();
                    if (j.path("status").asText().equals("concluded")) {
                        finished++;
                        r.bytesCopied = j.path("current-progress").asLong();
                        if (j.has("error") && failure == null) {
                            failure = r.disk.describe() + ": " + j.get("error").asText();
                        }
                    }
                }
                log.progress(done, total);
                long now = System.nanoTime();
                if (now - lastReport > 10_000_000_000L) {
                    lastReport = now;
                    log.debug(vm + ": " + done + " of " + total + " bytes copied");
                }
                if (failure != null) {
                    throw new BackupException(vm + ": backup job failed for " + failure
                            + "; nothing was recorded and change tracking is unchanged, fix the cause (target space?)"
                            + " and run the backup again");
                }
                if (finished == runs.size()) {
                    return;
                }
                synchronized (wakeup) {
                    wakeup.wait(POLL_MILLIS);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BackupCancelledException(vm + ": backup interrupted");
        } catch (QmpException | BackupException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private void wake(QmpEvent ev) {
        if (ev.name().equals("JOB_STATUS_CHANGE") || ev.name().startsWith("BLOCK_JOB")) {
            synchronized (wakeup) {
                wakeup.notifyAll();
            }
        }
    }

    private static JsonNode find(JsonNode jobs, String id) {
        for (JsonNode j : jobs) {
            if (id.equals(j.path("id").asText())) {
                return j;
            }
        }
        return null;
    }

    private void dismissJobs(List<DiskRun> runs) throws QmpException {
        for (DiskRun r : runs) {
            qmp.execute("job-dismiss", Json.obj("id", r.jobId));
            r.jobDismissed = true;
        }
    }

    /**
     * Removes every node the run added, giving each device its own disk back first. Goes on
     * past a failed step, so that as little as possible stays behind; idempotent.
     *
     * @return true when everything is gone
     */
    private boolean teardown(List<DiskRun> runs) {
        for (DiskRun r : runs) {
            if (r.snapAdded && tryRun("blockdev-del", Json.obj("node-name", r.snapNode))) {
                r.snapAdded = false;
            }
            if (r.driveSwapped && !r.snapAdded && tryRun("qom-set", Json.obj("path", r.disk.qdev(), "property",
                    "drive", "value", r.disk.nodeName()))) {
                r.driveSwapped = false;
            }
            if (r.cbwAdded && !r.driveSwapped && tryRun("blockdev-del", Json.obj("node-name", r.cbwNode))) {
                r.cbwAdded = false;
            }
            if (r.targetAttached && tryRun("blockdev-del", Json.obj("node-name", r.targetNode))) {
                r.targetAttached = false;
            }
            if (r.fleeceAttached && !r.cbwAdded && tryRun("blockdev-del", Json.obj("node-name", r.fleeceNode))) {
                r.fleeceAttached = false;
            }
            if (r.targetFdset >= 0 && !r.targetAttached && tryRun("remove-fd", Json.obj("fdset-id", r.targetFdset))) {
                r.targetFdset = -1;
            }
            if (r.fleeceFdset >= 0 && !r.fleeceAttached && tryRun("remove-fd", Json.obj("fdset-id", r.fleeceFdset))) {
                r.fleeceFdset = -1;
            }
        }
        return runs.stream().noneMatch(r -> r.snapAdded || r.driveSwapped || r.cbwAdded || r.targetAttached
                || r.fleeceAttached);
    }

    /** fsync, checksum (disks in parallel: the read-back dominates), rename *.partial into place. */
    private void finishFiles(List<DiskRun> runs) throws IOException {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(
                Math.min(runs.size(), Math.max(1, Runtime.getRuntime().availableProcessors())));
        try {
            List<java.util.concurrent.Future<String>> sums = new ArrayList<>();
            for (DiskRun r : runs) {
                sums.add(pool.submit(() -> {
                    AtomicFiles.fsync(r.partial);
                    return AtomicFiles.sha256(r.partial);
                }));
            }
            for (int i = 0; i < runs.size(); i++) {
                try {
                    runs.get(i).sha256 = sums.get(i).get();
                } catch (java.util.concurrent.ExecutionException e) {
                    throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while checksumming the backup files", e);
                }
            }
        } finally {
            pool.shutdownNow();
        }
        for (DiskRun r : runs) {
            r.fileSize = Files.size(r.partial);
            AtomicFiles.moveDurably(r.partial, r.finalFile);
            if (o.noTimestamp() && r.level != BackupLevel.INC && !o.noSymlink()) {
                Path link = r.folder.resolve(r.level.prefix() + "-" + r.finalFile.getFileName());
                Files.deleteIfExists(link);
                Files.createSymbolicLink(link, r.finalFile.toAbsolutePath());
            }
            log.info(vm + ": wrote " + r.finalFile + " (" + r.bytesCopied + " bytes copied, " + r.fileSize
                    + " bytes on disk)");
        }
    }

    private void recordChain(List<DiskRun> runs, ChainDirectory chain, String chainId, boolean quiesced,
            Instant started) throws IOException {
        for (DiskRun r : runs) {
            ChainManifest m = r.manifest != null ? r.manifest : new ChainManifest();
            m.chain = r.tracked && r.level != BackupLevel.COPY ? chainId : m.chain;
            m.disk = r.basename;
            m.folder = o.noSubdir() ? "." : r.basename;
            m.sourceFormat = r.disk.format();
            m.virtualSize = r.disk.virtualSize();
            ChainManifest.Entry e = new ChainManifest.Entry();
            e.sequence = m.entries.size() + 1;
            e.level = r.level.lower();
            e.file = r.finalFile.getFileName().toString();
            e.epoch = r.epoch;
            e.bitmap = r.tracked && r.level != BackupLevel.COPY ? Names.chainBitmap(chainId) : null;
            e.backingFile = r.backingFile;
            e.device = r.disk.device();
            e.nodeName = r.disk.nodeName();
            e.virtualSize = r.disk.virtualSize();
            e.fileSize = r.fileSize;
            e.bytesCopied = r.bytesCopied;
            e.sha256 = r.sha256;
            e.quiesced = quiesced;
            e.startedAt = started.toString();
            e.completedAt = o.clock().instant().toString();
            m.entries.add(e);
            m.write(chain.manifestFile(r.basename));
        }
        if (chainId != null) {
            chain.writeUuid(chainId);
        }
    }

    /** The chain bitmap becomes {@code next}: clear + merge + remove in one transaction. */
    private void commitBitmaps(List<DiskRun> runs, String chainId, String token) {
        ArrayNode actions = Json.array();
        String next = Names.nextBitmap(token);
        for (DiskRun r : runs) {
            if (!r.nextBitmapAdded) {
                continue;
            }
            String chainBitmap = Names.chainBitmap(chainId);
            Optional<Bitmap> existing = currentBitmap(r.disk, chainBitmap);
            if (existing.isPresent() && !existing.get().inconsistent()) {
                actions.add(action("block-dirty-bitmap-clear", Json.obj("node", r.disk.nodeName(), "name", chainBitmap)));
            } else {
                if (existing.isPresent()) {
                    removeBitmap(r.disk.nodeName(), chainBitmap);
                }
                actions.add(action("block-dirty-bitmap-add", Json.obj("node", r.disk.nodeName(), "name", chainBitmap,
                        "persistent", true)));
            }
            ArrayNode sources = Json.array();
            sources.add(Json.obj("node", r.disk.nodeName(), "name", next));
            actions.add(action("block-dirty-bitmap-merge", Json.obj("node", r.disk.nodeName(), "target", chainBitmap,
                    "bitmaps", sources)));
            actions.add(action("block-dirty-bitmap-remove", Json.obj("node", r.disk.nodeName(), "name", next)));
        }
        if (actions.isEmpty()) {
            return;
        }
        try {
            qmp.execute("transaction", Json.obj("actions", actions));
            for (DiskRun r : runs) {
                r.nextBitmapAdded = false;
            }
        } catch (QmpException e) {
            warn(vm + ": the backup files are complete, but change tracking could not be moved forward ("
                    + e.getMessage() + "); the next incremental will copy some data again, or auto will take a full");
            for (DiskRun r : runs) {
                if (r.nextBitmapAdded) {
                    removeBitmap(r.disk.nodeName(), next);
                    r.nextBitmapAdded = false;
                }
            }
        }
    }

    private Optional<Bitmap> currentBitmap(Disk disk, String name) {
        try {
            for (Disk d : DiskDiscovery.discover(qmp)) {
                if (d.nodeName().equals(disk.nodeName())) {
                    return d.bitmap(name);
                }
            }
        } catch (QmpException e) {
            log.debug("cannot re-read bitmaps: " + e.getMessage());
        }
        return disk.bitmap(name);
    }

    private void removeBitmap(String node, String name) {
        try {
            qmp.execute("block-dirty-bitmap-remove", Json.obj("node", node, "name", name));
        } catch (QmpException e) {
            warn(vm + ": cannot remove bitmap " + name + " from node " + node + ": " + e.getMessage());
        }
    }

    // ---------------------------------------------------------------- failure paths

    /** Undoes whatever exists of the run: jobs, nodes, the next bitmaps, partial files. */
    private void rollback(List<DiskRun> runs) {
        boolean connected = qmp.isConnected();
        if (connected) {
            for (DiskRun r : runs) {
                if (r.jobStarted && !r.jobDismissed) {
                    cancelAndDismiss(r);
                }
            }
            teardown(runs);
            for (DiskRun r : runs) {
                if (r.nextBitmapAdded) {
                    removeBitmap(r.disk.nodeName(), Names.nextBitmap(tokenOf(r)));
                    r.nextBitmapAdded = false;
                }
            }
        }
        for (DiskRun r : runs) {
            if (r.partial != null) {
                try {
                    Files.deleteIfExists(r.partial);
                } catch (IOException e) {
                    warn(vm + ": cannot remove unfinished file " + r.partial + ": " + e.getMessage()
                            + "; delete it by hand (it is not a usable backup)");
                }
            }
        }
    }

    private static String tokenOf(DiskRun r) {
        return Names.tokenOf(r.targetNode);
    }

    private void cancelAndDismiss(DiskRun r) {
        try {
            String status = jobStatus(r.jobId);
            if (status != null && !status.equals("concluded")) {
                qmp.execute("job-cancel", Json.obj("id", r.jobId));
            }
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (status != null && !status.equals("concluded") && System.nanoTime() < deadline) {
                Thread.sleep(50);
                status = jobStatus(r.jobId);
            }
            if (status != null) {
                qmp.execute("job-dismiss", Json.obj("id", r.jobId));
            }
            r.jobDismissed = true;
        } catch (QmpException e) {
            warn(vm + ": cannot cancel job " + r.jobId + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private String jobStatus(String id) throws QmpException {
        JsonNode j = find(qmp.execute("query-jobs"), id);
        return j == null ? null : j.path("status").asText();
    }

    private boolean tryRun(String command, ObjectNode args) {
        try {
            qmp.execute(command, args);
            return true;
        } catch (QmpException e) {
            warn(vm + ": cleanup step " + command + " failed: " + e.getMessage());
            return false;
        }
    }

    private void deleteFleeceFiles(List<DiskRun> runs) {
        for (DiskRun r : runs) {
            if (r.fleeceFile == null) {
                continue;
            }
            try {
                Files.deleteIfExists(r.fleeceFile);
            } catch (IOException e) {
                warn(vm + ": cannot remove fleece file " + r.fleeceFile + ": " + e.getMessage());
            }
        }
    }

    private void checkCancelled() throws BackupCancelledException {
        if (cancelReason != null) {
            throw new BackupCancelledException(vm + ": backup cancelled (" + cancelReason + ")");
        }
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

    private static String names(List<Disk> disks) {
        return disks.stream().map(Disk::name).toList().toString();
    }
}
