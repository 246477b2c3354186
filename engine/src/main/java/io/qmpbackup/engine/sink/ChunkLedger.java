package io.qmpbackup.engine.sink;

import io.qmpbackup.engine.repository.ChunkDigest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayDeque;
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
 * every byte arrived exactly once, in writes of any order, is hashed from memory: its bytes in
 * the file are then exactly those. Bytes that continue a chunk's run from its start go straight
 * into the chunk's digest (most do: a backup job writes a file's clusters nearly in order); a
 * piece that arrives ahead of a gap is held as a copy until the gap fills. A chunk any byte of
 * which was written twice (qcow2 rewriting an L2 table, a refcount block, its header), or that
 * writes never covered (the header qemu-img wrote, the file's short last chunk, holes), is read
 * back from the file at the end: only metadata, a few chunks per GiB. Past {@link #MAX_PENDING}
 * open chunks the oldest is given up (read back instead), so memory stays bounded whatever order
 * the writes come in.
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

    /** A chunk that some writes covered: its digest of the run from its start, and copies of pieces past it. */
    private static final class Pending {
        final MessageDigest digest = ChunkDigest.chunkHasher();
        /** Start to end of every piece written, for overlaps and for the held pieces' order. */
        final TreeMap<Integer, Integer> ranges = new TreeMap<>();
        long covered;
        /** Bytes [0, streamed) are in the digest. */
        int streamed;
        /** Pieces past a gap, at their offsets; allocated when the first one arrives. */
        byte[] held;

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

        /** Feeds the held pieces that now continue the run. */
        void drain() {
            for (Integer end = ranges.get(streamed); end != null; end = ranges.get(streamed)) {
                digest.update(held, streamed, end - streamed);
                streamed = end;
            }
        }
    }

    private final Map<Long, Pending> pending = new LinkedHashMap<>();
    /** Chunk copies to reuse: a backup passes gigabytes through a few dozen of them. */
    private final ArrayDeque<byte[]> spare = new ArrayDeque<>();
    private final Map<Long, byte[]> hashed = new HashMap<>();
    /** Chunks whose bytes all arrived. */
    private final BitSet complete = new BitSet();
    private final BitSet rewritten = new BitSet();
    private long end;
    private long fromMemory;
    private int peakPending;
    /** Bytes that arrived ahead of a gap in their chunk and were held as a copy. */
    private long heldBytes;

    /** Bytes written at {@code offset}: the buffer's remaining bytes (its position is not moved). */
    void wrote(long offset, ByteBuffer data) {
        long to = offset + data.remaining();
        int pos = data.position();
        for (long at = offset; at < to; ) {
            long chunk = at / CHUNK;
            long chunkEnd = Math.min(to, (chunk + 1) * CHUNK);
            int n = (int) (chunkEnd - at);
            account(chunk, (int) (at - chunk * CHUNK), n, data.slice(pos + (int) (at - offset), n));
            at = chunkEnd;
        }
        synchronized (this) {
            end = Math.max(end, to);
        }
    }

    /**
     * Records [from, from+n) of {@code chunk}, hashing what continues its run. Under the lock, so
     * a chunk's bytes enter its digest in order even when two threads tell (write-zeroes come from
     * the workers, writes from the hashing thread): a worker's zeroes wait at most one piece's hash.
     */
    private synchronized void account(long chunk, int from, int n, ByteBuffer bytes) {
        int c = Math.toIntExact(chunk);
        if (rewritten.get(c)) {
            return;
        }
        if (complete.get(c)) {
            rewritten.set(c); // written again after it was complete
            if (hashed.remove(chunk) != null) {
                fromMemory--;
            }
            return;
        }
        Pending p = pending.get(chunk);
        if (p == null) {
            evictIfFull();
            p = new Pending();
            pending.put(chunk, p);
            peakPending = Math.max(peakPending, pending.size());
        }
        if (!p.add(from, from + n)) {
            drop(chunk);
            rewritten.set(c);
            return;
        }
        if (from == p.streamed) {
            p.digest.update(bytes);
            p.streamed += n;
            if (p.held != null) {
                p.drain();
            }
        } else {
            if (p.held == null) {
                p.held = spare.isEmpty() ? new byte[CHUNK] : spare.pop();
            }
            bytes.get(p.held, from, n);
            heldBytes += n;
        }
        if (p.covered == CHUNK) {
            drop(chunk);
            complete.set(c);
            hashed.put(chunk, p.digest.digest());
            fromMemory++;
        }
    }

    /** Forgets an open chunk, keeping its copy for reuse. */
    private void drop(long chunk) {
        Pending p = pending.remove(chunk);
        if (p.held != null) {
            reuse(p.held);
        }
    }

    private void evictIfFull() {
        if (pending.size() >= MAX_PENDING) {
            Iterator<Long> oldest = pending.keySet().iterator();
            long chunk = oldest.next();
            drop(chunk);
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

    /** Bytes that arrived ahead of a gap in their chunk, so were copied until it filled. */
    synchronized long heldBytes() {
        return heldBytes;
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
        // the file's short last chunk: seen whole when writes covered all of its len bytes (no
        // gap is left then, so every held piece is in the digest)
        return p != null && p.covered == len && p.streamed == len ? p.digest.digest() : null;
    }
}
