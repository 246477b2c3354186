package io.qmpbackup.engine.remote;

import io.qmpbackup.engine.backup.BackupLog;
import io.qmpbackup.engine.backup.Cancellation;
import io.qmpbackup.engine.service.RemoteService;
import io.qmpbackup.engine.service.ReplicationOutcome;
import io.qmpbackup.engine.service.RestoreRequest;
import io.qmpbackup.engine.service.RestoreService;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.S3TestServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * bench/remote.sh's measurement: one FULL of {@code MiB} data (a real qcow2 written by qemu-io),
 * against S3Proxy in this JVM. Upload: {@link RemoteService#replicate} (parts checked, file hashed
 * against its record, object read back) against the SDK's own multipart upload of the same file
 * (S3AsyncClient, multipart on, same part size, no checksums). -Dparts=N parallel parts (default 4),
 * -Dchecksum=crc32c|sha256|md5 the request checksum (default crc32c; S3Proxy checks only md5). Restore: download + check + merge
 * from the remote against a plain SDK download of the same objects plus a local merge.
 */
public final class RemoteBench {
    private RemoteBench() {
    }

    public static void main(String[] args) throws Exception {
        Path work = Files.createDirectories(Path.of(args[0]));
        int mib = Integer.parseInt(args[1]);
        FakeTarget t = new FakeTarget(work.resolve("target"));
        t.chunked = true; // as backups record their files now (the checksum sink)
        Path src = work.resolve("src.qcow2");
        QemuTools.run("qemu-img", "create", "-q", "-f", "qcow2", src.toString(), (mib + 64) + "M");
        QemuTools.run("qemu-io", "-f", "qcow2", "-c", "write -P 0x5c 0 " + mib + "M", src.toString());
        Path full = t.addCopy("full", 1000, src);
        long bytes = Files.size(full);
        // the store keeps objects as files (S3Proxy's filesystem backend) unless -Dstore=memory: the
        // in-memory one copies every part again into one array at completion, which swamps the upload
        // (-Dstore.dir: bench/remote.sh puts it on tmpfs, as a real store's disks are not this machine's)
        Path store = Files.createDirectories(Path.of(System.getProperty("store.dir", work.resolve("s3").toString())));
        try (S3TestServer s3 = "memory".equals(System.getProperty("store")) ? S3TestServer.start()
                : S3TestServer.onDisk(store)) {
            RemoteConfig c = s3.config("bench-ours", "p", null);
            RemoteConfig cfg = new RemoteConfig(c.endpoint(), c.bucket(), "p", c.region(), true, c.accessKeyId(),
                    c.secretAccessKey(), null, 16L << 20, Integer.getInteger("parts", 4), 0, PartChecksum.parse(System.getProperty("checksum", "crc32c")),
                    0, 0, 0, 0);
            // warm both paths (JIT, class loading, connections) on another prefix, then best of 3 each, alternating
            double ours = Double.MAX_VALUE;
            double plain = Double.MAX_VALUE;
            for (int round = 0; round < 4; round++) {
                String prefix = round == 0 ? "warm" : "p" + round;
                RemoteConfig r = new RemoteConfig(cfg.endpoint(), cfg.bucket(), prefix, cfg.region(), true,
                        cfg.accessKeyId(), cfg.secretAccessKey(), null, cfg.partSize(), cfg.parallelParts(), 0,
                        cfg.partChecksum(),
                        0, 0, 0, 0);
                long t0 = System.nanoTime();
                ReplicationOutcome o = new RemoteService(java.time.Clock.systemUTC(),
                        java.time.Duration.ofSeconds(5)).replicate(t.target(), r, null, BackupLog.SILENT);
                double took = secs(t0);
                if (!o.offsite()) {
                    throw new IllegalStateException("replication failed: " + o.summary());
                }
                double p = plainUpload(s3, r, full);
                if (round > 0) {
                    ours = Math.min(ours, took);
                    plain = Math.min(plain, p);
                }
                clear(s3, cfg.bucket(), prefix);
            }
            cfg = new RemoteConfig(cfg.endpoint(), cfg.bucket(), "p", cfg.region(), true, cfg.accessKeyId(),
                    cfg.secretAccessKey(), null, cfg.partSize(), cfg.parallelParts(), 0, cfg.partChecksum(), 0, 0, 0, 0);
            new RemoteService(java.time.Clock.systemUTC(), java.time.Duration.ofSeconds(5))
                    .replicate(t.target(), cfg, null, BackupLog.SILENT);
            System.out.printf(Locale.ROOT, "upload   %d MiB: ours %.2f s (%.0f MiB/s), plain SDK multipart %.2f s"
                    + " (%.0f MiB/s), ratio %.2f (goal >= 0.9)%n", bytes >> 20, ours, bytes / ours / (1 << 20), plain,
                    bytes / plain / (1 << 20), plain / ours);
            double restore = timeRestore(cfg, work);
            double baseline = plainDownloadAndMerge(s3, cfg, work);
            System.out.printf(Locale.ROOT, "restore  ours (download, check, merge) %.2f s, plain download + local"
                    + " merge %.2f s, ratio %.2f%n", restore, baseline, restore / baseline);
        }
    }

