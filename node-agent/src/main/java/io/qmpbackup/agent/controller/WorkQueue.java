package io.qmpbackup.agent.controller;

import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The dispatcher's to-do list: keys first in, first out, each at most once. Informer events for
 * one object come in bursts (the agent's own status writes among them) and the dispatcher reads
 * the newest cached state when it takes a key, so a key queued again before it was taken needs
 * only the one look. A key queued after it was taken is queued anew: its object changed since.
 */
final class WorkQueue<K> {
    /** Insertion-ordered: the order keys are taken in. Guarded by {@code this}. */
    private final Set<K> queued = new LinkedHashSet<>();

    /** Queues the key unless it is already waiting to be taken; true when it was added. */
    synchronized boolean add(K key) {
        boolean added = queued.add(key);
        if (added) {
            notifyAll();
        }
        return added;
    }

    /** Takes the oldest key, waiting while there is none; interrupting the waiting thread ends the wait. */
    synchronized K take() throws InterruptedException {
        while (queued.isEmpty()) {
            wait();
        }
        Iterator<K> oldest = queued.iterator();
        K key = oldest.next();
        oldest.remove();
        return key;
    }

    synchronized int size() {
        return queued.size();
    }
}
