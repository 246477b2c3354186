package io.qmpbackup.engine.repository;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * A recorded checksum of a backup file, of one of two kinds told apart by its text: a bare
 * 64-digit hex value is the SHA-256 of the whole file (what every folder written before the
 * chunked record holds, and what {@code sha256sum} checks); {@value #CHUNKED_TAG} followed by
 * hex is a {@link ChunkDigest}. Each reader (verify, upload, download) computes the kind the
 * record names, so old and new folders check alike.
 */
public final class FileSum {
    public static final String CHUNKED_TAG = "chunk1m:";

    private FileSum() {
    }

    /** A chunked value from its hex. */
    public static String chunked(String hex) {
        return CHUNKED_TAG + hex;
    }

    public static boolean isChunked(String recorded) {
        return recorded.startsWith(CHUNKED_TAG);
    }

    /** The hex digits of a recorded value, whichever its kind. */
    public static String hex(String recorded) {
        return isChunked(recorded) ? recorded.substring(CHUNKED_TAG.length()) : recorded;
    }

    /** What a value of this kind is called in messages. */
    public static String kind(String recorded) {
        return isChunked(recorded) ? "chunked SHA-256 (1 MiB chunks)" : "SHA-256";
    }

    /** Hashes sequential bytes into a value of the same kind as {@code like}. */
    public interface Hasher {
        void update(byte[] b, int off, int len);

        void update(ByteBuffer b);

        /** The recorded form (tagged when chunked). */
        String value();
    }

    public static Hasher hasherLike(String like) {
        if (like != null && isChunked(like)) {
            ChunkDigest d = new ChunkDigest();
            return new Hasher() {
                public void update(byte[] b, int off, int len) {
                    d.update(b, off, len);
                }

                public void update(ByteBuffer b) {
                    d.update(b);
                }

                public String value() {
                    return chunked(d.hex());
                }
            };
        }
        MessageDigest d = ChunkDigest.sha256();
        return new Hasher() {
            public void update(byte[] b, int off, int len) {
                d.update(b, off, len);
            }

            public void update(ByteBuffer b) {
                d.update(b);
            }

            public String value() {
                return HexFormat.of().formatHex(d.digest());
            }
        };
    }

    /** The file's value of the same kind as {@code like} (O_DIRECT read for whole-file SHA-256). */
    public static String compute(Path file, String like) throws IOException {
        return like != null && isChunked(like) ? chunked(ChunkDigest.of(file)) : AtomicFiles.sha256(file);
    }
}
