package io.qmpbackup.engine.repository;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The integrity record that travels with a disk's folder: {@code SHA256SUMS-<image>.config}
 * inside it, one line per backup file in the format {@code sha256sum} writes and checks
 * ({@code <hex>  <file name>}), so {@code cd <folder> && sha256sum -c SHA256SUMS-<image>.config}
 * checks a copied folder with standard tools, and {@code qmprestore verify} finds the checksums
 * even where the chain manifest (beside the folder) stayed behind. The name ends in
 * {@code .config} because qmpbackup 0.67's own restore reads every other file of the folder as
 * an image. Written from the chain manifest, whenever the manifest is written.
 *
 * <p>Files whose value is a {@link ChunkDigest} (taken without reading the file back, see
 * {@code sink.NbdSink}) are listed in {@code SHA256CHUNKS-<image>.config} instead, same line
 * format; each is checked with
 * {@code split -b 1M --filter=sha256sum FILE | cut -c1-64 | sha256sum}. A folder holds either or
 * both (an old chain that newer backups extend).
 */
public final class ChecksumRecord {
    private static final String PREFIX = "SHA256SUMS-";
    private static final String SUFFIX = ".config";
    /** Its sibling for {@link ChunkDigest} values: a distinct name, so no one checks them with sha256sum -c. */
    private static final String CHUNKS_PREFIX = "SHA256CHUNKS-";

    private ChecksumRecord() {
    }

    /** The record of {@code image}'s backups in {@code folder}. */
    public static Path of(Path folder, String image) {
        return folder.resolve(PREFIX + image + SUFFIX);
    }

    /** True for a record's file name (of any disk). */
    public static boolean isRecord(String fileName) {
        return (fileName.startsWith(PREFIX) || fileName.startsWith(CHUNKS_PREFIX)) && fileName.endsWith(SUFFIX);
    }

    /** Writes the record atomically: the checksum of each file that has one, in chain order. */
    static void write(Path folder, String image, Map<String, String> sha256ByFile) throws IOException {
        Map<String, String> whole = new LinkedHashMap<>();
        Map<String, String> chunked = new LinkedHashMap<>();
        sha256ByFile.forEach((name, sum) -> {
            if (FileSum.isChunked(sum)) {
                chunked.put(name, FileSum.hex(sum));
            } else {
                whole.put(name, sum);
            }
        });
        // one file per kind, each holding only its own: sha256sum -c stays right for the old one
        writeOrRemove(of(folder, image), whole, chunked.isEmpty());
        writeOrRemove(chunksOf(folder, image), chunked, false);
    }

    private static void writeOrRemove(Path file, Map<String, String> sums, boolean keepEmpty) throws IOException {
        if (sums.isEmpty() && !keepEmpty) {
            Files.deleteIfExists(file);
        } else {
            writeSums(file, sums);
        }
    }

    /** The chunked record of {@code image}'s backups in {@code folder} ({@link ChunkDigest} values). */
    public static Path chunksOf(Path folder, String image) {
        return folder.resolve(CHUNKS_PREFIX + image + SUFFIX);
    }

    /**
     * File name to recorded value ({@link FileSum}: chunked ones tagged), from both records;
     * empty when the folder holds no record for {@code image}.
     */
    public static Map<String, String> read(Path folder, String image) throws IOException {
        Map<String, String> out = readSums(of(folder, image));
        out.putAll(readSums(chunksOf(folder, image)));
        return out;
    }

    /** Writes {@code file} atomically in sha256sum's format, {@code <hex>  <name>} per line, in the map's order. */
    public static void writeSums(Path file, Map<String, String> sha256ByFile) throws IOException {
        StringBuilder b = new StringBuilder();
        sha256ByFile.forEach((name, sum) -> b.append(sum).append("  ").append(name).append('\n'));
        AtomicFiles.write(file, b.toString().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * A file in sha256sum's format: name to value, in its order (tagged {@link FileSum#chunked} when
     * the file is a chunked record); empty when there is no such file.
     */
    public static Map<String, String> readSums(Path p) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        boolean chunked = p.getFileName().toString().startsWith(CHUNKS_PREFIX);
        if (!Files.exists(p)) {
            return out;
        }
        for (String line : Files.readAllLines(p, StandardCharsets.UTF_8)) {
            // sha256sum's format: 64 hex digits, a space, a space (text) or '*' (binary), the name
            if (line.length() > 66 && line.substring(0, 64).matches("[0-9a-f]{64}")) {
                String hex = line.substring(0, 64);
                out.put(line.substring(66), chunked ? FileSum.chunked(hex) : hex);
            } else if (!line.isBlank()) {
                throw new IOException("checksum file " + p + " has a line that is not '<sha256>  <file>': "
                        + line + " (restore it from a copy, or move it away and verify with --structure-only)");
            }
        }
        return out;
    }
}
