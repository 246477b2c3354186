package io.qmpbackup.engine.repository;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * The one definition of a backup file's chunked checksum. The file is cut into chunks of
 * {@link #CHUNK} bytes from offset 0 (the last one may be shorter; an empty file has none); the
 * value is the SHA-256 of the concatenated lines {@code <lowercase hex SHA-256 of chunk i>\n}.
 * That is exactly what coreutils print for
 * <pre>split -b 1M --filter=sha256sum FILE | cut -c1-64 | sha256sum</pre>
 * (split runs the filter once per chunk, in order, and waits for each). Defined this way so that
 * the backup can hash each chunk as its bytes pass through the engine, in any order, and rehash
 * only the few chunks it could not see whole (qcow2 metadata), while anyone can still check a
 * file with standard tools. Usable incrementally from sequential bytes ({@link #update}) and from
 * given chunk hashes ({@link #ofChunkHashes}).
 */
public final class ChunkDigest {
    public static final int CHUNK = 1 << 20;

    private final MessageDigest outer = sha256();
    private final MessageDigest chunk = sha256();
    private long inChunk;
    private boolean done;

    /** Feeds the next {@code len} bytes of the file. */
    public void update(byte[] b, int off, int len) {
        while (len > 0) {
            int n = (int) Math.min(len, CHUNK - inChunk);
            chunk.update(b, off, n);
            step(n);
            off += n;
            len -= n;
        }
    }

    /** Feeds the buffer's remaining bytes (its position moves to its limit). */
    public void update(ByteBuffer b) {
        while (b.hasRemaining()) {
            int n = (int) Math.min(b.remaining(), CHUNK - inChunk);
            ByteBuffer slice = b.slice(b.position(), n);
            chunk.update(slice);
            b.position(b.position() + n);
            step(n);
        }
    }

    private void step(int n) {
        inChunk += n;
        if (inChunk == CHUNK) {
            line(outer, chunk.digest());
            inChunk = 0;
        }
    }

    /** The value of everything fed so far, hex encoded; the digest cannot be fed afterwards. */
    public String hex() {
        if (done) {
            throw new IllegalStateException("chunk digest already finished");
        }
        done = true;
        if (inChunk > 0) {
            line(outer, chunk.digest());
        }
        return HexFormat.of().formatHex(outer.digest());
    }

    /** SHA-256 of one chunk's bytes. */
    public static byte[] chunkHash(ByteBuffer bytes) {
        MessageDigest d = sha256();
        d.update(bytes);
        return d.digest();
    }

    /** The value from each chunk's SHA-256, in file order. */
    public static String ofChunkHashes(List<byte[]> chunkHashes) {
        MessageDigest d = sha256();
        for (byte[] h : chunkHashes) {
            line(d, h);
        }
        return HexFormat.of().formatHex(d.digest());
    }

    /** The value of a file, read sequentially with O_DIRECT where the filesystem takes it (as verify reads). */
    public static String of(Path file) throws IOException {
        ChunkDigest d = new ChunkDigest();
        AtomicFiles.readSequentially(file, true, d::update);
        return d.hex();
    }

    private static void line(MessageDigest outer, byte[] chunkHash) {
        outer.update((HexFormat.of().formatHex(chunkHash) + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    /** A new digest of one chunk's bytes, fed as they come; its value is the chunk's hash. */
    public static MessageDigest chunkHasher() {
        return sha256();
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("JDK without SHA-256", e);
        }
    }
}
