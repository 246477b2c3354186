package io.qmpbackup.operator.schedule;

import io.fabric8.kubernetes.client.KubernetesClientException;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.operator.OperatorConfig;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

/**
 * Creates the VMBackups of a firing schedule in parallel: a fleet fires at once, and a thousand
 * creates one after another would take the tick's whole minute. All schedules share one pool of
 * a fixed size, so neither threads nor API server load grow with the number of schedules firing.
 */
@ApplicationScoped
public class FleetLauncher {
    private final int threads;
    private final ExecutorService executor;

    @Inject
    public FleetLauncher(OperatorConfig config) {
        this(config.scheduleCreateThreads());
    }

    FleetLauncher(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("qmpbackup.operator.schedule-create-threads is " + threads
                    + ": give at least 1");
        }
        this.threads = threads;
        AtomicInteger n = new AtomicInteger();
        this.executor = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "schedule-create-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Creates each backup through {@code create} and returns those it created, by name. One that
     * already exists (409: a retried reconcile of the same due time) is skipped; any other failure
     * is thrown once every other create has run, so one bad VM does not stop the rest of the fleet.
     */
    public List<VMBackup> createAll(List<VMBackup> backups, UnaryOperator<VMBackup> create) {
        Queue<VMBackup> todo = new ConcurrentLinkedQueue<>(backups);
        Queue<VMBackup> created = new ConcurrentLinkedQueue<>();
        // a few workers draining one queue, rather than a task per VM: the pool's queue holds at most
        // `threads` entries per firing schedule however large its fleet
        List<Future<?>> workers = new ArrayList<>();
        for (int i = 0; i < Math.min(threads, backups.size()); i++) {
            workers.add(executor.submit(() -> drain(todo, created, create)));
        }
        RuntimeException failure = null;
        for (Future<?> w : workers) {
            try {
                w.get();
            } catch (InterruptedException e) {
                workers.forEach(f -> f.cancel(true));
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while creating a schedule's VMBackups", e);
            } catch (ExecutionException e) {
                RuntimeException cause = e.getCause() instanceof RuntimeException re ? re
                        : new IllegalStateException(e.getCause());
                if (failure == null) {
                    failure = cause;
                } else {
                    failure.addSuppressed(cause);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
        return created.stream().sorted(Comparator.comparing(b -> b.getMetadata().getName())).toList();
    }

    private static void drain(Queue<VMBackup> todo, Queue<VMBackup> created, UnaryOperator<VMBackup> create) {
        for (VMBackup b = todo.poll(); b != null; b = todo.poll()) {
            try {
                created.add(create.apply(b));
            } catch (KubernetesClientException e) {
                if (e.getCode() != 409) {
                    throw e;
                }
            }
        }
    }

    @PreDestroy
    void stop() {
        executor.shutdown();
        try {
            // creates in flight are single API calls: a moment lets them land instead of cutting them off
            if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
