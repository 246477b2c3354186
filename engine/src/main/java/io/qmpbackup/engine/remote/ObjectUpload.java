package io.qmpbackup.engine.remote;

import io.qmpbackup.engine.repository.ChunkDigest;
import io.qmpbackup.engine.repository.FileSum;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.MultipartUpload;
import software.amazon.awssdk.services.s3.model.Part;

/**
 * Uploads one file as one object: a single PUT up to the part size, a multipart upload with
 * parallel parts above it. Every request carries a checksum of its body ({@link PartChecksum}; S3
 * checks it on receipt and refuses a part that arrived different); the file read for the upload is hashed
 * whole and must match the SHA-256 it is recorded with, or the upload is aborted (the object
 * would not be what the integrity record says). An unfinished multipart upload of the same
 * key is continued: its parts whose checksum matches what would be sent now are kept.
 */
final class ObjectUpload {
    private final RemoteStore store;
    private final ExecutorService pool;
    private final RateLimit rate;

    ObjectUpload(RemoteStore store, ExecutorService pool, RateLimit rate) {
        this.store = store;
        this.pool = pool;
        this.rate = rate;
    }

    /** What one upload did: bytes sent (after encryption), parts kept from an earlier attempt. */
    record Sent(long bytes, int partsReused) {
    }

    Sent upload(Path file, String key, String sha256, long size) throws IOException, InterruptedException {
        long part = partSize();
        if (size <= part) {
            return putSmall(file, key, sha256, size);
        }
        Sent s = multipart(file, key, sha256, size, part, true);
        return s != null ? s : multipart(file, key, sha256, size, part, false);
    }

    private long partSize() {
        // a whole number of cipher chunks per part, so parts encrypt independently
        return store.config().partSize() / ObjectCipher.CHUNK * ObjectCipher.CHUNK;
    }

    private Map<String, String> metadata(String sha256, long size) {
        Map<String, String> m = new HashMap<>();
        m.put(RemoteStore.META_SHA, store.storedSha(sha256));
        m.put(RemoteStore.META_SIZE, String.valueOf(size));
        if (store.cipher() != null) {
            m.put(RemoteStore.META_KEY_ID, store.cipher().keyId());
        }
        return m;
    }

    private Sent putSmall(Path file, String key, String sha256, long size) throws IOException, InterruptedException {
        byte[] plain = Files.readAllBytes(file);
        FileSum.Hasher h = FileSum.hasherLike(sha256);
        h.update(plain, 0, plain.length);
        if (plain.length != size || !h.value().equals(sha256)) {
            throw mismatch(file);
        }
        byte[] body = seal(key, sha256, 0, plain, plain.length, true);
        rate.acquire(body.length);
        try {
            String sum = checksum(body);
            store.s3().putObject(p -> {
                p.bucket(store.config().bucket()).key(key).metadata(metadata(sha256, size));
                kind().onPut(p, sum);
            }, body(body));
        } catch (SdkException e) {
            throw store.failure("upload", key, e);
        }
        return new Sent(body.length, 0);
    }

    private byte[] seal(String key, String sha256, long firstChunk, byte[] plain, int len, boolean last) {
        ObjectCipher c = store.cipher();
        if (c == null) {
            return len == plain.length ? plain : java.util.Arrays.copyOf(plain, len);
        }
        return c.encrypt(key, c.nonce(key, sha256), firstChunk, plain, len, last);
    }

    /** Returns null when an earlier upload's parts did not match and it was aborted: the caller starts afresh. */
    private Sent multipart(Path file, String key, String sha256, long size, long part, boolean resume)
            throws IOException, InterruptedException {
        String bucket = store.config().bucket();
        Map<Integer, Part> earlier = new HashMap<>();
        String uploadId = resume ? unfinished(key, earlier) : null;
        if (uploadId == null) {
            try {
                uploadId = store.s3().createMultipartUpload(c -> c.bucket(bucket).key(key)
                        .metadata(metadata(sha256, size)).checksumAlgorithm(kind().algorithm()))
                        .uploadId();
            } catch (SdkException e) {
                throw store.failure("start the multipart upload of", key, e);
            }
        }
        String id = uploadId;
        // a chunked record over whole-chunk parts is computed from each part's chunk hashes, in the
        // part's worker: the file's read is then not held up by a serial digest of every byte
        FileSum.Hasher whole = perPart(sha256, part) ? null : FileSum.hasherLike(sha256);
        List<Future<PartResult>> futures = submitParts(file, key, id, sha256, size, part, earlier, whole);
        List<CompletedPart> done = new ArrayList<>();
        List<byte[]> chunkHashes = new ArrayList<>();
        long bytes = 0;
        int reused = 0;
        boolean stale = false;
        for (Future<PartResult> f : futures) {
            PartResult r = result(f, key);
            stale |= r.stale;
            reused += r.reused ? 1 : 0;
            bytes += r.reused ? 0 : r.bytes;
            done.add(r.part);
            chunkHashes.addAll(r.chunkHashes);
        }
        String read = whole != null ? whole.value() : FileSum.chunked(ChunkDigest.ofChunkHashes(chunkHashes));
        if (!read.equals(sha256)) {
            abort(key, id);
            throw mismatch(file);
        }
        if (stale) {
            // a part of the earlier attempt held other bytes: its metadata may be stale too
            abort(key, id);
            return null;
        }
        try {
            store.s3().completeMultipartUpload(c -> c.bucket(bucket).key(key).uploadId(id)
                    .multipartUpload(m -> m.parts(done)));
        } catch (SdkException e) {
            throw store.failure("complete the multipart upload of", key, e);
        }
        return new Sent(bytes, reused);
    }

