package io.qmpbackup.engine.remote;

/**
 * The bandwidth limit, shared by every part in flight: each part reserves its bytes before it is
 * sent and waits until the average rate allows them. Parts are sent at full speed once their
 * turn comes, so the rate holds on average, over a part's time.
 */
final class RateLimit {
    private final long bytesPerSecond;
    private long next = System.nanoTime();

    RateLimit(long bytesPerSecond) {
        this.bytesPerSecond = bytesPerSecond;
    }

    void acquire(long bytes) throws InterruptedException {
        if (bytesPerSecond <= 0) {
            return;
        }
        long at;
        synchronized (this) {
            long now = System.nanoTime();
            next = Math.max(next, now);
            at = next;
            next += (long) (bytes * 1e9 / bytesPerSecond);
        }
        long wait = at - System.nanoTime();
        if (wait > 0) {
            Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
        }
    }
}
