package io.qmpbackup.engine.remote;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpbackup.engine.retention.RetentionPolicy;
import io.qmpbackup.engine.service.BackupService;
import io.qmpbackup.engine.service.RemoteService;
import io.qmpbackup.engine.repository.AtomicFiles;
import io.qmpbackup.engine.repository.ChunkDigest;
import io.qmpbackup.engine.service.ReplicationOutcome;
import io.qmpbackup.engine.testing.RecordingLog;
import io.qmpbackup.engine.testing.S3TestServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.jclouds.blobstore.domain.Blob;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replication, resume, download checks and remote retention against a real S3 implementation
 * (S3Proxy on 127.0.0.1, started here), on a target of random files laid out as backups. The
 * same against a real QEMU chain, restored byte-exact, is {@code RemoteIT}.
 */
class RemoteReplicationTest {
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

    private static RemoteConfig bucket() {
        return s3.config("bucket-" + (++buckets), "node1/vm1", null);
    }

    private static RemoteService service() {
        return new RemoteService(java.time.Clock.systemUTC(), Duration.ofSeconds(5));
    }

    @Test
    void everyFileGoesUpVerifiedAndASecondRunSendsNothing() throws Exception {
        FakeTarget t = new FakeTarget(tmp.resolve("t"));
        t.add("full", 1000, 12 * MIB + 3);
        t.add("inc", 1001, 700_000);
        RemoteConfig c = bucket();

        ReplicationOutcome first = service().replicate(t.target(), c, null, new RecordingLog());
        assertThat(first.offsite()).as(first.summary()).isTrue();
        assertThat(first.uploaded()).isEqualTo(6);
        try (RemoteStore store = new RemoteStore(c)) {
            assertThat(store.list("node1/vm1/").keySet()).containsExactlyInAnyOrder("node1/vm1/uuid",
                    "node1/vm1/disk1.qcow2.config", "node1/vm1/disk1.qcow2.chain.json",
                    "node1/vm1/disk1.qcow2/FULL-1000-disk1.qcow2", "node1/vm1/disk1.qcow2/INC-1001-disk1.qcow2",
                    "node1/vm1/disk1.qcow2/SHA256SUMS-disk1.qcow2.config");
        }
        ReplicationOutcome second = service().replicate(t.target(), c, null, new RecordingLog());
        assertThat(second.offsite()).isTrue();
        assertThat(second.uploaded()).isZero();
        assertThat(second.skipped()).isEqualTo(6);
        assertThat(second.bytesSent()).isZero();

        Path root = tmp.resolve("elsewhere");
        var d = service().download(c, "disk1.qcow2", root, new RecordingLog());
        assertThat(d.folder()).isEqualTo(root.resolve("disk1.qcow2"));
        for (String f : new String[] {"FULL-1000-disk1.qcow2", "INC-1001-disk1.qcow2"}) {
            assertThat(Files.mismatch(d.folder().resolve(f), t.folder().resolve(f))).isEqualTo(-1);
        }
        assertThat(Files.readString(root.resolve("disk1.qcow2.chain.json")))
                .isEqualTo(Files.readString(t.manifestFile()));
        assertThat(root.resolve("uuid")).hasContent("c0ffee");
    }

    @Test
    void aBackupFileChangedInPlaceAfterItWentOffsiteIsNeverOverwrittenThere() throws Exception {
        FakeTarget t = new FakeTarget(tmp.resolve("t"));
        Path full = t.add("full", 1000, MIB);
        t.add("inc", 1001, 300_000);
        RemoteConfig c = bucket();
        assertThat(service().replicate(t.target(), c, null, new RecordingLog()).offsite()).isTrue();
        String sent = TargetFiles.sha256(full);
        t.rewrite(full);
        ReplicationOutcome o = service().replicate(t.target(), c, null, new RecordingLog());
        assertThat(o.offsite()).as(o.summary()).isFalse();
        assertThat(o.failures()).anySatisfy(f -> assertThat(f).contains(full.getFileName().toString())
                .contains("holds other data than the local file").contains("not overwritten"));
        // the remote still restores what went off-site: its file and its records, checked
        var d = service().download(c, "disk1.qcow2", tmp.resolve("back"), new RecordingLog());
        assertThat(TargetFiles.sha256(d.folder().resolve(full.getFileName()))).isEqualTo(sent);
    }

