package io.qmpbackup.agent.controller;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The work running on this node and whether more may start: at most {@code limit} runs at once,
 * and one run per claim (a VM's QMP socket serves one backup at a time). Asked before any work
 * object is built, so a waiting item costs a map look-up, not an API read. Only the dispatcher
 * thread starts work; a worker frees its slot when its run ends, which can only make room, so
 * asking and then starting on the dispatcher thread cannot overfill.
 */
final class Slots {
    /** {@code counted}: it takes one of the {@code limit} slots (an export, which only serves reads, does not). */
    private record Held(String claim, WorkRun work, boolean counted) {
    }

    private final int limit;
    private final String node;
    private final Map<WorkKey, Held> held = new ConcurrentHashMap<>();

    Slots(int limit, String node) {
        if (limit < 1) {
            throw new IllegalArgumentException("qmpbackup.agent.max-concurrent is " + limit + ": give 1 or more");
        }
        this.limit = limit;
        this.node = node;
    }

    /** Why work holding {@code claim} must wait (the message of its Queued status), or null when it may start. */
    String whyWait(String claim, boolean counted) {
        if (held.values().stream().anyMatch(h -> h.claim().equals(claim))) {
            return "waiting: another backup of this VM is running";
        }
        long running = held.values().stream().filter(Held::counted).count();
        if (counted && running >= limit) {
            return "waiting for a free slot on node " + node + " (" + running + " running, limit " + limit + ")";
        }
        return null;
    }

    void start(WorkKey key, String claim, WorkRun work, boolean counted) {
        held.put(key, new Held(claim, work, counted));
    }

    void free(WorkKey key) {
        held.remove(key);
    }

    boolean holds(WorkKey key) {
        return held.containsKey(key);
    }

    /** The run of this key, or null when it does not run here. */
    WorkRun running(WorkKey key) {
        Held h = held.get(key);
        return h == null ? null : h.work();
    }

    /** Runs of this kind ({@link WorkKey#kind}) going on here, exports among them. */
    int running(String kind) {
        return (int) held.keySet().stream().filter(k -> k.kind().equals(kind)).count();
    }

    void cancelAll(String reason) {
        held.values().forEach(h -> h.work().cancel(reason));
    }
}
