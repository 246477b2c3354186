package io.qmpbackup.engine.backup;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A request to stop a running backup or restore, from a signal, a deleted CR or a shutdown. The
 * work checks it between steps and is woken by it while it waits; it then unwinds what it did.
 */
public final class Cancellation {
    private volatile String reason;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();

    public void cancel(String why) {
        if (reason == null) {
            reason = why == null ? "cancelled" : why;
        }
        listeners.forEach(Runnable::run);
    }

    public boolean cancelled() {
        return reason != null;
    }

    public String reason() {
        return reason;
    }

    /** Runs {@code r} on cancel (at once when already cancelled); close the handle to stop. */
    public AutoCloseable onCancel(Runnable r) {
        listeners.add(r);
        if (reason != null) {
            r.run();
        }
        return () -> listeners.remove(r);
    }

    /** Throws when cancelled: the caller stops before its next step. */
    public void check(String what) throws BackupCancelledException {
        if (reason != null) {
            throw new BackupCancelledException(what + ": backup cancelled (" + reason + ")");
        }
    }
}