    @Test
    void aDownloadNeverReplacesLocalFiles() throws Exception {
        FakeTarget t = new FakeTarget(tmp.resolve("t"));
        t.add("full", 1000, MIB);
        RemoteConfig c = bucket();
        assertThat(service().replicate(t.target(), c, null, new RecordingLog()).offsite()).isTrue();
        // a local inc the remote does not hold yet: the remote's records laid over it would hide it
        t.add("inc", 1001, 300_000);
        String manifest = Files.readString(t.manifestFile());
        assertThatThrownBy(() -> service().download(c, "disk1.qcow2", t.target(), new RecordingLog()))
                .isInstanceOf(RemoteException.class)
                .hasMessageContaining("the download would replace " + t.target().resolve("disk1.qcow2"))
                .hasMessageContaining("never replaces local files");
        assertThat(Files.readString(t.manifestFile())).isEqualTo(manifest);

        Path once = tmp.resolve("once");
        service().download(c, "disk1.qcow2", once, new RecordingLog());
        assertThatThrownBy(() -> service().download(c, "disk1.qcow2", once, new RecordingLog()))
                .hasMessageContaining("qmprestore merge --dir " + once.resolve("disk1.qcow2"));
        // what the chain's disks share (uuid) may be there already, as after another disk of it
        AtomicFiles.deleteTree(once.resolve("disk1.qcow2"));
        Files.delete(once.resolve("disk1.qcow2.chain.json"));
        Files.delete(once.resolve("disk1.qcow2.config"));
        service().download(c, "disk1.qcow2", once, new RecordingLog());
        assertThat(once.resolve("uuid")).hasContent("c0ffee\n");
        AtomicFiles.deleteTree(once.resolve("disk1.qcow2"));
        Files.delete(once.resolve("disk1.qcow2.chain.json"));
        Files.delete(once.resolve("disk1.qcow2.config"));
        Files.writeString(once.resolve("uuid"), "another\n");
        assertThatThrownBy(() -> service().download(c, "disk1.qcow2", once, new RecordingLog()))
                .hasMessageContaining("which is another chain's");
        assertThat(once.resolve("uuid")).hasContent("another\n");

        // a merge into a file that exists is refused before anything is downloaded
        Path exists = Files.writeString(tmp.resolve("exists.qcow2"), "mine");
        Path root = tmp.resolve("scratch");
        assertThatThrownBy(() -> service().restore(c, "disk1.qcow2", root, new io.qmpbackup.engine.service.RestoreRequest(
                io.qmpbackup.engine.service.RestoreRequest.Mode.MERGE, Path.of("x"), null, exists, false, 0),
                new RecordingLog(), new io.qmpbackup.engine.backup.Cancellation()))
                .hasMessageContaining("already exists").hasMessageContaining("nothing was downloaded");
        assertThat(root).doesNotExist();
        assertThat(Files.readString(exists)).isEqualTo("mine");
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(value = PartChecksum.class, names = {"CRC32C", "SHA256"})
    void eachRequestChecksumKindUploadsAndComesBackExact(PartChecksum kind) throws Exception {
        // S3Proxy accepts x-amz-checksum-* but does not check them (the md5 tests show a store's check);
        // this shows each kind's requests, single and multipart, complete and round-trip
        FakeTarget t = new FakeTarget(tmp.resolve("t"));
        t.chunked = true;
        Path full = t.add("full", 1000, 12 * MIB + 3);
        Path inc = t.add("inc", 1001, 300_000);
        RemoteConfig c = withChecksum(bucket(), kind);
        ReplicationOutcome up = service().replicate(t.target(), c, null, new RecordingLog());
        assertThat(up.offsite()).as(up.summary()).isTrue();
        assertThat(up.uploaded()).isEqualTo(6);
        var d = service().download(c, "disk1.qcow2", tmp.resolve("back"), new RecordingLog());
        for (Path f : new Path[] {full, inc}) {
            assertThat(Files.mismatch(d.folder().resolve(f.getFileName()), f)).isEqualTo(-1);
        }
    }

    @Test
    void chunkedRecordsGoUpAndComeBackCheckedAsTheyWereTaken() throws Exception {
        FakeTarget t = new FakeTarget(tmp.resolve("t"));
        t.add("full", 1000, 700_000); // whole-file SHA-256: an old chain...
        t.chunked = true;
        Path inc = t.add("inc", 1001, 12 * MIB + 3); // ...extended through the sink (multipart upload)
        Path small = t.add("inc", 1002, 300_000);
        RemoteConfig c = bucket();
        ReplicationOutcome up = service().replicate(t.target(), c, null, new RecordingLog());
        assertThat(up.offsite()).as(up.summary()).isTrue();
        try (RemoteStore store = new RemoteStore(c)) {
            assertThat(store.list("node1/vm1/").keySet()).contains("node1/vm1/disk1.qcow2/SHA256SUMS-disk1.qcow2.config",
                    "node1/vm1/disk1.qcow2/SHA256CHUNKS-disk1.qcow2.config");
        }
        assertThat(service().replicate(t.target(), c, null, new RecordingLog()).uploaded()).isZero();
        var d = service().download(c, "disk1.qcow2", tmp.resolve("back"), new RecordingLog());
        for (Path f : new Path[] {inc, small}) {
            assertThat(Files.mismatch(d.folder().resolve(f.getFileName()), f)).isEqualTo(-1);
        }
        damage(s3.blobs(), c.bucket(), c.key("disk1.qcow2/" + small.getFileName()), 4321);
        assertThatThrownBy(() -> service().download(c, "disk1.qcow2", tmp.resolve("again"), new RecordingLog()))
                .isInstanceOf(RemoteException.class).hasMessageContaining("is damaged")
                .hasMessageContaining(ChunkDigest.of(small));
    }

    @Test
    void anInterruptedMultipartUploadIsContinuedWithItsFinishedParts() throws Exception {
        FakeTarget t = new FakeTarget(tmp.resolve("t"));
        Path full = t.add("full", 1000, 30 * MIB);
        RemoteConfig fast = bucket();
        // 5 MiB/s: one 5 MiB part a second, so the run is cut after some parts and before the end
        RemoteConfig slow = new RemoteConfig(fast.endpoint(), fast.bucket(), fast.prefix(), fast.region(), true,
                fast.accessKeyId(), fast.secretAccessKey(), null, 5L * MIB, 2, 5L * MIB, PartChecksum.MD5, 0, 0, 0, 0);
        AtomicReference<ReplicationOutcome> cut = new AtomicReference<>();
        Thread run = new Thread(() -> {
            try {
                cut.set(service().replicate(t.target(), slow, null, new RecordingLog()));
            } catch (InterruptedException e) {
                cut.set(ReplicationOutcome.class.cast(null));
            }
        });
        run.start();
        String key = fast.key("disk1.qcow2/" + full.getFileName());
        try (RemoteStore store = new RemoteStore(fast)) {
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> partsOf(store, key) >= 2);
            run.interrupt();
            run.join(30_000);
            assertThat(run.isAlive()).isFalse();
            assertThat(store.head(key)).isEmpty();
            int before = partsOf(store, key);
            assertThat(before).isBetween(2, 5);

            ReplicationOutcome resumed = service().replicate(t.target(), fast, null, new RecordingLog());
            assertThat(resumed.offsite()).as(resumed.summary()).isTrue();
            assertThat(resumed.partsReused()).isGreaterThanOrEqualTo(before - 1);
            assertThat(resumed.bytesSent()).isLessThan(30L * MIB);
        }
        var d = service().download(fast, "disk1.qcow2", tmp.resolve("back"), new RecordingLog());
        assertThat(Files.mismatch(d.folder().resolve(full.getFileName()), full)).isEqualTo(-1);
    }

