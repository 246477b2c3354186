package io.qmpbackup.engine.remote;

import io.qmpbackup.engine.repository.ChainDirectory;
import io.qmpbackup.engine.repository.ChecksumRecord;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The files of a backup target that go off-site, each with its path relative to the target (its
 * object key under the prefix) and its SHA-256: from the disk folder's integrity record for
 * backup files, computed for the rest. Left out: hidden files (the target lock, holds, fleece
 * images), unfinished {@code *.partial} files and symbolic links (--no-timestamp's
 * FULL-/COPY- names, which restore does not need).
 */
public final class TargetFiles {
    private TargetFiles() {
    }

    /**
     * One file.
     *
     * @param record chain records (manifest, integrity record, uuid, configs, vm.json): uploaded after
     *     the data they describe
     */
    public record LocalFile(Path path, String relative, long size, String sha256, boolean record) {
    }

    /** True for the records that describe a chain, as opposed to the data they describe. */
    public static boolean isRecord(String relative) {
        String name = relative.substring(relative.lastIndexOf('/') + 1);
        return name.endsWith(".chain.json") || ChecksumRecord.isRecord(name) || name.equals(ChainDirectory.UUID_FILE)
                || name.endsWith(".config") || name.equals("vm.json");
    }

    public static boolean isManifest(String relative) {
        return relative.endsWith(".chain.json");
    }

    public static boolean isChecksumRecord(String relative) {
        return ChecksumRecord.isRecord(relative.substring(relative.lastIndexOf('/') + 1));
    }

    /** Every file of the target that goes off-site, data first. */
    public static List<LocalFile> scan(Path target) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(target)) {
            files = s.filter(Files::isRegularFile).filter(p -> !Files.isSymbolicLink(p))
                    .filter(p -> included(target.relativize(p))).sorted().toList();
        }
        Map<Path, Map<String, String>> records = new HashMap<>();
        List<LocalFile> data = new ArrayList<>();
        List<LocalFile> recs = new ArrayList<>();
        for (Path p : files) {
            String rel = target.relativize(p).toString().replace('\\', '/');
            boolean record = isRecord(rel);
            String sha = record ? null : recorded(records, p);
            LocalFile f = new LocalFile(p, rel, Files.size(p), sha != null ? sha : sha256(p), record);
            (record ? recs : data).add(f);
        }
        data.addAll(recs);
        return data;
    }

    private static boolean included(Path relative) {
        for (Path part : relative) {
            String n = part.toString();
            if (n.startsWith(".") || n.endsWith(ChainDirectory.PARTIAL_SUFFIX)) {
                return false;
            }
        }
        return true;
    }

    /** The file's SHA-256 from the integrity records in its folder, or null when none lists it. */
    private static String recorded(Map<Path, Map<String, String>> cache, Path file) throws IOException {
        Path dir = file.getParent();
        Map<String, String> sums = cache.get(dir);
        if (sums == null) {
            sums = new HashMap<>();
            try (Stream<Path> s = Files.list(dir)) {
                for (Path r : s.filter(p -> ChecksumRecord.isRecord(p.getFileName().toString())).toList()) {
                    sums.putAll(ChecksumRecord.readSums(r));
                }
            }
            cache.put(dir, sums);
        }
        return sums.get(file.getFileName().toString());
    }

    public static String sha256(Path p) throws IOException {
        MessageDigest d = ObjectUpload.sha("SHA-256");
        byte[] buf = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(p)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                d.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(d.digest());
    }
}
