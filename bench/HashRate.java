import io.qmpbackup.engine.repository.ChunkDigest;
import java.nio.ByteBuffer;
import java.util.Random;

/**
 * What the integrity record alone costs: the engine's own ChunkDigest (the per-chunk SHA-256 a
 * backup computes as its bytes pass) over MIB MiB from a 1 MiB direct buffer, on one thread, with
 * nothing else to do. Run as a single source file (java -cp engine.jar:lib/* bench/HashRate.java
 * MIB); prints the milliseconds of the timed pass, after an untimed 256 MiB so that the JIT has
 * compiled the SHA-256 intrinsic: this is the steady rate, a floor for a backup's hashing thread.
 */
public final class HashRate {
    private HashRate() {
    }

    public static void main(String[] args) {
        long mib = Long.parseLong(args[0]);
        byte[] random = new byte[ChunkDigest.CHUNK];
        new Random(13).nextBytes(random);
        ByteBuffer data = ByteBuffer.allocateDirect(ChunkDigest.CHUNK).put(random).flip();
        hash(data, 256);
        long t0 = System.nanoTime();
        String hex = hash(data, mib);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        if (hex.length() != 64) {
            throw new IllegalStateException("not a SHA-256 value: " + hex);
        }
        System.out.println(ms);
    }

    private static String hash(ByteBuffer data, long mib) {
        ChunkDigest d = new ChunkDigest();
        for (long i = 0; i < mib; i++) {
            d.update(data.duplicate());
        }
        return d.hex();
    }
}
