package io.qmpbackup.agent.repository;

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
 */
public final class TargetLock implements AutoCloseable {
    public static final String FILE = ".qmpbackup.lock";

    private final FileChannel channel;
    private final FileLock lock;

    private TargetLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
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
        Path file = target.resolve(FILE);
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        long deadline = System.nanoTime() + wait.toNanos();
        boolean told = false;
        try {
            while (true) {
                FileLock l;
                try {
                    l = ch.tryLock();
                } catch (OverlappingFileLockException e) {
                    l = null; // held by another run in this very process
                }
                if (l != null) {
                    return new TargetLock(ch, l);
                }
                if (!told) {
                    waiting.accept(what + " waits for another backup or prune of " + target + " to finish (up to "
                            + wait.toSeconds() + " s)");
                    told = true;
                }
                if (System.nanoTime() >= deadline) {
                    throw new IOException("backup target " + target + " is busy: another backup or prune of it is"
                            + " running (it holds " + file + "); " + what + " waited " + wait.toSeconds()
                            + " s; run it again when the other one is done");
                }
                Thread.sleep(100);
            }
        } catch (InterruptedException e) {
            ch.close();
            Thread.currentThread().interrupt();
            throw new IOException(what + " was interrupted while waiting for the lock on " + target, e);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
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
        try {
            lock.release();
            channel.close();
        } catch (IOException ignored) {
            // closing the channel drops the lock in any case
        }
    }
}
