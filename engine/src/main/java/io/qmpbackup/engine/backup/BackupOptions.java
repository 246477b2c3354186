package io.qmpbackup.engine.backup;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

/**
 * Everything one backup run is asked to do; the same options as qmpbackup's {@code backup}
 * subcommand.
 *
 * @param level        full, inc, auto or copy
 * @param target       backup target folder
 * @param uuid         chain id to use (null: keep the folder's, or make a new one)
 * @param monthly      chains in YYYY-MM folders, a new FULL each month
 * @param include      only these disks (device or node names); empty for all
 * @param exclude      all but these disks
 * @param includeRaw   back up raw disks too (full/copy only)
 * @param compress     compress the target qcow2 clusters
 * @param speedLimit   bytes per second per job, 0 for unlimited
 * @param quiesce      freeze guest filesystems through the guest agent at the snapshot point
 * @param agentSocket  guest agent socket (needed for quiesce)
 * @param noSubdir     files directly in the chain folder, not in per-disk folders
 * @param noTimestamp  FULL/COPY file named after the image alone
 * @param noSymlink    no FULL-/COPY- symlink for --no-timestamp files
 * @param fleeceDir    folder for the temporary fleece images (null: the chain folder)
 * @param lockDir      folder of the run locks (see {@link RunLock})
 * @param agentTimeout how long to wait for the guest agent before going on without it
 * @param clock        the time source (file names, monthly folders)
 * @param passFds      hand QEMU open files (QMP add-fd) instead of paths: for a target QEMU cannot open
 *                     itself (a volume mounted only where this process runs); needs a QMP connection
 *                     opened for fd passing
 * @param targetIo     how QEMU writes the target files (O_DIRECT or the page cache, and its aio)
 * @param pause        pause the VM at the snapshot point (qmpbackup's --pause), instead of freezing the
 *                     guest filesystems through the guest agent
 * @param removeDelay  wait this long after the jobs before the backup's nodes are removed (qmpbackup's
 *                     --remove-delay)
 * @param tpmState     the VM's swtpm state folder, copied at the snapshot point (null: no TPM state kept)
 * @param cbwTimeout   seconds a guest write may wait for copy-before-write to save the old data; past
 *                     that (or on a fleece write error) the snapshot breaks, the guest's write goes on
 *                     and the backup fails (qmpbackup 0.66's --cbw-timeout; 0 = no limit)
 */
