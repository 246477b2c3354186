package io.qmpbackup.engine.testing;

import io.qmpbackup.engine.remote.RemoteConfig;
import java.net.URI;
import java.util.Properties;
import java.util.UUID;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.BlobStoreContext;

/**
 * A real S3 implementation for the remote tests: S3Proxy in this JVM on 127.0.0.1 (a free port),
 * over jclouds' in-memory blob store (or its filesystem one), with signature v4 authentication and credentials made up
 * per server. {@link #blobs} reaches the stored objects behind S3's back (to damage one).
 */
public final class S3TestServer implements AutoCloseable {
    private final S3Proxy proxy;
    private final BlobStoreContext context;
    private final String id = "test-" + UUID.randomUUID().toString().substring(0, 8);
    private final String secret = UUID.randomUUID().toString();

    private S3TestServer(java.nio.file.Path root) throws Exception {
        Properties p = new Properties();
        if (root != null) {
            p.setProperty("jclouds.filesystem.basedir", root.toString());
        }
        context = ContextBuilder.newBuilder(root == null ? "transient" : "filesystem").credentials("local", "local")
                .overrides(p).build(BlobStoreContext.class);
        proxy = S3Proxy.builder().blobStore(context.getBlobStore()).endpoint(URI.create("http://127.0.0.1:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, id, secret)
                // S3Proxy refuses x-amz-checksum-* (HTTP 501) otherwise; it checks Content-MD5, not those
                .ignoreUnknownHeaders(true).build();
        proxy.start();
        long until = System.nanoTime() + 20_000_000_000L;
        while (!"STARTED".equals(proxy.getState())) {
            if (System.nanoTime() > until) {
                throw new IllegalStateException("S3Proxy did not start within 20 s (state " + proxy.getState() + ")");
            }
            Thread.sleep(10);
        }
    }

    public static S3TestServer start() throws Exception {
        return new S3TestServer(null);
    }

    /**
     * Over jclouds' filesystem blob store in {@code root} (which must exist): objects are files, as
     * a store on disks keeps them, and a large upload is not held in this JVM's heap.
     */
    public static S3TestServer onDisk(java.nio.file.Path root) throws Exception {
        return new S3TestServer(root);
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + proxy.getPort());
    }

    /** The objects as stored, for damaging one behind S3's back. */
    public BlobStore blobs() {
        return context.getBlobStore();
    }

    /** Creates a bucket and returns a config for it, with {@code key} (32 bytes) as encryption key or none. */
    public RemoteConfig config(String bucket, String prefix, byte[] key) {
        RemoteConfig c = new RemoteConfig(endpoint(), bucket, prefix, "us-east-1", true, new RemoteConfig.Secret(id),
                new RemoteConfig.Secret(secret), key, 5L << 20, 4, 0, io.qmpbackup.engine.remote.PartChecksum.MD5, 0, 0, 0, 0);
        try (software.amazon.awssdk.services.s3.S3Client client = software.amazon.awssdk.services.s3.S3Client.builder()
                .endpointOverride(endpoint()).forcePathStyle(true)
                .region(software.amazon.awssdk.regions.Region.US_EAST_1)
                .credentialsProvider(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
                        software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create(id, secret))).build()) {
            client.createBucket(b -> b.bucket(bucket));
        }
        return c;
    }

    /** The credentials as a process would get them from its environment. */
    public java.util.Map<String, String> environment() {
        return java.util.Map.of(RemoteConfig.ENV_ACCESS_KEY, id, RemoteConfig.ENV_SECRET_KEY, secret);
    }

    /** An object's bytes as stored (ciphertext when encrypted). */
    public byte[] object(String bucket, String key) throws java.io.IOException {
        try (var in = blobs().getBlob(bucket, key).getPayload().openStream()) {
            return in.readAllBytes();
        }
    }

    /** Replaces an object's bytes behind S3's back, its metadata kept (to damage or restore it). */
    public void replace(String bucket, String key, byte[] bytes) {
        var old = blobs().getBlob(bucket, key);
        blobs().putBlob(bucket, blobs().blobBuilder(key).payload(bytes)
                .userMetadata(old.getMetadata().getUserMetadata()).build());
    }

    /** Where {@code needle} first occurs in {@code hay}, or -1 (a plaintext pattern in stored bytes). */
    public static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    @Override
    public void close() throws Exception {
        proxy.stop();
        context.close();
    }
}