    private static int partsOf(RemoteStore store, String key) {
        var uploads = store.s3().listMultipartUploads(l -> l.bucket(store.config().bucket()).prefix(key)).uploads();
        if (uploads.isEmpty()) {
            return 0;
        }
        return store.s3().listParts(l -> l.bucket(store.config().bucket()).key(key)
                .uploadId(uploads.get(0).uploadId())).parts().size();
    }

    @Test
    void aDamagedRemoteObjectIsNamedAndNothingIsLeftOfIt() throws Exception {
        FakeTarget t = new FakeTarget(tmp.resolve("t"));
        t.add("full", 1000, 2 * MIB);
        Path inc = t.add("inc", 1001, 300_000);
        RemoteConfig c = bucket();
        assertThat(service().replicate(t.target(), c, null, new RecordingLog()).offsite()).isTrue();
        String key = c.key("disk1.qcow2/" + inc.getFileName());
        damage(s3.blobs(), c.bucket(), key, 1234);

        Path root = tmp.resolve("elsewhere");
        assertThatThrownBy(() -> service().download(c, "disk1.qcow2", root, new RecordingLog()))
                .isInstanceOf(RemoteException.class)
                .hasMessageContaining("s3://" + c.bucket() + "/" + key + " is damaged")
                .hasMessageContaining(TargetFiles.sha256(inc));
        assertThat(root.resolve("disk1.qcow2").resolve(inc.getFileName())).doesNotExist();
        assertThat(root.resolve("disk1.qcow2").resolve(inc.getFileName() + ".partial")).doesNotExist();
    }

