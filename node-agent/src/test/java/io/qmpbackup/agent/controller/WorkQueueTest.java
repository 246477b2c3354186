package io.qmpbackup.agent.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMRestore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class WorkQueueTest {
    private static final WorkKey A = new WorkKey("VMBackup", "vms", "a");
    private static final WorkKey B = new WorkKey("VMBackup", "vms", "b");
    private static final WorkKey C = new WorkKey("VMRestore", "vms", "a");

    @Test
    void aKeyQueuedTwiceBeforeItIsTakenIsTakenOnce() throws Exception {
        WorkQueue<WorkKey> q = new WorkQueue<>();
        assertThat(q.add(A)).isTrue();
        assertThat(q.add(B)).isTrue();
        assertThat(q.add(A)).as("already waiting").isFalse();
        assertThat(q.size()).isEqualTo(2);
        assertThat(q.take()).isEqualTo(A);
        assertThat(q.take()).isEqualTo(B);
        assertThat(q.size()).isZero();
    }

    @Test
    void keysComeOutInTheOrderTheyFirstWentIn() throws Exception {
        WorkQueue<WorkKey> q = new WorkQueue<>();
        for (WorkKey k : List.of(B, C, A, C, B, A)) {
            q.add(k);
        }
        assertThat(List.of(q.take(), q.take(), q.take())).containsExactly(B, C, A);
        assertThat(q.size()).isZero();
    }

    @Test
    void aKeyQueuedAfterItWasTakenIsTakenAgain() throws Exception {
        WorkQueue<WorkKey> q = new WorkQueue<>();
        q.add(A);
        assertThat(q.take()).isEqualTo(A);
        assertThat(q.add(A)).as("its object changed since it was taken").isTrue();
        assertThat(q.take()).isEqualTo(A);
    }

    @Test
    void sameNameOfAnotherKindOrNamespaceIsAnotherKey() {
        WorkQueue<WorkKey> q = new WorkQueue<>();
        q.add(A);
        q.add(C);
        q.add(new WorkKey("VMBackup", "other", "a"));
        assertThat(q.size()).isEqualTo(3);
    }

    @Test
    void takeWaitsForAKey() throws Exception {
        WorkQueue<WorkKey> q = new WorkQueue<>();
        ExecutorService taker = Executors.newSingleThreadExecutor();
        try {
            CompletableFuture<WorkKey> taken = CompletableFuture.supplyAsync(() -> {
                try {
                    return q.take();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }, taker);
            await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(2)).until(() -> !taken.isDone());
            q.add(B);
            await().atMost(Duration.ofSeconds(5)).until(taken::isDone);
            assertThat(taken.get()).isEqualTo(B);
            assertThat(q.size()).isZero();
        } finally {
            taker.shutdownNow();
        }
    }

    @Test
    void interruptingAWaitingTakeEndsIt() {
        WorkQueue<WorkKey> q = new WorkQueue<>();
        AtomicReference<Throwable> ended = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                q.take();
            } catch (InterruptedException | RuntimeException e) {
                ended.set(e);
            }
        });
        t.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> t.getState() == Thread.State.WAITING);
        t.interrupt();
        await().atMost(Duration.ofSeconds(5)).until(() -> !t.isAlive());
        assertThat(ended.get()).isInstanceOf(InterruptedException.class);
    }

    @Test
    void manyThreadsQueueingTheSameKeysLeaveEachKeyOnce() throws Exception {
        WorkQueue<WorkKey> q = new WorkQueue<>();
        List<WorkKey> keys = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            keys.add(new WorkKey("VMBackup", "fleet", "vm-" + i));
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<Void>> adders = new ArrayList<>();
        try {
            for (int t = 0; t < 8; t++) {
                adders.add(CompletableFuture.runAsync(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                    keys.forEach(q::add);
                }, pool));
            }
            go.countDown();
            CompletableFuture.allOf(adders.toArray(CompletableFuture[]::new)).get();
        } finally {
            pool.shutdownNow();
        }
        assertThat(q.size()).isEqualTo(keys.size());
        List<WorkKey> taken = new ArrayList<>();
        while (q.size() > 0) {
            taken.add(q.take());
        }
        assertThat(taken).containsExactlyInAnyOrderElementsOf(keys);
    }

    @Test
    void keysAreKindNamespaceName() {
        VMBackup b = new VMBackup();
        b.setMetadata(new ObjectMetaBuilder().withNamespace("vms").withName("web1-full").build());
        VMRestore r = new VMRestore();
        r.setMetadata(new ObjectMetaBuilder().withNamespace("vms").withName("web1-full").build());
        assertThat(WorkKey.of(b)).hasToString("VMBackup/vms/web1-full");
        assertThat(WorkKey.of(b).cacheKey()).isEqualTo("vms/web1-full");
        assertThat(WorkKey.of(b).id()).isEqualTo("VMBackup(vms/web1-full)");
        assertThat(WorkKey.of(r)).isNotEqualTo(WorkKey.of(b)).hasToString("VMRestore/vms/web1-full");
    }
}
