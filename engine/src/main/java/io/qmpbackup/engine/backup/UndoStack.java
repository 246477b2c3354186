package io.qmpbackup.engine.backup;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.function.Consumer;

/**
 * The inverse of every step a run took that changed the VM or the target, newest first. A
 * failure, a cancel and a signal all end the same way, by {@link #unwind()}: no flags record
 * what exists, because whatever was made registered how to take it away when it was made.
 *
 * <p>An undo that fails does not stop the others; its message goes to {@code warn}, so the
 * caller can say what is left behind and how to remove it.
 */
public final class UndoStack {
    /** The inverse of one step. */
    @FunctionalInterface
    public interface Undo {
        void run() throws Exception;
    }

    /** A registered inverse; {@link #release()} drops it once the step no longer needs undoing. */
    public final class Entry {
        private final String description;
        private final Undo undo;

        private Entry(String description, Undo undo) {
            this.description = description;
            this.undo = undo;
        }

        /** The step is kept (committed): its inverse must never run. */
        public void release() {
            synchronized (UndoStack.this) {
                entries.remove(this);
            }
        }

        /** Runs this inverse now, out of order (it is then gone from the stack). */
        public boolean undoNow() {
            release();
            return runOne(this);
        }

        @Override
        public String toString() {
            return description;
        }
    }

    private final Deque<Entry> entries = new ArrayDeque<>();
    private final Consumer<String> warn;

    public UndoStack(Consumer<String> warn) {
        this.warn = warn;
    }

    /** Registers the inverse of a step just taken. */
    public synchronized Entry push(String description, Undo undo) {
        Entry e = new Entry(description, undo);
        entries.push(e);
        return e;
    }

    /** Runs every inverse, newest first, each once; returns the descriptions of those that failed. */
    public List<String> unwind() {
        // an interrupt (a cancel) must not make every QMP call of the clean-up fail at once
        boolean interrupted = Thread.interrupted();
        List<String> failed = new ArrayList<>();
        try {
            Entry e;
            while ((e = pop()) != null) {
                if (!runOne(e)) {
                    failed.add(e.description);
                }
                interrupted |= Thread.interrupted();
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        return failed;
    }

    /** Everything is kept: the run succeeded. */
    public synchronized void commit() {
        entries.clear();
    }

    public synchronized boolean isEmpty() {
        return entries.isEmpty();
    }

    /** Descriptions, newest first (for tests and debug logs). */
    public synchronized List<String> pending() {
        return entries.stream().map(x -> x.description).toList();
    }

    private synchronized Entry pop() {
        return entries.pollFirst();
    }

    private boolean runOne(Entry e) {
        try {
            e.undo.run();
            return true;
        } catch (Exception ex) {
            warn.accept("cannot undo '" + e.description + "': " + ex.getMessage());
        }
        return false;
    }
}
