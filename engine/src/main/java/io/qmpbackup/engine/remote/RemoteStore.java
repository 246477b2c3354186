package io.qmpbackup.engine.remote;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.Delete;
import software.amazon.awssdk.services.s3.model.DeleteObjectsRequest;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * The bucket of a {@link RemoteConfig}: one S3 client and the few calls the engine makes. Objects
 * carry their plaintext's SHA-256 (keyed when encrypted) and size as user metadata, which is what
 * "already uploaded" and "verified" are decided by.
 */
public final class RemoteStore implements AutoCloseable {
    static final String META_SHA = "qmpbackup-sha256";
    static final String META_SIZE = "qmpbackup-size";
    static final String META_KEY_ID = "qmpbackup-key-id";

    private final RemoteConfig config;
    private final S3Client s3;
    private final ObjectCipher cipher;

    public RemoteStore(RemoteConfig config) {
        this.config = config;
        this.cipher = config.encryptionKey() == null ? null : new ObjectCipher(config.encryptionKey());
        var b = S3Client.builder()
                .region(Region.of(config.region()))
                .forcePathStyle(config.pathStyle())
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(
                        config.accessKeyId().value(), config.secretAccessKey().value())))
                // our own SHA-256 per request, sent as a header: no aws-chunked trailers, which
                // several S3-compatible stores refuse
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                // over plain http the SDK signs the body; as one hash of the whole request, not as
                // aws-chunked framing with a signature every 128 KiB, which costs a second pass over
                // every byte on both ends and is what several S3-compatible stores handle worst
                .serviceConfiguration(S3Configuration.builder().chunkedEncodingEnabled(false).build())
                .overrideConfiguration(o -> o.apiCallAttemptTimeout(Duration.ofMinutes(10)));
        if (config.endpoint() != null) {
            b.endpointOverride(config.endpoint());
        }
        this.s3 = b.build();
    }

    public RemoteConfig config() {
        return config;
    }

    S3Client s3() {
        return s3;
    }

    /** The cipher, or null when the remote is not encrypted. */
    ObjectCipher cipher() {
        return cipher;
    }

    /** The value stored as {@link #META_SHA} for a plaintext SHA-256. */
    String storedSha(String sha256) {
        return cipher == null ? sha256 : cipher.sealedSha(sha256);
    }

    /** The object's head, or empty when there is none. */
    Optional<HeadObjectResponse> head(String key) throws RemoteException {
        try {
            return Optional.of(s3.headObject(h -> h.bucket(config.bucket()).key(key)));
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return Optional.empty();
            }
            throw failure("read the head of", key, e);
        } catch (SdkException e) {
            throw failure("read the head of", key, e);
        }
    }

    /** True when the object holds exactly this plaintext (by its recorded SHA-256 and size) under our key. */
    boolean holds(String key, String sha256, long size) throws RemoteException {
        return head(key).map(h -> storedSha(sha256).equals(h.metadata().get(META_SHA))
                && String.valueOf(size).equals(h.metadata().get(META_SIZE))
                && java.util.Objects.equals(cipher == null ? null : cipher.keyId(), h.metadata().get(META_KEY_ID)))
                .orElse(false);
    }

    /** Every object under {@code keyPrefix}: key to size. */
    public Map<String, Long> list(String keyPrefix) throws RemoteException {
        Map<String, Long> out = new LinkedHashMap<>();
        try {
            for (S3Object o : s3.listObjectsV2Paginator(l -> l.bucket(config.bucket()).prefix(keyPrefix)).contents()) {
                out.put(o.key(), o.size());
            }
        } catch (SdkException e) {
            throw failure("list", keyPrefix + "*", e);
        }
        return out;
    }

    /** Deletes the objects (1000 per request, S3's limit). */
    public void delete(List<String> keys) throws RemoteException {
        for (int i = 0; i < keys.size(); i += 1000) {
            List<ObjectIdentifier> ids = new ArrayList<>();
            keys.subList(i, Math.min(keys.size(), i + 1000)).forEach(k -> ids.add(ObjectIdentifier.builder().key(k)
                    .build()));
            try {
                var r = s3.deleteObjects(DeleteObjectsRequest.builder().bucket(config.bucket())
                        .delete(Delete.builder().objects(ids).quiet(true).build()).build());
                if (!r.errors().isEmpty()) {
                    throw new RemoteException("cannot delete " + r.errors().get(0).key() + " from bucket "
                            + config.bucket() + ": " + r.errors().get(0).message());
                }
            } catch (SdkException e) {
                throw failure("delete", keys.get(i), e);
            }
        }
    }

    /** A failure that names the object and the store's reason; the SDK's messages carry no secret. */
    RemoteException failure(String what, String key, Exception e) {
        String reason = e instanceof S3Exception s && s.awsErrorDetails() != null
                ? s.awsErrorDetails().errorCode() + " (HTTP " + s.statusCode() + ")" : e.getMessage();
        return new RemoteException("cannot " + what + " s3://" + config.bucket() + "/" + key + ": " + reason, e);
    }

    @Override
    public void close() {
        s3.close();
    }
}
