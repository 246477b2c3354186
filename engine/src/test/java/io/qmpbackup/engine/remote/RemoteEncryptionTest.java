package io.qmpbackup.engine.remote;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpbackup.engine.service.RemoteService;
import io.qmpbackup.engine.service.ReplicationOutcome;
import io.qmpbackup.engine.testing.RecordingLog;
import io.qmpbackup.engine.testing.S3TestServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Client-side encryption against S3Proxy: nothing readable in the bucket, wrong or no key, chunks moved. */
class RemoteEncryptionTest {
    private static final int MIB = 1 << 20;
    static S3TestServer s3;
    static int buckets;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startS3() throws Exception {
        s3 = S3TestServer.start();
    }

    @AfterAll
    static void stopS3() throws Exception {
        s3.close();
    }

    private static byte[] key() {
        byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        return k;
    }

    private static RemoteService service() {
        return new RemoteService(java.time.Clock.systemUTC(), Duration.ofSeconds(5));
    }

    private static RemoteConfig withKey(RemoteConfig c, byte[] key) {
        return new RemoteConfig(c.endpoint(), c.bucket(), c.prefix(), c.region(), c.pathStyle(), c.accessKeyId(),
                c.secretAccessKey(), key, c.partSize(), c.parallelParts(), c.bandwidthLimit(), c.partChecksum(), 0, 0,
                0, 0);
    }

    @Test
    void encryptedObjectsHoldNoPlaintextAndComeBackByteExactWithTheKeyOnly() throws Exception {
        FakeTarget t = new FakeTarget(tmp.resolve("t"));
        Path full = t.add("full", 1000, 11 * MIB + 17);
        Path inc = t.add("inc", 1001, 100_000);
        byte[] key = key();
        RemoteConfig c = s3.config("enc-" + (++buckets), "p", key);
        ReplicationOutcome o = service().replicate(t.target(), c, null, new RecordingLog());
        assertThat(o.offsite()).as(o.summary()).isTrue();

        byte[] plain = Files.readAllBytes(full);
        byte[] stored = stored(c, "p/disk1.qcow2/" + full.getFileName());
        assertThat(stored.length).isEqualTo(ObjectCipher.cipherSize(plain.length));
        assertThat(indexOf(stored, Arrays.copyOfRange(plain, 4096, 4096 + 64))).isNegative();
        assertThat(new String(stored(c, "p/uuid"))).doesNotContain("c0ffee");
        // the bucket's checksum metadata is keyed: not the plaintext's SHA-256
        assertThat(s3.blobs().blobMetadata(c.bucket(), "p/disk1.qcow2/" + full.getFileName()).getUserMetadata()
                .get(RemoteStore.META_SHA)).isNotEqualTo(TargetFiles.sha256(full));

        var d = service().download(c, "disk1.qcow2", tmp.resolve("a"), new RecordingLog());
        assertThat(Files.mismatch(d.folder().resolve(full.getFileName()), full)).isEqualTo(-1);
        assertThat(Files.mismatch(d.folder().resolve(inc.getFileName()), inc)).isEqualTo(-1);
        assertThat(service().replicate(t.target(), c, null, new RecordingLog()).bytesSent()).isZero();

        assertThatThrownBy(() -> service().download(withKey(c, key()), "disk1.qcow2", tmp.resolve("b"),
                new RecordingLog())).isInstanceOf(RemoteException.class)
                .hasMessageContaining("was encrypted with another key");
        assertThatThrownBy(() -> service().download(withKey(c, null), "disk1.qcow2", tmp.resolve("c"),
                new RecordingLog())).isInstanceOf(RemoteException.class)
                .hasMessageContaining("is encrypted").hasMessageContaining("names no encryption key");
    }

    @Test
    void swappedChunksAndATruncatedObjectFailAuthentication() throws Exception {
        FakeTarget t = new FakeTarget(tmp.resolve("t"));
        Path full = t.add("full", 1000, 3 * MIB);
        RemoteConfig c = s3.config("enc-" + (++buckets), "", key());
        assertThat(service().replicate(t.target(), c, null, new RecordingLog()).offsite()).isTrue();
        String k = "disk1.qcow2/" + full.getFileName();
        byte[] stored = stored(c, k);
        int chunk = ObjectCipher.CHUNK + ObjectCipher.TAG;
        byte[] swapped = stored.clone();
        System.arraycopy(stored, ObjectCipher.HEADER, swapped, ObjectCipher.HEADER + chunk, chunk);
        System.arraycopy(stored, ObjectCipher.HEADER + chunk, swapped, ObjectCipher.HEADER, chunk);
        replace(c, k, swapped);
        assertThatThrownBy(() -> service().download(c, "disk1.qcow2", tmp.resolve("a"), new RecordingLog()))
                .isInstanceOf(RemoteException.class).hasMessageContaining(k + " is damaged")
                .hasMessageContaining("chunk 0 failed authentication");

        replace(c, k, Arrays.copyOf(stored, ObjectCipher.HEADER + 2 * chunk));
        assertThatThrownBy(() -> service().download(c, "disk1.qcow2", tmp.resolve("b"), new RecordingLog()))
                .isInstanceOf(RemoteException.class).hasMessageContaining("chunk 1 failed authentication");
        assertThat(tmp.resolve("b/disk1.qcow2").resolve(full.getFileName())).doesNotExist();
    }

    private static byte[] stored(RemoteConfig c, String key) throws Exception {
        return s3.blobs().getBlob(c.bucket(), key).getPayload().openStream().readAllBytes();
    }

    private static void replace(RemoteConfig c, String key, byte[] bytes) {
        s3.replace(c.bucket(), key, bytes);
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        return S3TestServer.indexOf(hay, needle);
    }
}
