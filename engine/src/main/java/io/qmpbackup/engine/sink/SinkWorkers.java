package io.qmpbackup.engine.sink;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The sink's workers: each request's work (write, hash, read, flush) runs on one of a few
 * threads and is answered with a simple reply as soon as it is done, out of order as NBD allows,
 * so the job is not serialised behind the reader. Counts the requests not yet answered under
 * the sink's state lock, which {@link NbdSink} waits on. The threads are created by the thread
 * that submits (the sink's acceptor), so they start at its CPU priority ({@link LowPriority}).
 */
final class SinkWorkers {
    static final int REPLY_MAGIC = 0x67446698;
    static final int EIO = 5;

    /** A request's work; its result is the reply's data (null for none). */
    interface Work {
        ByteBuffer run() throws IOException;
    }

    private final ExecutorService pool;
    private final Object state;
    private final Consumer<Throwable> fail;
    private int pending;

    SinkWorkers(String export, Object state, Consumer<Throwable> fail) {
        this.state = state;
        this.fail = fail;
        this.pool = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()), r -> {
            Thread t = new Thread(r, "nbd-sink-" + export);
            t.setDaemon(true);
            return t;
        });
    }

    /** Runs {@code work} on a worker and replies to {@code handle}: EIO (and the sink failed) if it threw. */
    void submit(SocketChannel ch, long handle, Work work) {
        synchronized (state) {
            pending++;
        }
        try {
            pool.execute(() -> run(ch, handle, work));
        } catch (RejectedExecutionException e) { // the sink is closing: the request is never answered
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
        } finally {
            done(1);
        }
    }

    private void done(int requests) {
        synchronized (state) {
            pending -= requests;
            state.notifyAll();
        }
    }

    /** Requests submitted and not yet answered; read under the state lock. */
    int pending() {
        return pending;
    }

    /** Waits (on the state lock) until every submitted request is answered. */
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
