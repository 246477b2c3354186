package io.qmpbackup.engine.testing;

import io.qmpbackup.engine.qmp.QmpClient;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Keeps writing random patterns at random offsets through the guest devices, over its own QMP
 * connection, until stopped: the busy guest that fleecing must get right.
 */
public final class GuestWriter implements AutoCloseable {
    private final QmpClient qmp;
    private final List<TestVm.DiskSpec> disks;
    private final long diskSize;
    private final Thread thread;
    private final AtomicLong writes = new AtomicLong();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile boolean running = true;

    public GuestWriter(QmpClient qmp, List<TestVm.DiskSpec> disks, long diskSize, long seed) {
        this.qmp = qmp;
        this.disks = disks;
        this.diskSize = diskSize;
        Random random = new Random(seed);
        this.thread = new Thread(() -> loop(random), "guest-writer");
        this.thread.start();
    }

    private void loop(Random random) {
        try {
            while (running) {
                TestVm.DiskSpec d = disks.get(random.nextInt(disks.size()));
                long len = 512L * (1 + random.nextInt(256));
                long off = 512L * random.nextInt((int) ((diskSize - len) / 512));
                int pattern = 1 + random.nextInt(255);
                String out = qmp.hmp("qemu-io -d " + d.qdevPath() + " \"write -P " + pattern + " " + off + " " + len
                        + "\"");
                if (out.contains("error") || out.contains("failed")) {
                    throw new IllegalStateException("guest write failed: " + out);
                }
                writes.incrementAndGet();
            }
        } catch (Throwable t) {
            failure.set(t);
        }
    }

    public long writes() {
        return writes.get();
    }

    /** Stops writing; throws if any write failed (a backup must never break the guest's I/O). */
    @Override
    public void close() throws Exception {
        running = false;
        thread.join(Duration.ofSeconds(30).toMillis());
        if (failure.get() != null) {
            throw new AssertionError("guest writer failed", failure.get());
        }
    }
}
