package io.qmpbackup.engine.repository;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * One writer per backup target: a backup and a prune of the same target never interleave (a
 * prune rewriting a chain manifest while a backup appends to it would lose the backup's entry).
 * The lock is an flock on {@code <target>/.qmpbackup.lock}, so it holds between the node agent,
 * a CLI run on the host and any other process that sees the same folder; the kernel drops it
 * when its holder dies.
 *
 * <p>Within one process a semaphore per lock file comes first, and only its holder opens the
 * file: the JDK's locks are POSIX record locks, which belong to the process, and closing any
 * channel on the file would drop the lock another run of the same process holds.
 */
public final class TargetLock implements AutoCloseable {
    public static final String FILE = ".qmpbackup.lock";
    private static final java.util.Map<Path, java.util.concurrent.Semaphore> IN_PROCESS =
            new java.util.concurrent.ConcurrentHashMap<>();

    private final FileChannel channel;
    private final FileLock lock;
    private final java.util.concurrent.Semaphore slot;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    private TargetLock(FileChannel channel, FileLock lock, java.util.concurrent.Semaphore slot) {
        this.channel = channel;
        this.lock = lock;
        this.slot = slot;
    }

    /**
     * Takes the lock, waiting up to {@code wait} for its holder.
     *
     * @param what what the caller is about to do, for the error message
     */
    public static TargetLock acquire(Path target, Duration wait, String what) throws IOException {
        return acquire(target, wait, what, m -> { });
    }

    /** As {@link #acquire(Path, Duration, String)}; {@code waiting} hears once that the lock is held. */
    public static TargetLock acquire(Path target, Duration wait, String what, Consumer<String> waiting)
            throws IOException {
        Files.createDirectories(target);
        Path file = target.resolve(FILE).toAbsolutePath().normalize();
        long deadline = System.nanoTime() + wait.toNanos();
        java.util.concurrent.Semaphore slot = IN_PROCESS.computeIfAbsent(file,
                k -> new java.util.concurrent.Semaphore(1));
        String busy = "backup target " + target + " is busy: another backup or prune of it is running (it holds "
                + file + "); " + what + " waited " + wait.toSeconds() + " s; run it again when the other one is done";
        String waits = what + " waits for another backup or prune of " + target + " to finish (up to "
                + wait.toSeconds() + " s)";
        boolean told = false;
        try {
            if (!slot.tryAcquire()) {
                waiting.accept(waits);
                told = true;
                if (!slot.tryAcquire(Math.max(0, deadline - System.nanoTime()),
                        java.util.concurrent.TimeUnit.NANOSECONDS)) {
                    throw new IOException(busy);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(what + " was interrupted while waiting for the lock on " + target, e);
        }
        FileChannel ch = null;
        try {
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            while (true) {
                FileLock l;
                try {
                    l = ch.tryLock();
                } catch (OverlappingFileLockException e) {
                    l = null; // cannot happen while we hold the slot; be safe anyway
                }
                if (l != null) {
                    return new TargetLock(ch, l, slot);
                }
                if (!told) {
                    waiting.accept(waits);
                    told = true;
                }
                if (System.nanoTime() >= deadline) {
                    throw new IOException(busy);
                }
                Thread.sleep(100);
            }
        } catch (InterruptedException e) {
            closeQuietly(ch);
            slot.release();
            Thread.currentThread().interrupt();
            throw new IOException(what + " was interrupted while waiting for the lock on " + target, e);
        } catch (IOException | RuntimeException e) {
            closeQuietly(ch);
            slot.release();
            throw e;
        }
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing more to release
            }
        }
    }

    /**
     * The lock of the backup target a disk's folder lies in (the folder itself with --no-subdir,
     * its parent, or with --monthly its grandparent: the first that holds {@value #FILE}), or
     * null for a folder no backup of this tool wrote (nothing to serialize with).
     */
    public static TargetLock acquireFor(Path diskFolder, Duration wait, String what, Consumer<String> waiting)
            throws IOException {
        Path p = diskFolder.toAbsolutePath().normalize();
        for (int up = 0; up < 3 && p != null; up++, p = p.getParent()) {
            if (Files.exists(p.resolve(FILE))) {
                return acquire(p, wait, what, waiting);
            }
        }
        return null;
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            lock.release();
            channel.close();
        } catch (IOException ignored) {
            // closing the channel drops the lock in any case
        } finally {
            slot.release();
        }
    }
}
