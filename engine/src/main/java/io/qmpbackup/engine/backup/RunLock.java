package io.qmpbackup.engine.backup;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * Marks what one run puts into a VM. Every node, job and temporary bitmap a run creates
 * carries its token ({@code qmpbackup-<token>-...}), and the run holds an exclusive lock on
 * {@code <lockDir>/qmpbackup-<token>.lock} while it lives. A later run that finds
 * {@code qmpbackup-<token>} objects whose lock nobody holds knows their owner died (SIGKILL,
 * node crash) and removes them; objects of a live run are left alone.
 */
public final class RunLock implements AutoCloseable {
    private static final SecureRandom RANDOM = new SecureRandom();
    /**
     * Runs alive in this process. Their lock files are never opened by {@link #isAlive}: the JDK's
     * locks are POSIX record locks, owned by the process, and closing any channel on the file
     * would drop the lock the live run holds.
     */
    private static final java.util.Set<String> OWN = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private final String token;
    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;

    private RunLock(String token, Path file, FileChannel channel, FileLock lock) {
        this.token = token;
        this.file = file;
        this.channel = channel;
        this.lock = lock;
    }

    /** Default lock folder: $QMPBACKUP_LOCK_DIR, else a folder in the system temp dir. */
    public static Path defaultDirectory() {
        String env = System.getenv("QMPBACKUP_LOCK_DIR");
        return env != null && !env.isBlank() ? Path.of(env)
                : Path.of(System.getProperty("java.io.tmpdir"), "qmpbackup-locks");
    }

    public static RunLock acquire(Path lockDir) throws IOException {
        Files.createDirectories(lockDir);
        byte[] b = new byte[4];
        RANDOM.nextBytes(b);
        String token = HexFormat.of().formatHex(b);
        Path file = lockDir.resolve("qmpbackup-" + token + ".lock");
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        FileLock lock = ch.lock();
        ch.write(java.nio.ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes()));
        OWN.add(token);
        return new RunLock(token, file, ch, lock);
    }

    /** True when the run with this token is still alive (its lock is held). */
    public static boolean isAlive(Path lockDir, String token) {
        if (OWN.contains(token)) {
            return true;
        }
        Path file = lockDir.resolve("qmpbackup-" + token + ".lock");
        if (!Files.exists(file)) {
            return false;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            FileLock l = ch.tryLock();
            if (l == null) {
                return true;
            }
            l.release();
            Files.deleteIfExists(file);
            return false;
        } catch (OverlappingFileLockException e) {
            return true; // held by a run inside this very JVM
        } catch (IOException e) {
            return true; // cannot tell: be safe and treat it as alive
        }
    }

    public String token() {
        return token;
    }

    @Override
    public void close() {
        try {
            lock.release();
            channel.close();
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // a stale lock file without a holder is treated as dead by the next run
        } finally {
            OWN.remove(token);
        }
    }
}
