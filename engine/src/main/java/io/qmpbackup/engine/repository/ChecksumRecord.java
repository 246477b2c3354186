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
 */
public final class ChecksumRecord {
    private static final String PREFIX = "SHA256SUMS-";
    private static final String SUFFIX = ".config";

    private ChecksumRecord() {
    }

    /** The record of {@code image}'s backups in {@code folder}. */
    public static Path of(Path folder, String image) {
        return folder.resolve(PREFIX + image + SUFFIX);
    }

    /** True for a record's file name (of any disk). */
    public static boolean isRecord(String fileName) {
        return fileName.startsWith(PREFIX) && fileName.endsWith(SUFFIX);
    }

    /** Writes the record atomically: the checksum of each file that has one, in chain order. */
    static void write(Path folder, String image, Map<String, String> sha256ByFile) throws IOException {
        writeSums(of(folder, image), sha256ByFile);
    }

    /** File name to SHA-256, as recorded; empty when the folder holds no record for {@code image}. */
    public static Map<String, String> read(Path folder, String image) throws IOException {
        return readSums(of(folder, image));
    }

    /** Writes {@code file} atomically in sha256sum's format, {@code <hex>  <name>} per line, in the map's order. */
    public static void writeSums(Path file, Map<String, String> sha256ByFile) throws IOException {
        StringBuilder b = new StringBuilder();
        sha256ByFile.forEach((name, sum) -> b.append(sum).append("  ").append(name).append('\n'));
        AtomicFiles.write(file, b.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** A file in sha256sum's format: name to SHA-256, in its order; empty when there is no such file. */
    public static Map<String, String> readSums(Path p) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        if (!Files.exists(p)) {
            return out;
        }
        for (String line : Files.readAllLines(p, StandardCharsets.UTF_8)) {
            // sha256sum's format: 64 hex digits, a space, a space (text) or '*' (binary), the name
            if (line.length() > 66 && line.substring(0, 64).matches("[0-9a-f]{64}")) {
                out.put(line.substring(66), line.substring(0, 64));
            } else if (!line.isBlank()) {
                throw new IOException("checksum file " + p + " has a line that is not '<sha256>  <file>': "
                        + line + " (restore it from a copy, or move it away and verify with --structure-only)");
            }
        }
        return out;
    }
}
