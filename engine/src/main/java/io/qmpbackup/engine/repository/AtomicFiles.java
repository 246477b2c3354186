package io.qmpbackup.engine.repository;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Durable file operations: write-then-rename, fsync of files and folders, checksums. */
public final class AtomicFiles {
    private AtomicFiles() {
    }

    /** Writes via a temporary file in the same folder, fsyncs it, renames it over {@code target}. */
    public static void write(Path target, byte[] content) throws IOException {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.wrap(content);
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
        moveDurably(tmp, target);
    }

    /** Renames atomically and makes the rename durable by syncing the folder. */
    public static void moveDurably(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
        fsyncDirectory(to.toAbsolutePath().getParent());
    }

    public static void fsync(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }

    public static void fsyncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException ignored) {
            // some filesystems refuse fsync on a folder; the data files themselves were synced
        }
    }

    private static final int HASH_BLOCK = 8 << 20;

    /**
     * SHA-256 of a file's bytes, hex encoded (what {@code sha256sum} prints). Backup files are
     * written with O_DIRECT and are not in the page cache, so they are read back with O_DIRECT
     * too (a cold buffered read is much slower), on one thread while another hashes.
     */
    public static String sha256(Path file) throws IOException {
        return sha256(file, true);
    }

    /**
     * SHA-256 of a file; {@code direct}: read with O_DIRECT (a file written with it is not in the
     * page cache), else through the page cache (a file just written there is still in memory).
     */
    public static String sha256(Path file, boolean direct) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("JDK without SHA-256", e);
        }
        readSequentially(file, direct, md::update);
        return HexFormat.of().formatHex(md.digest());
    }

    /**
     * Hands the file's bytes, in order, to {@code consumer} (each buffer's remaining bytes), read
     * on another thread meanwhile; {@code direct} as for {@link #sha256(Path, boolean)}.
     */
    public static void readSequentially(Path file, boolean direct, java.util.function.Consumer<ByteBuffer> consumer)
            throws IOException {
        java.util.concurrent.ArrayBlockingQueue<ByteBuffer> free = new java.util.concurrent.ArrayBlockingQueue<>(3);
        java.util.concurrent.ArrayBlockingQueue<ByteBuffer> full = new java.util.concurrent.ArrayBlockingQueue<>(4);
        ByteBuffer end = ByteBuffer.allocate(0);
        for (int i = 0; i < 3; i++) {
            free.add(ByteBuffer.allocateDirect(HASH_BLOCK + 4096).alignedSlice(4096));
        }
        java.util.concurrent.atomic.AtomicReference<IOException> readError = new java.util.concurrent.atomic.AtomicReference<>();
        Thread reader = new Thread(() -> {
            try {
                readBack(file, direct, free, full);
            } catch (IOException e) {
                readError.set(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                full.offer(end);
            }
        }, "checksum-reader");
        reader.setDaemon(true);
        reader.start();
        try {
            while (true) {
                ByteBuffer b = full.take();
                if (b == end) {
                    break;
                }
                consumer.accept(b);
                free.put(b);
            }
            reader.join();
        } catch (InterruptedException e) {
            reader.interrupt();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while checksumming " + file, e);
        }
        if (readError.get() != null) {
            throw new IOException("cannot read back " + file + ": " + readError.get().getMessage(), readError.get());
        }
    }

    /** Reads the file into buffers taken from {@code free}, handing each to {@code full} in order. */
    private static void readBack(Path file, boolean direct, java.util.concurrent.BlockingQueue<ByteBuffer> free,
            java.util.concurrent.BlockingQueue<ByteBuffer> full) throws IOException, InterruptedException {
        try (FileChannel ch = direct ? openForReadBack(file) : FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            long pos = 0;
            while (pos < size) {
                ByteBuffer b = free.take();
                b.clear();
                // O_DIRECT reads stay block aligned: only the last read of the file comes back short
                while (b.hasRemaining() && pos < size) {
                    int n = ch.read(b);
                    if (n < 0) {
                        break;
                    }
                    pos += n;
                }
                b.flip();
                full.put(b);
                if (pos < size && b.limit() == 0) {
                    throw new IOException("unexpected end of file at " + pos + " of " + size);
                }
            }
        }
    }

    /**
     * Drops a durable file's pages from the page cache (GNU dd's oflag=nocache: posix_fadvise
     * DONTNEED), so a backup written through the cache does not push the VMs' data out of it.
     * Best effort: the file is already durable.
     */
    public static void dropFromPageCache(Path file) {
        try {
            Process p = new ProcessBuilder("dd", "if=/dev/null", "of=" + file, "oflag=nocache", "conv=notrunc,fdatasync",
                    "count=0", "status=none").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (IOException e) {
            // no dd: the pages age out of the cache on their own
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static FileChannel openForReadBack(Path file) throws IOException {
        try {
            return FileChannel.open(file, StandardOpenOption.READ, com.sun.nio.file.ExtendedOpenOption.DIRECT);
        } catch (IOException | UnsupportedOperationException e) {
            return FileChannel.open(file, StandardOpenOption.READ); // tmpfs and some FUSE refuse O_DIRECT
        }
    }

    /**
     * Deletes {@code root} and everything under it (a scratch folder of ours); symlinks inside are
     * removed, never followed. Nothing when it does not exist.
     */
    public static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (var s = Files.walk(root)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
