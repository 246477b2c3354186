package io.qmpbackup.engine.restore;

import io.qmpbackup.engine.backup.BackupLevel;
import io.qmpbackup.engine.backup.BackupLog;
import io.qmpbackup.engine.backup.Cancellation;
import io.qmpbackup.engine.repository.AtomicFiles;
import io.qmpbackup.engine.repository.ChainManifest;
import io.qmpbackup.engine.repository.FileSum;
import io.qmpbackup.engine.repository.DirectIo;
import io.qmpbackup.engine.repository.Holds;
import io.qmpbackup.engine.repository.QemuImg;
import io.qmpbackup.engine.repository.TargetLock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/**
 * qmprestore's operations over a {@link BackupChain}: {@code rebase}, {@code commit} and
 * {@code snapshotrebase} change the folder in place (as qmprestore documents), {@code merge}
 * writes a new image in one pass and leaves every backup file as it was. Each operation is
 * planned as a list of steps first: {@code --dry-run} prints them, a refusal happens before
 * the first one runs.
 */
public final class ChainRestore {
    private static final DateTimeFormatter SNAPSHOT_NAME = DateTimeFormatter.ofPattern("yyyy-MM-dd-HH:mm:ss");

    /** One thing a restore does; {@link #describe()} is what --dry-run prints. */
    public interface Step {
        String describe();

        void run() throws IOException;

        /** It changes the backup files (stopping after it would leave the chain half-changed). */
        default boolean changesChain() {
            return false;
        }
    }

    private final BackupChain chain;
    private final BackupLog log;
    private final boolean skipCheck;
    private final ZoneId zone;
    /** The last plan changes the backup files (anything but merge). */
    private boolean inPlace;
    private static final java.time.Duration LOCK_WAIT = java.time.Duration.ofSeconds(60);

    public ChainRestore(BackupChain chain, boolean skipCheck, ZoneId zone, BackupLog log) {
        this.chain = chain;
        this.skipCheck = skipCheck;
        this.zone = zone;
        this.log = log;
    }

    // ---------------------------------------------------------------- plans

    /** Backing headers set so each INC names the file before it; {@code image} links to the point. */
    public List<Step> planRebase(String until) throws RestoreException {
        inPlace = true;
        Path link = chain.dir().resolve("image");
        if (Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw new RestoreException(chain.dir() + " has already been rebased (" + link + " exists); remove the"
                    + " link to rebase again");
        }
        List<ChainFile> point = chain.pointUpTo(until);
        refuseHeld();
        List<Step> steps = new ArrayList<>(checks(point));
        List<ChainFile> rewritten = new ArrayList<>();
        for (int i = 1; i < point.size(); i++) {
            ChainFile inc = point.get(i);
            String backing = BackupChain.backingOf(inc);
            if (backing == null || !backing.equals(point.get(i - 1).name())) {
                steps.add(rebaseUnsafe(inc, point.get(i - 1)));
                rewritten.add(inc);
            }
        }
        String target = point.get(point.size() - 1).name();
        steps.add(step("ln -s " + target + " " + link, () -> Files.createSymbolicLink(link, Path.of(target))));
        if (!rewritten.isEmpty()) {
            steps.add(manifestUpdate(m -> refreshChecksums(m, rewritten)));
        }
        return steps;
    }

    /** Every INC up to the point committed into the FULL; the INCs are removed. */
    public List<Step> planCommit(String until, long rateLimit) throws RestoreException {
        return planCommitInto(until, rateLimit, false);
    }

    /** Like commit, with an internal snapshot of the FULL for the FULL and for every INC applied. */
    public List<Step> planSnapshotRebase(String until, long rateLimit) throws RestoreException {
        return planCommitInto(until, rateLimit, true);
    }

