package io.qmpbackup.engine.sink;

import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A write sink for one backup file: a small NBD server on a UNIX socket that QEMU's backup
 * target uses as its {@code file} child. QEMU does all the qcow2 work over it; the sink writes
 * the bytes it receives into the {@code .partial} file (the image qemu-img made) and hashes them
 * on the way ({@link ChunkLedger}), so the integrity record needs no read of the file after the
 * job. One reader thread takes requests off the socket (QEMU keeps up to 16 in flight); a few
 * workers write and reply, out of order as NBD allows, and one thread hashes what was written
 * ({@link SinkWorkers}), so the job is not serialised behind one thread. Commands: READ, WRITE (FUA), WRITE_ZEROES (written as zeros, hashed like data),
 * FLUSH (fdatasync; not offered, see {@link NbdHandshake#TRANSMISSION_FLAGS}), TRIM (a no-op, which the protocol allows: the bytes stay and are hashed as
 * they are), DISC; simple replies only (see {@link NbdHandshake}).
 */
public final class NbdSink implements AutoCloseable {
    static final int REQUEST_MAGIC = 0x25609513;
    static final int CMD_READ = 0;
    static final int CMD_WRITE = 1;
    static final int CMD_DISC = 2;
    static final int CMD_FLUSH = 3;
    static final int CMD_TRIM = 4;
    static final int CMD_WRITE_ZEROES = 6;
    static final int FLAG_FUA = 1;
    static final int EINVAL = 22;
    static final int ENOSPC = 28;
    /**
     * Request payloads read but not yet written and hashed: the reader waits beyond this (back
     * pressure). Since a write is answered before it is hashed, QEMU's 16 requests in flight no
     * longer bound the buffers a sink holds; this does, and a node agent runs several sinks at once.
     */
    static final int IN_FLIGHT_BYTES = 32 << 20;

    /**
     * What the sink made of the file: its {@link io.qmpbackup.engine.repository.ChunkDigest} hex, its size, how
     * many of its chunks were hashed from memory, the most chunks that were open at once, the bytes
     * held as a copy because they arrived ahead of a gap in their chunk, how long the closing
     * fdatasync took (the journal commit and the disk's cache: 0.15-1.7 s for 4 GiB on the same
     * disk), and whether its threads ran at a low CPU priority ({@link LowPriority}).
     */
    public record Result(String chunkDigest, long size, long chunksFromMemory, long chunks, int peakOpenChunks,
            long heldBytes, long flushMillis, boolean lowPriority) {
    }

    private final Path socket;
    private final String export;
    private final long exportSize;
    private final SinkFile file;
    private final ChunkLedger ledger = new ChunkLedger();
    private final ServerSocketChannel server;
    private final SinkWorkers workers;
    private final Semaphore inFlight = new Semaphore(IN_FLIGHT_BYTES);
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final Object state = new Object();
    private final Thread acceptor;
    private SocketChannel client;
    private final Latch lowered = new Latch();
    private volatile boolean lowPriority;
    private int served;
    private boolean closed;

    private NbdSink(Path file, Path socket, String export, long exportSize, boolean direct) throws IOException {
        this.socket = socket;
        this.export = export;
        this.exportSize = exportSize;
        this.file = new SinkFile(file, direct);
        Files.deleteIfExists(socket);
        try {
            this.server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            server.bind(UnixDomainSocketAddress.of(socket));
            // whoever may write the file may connect (connecting needs write permission on the socket)
            Files.setPosixFilePermissions(socket, Files.getPosixFilePermissions(file));
        } catch (IOException e) {
            this.file.close();
            throw new IOException("cannot listen on " + socket + ": " + e.getMessage(), e);
        }
        this.workers = new SinkWorkers(export, state, this::fail);
        this.acceptor = new Thread(this::accept, "nbd-sink-accept-" + export);
        acceptor.setDaemon(true);
    }

    /**
     * Serves {@code file} (which must exist) as export {@code export} of {@code exportSize} bytes
     * on {@code socket}; {@code direct}: aligned writes with O_DIRECT ({@link SinkFile}).
     */
    public static NbdSink start(Path file, Path socket, String export, long exportSize, boolean direct)
            throws IOException {
        NbdSink s = new NbdSink(file, socket, export, exportSize, direct);
        s.acceptor.start();
        // renice is a process spawn: done before QEMU is told to connect, whose blockdev-add waits
        // for the greeting in its main loop
        s.lowered.awaitUninterruptibly();
        return s;
    }

    public Path socket() {
        return socket;
    }

    public String export() {
        return export;
    }

    /** Whether aligned writes go with O_DIRECT (false where the filesystem refuses it). */
    public boolean direct() {
        return file.direct();
    }

    private void accept() {
        // before the first request: the workers this thread creates inherit its priority
        try {
            lowPriority = LowPriority.lowerCurrentThread();
        } finally {
            lowered.countDown();
        }
        while (true) {
            SocketChannel ch;
            try {
                ch = server.accept();
            } catch (IOException e) {
                return; // closed
            }
            synchronized (state) {
                if (closed) {
                    close(ch);
                    return;
                }
                client = ch;
                served++;
            }
            try {
                if (negotiated(ch)) {
                    transmit(ch);
                }
            } catch (EOFException | ClosedChannelException e) {
                // the client went away (a killed QEMU, or close()): whatever it left unwritten fails the job
            } catch (IOException | RuntimeException | OutOfMemoryError e) {
                fail(e); // OutOfMemoryError: no direct memory left for a request's buffer
            } finally {
                workers.awaitIdle();
                close(ch);
                synchronized (state) {
                    client = null;
                    state.notifyAll();
                }
            }
        }
    }

    /** A client that gives up while negotiating (a wrong export name, a probe) has written nothing: no failure. */
    private boolean negotiated(SocketChannel ch) {
        try {
            return new NbdHandshake(ch, export, exportSize).run();
        } catch (IOException e) {
            return false;
        }
    }

    private void transmit(SocketChannel ch) throws IOException {
        ByteBuffer head = ByteBuffer.allocate(28);
        while (true) {
            head.clear();
            NbdHandshake.readFully(ch, head);
            head.flip();
            if (head.getInt() != REQUEST_MAGIC) {
                throw new IOException("NBD client sent a request without the request magic");
            }
            int flags = Short.toUnsignedInt(head.getShort());
            int type = Short.toUnsignedInt(head.getShort());
            long handle = head.getLong();
            long offset = head.getLong();
            long len = Integer.toUnsignedLong(head.getInt());
            if (type == CMD_DISC) {
                return;
            }
            if (type == CMD_WRITE && len > NbdHandshake.MAX_PAYLOAD) {
                throw new IOException("NBD client sent a write of " + len + " bytes, more than the "
                        + NbdHandshake.MAX_PAYLOAD + " advertised");
            }
            boolean inRange = offset >= 0 && offset + len <= exportSize;
            ByteBuffer payload = null;
            if (type == CMD_WRITE) {
                payload = receive(ch, (int) len);
            }
            if (!inRange && type != CMD_FLUSH) {
                release(payload);
                SinkWorkers.reply(ch, handle, type == CMD_READ ? EINVAL : ENOSPC, null);
                continue;
            }
            dispatch(ch, type, flags, handle, offset, len, payload);
        }
    }

    private ByteBuffer receive(SocketChannel ch, int len) throws IOException {
        inFlight.acquireUninterruptibly(len);
        ByteBuffer b = file.buffer(len);
        try {
            NbdHandshake.readFully(ch, b);
        } catch (IOException e) {
            release(b);
            throw e;
        }
        return b.flip();
    }

    private void release(ByteBuffer payload) {
        if (payload != null) {
            inFlight.release(payload.limit());
            file.release(payload);
        }
    }

    private void dispatch(SocketChannel ch, int type, int flags, long handle, long offset, long len,
            ByteBuffer payload) throws IOException {
        switch (type) {
            case CMD_WRITE -> workers.submit(ch, handle, () -> {
                try {
                    file.write(offset, payload);
                    if ((flags & FLAG_FUA) != 0) {
                        file.flush();
                    }
                } catch (IOException | RuntimeException e) {
                    release(payload);
                    throw e;
                }
                // the bytes are in the file as they are in the buffer: hashed after the reply
                workers.afterward(() -> {
                    try {
                        ledger.wrote(offset, payload);
                    } finally {
                        release(payload);
                    }
                }, () -> release(payload));
                return null;
            });
            case CMD_READ -> {
                if (len > NbdHandshake.MAX_PAYLOAD) {
                    SinkWorkers.reply(ch, handle, EINVAL, null);
                    return;
                }
                workers.submit(ch, handle, () -> {
                    ByteBuffer b = ByteBuffer.allocate((int) len);
                    file.read(offset, b);
                    return b.flip();
                });
            }
            case CMD_WRITE_ZEROES -> workers.submit(ch, handle, () -> {
                file.writeZeroes(offset, len, ledger);
                if ((flags & FLAG_FUA) != 0) {
                    file.flush();
                }
                return null;
            });
            case CMD_FLUSH -> workers.submit(ch, handle, () -> {
                file.flush();
                return null;
            });
            case CMD_TRIM -> SinkWorkers.reply(ch, handle, 0, null);
            default -> SinkWorkers.reply(ch, handle, EINVAL, null);
        }
    }

    private void fail(Throwable e) {
        failure.compareAndSet(null, e);
    }

    /**
     * After QEMU let go of the export (its node deleted): waits up to {@code wait} for the client
     * to disconnect, makes the file durable, and returns its chunked checksum, reading back only
     * the chunks not seen whole. Stops the sink.
     */
    public Result finish(Duration wait) throws IOException {
        long deadline = System.nanoTime() + wait.toNanos();
        synchronized (state) {
            while (client != null || workers.pending() > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new IOException("QEMU still holds the backup sink " + socket + " after " + wait.toSeconds()
                            + " s; the backup file is not complete");
                }
                try {
                    state.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while waiting for the backup sink to finish", e);
                }
            }
        }
        if (failure.get() != null) {
            throw new IOException("the backup sink for " + export + " failed: " + failure.get().getMessage(),
                    failure.get());
        }
        if (served == 0) {
            throw new IOException("QEMU never connected to the backup sink " + socket);
        }
        long flushStart = System.nanoTime();
        file.flush();
        long flushMillis = (System.nanoTime() - flushStart) / 1_000_000;
        long size = file.size();
        String digest = ledger.finish(size, file::read);
        if (!file.direct()) {
            // with O_DIRECT only the metadata and the chunks read back went through the cache: a
            // few MiB, not worth the process spawn (~70 ms of every backup's fixed cost)
            file.dropFromPageCache();
        }
        long chunks = (size + ChunkLedger.CHUNK - 1) / ChunkLedger.CHUNK;
        Result r = new Result(digest, size, ledger.fromMemory(), chunks, ledger.peakPending(), ledger.heldBytes(),
                flushMillis, lowPriority);
        close();
        return r;
    }

    /** Stops serving: the connection (if any) is cut, the socket removed. Idempotent; on every path. */
    @Override
    public void close() {
        SocketChannel c;
        synchronized (state) {
            if (closed) {
                return;
            }
            closed = true;
            c = client;
        }
        close(server);
        if (c != null) {
            close(c);
        }
        try {
            acceptor.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            workers.shutdown();
            file.close();
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            fail(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A one-shot gate; {@link java.util.concurrent.CountDownLatch} without the checked interrupt. */
    private static final class Latch {
        private final java.util.concurrent.CountDownLatch latch = new java.util.concurrent.CountDownLatch(1);

        void countDown() {
            latch.countDown();
        }

        void awaitUninterruptibly() {
            boolean interrupted = false;
            while (true) {
                try {
                    latch.await();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void close(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // closing a socket that is already gone
        }
    }
}
