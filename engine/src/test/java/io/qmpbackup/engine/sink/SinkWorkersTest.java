package io.qmpbackup.engine.sink;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Work handed on after a reply (hashing) is pending until it has run, so the sink's finish waits
 * for it; a throwing task fails the sink; work handed on while closing is dropped, never lost
 * silently in the count.
 */
class SinkWorkersTest {
    private final Object state = new Object();
    private final List<Throwable> failures = new CopyOnWriteArrayList<>();
    private final SinkWorkers workers = new SinkWorkers("t", state, failures::add);

    private int pending() {
        synchronized (state) {
            return workers.pending();
        }
    }

    @Test
    void workHandedOnIsPendingUntilItRan() throws Exception {
        CountDownLatch gate = new CountDownLatch(1);
        AtomicInteger ran = new AtomicInteger();
        workers.afterward(() -> {
            await(gate);
            ran.incrementAndGet();
        }, () -> { });
        workers.afterward(ran::incrementAndGet, () -> { });
        assertThat(pending()).isEqualTo(2);
        gate.countDown();
        workers.awaitIdle();
        assertThat(ran).hasValue(2);
        assertThat(pending()).isZero();
        assertThat(failures).isEmpty();
        workers.shutdown();
    }

    @Test
    void aThrowingTaskFailsTheSinkAndIsCountedDone() throws Exception {
        workers.afterward(() -> {
            throw new IllegalStateException("hash broke");
        }, () -> { });
        workers.awaitIdle();
        assertThat(pending()).isZero();
        assertThat(failures).singleElement().extracting(Throwable::getMessage).isEqualTo("hash broke");
        workers.shutdown();
    }

    @Test
    void workHandedOnWhileClosingIsDroppedAndNotCounted() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch never = new CountDownLatch(1);
        AtomicInteger dropped = new AtomicInteger();
        workers.afterward(() -> {
            started.countDown();
            await(never); // interrupted by the shutdown
        }, dropped::incrementAndGet);
        workers.afterward(() -> { }, dropped::incrementAndGet); // queued behind it: never run
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
        workers.shutdown();
        workers.afterward(() -> { }, dropped::incrementAndGet); // after the close: rejected
        assertThat(dropped).hasValue(1);
        assertThat(pending()).isZero();
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