    private List<Step> planCommitInto(String until, long rateLimit, boolean snapshots) throws RestoreException {
        inPlace = true;
        refuseHeld();
        List<ChainFile> point = chain.pointUpTo(until);
        if (point.size() < 2 || !point.get(0).is(BackupLevel.FULL)) {
            throw new RestoreException("no incremental backups to apply in " + chain.dir() + " up to "
                    + point.get(point.size() - 1).name() + ": the FULL already is that point");
        }
        ChainFile full = point.get(0);
        if (!"qcow2".equals(full.format())) {
            throw new RestoreException(full.name() + " is not a qcow2 image: incrementals cannot be committed into it");
        }
        List<Step> steps = new ArrayList<>(checks(point));
        if (snapshots && !hasSnapshot(full, "FULL-BACKUP")) {
            steps.add(qemuImg("snapshot", "-c", "FULL-BACKUP", full.path().toString()));
        }
        List<ChainFile> removed = new ArrayList<>();
        for (ChainFile inc : point.subList(1, point.size())) {
            steps.add(rebaseUnsafe(inc, full));
            List<String> commit = new ArrayList<>(List.of("commit", "-q", "-f", "qcow2"));
            if (rateLimit > 0) {
                commit.addAll(List.of("-r", Long.toString(rateLimit)));
            }
            commit.add(inc.path().toString());
            steps.add(qemuImg(commit.toArray(String[]::new)));
            if (snapshots) {
                String name = SNAPSHOT_NAME.format(Instant.ofEpochSecond(inc.epoch()).atZone(zone));
                steps.add(qemuImg("snapshot", "-c", name, full.path().toString()));
            }
            steps.add(step("rm " + inc.path(), () -> Files.delete(inc.path())));
            removed.add(inc);
        }
        // an INC after the point built on the last one committed: it now builds on the FULL
        int after = chain.files().indexOf(point.get(point.size() - 1)) + 1;
        ChainFile next = null;
        for (int i = after; i < chain.files().size(); i++) {
            if (!chain.files().get(i).is(BackupLevel.COPY)) {
                next = chain.files().get(i);
                break;
            }
        }
        List<ChainFile> rewritten = new ArrayList<>(List.of(full));
        if (next != null && next.isInc()) {
            steps.add(rebaseUnsafe(next, full));
            rewritten.add(next);
        }
        ChainFile nextInc = next != null && next.isInc() ? next : null;
        steps.add(manifestUpdate(m -> {
            m.entries.removeIf(e -> removed.stream().anyMatch(r -> r.name().equals(e.file)));
            m.renumber();
            for (ChainManifest.Entry e : m.entries) {
                if (nextInc != null && e.file.equals(nextInc.name())) {
                    e.backingFile = full.name();
                }
            }
            refreshChecksums(m, rewritten);
        }));
        return steps;
    }

    /**
     * One {@code qemu-img convert} reading the chain through a backing-chain description: one
     * pass over the data, no backup file opened for writing. Written as {@code .partial},
     * checked, renamed.
     */
    public List<Step> planMerge(Path targetFile, String until) throws RestoreException {
        inPlace = false;
        RestoreTarget.check(targetFile, chain, "target file");
        List<ChainFile> point = chain.pointUpTo(until);
        List<Step> steps = new ArrayList<>(checks(point));
        String format = point.get(0).format();
        String source = point.size() == 1 ? point.get(0).path().toAbsolutePath().toString()
                : "json:" + chainDescription(point);
        Path partial = partialOf(targetFile);
        // O_DIRECT on both sides where the filesystems take it: each byte is read and written once,
        // and a restore does not flush the host's page cache
        List<String> convert = new ArrayList<>(List.of("convert", "-W", "-m", "16"));
        if (DirectIo.supported(chain.dir())) {
            convert.addAll(List.of("-T", "none"));
        }
        if (DirectIo.supported(targetFile.toAbsolutePath().getParent())) {
            convert.addAll(List.of("-t", "none"));
        }
        convert.addAll(List.of("-O", format));
        if (point.size() == 1) {
            convert.addAll(List.of("-f", format));
        }
        convert.addAll(List.of(source, partial.toString()));
        steps.add(qemuImg(convert.toArray(String[]::new)));
        if ("qcow2".equals(format)) {
            steps.add(qemuImg("check", "-q", partial.toString()));
        }
        steps.add(step("mv " + partial + " " + targetFile, () -> {
            AtomicFiles.fsync(partial);
            AtomicFiles.moveDurably(partial, targetFile);
        }));
        return steps;
    }

    /** The point as one qcow2 chain: see {@link ChainNodes}. */
    static String chainDescription(List<ChainFile> point) {
        return ChainNodes.of(point, false).toString();
    }

    // ---------------------------------------------------------------- running

    /** Runs the steps, with no way to stop them (the command line's dry-run-less path). */
    public void run(List<Step> steps) throws RestoreException {
        run(steps, new Cancellation());
    }

    /**
     * Runs the steps in order; stops at the first failure, naming the step. A plan that changes the
     * chain in place (rebase, commit, snapshotrebase) holds the backup target's lock meanwhile, so
     * no backup or prune of the target rewrites the manifest under it. A cancel is honoured between
     * steps until the first step that changes the chain has run; from then on the plan goes to its
     * end, since a chain left half-rebased or half-committed is worse than a finished restore.
     */
    public void run(List<Step> steps, Cancellation cancel) throws RestoreException {
        TargetLock lock = null;
        if (inPlace) {
            try {
                lock = TargetLock.acquireFor(chain.dir(), LOCK_WAIT, "the restore", log::info);
            } catch (IOException e) {
                throw new RestoreException(e.getMessage(), e);
            }
        }
        try {
            runSteps(steps, cancel);
        } finally {
            if (lock != null) {
                lock.close();
            }
        }
    }

