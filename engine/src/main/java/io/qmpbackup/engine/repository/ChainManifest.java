package io.qmpbackup.engine.repository;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.qmpbackup.engine.qmp.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The chain manifest kept beside a disk's backup folder ({@code <image-basename>.chain.json}),
 * not inside it, so qmpbackup's own restore still reads the folder. It makes a chain
 * self-describing: order, level, bitmap, sizes and a checksum per file. Restore takes chain
 * order from here (or from the epoch in the names), never from file modification times.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public final class ChainManifest {
    public static final int FORMAT = 1;

    public int format = FORMAT;
    /** Chain id: the content of the {@code uuid} file and the suffix of the bitmap name. */
    public String chain;
    /** Image file name of the disk (the folder name). */
    public String disk;
    /** Folder holding the files, relative to the manifest ({@code "."} with --no-subdir). */
    public String folder;
    public String sourceFormat;
    public long virtualSize;
    public List<Entry> entries = new ArrayList<>();
    /**
     * Backups retention removed, oldest first. Written before their files are deleted, so a prune
     * cut short (crash, SIGKILL) is finished by the next one: a listed file still on disk is deleted.
     */
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public List<Pruned> pruned = new ArrayList<>();

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static final class Pruned {
        public String file;
        public String level;
        public long epoch;
        public long fileSize;
        public String prunedAt;
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonIgnoreProperties(ignoreUnknown = true)
    public static final class Entry {
        /** 1, 2, 3... in the order the backups were taken. */
        public int sequence;
        /** full, inc or copy. */
        public String level;
        public String file;
        public long epoch;
        /** Dirty bitmap the INC was read from; the bitmap that tracks changes after a FULL. */
        public String bitmap;
        /**
         * File this one builds on (INC only). Not written into the file's qcow2 header (qmpbackup
         * 0.67's restore could not follow it from a copy): this is where the link is kept.
         */
        public String backingFile;
        public String device;
        public String nodeName;
        public long virtualSize;
        /** Bytes of the backup file on disk. */
        public long fileSize;
        /** Bytes the backup job copied. */
        public long bytesCopied;
        /** SHA-256 of the whole file (backups taken with a read-back). */
        public String sha256;
        /** {@link ChunkDigest} of the file (backups hashed on the way), hex; at most one of the two is set. */
        public String chunkSha256;
        public boolean quiesced;
        public String startedAt;
        public String completedAt;

        /** The recorded value ({@link FileSum}), of either kind; null when none was recorded. */
        public String recorded() {
            return chunkSha256 != null ? FileSum.chunked(chunkSha256) : sha256;
        }

        /** Sets the recorded value ({@link FileSum}) into the field of its kind. */
        public void record(String value) {
            boolean chunked = value != null && FileSum.isChunked(value);
            sha256 = chunked ? null : value;
            chunkSha256 = chunked ? FileSum.hex(value) : null;
        }
    }

    public static Optional<ChainManifest> read(Path path) throws IOException {
        if (!Files.exists(path)) {
            return Optional.empty();
        }
        try {
            return Optional.of(Json.MAPPER.readValue(path.toFile(), ChainManifest.class));
        } catch (IOException e) {
            throw new IOException("chain manifest " + path + " is unreadable (" + e.getMessage()
                    + "); move it away to let the next backup start a new chain", e);
        }
    }

    /**
     * Writes the manifest, and first the integrity record inside the disk's folder
     * ({@link ChecksumRecord}) from the same entries: the two never say different things for long,
     * and a file listed in the record but no longer in the manifest (pruned) is not read as part
     * of the chain.
     */
    public void write(Path path) throws IOException {
        if (disk != null) {
            Map<String, String> sums = new LinkedHashMap<>();
            for (Entry e : entries) {
                if (e.recorded() != null) {
                    sums.put(e.file, e.recorded());
                }
            }
            Path dir = path.toAbsolutePath().getParent().resolve(folder == null ? "." : folder).normalize();
            if (Files.isDirectory(dir)) {
                ChecksumRecord.write(dir, disk, sums);
            }
        }
        AtomicFiles.write(path, Json.MAPPER.writer(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(this));
    }

    /** Numbers the entries 1, 2, 3... again after some were removed. */
    public void renumber() {
        for (int i = 0; i < entries.size(); i++) {
            entries.get(i).sequence = i + 1;
        }
    }

    public Optional<Entry> last() {
        return entries.isEmpty() ? Optional.empty() : Optional.of(entries.get(entries.size() - 1));
    }

    /** The newest FULL and everything after it: what a restore of the latest state needs. */
    public List<Entry> currentChain() {
        int start = -1;
        for (int i = 0; i < entries.size(); i++) {
            if ("full".equals(entries.get(i).level)) {
                start = i;
            }
        }
        return start < 0 ? List.of() : List.copyOf(entries.subList(start, entries.size()));
    }
}
