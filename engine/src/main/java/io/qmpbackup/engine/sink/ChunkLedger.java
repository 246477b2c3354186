package io.qmpbackup.engine.sink;

import io.qmpbackup.engine.repository.ChunkDigest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Which {@link ChunkDigest} chunks of a file the sink saw whole, and their hashes. A chunk whose
 * every byte arrived exactly once, in writes of any order, is hashed from memory as soon as it is
 * complete: its bytes in the file are then exactly those. A chunk any byte of which was written
 * twice (qcow2 rewriting an L2 table, a refcount block, its header), or that writes never covered
 * (the header qemu-img wrote, the file's short last chunk, holes), is read back from the file at
 * the end: only metadata, a few chunks per GiB. Chunks waiting for their missing pieces hold a
 * copy of what arrived; past {@link #MAX_PENDING} of them the oldest is given up (read back
 * instead), so memory stays bounded whatever order the writes come in.
 */
final class ChunkLedger {
    static final int CHUNK = ChunkDigest.CHUNK;
    /**
     * Open chunks kept at most: bounds the heap a sink needs (the node agent's pod has 512 MiB for
     * all of its disks' sinks); past it the oldest open chunk is read back at the end instead.
     */
    static final int MAX_PENDING = 48;
    /** Spare chunk copies kept for reuse. */
    private static final int MAX_SPARE = 16;

    /** Reads a chunk back from the file at the end: {@code into} is filled from {@code offset} up to its limit. */
    interface ReadBack {
        void read(long offset, ByteBuffer into) throws IOException;
    }

    /** A chunk that some writes covered: a copy of their bytes and the ranges they covered. */
    private static final class Pending {
        final byte[] bytes;
        final TreeMap<Integer, Integer> ranges = new TreeMap<>();
        long covered;

        Pending(byte[] bytes) {
            this.bytes = bytes;
        }

        /** False when [from, to) touches a range already written. */
        boolean add(int from, int to) {
            Map.Entry<Integer, Integer> before = ranges.floorEntry(from);
            if (before != null && before.getValue() > from) {
                return false;
            }
            Integer after = ranges.ceilingKey(from);
            if (after != null && after < to) {
                return false;
            }
            ranges.put(from, to);
            covered += to - from;
            return true;
        }
    }

    private final Map<Long, Pending> pending = new LinkedHashMap<>();
    /** Chunk copies to reuse: a backup passes gigabytes through a few dozen of them. */
    private final java.util.ArrayDeque<byte[]> spare = new java.util.ArrayDeque<>();
    private final Map<Long, byte[]> hashed = new HashMap<>();
    /** Chunks whose bytes all arrived (their hash may still be being computed). */
    private final BitSet complete = new BitSet();
    private final BitSet rewritten = new BitSet();
    private long end;
    private long fromMemory;
    private int peakPending;

    /** Bytes written at {@code offset}: the buffer's remaining bytes (its position is not moved). */
    void wrote(long offset, ByteBuffer data) {
        long to = offset + data.remaining();
        int pos = data.position();
        for (long at = offset; at < to; ) {
            long chunk = at / CHUNK;
            long chunkEnd = Math.min(to, (chunk + 1) * CHUNK);
            int n = (int) (chunkEnd - at);
            byte[] full = account(chunk, (int) (at - chunk * CHUNK), n, data.slice(pos + (int) (at - offset), n));
            if (full != null) {
                byte[] h = ChunkDigest.chunkHash(ByteBuffer.wrap(full));
                synchronized (this) {
                    reuse(full);
                    if (!rewritten.get((int) chunk)) {
                        hashed.put(chunk, h);
                        fromMemory++;
                    }
                }
            }
            at = chunkEnd;
        }
        synchronized (this) {
            end = Math.max(end, to);
        }
    }

    /** Records [from, from+n) of {@code chunk}; returns the chunk's bytes when this completed it. */
    private synchronized byte[] account(long chunk, int from, int n, ByteBuffer bytes) {
        int c = Math.toIntExact(chunk);
        if (rewritten.get(c)) {
            return null;
        }
        if (complete.get(c)) {
            rewritten.set(c); // written again after it was complete
            if (hashed.remove(chunk) != null) {
                fromMemory--;
            }
            return null;
        }
        Pending p = pending.get(chunk);
        if (p == null) {
            evictIfFull();
            p = new Pending(spare.isEmpty() ? new byte[CHUNK] : spare.pop());
            pending.put(chunk, p);
            peakPending = Math.max(peakPending, pending.size());
        }
        if (!p.add(from, from + n)) {
            reuse(pending.remove(chunk).bytes);
            rewritten.set(c);
            return null;
        }
        bytes.get(p.bytes, from, n);
        if (p.covered == CHUNK) {
            pending.remove(chunk);
            complete.set(c);
            return p.bytes;
        }
        return null;
    }

    private void evictIfFull() {
        if (pending.size() >= MAX_PENDING) {
            Iterator<Long> oldest = pending.keySet().iterator();
            long chunk = oldest.next();
            reuse(pending.get(chunk).bytes);
            oldest.remove();
            // forgotten for good: read back at the end. Were later writes still counted, a chunk
            // could complete from the bytes it was told of after the eviction, and the ledger is
            // not told in the file's order (write-zeroes are hashed at once, writes afterwards)
            rewritten.set(Math.toIntExact(chunk));
        }
    }

    private void reuse(byte[] bytes) {
        if (spare.size() < MAX_SPARE) {
            spare.push(bytes);
        }
    }

    /** The highest byte written, exclusive. */
    synchronized long end() {
        return end;
    }

    /** The most chunks that were open at once. */
    synchronized int peakPending() {
        return peakPending;
    }

    /** Chunks hashed from memory so far. */
    synchronized long fromMemory() {
        return fromMemory;
    }

    /**
     * The file's {@link ChunkDigest} hex value for its {@code size} bytes once every write is
     * done: hashes kept where a chunk was seen whole (a short last chunk seen whole counts),
     * the rest read back. Returns the value; {@code readBack} counts what it read.
     */
    String finish(long size, ReadBack readBack) throws IOException {
        List<byte[]> hashes = new ArrayList<>();
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
        long chunks = (size + CHUNK - 1) / CHUNK;
        for (long i = 0; i < chunks; i++) {
            int len = (int) Math.min(CHUNK, size - i * CHUNK);
            byte[] h = kept(i, len);
            if (h == null) {
                buf.clear().limit(len);
                readBack.read(i * CHUNK, buf);
                buf.flip();
                h = ChunkDigest.chunkHash(buf);
            }
            hashes.add(h);
        }
        return ChunkDigest.ofChunkHashes(hashes);
    }

    private synchronized byte[] kept(long chunk, int len) {
        if (len == CHUNK) {
            return hashed.get(chunk);
        }
        Pending p = pending.get(chunk);
        // the file's short last chunk: seen whole when writes covered all of its len bytes
        return p != null && p.covered == len ? ChunkDigest.chunkHash(ByteBuffer.wrap(p.bytes, 0, len)) : null;
    }
}
