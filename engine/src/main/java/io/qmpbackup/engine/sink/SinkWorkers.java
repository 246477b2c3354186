package io.qmpbackup.engine.sink;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The sink's workers: each request's work (write, read, flush) runs on one of a few threads and
 * is answered with a simple reply as soon as it is done, out of order as NBD allows, so the job
 * is not serialised behind the reader. Hashing a write's bytes is not part of the reply: it runs
 * {@linkplain #afterward afterward} on one thread of its own, so the writers go straight back to
 * the disk (a worker that hashed before taking the next write left the disk idle while both
 * workers hashed at once; a 4 GiB full took 10.4 s against 9.3 s now, means of 5 alternating
 * rounds; a second hashing thread made it slower, 10.3 s against 9.5 s, on two cores). Counts
 * the work not yet done (requests not answered, hashes not taken) under the sink's state lock,
 * which {@link NbdSink} waits on. The threads are created by the threads that submit (the sink's
 * acceptor, then a worker), so they start at its CPU priority ({@link LowPriority}).
 */
final class SinkWorkers {
    static final int REPLY_MAGIC = 0x67446698;
    static final int EIO = 5;

    /** A request's work; its result is the reply's data (null for none). */
    interface Work {
        ByteBuffer run() throws IOException;
    }

    private final ExecutorService pool;
    /** One thread: hashing at 1.5 GB/s keeps ahead of a disk, and the ledger's lock sees no contention. */
    private final ExecutorService after;
    private final Object state;
    private final Consumer<Throwable> fail;
    private int pending;

    SinkWorkers(String export, Object state, Consumer<Throwable> fail) {
        this.state = state;
        this.fail = fail;
        this.pool = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()),
                daemons("nbd-sink-" + export));
        this.after = Executors.newSingleThreadExecutor(daemons("nbd-sink-hash-" + export));
    }

    private static ThreadFactory daemons(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    /**
     * Runs {@code task} on the hashing thread, counted as pending until it is done (the sink
     * failed if it threw); {@code dropped} runs instead when the sink is closing.
     */
    void afterward(Runnable task, Runnable dropped) {
        counted(after, () -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                fail.accept(e);
            }
        }, dropped);
    }

    /** Runs {@code work} on a worker and replies to {@code handle}: EIO (and the sink failed) if it threw. */
    void submit(SocketChannel ch, long handle, Work work) {
        counted(pool, () -> run(ch, handle, work), () -> { }); // closing: the request is never answered
    }

    /** Runs {@code body} on {@code on}, pending until it has run; {@code dropped} instead when {@code on} is shut. */
    private void counted(ExecutorService on, Runnable body, Runnable dropped) {
        synchronized (state) {
            pending++;
        }
        try {
            on.execute(() -> {
                try {
                    body.run();
                } finally {
                    done(1);
                }
            });
        } catch (RejectedExecutionException e) {
            dropped.run();
            done(1);
        }
    }

    private void run(SocketChannel ch, long handle, Work work) {
        try {
            ByteBuffer data;
            int error = 0;
            try {
                data = work.run();
            } catch (IOException | RuntimeException e) {
                fail.accept(e);
                data = null;
                error = EIO;
            }
            reply(ch, handle, error, data);
        } catch (IOException e) {
            // the connection is gone: the reader sees it too
        }
    }

    private void done(int requests) {
        synchronized (state) {
            pending -= requests;
            state.notifyAll();
        }
    }

    /** Requests not yet answered and hashes not yet taken; read under the state lock. */
    int pending() {
        return pending;
    }

    /** Waits (on the state lock) until every submitted request is answered and every hash taken. */
    void awaitIdle() {
        synchronized (state) {
            while (pending > 0) {
                try {
                    state.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    void shutdown() throws InterruptedException {
        done(pool.shutdownNow().size()); // requests still queued are never answered
        pool.awaitTermination(10, TimeUnit.SECONDS);
        done(after.shutdownNow().size()); // nor hashed: the sink is failing or closed unfinished
        after.awaitTermination(10, TimeUnit.SECONDS);
    }

    /** One simple reply, written whole: replies from several workers never interleave on the socket. */
    static void reply(SocketChannel ch, long handle, int error, ByteBuffer data) throws IOException {
        ByteBuffer head = ByteBuffer.allocate(16).putInt(REPLY_MAGIC).putInt(error).putLong(handle).flip();
        ByteBuffer[] msg = data == null ? new ByteBuffer[] {head} : new ByteBuffer[] {head, data};
        synchronized (ch) {
            while (head.hasRemaining() || data != null && data.hasRemaining()) {
                ch.write(msg);
            }
        }
    }
}