public record BackupOptions(BackupLevel level, Path target, String uuid, boolean monthly, List<String> include,
        List<String> exclude, boolean includeRaw, boolean compress, long speedLimit, boolean quiesce,
        Path agentSocket, boolean noSubdir, boolean noTimestamp, boolean noSymlink, Path fleeceDir, Path lockDir,
        Duration agentTimeout, Clock clock, boolean passFds, TargetIo targetIo, boolean pause, Duration removeDelay,
        Path tpmState, int cbwTimeout) {
    /** qmpbackup's default for --cbw-timeout. */
    public static final int DEFAULT_CBW_TIMEOUT = 45;

    public BackupOptions {
        // QEMU opens the target and fleece files by name from its own working folder, not ours
        target = absolute(target);
        fleeceDir = absolute(fleeceDir);
        tpmState = absolute(tpmState);
        include = include == null ? List.of() : List.copyOf(include);
        exclude = exclude == null ? List.of() : List.copyOf(exclude);
        lockDir = lockDir == null ? RunLock.defaultDirectory() : lockDir;
        agentTimeout = agentTimeout == null ? Duration.ofSeconds(10) : agentTimeout;
        clock = clock == null ? Clock.systemDefaultZone() : clock;
        targetIo = targetIo == null ? TargetIo.DEFAULT : targetIo;
        removeDelay = removeDelay == null ? Duration.ZERO : removeDelay;
        if (cbwTimeout < 0) {
            throw new IllegalArgumentException("cbw-timeout " + cbwTimeout + " is negative: give seconds, 0 for no"
                    + " limit");
        }
    }

    private static Path absolute(Path p) {
        return p == null ? null : p.toAbsolutePath().normalize();
    }

    public static Builder builder(BackupLevel level, Path target) {
        return new Builder(level, target);
    }

    public Builder toBuilder() {
        Builder b = new Builder(level, target);
        b.uuid = uuid;
        b.monthly = monthly;
        b.include = include;
        b.exclude = exclude;
        b.includeRaw = includeRaw;
        b.compress = compress;
        b.speedLimit = speedLimit;
        b.quiesce = quiesce;
        b.agentSocket = agentSocket;
        b.noSubdir = noSubdir;
        b.noTimestamp = noTimestamp;
        b.noSymlink = noSymlink;
        b.fleeceDir = fleeceDir;
        b.lockDir = lockDir;
        b.agentTimeout = agentTimeout;
        b.clock = clock;
        b.passFds = passFds;
        b.cbwTimeout = cbwTimeout;
        b.targetIo = targetIo;
        b.pause = pause;
        b.removeDelay = removeDelay;
        b.tpmState = tpmState;
        return b;
    }

    /** Builder for callers that set a few options. */
    public static final class Builder {
        private BackupLevel level;
        private Path target;
        private String uuid;
        private boolean monthly;
        private List<String> include = List.of();
        private List<String> exclude = List.of();
        private boolean includeRaw;
        private boolean compress;
        private long speedLimit;
        private boolean quiesce;
        private Path agentSocket;
        private boolean noSubdir;
        private boolean noTimestamp;
        private boolean noSymlink;
        private Path fleeceDir;
        private Path lockDir;
        private Duration agentTimeout;
        private Clock clock;
        private boolean passFds;
        private int cbwTimeout = DEFAULT_CBW_TIMEOUT;
        private TargetIo targetIo;
        private boolean pause;
        private Duration removeDelay;
        private Path tpmState;

        private Builder(BackupLevel level, Path target) {
            this.level = level;
            this.target = target;
        }

        public Builder level(BackupLevel v) { level = v; return this; }
        public Builder target(Path v) { target = v; return this; }
        public Builder uuid(String v) { uuid = v; return this; }
        public Builder monthly(boolean v) { monthly = v; return this; }
        public Builder include(List<String> v) { include = v; return this; }
        public Builder exclude(List<String> v) { exclude = v; return this; }
        public Builder includeRaw(boolean v) { includeRaw = v; return this; }
        public Builder compress(boolean v) { compress = v; return this; }
        public Builder speedLimit(long v) { speedLimit = v; return this; }
        public Builder quiesce(boolean v) { quiesce = v; return this; }
        public Builder agentSocket(Path v) { agentSocket = v; return this; }
        public Builder noSubdir(boolean v) { noSubdir = v; return this; }
        public Builder noTimestamp(boolean v) { noTimestamp = v; return this; }
        public Builder noSymlink(boolean v) { noSymlink = v; return this; }
        public Builder passFds(boolean v) { passFds = v; return this; }
        public Builder fleeceDir(Path v) { fleeceDir = v; return this; }
        public Builder lockDir(Path v) { lockDir = v; return this; }
        public Builder agentTimeout(Duration v) { agentTimeout = v; return this; }
        public Builder clock(Clock v) { clock = v; return this; }
        public Builder cbwTimeout(int v) { cbwTimeout = v; return this; }
        public Builder targetIo(TargetIo v) { targetIo = v; return this; }
        public Builder pause(boolean v) { pause = v; return this; }
        public Builder removeDelay(Duration v) { removeDelay = v; return this; }
        public Builder tpmState(Path v) { tpmState = v; return this; }

        public BackupOptions build() {
            return new BackupOptions(level, target, uuid, monthly, include, exclude, includeRaw, compress, speedLimit,
                    quiesce, agentSocket, noSubdir, noTimestamp, noSymlink, fleeceDir, lockDir, agentTimeout, clock,
                    passFds, targetIo, pause, removeDelay, tpmState, cbwTimeout);
        }
    }
}
