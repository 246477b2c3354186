package io.qmpbackup.engine.backup;

import java.util.Locale;

/**
 * How QEMU writes a backup target file. Measured here (bench/target-io.sh, one run, 4 GiB full
 * backup, whole process until durable, x an O_DIRECT dd of the same bytes): O_DIRECT with aio
 * threads 2.22, io_uring 2.32, native 2.66 (and 1.5x slower still in one of two rounds: extending
 * O_DIRECT writes block io_submit on ext4, so native AIO serialises the job's workers); the page
 * cache with aio threads 3.78, with io_uring 2.34. O_DIRECT with threads is the default: fastest
 * here, and the backup stays out of the host's page cache. A short write probe to choose per
 * target predicted the page cache (77 ms against 106 ms for 64 MiB), the slowest for QEMU: the
 * choice is the user's ({@code --target-cache}, {@code --blockdev-aio}), not a guess.
 *
 * @param cache how the file is cached
 * @param aio      QEMU's aio for the file: {@code threads}, {@code native} or {@code io_uring}; null for
 *                 {@code threads}
 * @param checksum how the integrity record is taken (null: {@link Checksum#DEFAULT})
 */
public record TargetIo(Cache cache, String aio, Checksum checksum) {
    public static final TargetIo DEFAULT = new TargetIo(Cache.DIRECT, null);

    /**
     * How a backup file's checksum is taken. {@code SINK}: QEMU writes the file through the
     * engine's NBD sink ({@link io.qmpbackup.engine.sink.NbdSink}), which hashes it on the way
     * (a chunked SHA-256); {@code READ_BACK}: QEMU writes the file itself and the engine reads it
     * back after the job (a whole-file SHA-256). With {@code --pass-fds} the sink is not used
     * (see {@link TargetSinks}).
     */
    public enum Checksum {
        SINK, READ_BACK;

        /** Measured faster to a durable file (bench/checksum.sh, docs/benchmark.md): it saves the read-back. */
        public static final Checksum DEFAULT = SINK;

        /** From a command line value: sink, read-back. */
        public static Checksum parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("checksum mode '" + s + "' is not one of sink, read-back", e);
            }
        }
    }

    public TargetIo(Cache cache, String aio) {
        this(cache, aio, null);
    }

    public enum Cache {
        DIRECT, BUFFERED;

        /** From a command line or spec value: direct, buffered. */
        public static Cache parse(String s) {
            try {
                return valueOf(s.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("target cache mode '" + s + "' is not one of direct, buffered",
                        e);
            }
        }
    }

    public TargetIo {
        cache = cache == null ? Cache.DIRECT : cache;
        checksum = checksum == null ? Checksum.DEFAULT : checksum;
        if (aio != null && !aio.equals("threads") && !aio.equals("native") && !aio.equals("io_uring")) {
            throw new IllegalArgumentException("blockdev aio '" + aio + "' is not one of threads, native, io_uring");
        }
        if ("native".equals(aio) && cache == Cache.BUFFERED) {
            throw new IllegalArgumentException("aio native needs O_DIRECT: use --target-cache direct, or aio threads"
                    + " or io_uring with the page cache");
        }
    }

    /** The aio for a file opened {@code direct} or not (native needs O_DIRECT: a fallback gets threads). */
    public String aioFor(boolean direct) {
        return aio == null || !direct && aio.equals("native") ? "threads" : aio;
    }
}