    @Test
    void aFileChangedSinceItsRecordIsNotUploadedWhicheverItsRecordsKind() throws Exception {
        for (boolean chunked : new boolean[] {true, false}) {
            FakeTarget t = new FakeTarget(tmp.resolve("changed-" + chunked));
            t.chunked = chunked;
            Path full = t.add("full", 1000, 12 * MIB); // multipart: 5 MiB parts
            byte[] bytes = Files.readAllBytes(full);
            bytes[7 * MIB + 3] ^= 0x01;
            Files.write(full, bytes);
            RemoteConfig c = bucket();
            ReplicationOutcome o = service().replicate(t.target(), c, null, new RecordingLog());
            assertThat(o.offsite()).as(o.summary()).isFalse();
            assertThat(String.join("\n", o.failures())).as("chunked " + chunked).contains("does not match");
            assertThat(s3.blobs().blobExists(c.bucket(), c.key("disk1.qcow2/" + full.getFileName())))
                    .as("no object made of the changed file").isFalse();
        }
    }

    @Test
    void aRecordNamingAPathOutsideTheFolderIsRefusedAndNothingIsWrittenThere() throws Exception {
        FakeTarget t = new FakeTarget(tmp.resolve("t"));
        t.add("full", 1000, 300_000);
        RemoteConfig c = bucket();
        assertThat(service().replicate(t.target(), c, null, new RecordingLog()).offsite()).isTrue();
        // someone else with the bucket's credentials rewrites the folder's integrity record
        String record = s3.blobs().list(c.bucket(), org.jclouds.blobstore.options.ListContainerOptions.Builder
                .recursive()).stream().map(m -> m.getName()).filter(n -> n.contains("SHA256SUMS-")).findFirst()
                .orElseThrow();
        String evil = "0".repeat(64) + "  ../../escaped.qcow2\n";
        s3.blobs().putBlob(c.bucket(), s3.blobs().blobBuilder(record).payload(evil.getBytes()).build());
        Path root = tmp.resolve("dl");
        assertThatThrownBy(() -> service().download(c, "disk1.qcow2", root, new RecordingLog()))
                .isInstanceOf(RemoteException.class).hasMessageContaining("leads outside the download folder");
        assertThat(tmp.resolve("escaped.qcow2")).doesNotExist();
        assertThat(root.resolveSibling("escaped.qcow2")).doesNotExist();
        assertThat(ChainDownload.inside(root, "disk1.qcow2/x")).isEqualTo(root.toAbsolutePath().resolve("disk1.qcow2/x"));
        for (String bad : new String[] {"/etc/passwd", "a/../../b", "..", ""}) {
            assertThatThrownBy(() -> ChainDownload.inside(root, bad)).as(bad).isInstanceOf(RemoteException.class);
        }
    }

    /** Flips one byte of a stored object behind S3's back, keeping its metadata. */
    static void damage(org.jclouds.blobstore.BlobStore blobs, String bucket, String key, int at) throws Exception {
        Blob b = blobs.getBlob(bucket, key);
        byte[] bytes = b.getPayload().openStream().readAllBytes();
        bytes[at] ^= 0x5a;
        blobs.putBlob(bucket, blobs.blobBuilder(key).payload(bytes).userMetadata(b.getMetadata().getUserMetadata())
                .build());
    }