    private static double plainUpload(S3TestServer s3, RemoteConfig c, Path file) throws Exception {
        // timed from the client's build, as ours is (each replication builds its client)
        long t0 = System.nanoTime();
        try (S3AsyncClient a = S3AsyncClient.builder().endpointOverride(c.endpoint()).forcePathStyle(true)
                .region(Region.of(c.region())).credentialsProvider(creds(c))
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .multipartEnabled(true).multipartConfiguration(m -> m.minimumPartSizeInBytes(c.partSize())
                        .thresholdInBytes(c.partSize()))
                .build()) {
            a.putObject(p -> p.bucket(c.bucket()).key(c.prefix() + "-plain/" + file.getFileName()),
                    AsyncRequestBody.fromFile(file))
                    .join();
            return secs(t0);
        }
    }

    private static double timeRestore(RemoteConfig c, Path work) throws Exception {
        Path out = work.resolve("ours.qcow2");
        long t0 = System.nanoTime();
        new RemoteService(java.time.Clock.systemUTC(), java.time.Duration.ofSeconds(5)).restore(c, "disk1.qcow2",
                work.resolve("ours-dl"), new RestoreRequest(RestoreRequest.Mode.MERGE, Path.of("x"), null, out, false,
                        0, null), BackupLog.SILENT, new Cancellation());
        return secs(t0);
    }

    private static double plainDownloadAndMerge(S3TestServer s3, RemoteConfig c, Path work) throws Exception {
        Path root = work.resolve("plain-dl");
        long t0 = System.nanoTime();
        try (S3Client s = S3Client.builder().endpointOverride(c.endpoint()).forcePathStyle(true)
                .region(Region.of(c.region())).credentialsProvider(creds(c))
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED).build()) {
            List<String> keys = new ArrayList<>();
            s.listObjectsV2Paginator(l -> l.bucket(c.bucket()).prefix("p/")).contents().forEach(o -> keys.add(o.key()));
            for (String key : keys) {
                if (key.endsWith("/") || keys.stream().anyMatch(k -> k.startsWith(key + "/"))) {
                    continue; // the filesystem store lists a folder as an object too
                }
                Path to = root.resolve(key.substring(2));
                Files.createDirectories(to.getParent());
                s.getObject(g -> g.bucket(c.bucket()).key(key), ResponseTransformer.toFile(to));
            }
        }
        RestoreService.standard().restore(new RestoreRequest(RestoreRequest.Mode.MERGE, root.resolve("disk1.qcow2"),
                null, work.resolve("plain.qcow2"), false, 0, null), BackupLog.SILENT, new Cancellation());
        return secs(t0);
    }

    /** Removes a round's objects (ours and the plain upload's), so the store's disk holds one round at a time. */
    private static void clear(S3TestServer s3, String bucket, String prefix) {
        for (String p : new String[] {prefix + "/", prefix + "-plain/"}) {
            for (var m : s3.blobs().list(bucket, org.jclouds.blobstore.options.ListContainerOptions.Builder.prefix(p)
                    .recursive())) {
                if (m.getType() == org.jclouds.blobstore.domain.StorageType.BLOB) {
                    s3.blobs().removeBlob(bucket, m.getName());
                }
            }
        }
    }

    private static StaticCredentialsProvider creds(RemoteConfig c) {
        return StaticCredentialsProvider.create(AwsBasicCredentials.create(c.accessKeyId().value(),
                c.secretAccessKey().value()));
    }

    private static double secs(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }
}
