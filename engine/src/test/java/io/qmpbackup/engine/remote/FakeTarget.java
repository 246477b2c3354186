package io.qmpbackup.engine.remote;

import io.qmpbackup.engine.repository.ChainManifest;
import io.qmpbackup.engine.repository.ChunkDigest;
import io.qmpbackup.engine.repository.FileSum;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * A backup target laid out as qmpbackup writes one (manifest, integrity record, uuid, config,
 * backup files of random bytes), for the remote's tests that need no VM: replication and
 * download handle the files as opaque, checksummed data.
 */
final class FakeTarget {
    static final String DISK = "disk1.qcow2";
    private final Path target;
    private ChainManifest manifest = new ChainManifest();
    private final Random random = new Random(16);
    /** Record new files with a chunked checksum (as the backup's sink does) instead of a whole-file SHA-256. */
    boolean chunked;

    FakeTarget(Path target) throws IOException {
        this.target = Files.createDirectories(target);
        Files.createDirectories(target.resolve(DISK));
        manifest.chain = "c0ffee";
        manifest.disk = DISK;
        manifest.folder = DISK;
        manifest.sourceFormat = "qcow2";
        Files.writeString(target.resolve("uuid"), "c0ffee\n");
        Files.writeString(target.resolve(DISK + ".config"), "{\"virtual-size\": 1}\n");
    }

    Path target() {
        return target;
    }

    Path folder() {
        return target.resolve(DISK);
    }

    Path manifestFile() {
        return target.resolve(DISK + ".chain.json");
    }

    /** Adds a backup of {@code size} random bytes taken at {@code epoch}; returns its file. */
    Path add(String level, long epoch, int size) throws IOException {
        byte[] b = new byte[size];
        random.nextBytes(b);
        Path f = folder().resolve(name(level, epoch));
        Files.write(f, b);
        return record(level, epoch, f);
    }

    /** Adds a copy of {@code image} (a real qcow2, for a restore) as a backup taken at {@code epoch}. */
    Path addCopy(String level, long epoch, Path image) throws IOException {
        Path f = folder().resolve(name(level, epoch));
        Files.copy(image, f);
        return record(level, epoch, f);
    }

    /** Rewrites a backup file in place with other bytes, and its record with them (as qmprestore commit does). */
    void rewrite(Path f) throws IOException {
        byte[] b = new byte[(int) Files.size(f)];
        random.nextBytes(b);
        Files.write(f, b);
        manifest = ChainManifest.read(manifestFile()).orElse(manifest);
        for (ChainManifest.Entry e : manifest.entries) {
            if (e.file.equals(f.getFileName().toString())) {
                e.record(chunked ? FileSum.chunked(ChunkDigest.of(f)) : TargetFiles.sha256(f));
            }
        }
        manifest.write(manifestFile());
    }

    private static String name(String level, long epoch) {
        return level.toUpperCase(java.util.Locale.ROOT) + "-" + epoch + "-" + DISK;
    }

    private Path record(String level, long epoch, Path f) throws IOException {
        // read back: a prune in between rewrote it
        manifest = ChainManifest.read(manifestFile()).orElse(manifest);
        String name = f.getFileName().toString();
        long size = Files.size(f);
        ChainManifest.Entry e = new ChainManifest.Entry();
        e.level = level;
        e.file = name;
        e.epoch = epoch;
        e.fileSize = size;
        e.record(chunked ? FileSum.chunked(ChunkDigest.of(f)) : TargetFiles.sha256(f));
        if (level.equals("inc")) {
            e.backingFile = manifest.entries.get(manifest.entries.size() - 1).file;
        }
        manifest.entries.add(e);
        manifest.renumber();
        manifest.write(manifestFile());
        return f;
    }

    static String read(Path p) throws IOException {
        return Files.readString(p, StandardCharsets.UTF_8);
    }
}
