package io.qmpbackup.engine.sink;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpbackup.engine.repository.ChunkDigest;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The ledger's value is the file's ChunkDigest whatever the order, overlaps and gaps of the writes. */
class ChunkLedgerTest {
    private static final int MIB = ChunkLedger.CHUNK;

    /** A file in memory that the ledger is told about as it is written. */
    private static final class File {
        final byte[] bytes;
        final ChunkLedger ledger = new ChunkLedger();

        File(int size) {
            bytes = new byte[size];
        }

        void write(int offset, byte[] data) {
            System.arraycopy(data, 0, bytes, offset, data.length);
            ledger.wrote(offset, ByteBuffer.wrap(data));
        }

        String value() throws Exception {
            return ledger.finish(bytes.length, (off, into) -> into.put(bytes, (int) off, into.remaining()));
        }

        String expected() {
            ChunkDigest d = new ChunkDigest();
            d.update(bytes, 0, bytes.length);
            return d.hex();
        }
    }

    private static byte[] random(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    @Test
    void shuffledClustersAreHashedFromMemoryAndOverwrittenChunksReadBack() throws Exception {
        Random r = new Random(7);
        int size = 40 * MIB + 12_345;
        File f = new File(size);
        List<Integer> clusters = new ArrayList<>();
        for (int off = 0; off + 65536 <= size; off += 65536) {
            clusters.add(off);
        }
        Collections.shuffle(clusters.subList(0, 320), r); // 20 MiB in any order within the window
        for (int off : clusters) {
            f.write(off, random(r, 65536));
        }
        f.write(40 * MIB, random(r, 12_345)); // the short last chunk, covered whole
        f.write(5 * MIB + 100, random(r, 10)); // metadata-like rewrites
        f.write(17 * MIB - 3, random(r, 6)); // across a chunk boundary
        assertThat(f.value()).isEqualTo(f.expected());
        assertThat(f.ledger.fromMemory()).isEqualTo(40 - 3);
    }

    /**
     * The ledger is not told in the file's order: a write-zeroes is hashed at once, a write after
     * its reply. A chunk evicted between the two must be read back, not completed from what it
     * was told later (the stale bytes of the write the zeroes replaced).
     */
    @Test
    void aChunkEvictedOnceIsReadBackWhateverItIsToldLater() throws Exception {
        Random r = new Random(9);
        File f = new File((ChunkLedger.MAX_PENDING + 2) * MIB);
        byte[] stale = random(r, MIB / 2);
        f.write(0, new byte[MIB / 2]); // the zeroes, on disk last, told first
        for (int c = 1; c <= ChunkLedger.MAX_PENDING; c++) {
            f.write(c * MIB, random(r, 4096)); // enough open chunks to evict chunk 0
        }
        f.ledger.wrote(0, ByteBuffer.wrap(stale)); // the write the zeroes replaced, told late
        f.write(MIB / 2, random(r, MIB / 2));
        assertThat(f.value()).isEqualTo(f.expected());
    }

    @Test
    void gapsAndTooManyOpenChunksAreReadBackNotGuessed() throws Exception {
        Random r = new Random(8);
        int chunks = ChunkLedger.MAX_PENDING + 20;
        File f = new File(chunks * MIB);
        for (int c = 0; c < chunks; c++) {
            f.write(c * MIB, random(r, MIB / 2)); // every chunk half written: all open at once
        }
        for (int c = 0; c < chunks; c++) {
            f.write(c * MIB + MIB / 2, random(r, MIB / 2));
        }
        assertThat(f.value()).isEqualTo(f.expected());
        assertThat(f.ledger.fromMemory()).as("the evicted ones are read back").isLessThan(chunks);

        File holes = new File(3 * MIB);
        holes.write(MIB, random(r, 4096));
        assertThat(holes.value()).isEqualTo(holes.expected());
        assertThat(holes.ledger.fromMemory()).isZero();
    }

    /** In order, the pieces go straight into their chunks' digests: nothing is held, nothing read back. */
    @Test
    void inOrderWritesAreHashedWithoutACopy() throws Exception {
        Random r = new Random(11);
        File f = new File(6 * MIB);
        for (int off = 0; off < 6 * MIB; off += 192 * 1024) {
            f.write(off, random(r, 192 * 1024)); // pieces that cross chunk edges
        }
        assertThat(f.value()).isEqualTo(f.expected());
        assertThat(f.ledger.fromMemory()).isEqualTo(6);
        assertThat(f.ledger.heldBytes()).isZero();
    }

    /**
     * Many random write sequences: runs in order, pieces swapped within a window (as parallel
     * workers finish them), rewrites, gaps, sizes that are not cluster multiples, and a file whose
     * last chunk is short. Whatever the ledger keeps or reads back, its value is the file's.
     */
    @Test
    void anyOrderOfAnyWritesGivesTheFilesValue() throws Exception {
        for (int seed = 0; seed < 300; seed++) {
            Random r = new Random(seed);
            int size = (1 + r.nextInt(5)) * MIB + (r.nextBoolean() ? r.nextInt(MIB) : 0);
            File f = new File(size);
            List<int[]> pieces = new ArrayList<>();
            int piece = 4096 << r.nextInt(6);
            for (int off = 0; off < size; off += piece) {
                if (r.nextInt(20) != 0) { // a few holes
                    pieces.add(new int[] {off, Math.min(piece, size - off)});
                }
            }
            int window = 1 + r.nextInt(8);
            for (int i = 0; i + 1 < pieces.size(); i++) {
                if (r.nextInt(3) == 0) {
                    Collections.swap(pieces, i, Math.min(pieces.size() - 1, i + r.nextInt(window)));
                }
            }
            for (int rewrite = r.nextInt(4); rewrite > 0; rewrite--) {
                int len = 1 + r.nextInt(70_000);
                pieces.add(r.nextInt(pieces.size() + 1), new int[] {r.nextInt(size - len + 1), len});
            }
            for (int[] p : pieces) {
                f.write(p[0], random(r, p[1]));
            }
            assertThat(f.value()).as("seed %d", seed).isEqualTo(f.expected());
        }
    }
}