    /** Reads the file part by part (hashing it whole) and hands each part to the pool, a few in flight. */
    private List<Future<PartResult>> submitParts(Path file, String key, String id, String sha256, long size,
            long part, Map<Integer, Part> earlier, FileSum.Hasher whole) throws IOException, InterruptedException {
        int parts = (int) ((size + part - 1) / part);
        Semaphore inFlight = new Semaphore(Math.max(1, store.config().parallelParts()));
        List<Future<PartResult>> futures = new ArrayList<>();
        try (InputStream in = Files.newInputStream(file)) {
            for (int n = 1; n <= parts; n++) {
                // into an array of the part's size: readNBytes(int) would gather 8 KiB pieces and copy them again
                byte[] buf = new byte[(int) Math.min(part, size - (n - 1) * part)];
                if (in.readNBytes(buf, 0, buf.length) != buf.length) {
                    throw mismatch(file);
                }
                if (whole != null) {
                    whole.update(buf, 0, buf.length);
                }
                inFlight.acquire();
                int number = n;
                boolean last = n == parts;
                futures.add(pool.submit(() -> {
                    try {
                        List<byte[]> hashes = whole == null ? chunkHashes(buf) : List.of();
                        return sendPart(key, id, sha256, number, buf, last, part, earlier.get(number))
                                .withChunkHashes(hashes);
                    } finally {
                        inFlight.release();
                    }
                }));
            }
            if (in.read() >= 0) {
                throw mismatch(file);
            }
        }
        return futures;
    }

    private record PartResult(CompletedPart part, long bytes, boolean reused, boolean stale,
            List<byte[]> chunkHashes) {
        PartResult(CompletedPart part, long bytes, boolean reused, boolean stale) {
            this(part, bytes, reused, stale, List.of());
        }

        PartResult withChunkHashes(List<byte[]> hashes) {
            return new PartResult(part, bytes, reused, stale, hashes);
        }
    }

    /** True when the record is chunked and parts hold whole chunks: each part's chunks hash on their own. */
    private static boolean perPart(String sha256, long part) {
        return FileSum.isChunked(sha256) && part % ChunkDigest.CHUNK == 0;
    }

    /** The SHA-256 of each 1 MiB chunk of a part's plaintext (the last one may be short). */
    private static List<byte[]> chunkHashes(byte[] buf) {
        List<byte[]> out = new ArrayList<>();
        for (int off = 0; off < buf.length; off += ChunkDigest.CHUNK) {
            out.add(ChunkDigest.chunkHash(java.nio.ByteBuffer.wrap(buf, off, Math.min(ChunkDigest.CHUNK,
                    buf.length - off))));
        }
        return out;
    }

    private PartResult sendPart(String key, String id, String sha256, int number, byte[] plain, boolean last,
            long part, Part earlier) throws Exception {
        byte[] body = seal(key, sha256, (number - 1) * (part / ObjectCipher.CHUNK), plain, plain.length, last);
        String sum = checksum(body);
        boolean stale = false;
        if (earlier != null) {
            if (kind().matches(earlier, sum) && earlier.size() == body.length) {
                return new PartResult(kind().completed(number, earlier.eTag(), sum), body.length, true, false);
            }
            stale = true;
        }
        rate.acquire(body.length);
        try {
            String etag = store.s3().uploadPart(u -> {
                u.bucket(store.config().bucket()).key(key).uploadId(id).partNumber(number);
                kind().onPart(u, sum);
            }, body(body)).eTag();
            return new PartResult(kind().completed(number, etag, sum), body.length, false, stale);
        } catch (SdkException e) {
            throw store.failure("upload part " + number + " of", key, e);
        }
    }

    /** The part as a request body without the copy RequestBody.fromBytes makes (parts are up to part-size each). */
    private static RequestBody body(byte[] b) {
        return RequestBody.fromContentProvider(() -> new java.io.ByteArrayInputStream(b), b.length,
                "application/octet-stream");
    }

    private PartChecksum kind() {
        return store.config().partChecksum();
    }

    private String checksum(byte[] body) {
        return kind().of(body);
    }

    /** The newest unfinished multipart upload of exactly this key, its parts in {@code parts}; null if none. */
    private String unfinished(String key, Map<Integer, Part> parts) throws RemoteException {
        String bucket = store.config().bucket();
        try {
            MultipartUpload newest = null;
            for (MultipartUpload u : store.s3().listMultipartUploads(l -> l.bucket(bucket).prefix(key)).uploads()) {
                if (u.key().equals(key) && (newest == null || u.initiated().isAfter(newest.initiated()))) {
                    newest = u;
                }
            }
            if (newest == null) {
                return null;
            }
            String id = newest.uploadId();
            for (Part p : store.s3().listPartsPaginator(l -> l.bucket(bucket).key(key).uploadId(id)).parts()) {
                parts.put(p.partNumber(), p);
            }
            return id;
        } catch (SdkException e) {
            throw store.failure("list the unfinished uploads of", key, e);
        }
    }

    private void abort(String key, String id) {
        try {
            store.s3().abortMultipartUpload(a -> a.bucket(store.config().bucket()).key(key).uploadId(id));
        } catch (SdkException e) {
            // the store drops it by its own lifecycle rules; the next upload starts another
        }
    }

    private PartResult result(Future<PartResult> f, String key) throws IOException, InterruptedException {
        try {
            return f.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new RemoteException("upload of " + key + " failed: " + e.getCause(), e.getCause());
        }
    }

    private static RemoteException mismatch(Path file) {
        return new RemoteException(file + " does not match the SHA-256 its integrity record gives (changed or"
                + " damaged since the backup): not uploaded; run qmprestore verify --dir on its folder");
    }

    static MessageDigest sha(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
