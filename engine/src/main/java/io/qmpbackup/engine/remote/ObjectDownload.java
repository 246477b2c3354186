package io.qmpbackup.engine.remote;

import io.qmpbackup.engine.repository.FileSum;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;

/**
 * Downloads one object into a file: written as {@code <file>.partial}, decrypted when the object
 * is, hashed on the way, and renamed only when its checksum (of the kind its record gives,
 * {@link FileSum}) is the one expected (from the integrity record). An object encrypted with another key, or with none configured, is told
 * apart from a damaged one by the key id stored with it.
 */
final class ObjectDownload {
    private final RemoteStore store;

    ObjectDownload(RemoteStore store) {
        this.store = store;
    }

    /**
     * Downloads {@code key} to {@code to}; returns its plaintext SHA-256. With {@code expectedSha}
     * null the object is checked against the SHA-256 stored with it (records, which the integrity
     * record does not list).
     */
    String download(String key, Path to, String expectedSha) throws IOException {
        Path partial = to.resolveSibling(to.getFileName() + ".partial");
        Files.createDirectories(to.toAbsolutePath().getParent());
        String where = "s3://" + store.config().bucket() + "/" + key;
        String sha;
        try (ResponseInputStream<GetObjectResponse> in = store.s3().getObject(g -> g.bucket(store.config().bucket())
                .key(key))) {
            GetObjectResponse r = in.response();
            InputStream plain = plaintext(in, r.metadata(), key, r.contentLength(), where);
            // the kind the record names: whole-file SHA-256, or chunked (records themselves: whole)
            FileSum.Hasher d = FileSum.hasherLike(expectedSha);
            try (InputStream src = plain; OutputStream out = Files.newOutputStream(partial)) {
                byte[] buf = new byte[1 << 16];
                for (int n; (n = src.read(buf)) > 0; ) {
                    d.update(buf, 0, n);
                    out.write(buf, 0, n);
                }
            } catch (ObjectCipher.ChunkAuthenticationException e) {
                throw new RemoteException("remote object " + where + " is damaged: " + e.getMessage()
                        + "; restore from another copy", e);
            }
            sha = d.value();
            String stored = r.metadata().get(RemoteStore.META_SHA);
            if (expectedSha != null && !sha.equals(expectedSha)) {
                throw damaged(where, sha, expectedSha, partial);
            }
            if (expectedSha == null && stored != null && !store.storedSha(sha).equals(stored)) {
                throw damaged(where, sha, "the one stored with it", partial);
            }
        } catch (NoSuchKeyException e) {
            throw new RemoteException("remote object " + where + " is missing (the integrity record lists it):"
                    + " the remote copy is incomplete; run qmpbackup replicate from the node that holds the backup", e);
        } catch (SdkException e) {
            throw store.failure("download", key, e);
        } catch (IOException e) {
            Files.deleteIfExists(partial);
            throw e;
        }
        Files.move(partial, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return sha;
    }

    private InputStream plaintext(InputStream in, Map<String, String> meta, String key, long length, String where)
            throws RemoteException {
        String keyId = meta.get(RemoteStore.META_KEY_ID);
        ObjectCipher c = store.cipher();
        if (keyId == null) {
            return in;
        }
        if (c == null) {
            throw new RemoteException("remote object " + where + " is encrypted (key id " + keyId + ") and the remote"
                    + " config names no encryption key: add encryption-key-file or encryption-key-env");
        }
        if (!keyId.equals(c.keyId())) {
            throw new RemoteException("remote object " + where + " was encrypted with another key (key id " + keyId
                    + "); the configured key has id " + c.keyId() + ": give the key it was uploaded with");
        }
        return c.decrypting(in, key, length);
    }

    private static RemoteException damaged(String where, String sha, String expected, Path partial)
            throws IOException {
        Files.deleteIfExists(partial);
        return new RemoteException("remote object " + where + " is damaged: its SHA-256 is " + sha + ", the integrity"
                + " record says " + expected + "; restore from another copy, or replicate again from the node"
                + " that holds the backup");
    }
}
