package io.qmpbackup.engine.repository;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import io.qmpbackup.engine.testing.Coreutils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The chunked checksum against the coreutils one-liner the README gives, at sizes around the chunk edges. */
class ChunkDigestTest {
    private static final int MIB = ChunkDigest.CHUNK;

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(ints = {0, 1, 4096, MIB - 1, MIB, MIB + 1, 3 * MIB + 12_345, 4 * MIB})
    void everyWayOfComputingItEqualsTheOneLiner(int size) throws Exception {
        byte[] data = new byte[size];
        new Random(size).nextBytes(data);
        Path f = Files.write(tmp.resolve("f.bin"), data);
        String expected = Coreutils.chunkSum(f);
        assertThat(Coreutils.chunkSum(f, "openssl dgst -sha256 -r")).as("the README's openssl filter")
                .isEqualTo(expected);

        assertThat(ChunkDigest.of(f)).as("from the file").isEqualTo(expected);

        ChunkDigest odd = new ChunkDigest();
        Random r = new Random(1);
        for (int off = 0; off < size; ) {
            int n = Math.min(size - off, 1 + r.nextInt(300_000));
            if (r.nextBoolean()) {
                odd.update(data, off, n);
            } else {
                odd.update(ByteBuffer.wrap(data, off, n));
            }
            off += n;
        }
        assertThat(odd.hex()).as("fed in odd pieces").isEqualTo(expected);

        List<byte[]> chunks = new ArrayList<>();
        for (int off = 0; off < size; off += MIB) {
            chunks.add(ChunkDigest.chunkHash(ByteBuffer.wrap(data, off, Math.min(MIB, size - off))));
        }
        assertThat(ChunkDigest.ofChunkHashes(chunks)).as("from chunk hashes").isEqualTo(expected);
        assertThat(FileSum.compute(f, FileSum.chunked("x"))).isEqualTo(FileSum.chunked(expected));
    }

    @Test
    void theTwoRecordsKeepTheirKindsApartAndOldOnesStaySha256sumFormat() throws Exception {
        String whole = "a".repeat(64);
        String chunked = FileSum.chunked("b".repeat(64));
        ChecksumRecord.write(tmp, "d.qcow2", Map.of("FULL-1-d.qcow2", whole));
        assertThat(ChecksumRecord.chunksOf(tmp, "d.qcow2")).doesNotExist();
        ChecksumRecord.write(tmp, "d.qcow2", new java.util.LinkedHashMap<>(Map.of("FULL-1-d.qcow2", whole,
                "INC-2-d.qcow2", chunked)));
        assertThat(Files.readString(ChecksumRecord.of(tmp, "d.qcow2"))).isEqualTo(whole + "  FULL-1-d.qcow2\n");
        assertThat(Files.readString(ChecksumRecord.chunksOf(tmp, "d.qcow2")))
                .isEqualTo("b".repeat(64) + "  INC-2-d.qcow2\n");
        assertThat(ChecksumRecord.read(tmp, "d.qcow2")).containsEntry("FULL-1-d.qcow2", whole)
                .containsEntry("INC-2-d.qcow2", chunked);
        assertThat(ChecksumRecord.isRecord(ChecksumRecord.chunksOf(tmp, "d.qcow2").getFileName().toString())).isTrue();

        ChecksumRecord.write(tmp, "d.qcow2", Map.of("INC-2-d.qcow2", chunked));
        assertThat(ChecksumRecord.of(tmp, "d.qcow2")).as("no whole-file entries left").doesNotExist();
    }
}
