package io.qmpbackup.agent.repository;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;

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
        Files.createDirectories(target);
        Path file = target.resolve(FILE);
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        long deadline = System.nanoTime() + wait.toNanos();
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