    private void runSteps(List<Step> steps, Cancellation cancel) throws RestoreException {
        boolean changed = false;
        boolean told = false;
        for (Step s : steps) {
            if (cancel.cancelled() && !changed) {
                throw new RestoreException("restore of " + chain.dir() + " cancelled (" + cancel.reason()
                        + ") before: " + s.describe() + "; the backup files are unchanged");
            }
            if (cancel.cancelled() && !told) {
                told = true;
                log.warn("cancel requested (" + cancel.reason() + "), but the chain in " + chain.dir()
                        + " is already being changed: the restore runs to its end so the chain stays whole");
            }
            log.info(s.describe());
            try {
                s.run();
            } catch (IOException e) {
                throw new RestoreException("restore step failed: " + s.describe() + ": " + e.getMessage(), e);
            }
            changed |= inPlace && s.changesChain();
        }
    }

    /** Where a merge writes its image until it is complete and checked. */
    public static Path partialOf(Path targetFile) {
        return targetFile.resolveSibling(targetFile.getFileName() + ".partial");
    }

    public static void print(List<Step> steps, java.io.PrintStream out) {
        for (Step s : steps) {
            out.println(s.describe());
        }
    }

    // ---------------------------------------------------------------- step builders

    /** In place, the files an overlay or an export reads would change under it. */
    private void refuseHeld() throws RestoreException {
        for (Holds.Hold h : chain.holds()) {
            for (ChainFile f : chain.files()) {
                if (h.holds(chain.disk(), f.name())) {
                    throw new RestoreException(f.name() + " in " + chain.dir() + " is held by " + h.describe()
                            + ": an in-place restore would change what it reads; stream the overlay (qmpbackup"
                            + " stream) or delete it, or end the export, or restore with merge, which changes nothing");
                }
            }
        }
    }

    private List<Step> checks(List<ChainFile> point) {
        List<Step> steps = new ArrayList<>();
        if (skipCheck) {
            return steps;
        }
        for (ChainFile f : point) {
            if ("qcow2".equals(f.format())) {
                steps.add(readOnly(qemuImg("check", "-q", f.path().toString())));
            }
        }
        return steps;
    }

    /** The INC's header names {@code backing} (by name: it lies beside it), in its own format (a raw disk's FULL is raw). */
    private static Step rebaseUnsafe(ChainFile inc, ChainFile backing) {
        return qemuImg("rebase", "-u", "-f", "qcow2", "-F", backing.format(), "-b", backing.name(),
                inc.path().toString());
    }

    private static Step qemuImg(String... args) {
        return step("qemu-img " + String.join(" ", quoted(args)), () -> QemuImg.run(args));
    }

    private static List<String> quoted(String[] args) {
        List<String> q = new ArrayList<>();
        for (String a : args) {
            q.add(a.matches("[A-Za-z0-9_./:=,+-]+") ? a : "'" + a.replace("'", "'\\''") + "'");
        }
        return q;
    }

    private interface IoAction {
        void run() throws IOException;
    }

    private static Step step(String description, IoAction action) {
        return new Step() {
            @Override
            public String describe() {
                return description;
            }

            @Override
            public void run() throws IOException {
                action.run();
            }

            @Override
            public boolean changesChain() {
                return true;
            }
        };
    }

    /** A step that only reads the chain (a check): a cancel may still stop the plan after it. */
    private static Step readOnly(Step s) {
        return new Step() {
            @Override
            public String describe() {
                return s.describe();
            }

            @Override
            public void run() throws IOException {
                s.run();
            }
        };
    }

    private interface ManifestChange {
        void apply(ChainManifest m) throws IOException;
    }

    private Step manifestUpdate(ManifestChange change) {
        return step("update chain manifest " + (chain.manifestPath() == null ? "(none)" : chain.manifestPath()), () -> {
            if (chain.manifestPath() == null || chain.manifest().isEmpty()) {
                return;
            }
            ChainManifest m = ChainManifest.read(chain.manifestPath()).orElseThrow();
            change.apply(m);
            m.write(chain.manifestPath());
        });
    }

    private static void refreshChecksums(ChainManifest m, List<ChainFile> changed) throws IOException {
        for (ChainFile f : changed) {
            for (ChainManifest.Entry e : m.entries) {
                if (e.file.equals(f.name())) {
                    e.record(FileSum.compute(f.path(), e.recorded()));
                    e.fileSize = Files.size(f.path());
                }
            }
        }
    }

    private static boolean hasSnapshot(ChainFile f, String name) throws RestoreException {
        try {
            return QemuImg.info(f.path()).path("snapshots").findValuesAsText("name").contains(name);
        } catch (IOException e) {
            throw new RestoreException("cannot read " + f.path() + ": " + e.getMessage(), e);
        }
    }
}
