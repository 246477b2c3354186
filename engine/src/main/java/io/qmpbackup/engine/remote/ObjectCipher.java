package io.qmpbackup.engine.remote;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.HexFormat;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Client-side encryption of one object: AES-256-GCM in chunks of {@link #CHUNK} bytes, each
 * authenticated on its own with the object key, its index and whether it is the last bound in
 * (associated data), so a chunk moved to another place or object, a swapped pair, or an object
 * cut at a chunk boundary all fail authentication. Layout: magic (4 bytes), the object's nonce
 * (8), then per chunk the ciphertext and its 16-byte tag. Chunk IV = nonce + chunk index.
 *
 * <p>The nonce is derived (HMAC of object key and plaintext SHA-256), not random: the same file
 * under the same key encrypts to the same bytes, which is what lets an interrupted multipart
 * upload be continued (its parts compared) and encrypting distinct content never repeats an IV.
 */
public final class ObjectCipher {
    public static final int CHUNK = 1 << 20;
    static final int TAG = 16;
    static final int HEADER = 12;
    private static final byte[] MAGIC = {'Q', 'B', 'E', '1'};

    private final SecretKeySpec key;
    private final byte[] macKey;

    public ObjectCipher(byte[] key) {
        this.key = new SecretKeySpec(key, "AES");
        this.macKey = key.clone();
    }

    /** Names the key without revealing it: stored with each object so a wrong key is told apart from damage. */
    public String keyId() {
        return HexFormat.of().formatHex(mac("key-id"), 0, 8);
    }

    /** What is stored as the object's checksum: keyed, so the bucket does not reveal the plaintext's SHA-256. */
    public String sealedSha(String sha256) {
        return HexFormat.of().formatHex(mac("sha256:" + sha256));
    }

    byte[] nonce(String objectKey, String sha256) {
        return Arrays.copyOf(mac("nonce:" + objectKey + ":" + sha256), 8);
    }

    public static long cipherSize(long plainSize) {
        long chunks = Math.max(1, (plainSize + CHUNK - 1) / CHUNK);
        return HEADER + plainSize + chunks * TAG;
    }

    /**
     * Encrypts the plaintext that starts at chunk {@code firstChunk} (a part of the object);
     * {@code last} when it holds the object's last chunk. Part 0 carries the header.
     */
    public byte[] encrypt(String objectKey, byte[] nonce, long firstChunk, byte[] plain, int len, boolean last) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(len + (len / CHUNK + 2) * TAG + HEADER);
        if (firstChunk == 0) {
            out.writeBytes(MAGIC);
            out.writeBytes(nonce);
        }
        int chunks = Math.max(1, (len + CHUNK - 1) / CHUNK);
        for (int i = 0; i < chunks; i++) {
            int off = i * CHUNK;
            int n = Math.min(CHUNK, len - off);
            out.writeBytes(chunk(Cipher.ENCRYPT_MODE, objectKey, nonce, firstChunk + i, last && i == chunks - 1,
                    plain, off, n));
        }
        return out.toByteArray();
    }

    /** The plaintext of an encrypted object read from {@code in}, {@code cipherLength} bytes long. */
    public InputStream decrypting(InputStream in, String objectKey, long cipherLength) {
        return new InputStream() {
            private byte[] nonce;
            private byte[] buf = new byte[0];
            private int pos;
            private long chunk;
            private long left = cipherLength - HEADER;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                while (pos == buf.length) {
                    if (!next()) {
                        return -1;
                    }
                }
                int n = Math.min(len, buf.length - pos);
                System.arraycopy(buf, pos, b, off, n);
                pos += n;
                return n;
            }

            private boolean next() throws IOException {
                if (nonce == null) {
                    byte[] h = in.readNBytes(HEADER);
                    if (h.length < HEADER || !Arrays.equals(Arrays.copyOf(h, 4), MAGIC)) {
                        throw new IOException("object " + objectKey + " is not an encrypted object of this tool");
                    }
                    nonce = Arrays.copyOfRange(h, 4, HEADER);
                } else if (left <= 0) {
                    return false;
                }
                int n = (int) Math.min(CHUNK + TAG, left);
                byte[] c = in.readNBytes(n);
                if (c.length < n) {
                    throw new IOException("object " + objectKey + " ended early (chunk " + chunk + ")");
                }
                left -= n;
                buf = chunk(Cipher.DECRYPT_MODE, objectKey, nonce, chunk++, left == 0, c, 0, n);
                pos = 0;
                return true;
            }

            @Override
            public void close() throws IOException {
                in.close();
            }
        };
    }

    private byte[] chunk(int mode, String objectKey, byte[] nonce, long index, boolean last, byte[] b, int off,
            int len) {
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            byte[] iv = ByteBuffer.allocate(12).put(nonce).putInt((int) index).array();
            c.init(mode, key, new GCMParameterSpec(TAG * 8, iv));
            c.updateAAD(ByteBuffer.allocate(8 + 1).putLong(index).put((byte) (last ? 1 : 0)).array());
            c.updateAAD(objectKey.getBytes(StandardCharsets.UTF_8));
            return c.doFinal(b, off, len);
        } catch (AEADBadTagException e) {
            throw new ChunkAuthenticationException("object " + objectKey + ": chunk " + index + " failed"
                    + " authentication: the object was altered, truncated, reordered or is not this object");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-256-GCM is not available in this JVM: " + e.getMessage(), e);
        }
    }

    private byte[] mac(String what) {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(new SecretKeySpec(macKey, "HmacSHA256"));
            return m.doFinal(what.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available in this JVM", e);
        }
    }

    /** A chunk that does not authenticate: damage or tampering (the key itself was checked by its id). */
    public static final class ChunkAuthenticationException extends RuntimeException {
        ChunkAuthenticationException(String message) {
            super(message);
        }
    }
}
