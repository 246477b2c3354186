package io.qmpbackup.engine.sink;

import io.qmpbackup.engine.repository.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The file the sink writes: positional writes and reads, from any thread. With {@code direct},
 * block-aligned writes (qcow2's data clusters: nearly all the bytes) go through an O_DIRECT
 * channel, as QEMU writes a target by default, so the backup stays out of the page cache and the
 * final fsync has little left to do; unaligned ones (qcow2 header updates) and every read go
 * through the page cache, which Linux keeps coherent with O_DIRECT writes to the same file.
 * Also owns the aligned buffers requests are read into.
 */
final class SinkFile implements AutoCloseable {
    static final int ALIGN = 4096;
    /** Larger request buffers are not kept. */
    private static final int POOLED_MAX = 1 << 20;
    /**
     * As many as the sink lets be in flight (written, then hashed), so a steady stream of writes
     * allocates no buffer: a fresh direct buffer costs zeroing in the JVM and page faults in the
     * kernel, 4 % of the machine's CPU during a 4 GiB full with 24. Kept per size class, so the
     * pool stays under twice that however QEMU sizes its writes.
     */
    static final int POOLED_PER_SIZE = NbdSink.IN_FLIGHT_BYTES / POOLED_MAX;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(ChunkLedger.CHUNK + ALIGN).alignedSlice(ALIGN)
            .slice(0, ChunkLedger.CHUNK).asReadOnlyBuffer();

    private final Path path;
    private final FileChannel buffered;
    private final FileChannel direct;
    private final ConcurrentLinkedQueue<ByteBuffer>[] pool;

    @SuppressWarnings("unchecked")
    SinkFile(Path path, boolean wantDirect) throws IOException {
        this.path = path;
        this.buffered = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileChannel d = null;
        if (wantDirect) {
            try {
                d = FileChannel.open(path, StandardOpenOption.WRITE, com.sun.nio.file.ExtendedOpenOption.DIRECT);
            } catch (IOException | UnsupportedOperationException e) {
                d = null; // tmpfs and some FUSE refuse O_DIRECT: the page cache then takes every write
            }
        }
        this.direct = d;
        this.pool = new ConcurrentLinkedQueue[Integer.numberOfTrailingZeros(NbdHandshake.MAX_PAYLOAD) + 1];
        for (int i = 0; i < pool.length; i++) {
            pool[i] = new ConcurrentLinkedQueue<>();
        }
    }

    boolean direct() {
        return direct != null;
    }

    /** A buffer for {@code len} bytes (position 0, limit len), aligned for O_DIRECT. */
    ByteBuffer buffer(int len) {
        int cls = sizeClass(len);
        ByteBuffer b = pool[cls].poll();
        if (b == null) {
            b = ByteBuffer.allocateDirect((1 << cls) + ALIGN).alignedSlice(ALIGN).slice(0, 1 << cls);
        }
        return b.clear().limit(len);
    }

    void release(ByteBuffer b) {
        int cls = Integer.numberOfTrailingZeros(b.capacity());
        if (Integer.bitCount(b.capacity()) == 1 && b.capacity() <= POOLED_MAX && pool[cls].size() < POOLED_PER_SIZE) {
            pool[cls].offer(b);
        }
    }

    private static int sizeClass(int len) {
        int n = Math.max(ALIGN, len);
        return 32 - Integer.numberOfLeadingZeros(n - 1);
    }

    /** Writes the buffer's remaining bytes at {@code offset} (its position is restored). */
    void write(long offset, ByteBuffer b) throws IOException {
        int start = b.position();
        boolean aligned = direct != null && offset % ALIGN == 0 && b.remaining() % ALIGN == 0 && start % ALIGN == 0;
        FileChannel ch = aligned ? direct : buffered;
        long at = offset;
        while (b.hasRemaining()) {
            at += ch.write(b, at);
        }
        b.position(start);
    }

    /** Writes zeros over [offset, offset+len), told to the ledger as the data they are. */
    void writeZeroes(long offset, long len, ChunkLedger ledger) throws IOException {
        for (long done = 0; done < len; ) {
            int n = (int) Math.min(len - done, ZEROS.capacity());
            ByteBuffer z = ZEROS.duplicate().clear().limit(n);
            write(offset + done, z);
            ledger.wrote(offset + done, z);
            done += n;
        }
    }

    /** Fills the buffer from {@code offset}; bytes past the end of the file read as zeros. */
    void read(long offset, ByteBuffer b) throws IOException {
        long at = offset;
        while (b.hasRemaining()) {
            int n = buffered.read(b, at);
            if (n < 0) {
                while (b.hasRemaining()) {
                    b.put((byte) 0);
                }
                break;
            }
            at += n;
        }
    }

    /** fdatasync: every write completed so far is durable. */
    void flush() throws IOException {
        buffered.force(false);
    }

    long size() throws IOException {
        return buffered.size();
    }

    @Override
    public void close() throws IOException {
        try {
            if (direct != null) {
                direct.close();
            }
        } finally {
            buffered.close();
        }
    }

    /** The written file leaves the page cache (its unaligned writes and read-backs went through it). */
    void dropFromPageCache() {
        AtomicFiles.dropFromPageCache(path);
    }
}
