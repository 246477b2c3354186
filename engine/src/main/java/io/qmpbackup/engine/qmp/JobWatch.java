package io.qmpbackup.engine.qmp;

import java.time.Duration;
import java.util.Optional;

/**
 * Wakes a waiting thread when QEMU reports a job event (JOB_STATUS_CHANGE, BLOCK_JOB_*), so that
 * waits for jobs need no polling loop of their own. Open it before the command whose events it
 * waits for; a wait re-reads query-jobs after each event and, as a safety net for a lost event,
 * at least every {@link #RECHECK}.
 */
public final class JobWatch implements AutoCloseable {
    static final Duration RECHECK = Duration.ofMillis(500);

    private final Object wakeup = new Object();
    private final AutoCloseable subscription;
    private final QmpClient qmp;
    private long events;

    private JobWatch(QmpClient qmp) {
        this.qmp = qmp;
        this.subscription = qmp.onEvent(this::onEvent);
    }

    public static JobWatch open(QmpClient qmp) {
        return new JobWatch(qmp);
    }

    private void onEvent(QmpEvent ev) {
        if (ev.name().equals("JOB_STATUS_CHANGE") || ev.name().startsWith("BLOCK_JOB")) {
            synchronized (wakeup) {
                events++;
                wakeup.notifyAll();
            }
        }
    }

    /** Wakes {@link #await} now (a cancel request, for example). */
    public void poke() {
        synchronized (wakeup) {
            events++;
            wakeup.notifyAll();
        }
    }

    /** A mark to take before reading QEMU's state, so that an event arriving meanwhile is not missed. */
    public long mark() {
        synchronized (wakeup) {
            return events;
        }
    }

    /**
     * Waits until an event arrived after {@code seen} (a {@link #mark}), {@link #poke} is called or
     * {@code max} passes.
     *
     * @throws QmpDisconnectedException when the connection is gone
     */
    public void await(long seen, Duration max) throws QmpException {
        synchronized (wakeup) {
            long deadline = System.nanoTime() + max.toNanos();
            while (events == seen && qmp.isConnected()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                try {
                    wakeup.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new QmpException("interrupted while waiting for QEMU's jobs", e);
                }
            }
        }
        if (!qmp.isConnected()) {
            throw new QmpDisconnectedException("connection to QEMU on " + qmp.socket() + " closed while waiting for"
                    + " its jobs");
        }
    }

    /** Waits until job {@code id} has concluded or is gone; false when {@code max} passed first. */
    boolean awaitConcluded(BlockGraph graph, String id, Duration max) throws QmpException {
        long deadline = System.nanoTime() + max.toNanos();
        while (true) {
            long seen = mark();
            Optional<BlockJob> j = graph.job(id);
            if (j.isEmpty() || j.get().concluded()) {
                return true;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            await(seen, Duration.ofNanos(Math.min(left, RECHECK.toNanos())));
        }
    }

    @Override
    public void close() {
        try {
            subscription.close();
        } catch (Exception e) {
            // removing a listener from a list cannot fail
        }
    }
}