    @Test
    void remoteRetentionFollowsTheLocalPruneOrKeepsLongerWithItsOwnValues() throws Exception {
        FakeTarget t = new FakeTarget(tmp.resolve("t"));
        t.add("full", 1000, 300_000);
        t.add("inc", 1001, 1000);
        t.add("full", 2000, 300_000);
        t.add("inc", 2001, 1000);
        RetentionPolicy keep1 = new RetentionPolicy(1, 0, 0, 0, ZoneOffset.UTC);
        RemoteConfig same = bucket();
        RemoteConfig longer = withKeepLast(s3.config("bucket-" + (++buckets), "", null), 2);
        assertThat(service().replicate(t.target(), same, null, new RecordingLog()).offsite()).isTrue();
        assertThat(service().replicate(t.target(), longer, null, new RecordingLog()).offsite()).isTrue();

        new BackupService(java.time.Clock.systemUTC(), Duration.ofSeconds(5))
                .prune(t.target(), keep1, false, Duration.ofSeconds(5), new RecordingLog());
        t.add("inc", 2002, 1000);

        // no policy given to the replication: the local prune, as its manifest records it, is followed
        ReplicationOutcome followed = service().replicate(t.target(), same, null, new RecordingLog());
        assertThat(followed.offsite()).as(followed.summary()).isTrue();
        assertThat(followed.deleted()).containsExactlyInAnyOrder("disk1.qcow2/FULL-1000-disk1.qcow2",
                "disk1.qcow2/INC-1001-disk1.qcow2");
        ReplicationOutcome kept = service().replicate(t.target(), longer, keep1, new RecordingLog());
        assertThat(kept.offsite()).as(kept.summary()).isTrue();
        assertThat(kept.deleted()).isEmpty();

        Path a = tmp.resolve("a");
        service().download(same, "disk1.qcow2", a, new RecordingLog());
        assertThat(a.resolve("disk1.qcow2")).isDirectoryNotContaining("glob:**/FULL-1000-*");
        assertThat(entries(a)).containsExactly("FULL-2000-disk1.qcow2", "INC-2001-disk1.qcow2",
                "INC-2002-disk1.qcow2");
        Path b = tmp.resolve("b");
        service().download(longer, "disk1.qcow2", b, new RecordingLog());
        assertThat(b.resolve("disk1.qcow2").resolve("FULL-1000-disk1.qcow2")).exists();
        assertThat(entries(b)).containsExactly("FULL-1000-disk1.qcow2", "INC-1001-disk1.qcow2",
                "FULL-2000-disk1.qcow2", "INC-2001-disk1.qcow2", "INC-2002-disk1.qcow2");
        assertThat(ChecksumFile.of(b)).containsKeys("FULL-1000-disk1.qcow2", "INC-2002-disk1.qcow2");
    }

    private static java.util.List<String> entries(Path root) throws Exception {
        return io.qmpbackup.engine.repository.ChainManifest.read(root.resolve("disk1.qcow2.chain.json")).orElseThrow()
                .entries.stream().map(e -> e.file).toList();
    }

    private static RemoteConfig withKeepLast(RemoteConfig c, int keepLast) {
        return new RemoteConfig(c.endpoint(), c.bucket(), c.prefix(), c.region(), c.pathStyle(), c.accessKeyId(),
                c.secretAccessKey(), c.encryptionKey(), c.partSize(), c.parallelParts(), c.bandwidthLimit(),
                c.partChecksum(), keepLast,
                0, 0, 0);
    }

    private static RemoteConfig withChecksum(RemoteConfig c, PartChecksum kind) {
        return new RemoteConfig(c.endpoint(), c.bucket(), c.prefix(), c.region(), c.pathStyle(), c.accessKeyId(),
                c.secretAccessKey(), c.encryptionKey(), c.partSize(), c.parallelParts(), c.bandwidthLimit(), kind,
                0, 0, 0, 0);
    }

    /** The downloaded integrity record. */
    private static final class ChecksumFile {
        static Map<String, String> of(Path root) throws Exception {
            return io.qmpbackup.engine.repository.ChecksumRecord.read(root.resolve("disk1.qcow2"), "disk1.qcow2");
        }
    }
}
