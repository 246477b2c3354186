package io.qmpbackup.agent.controller;

import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.QemuVM;
import io.qmpbackup.api.v1alpha1.RestoreMode;
import io.qmpbackup.api.v1alpha1.RunStatus;
import io.qmpbackup.api.v1alpha1.RunTransitions;
import io.qmpbackup.api.v1alpha1.SpecValidation;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMRestore;
import io.qmpbackup.api.v1alpha1.VmRef;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import org.jboss.logging.Logger;

/**
 * The node agent's controller. It sees only its own node's work (label
 * {@code qmpbackup.io/node=<node>}), accepts it with an update checked against resourceVersion
 * (a conflict means someone else has it), runs the engine on worker threads (never on the
 * informer's thread) and writes progress and the result to status. Work beyond the per-node
 * limit, or for a VM another run holds, waits in Scheduled, marked as queued by this agent.
 * Work found Running at start-up belonged to a previous instance: its VM is cleaned and it is
 * failed with AgentRestarted.
 *
 * <p>Informer events queue keys (de-duplicated); one dispatcher thread takes them and decides
 * from the informer caches alone, so a waiting item costs no API read. When a run ends, only the
 * work this agent marked Queued is looked at again.
 */
@ApplicationScoped
public class NodeAgent {
    private static final Logger LOG = Logger.getLogger(NodeAgent.class);

    private final KubernetesClient client;
    private final AgentConfig config;
    private final Clock clock;
    private final AgentMetrics metrics;
    private final String instance = "agent-" + UUID.randomUUID().toString().substring(0, 8);
    private final WorkQueue<WorkKey> queue = new WorkQueue<>();
    private final List<ScheduledExecutorService> timers = new CopyOnWriteArrayList<>();
    private Slots slots;
    private ExecutorService workers;
    private Thread dispatcher;
    private SharedIndexInformer<QemuVM> qemuVms;
    private SharedIndexInformer<VMBackup> backups;
    private SharedIndexInformer<VMRestore> restores;
    private volatile boolean stopping;

    public NodeAgent(KubernetesClient client, AgentConfig config, Clock clock, AgentMetrics metrics) {
        this.metrics = metrics;
        this.client = client;
        this.config = config;
        this.clock = clock;
    }

    void onStart(@Observes StartupEvent ev) {
        requireNodeName();
        LOG.infof("node agent %s on node %s: sockets under %s (folder=namespace), storage %s (a namespace area each), at most %d at once", instance,
                config.nodeName(), config.socketFolders(), config.storage(), config.maxConcurrent());
        slots = new Slots(config.maxConcurrent(), config.nodeName());
        workers = Executors.newFixedThreadPool(config.maxConcurrent(), daemon("qmpbackup-work"));
        // synced before any work is looked at: a backup naming a QemuVM is resolved from this cache
        qemuVms = client.resources(QemuVM.class).inAnyNamespace().inform();
        // each informer's first sync queues every object it holds (onAdd)
        backups = client.resources(VMBackup.class).inAnyNamespace().withLabel(VMBackup.NODE_LABEL, config.nodeName())
                .inform(handler(), 0);
        restores = client.resources(VMRestore.class).inAnyNamespace()
                .withLabel(VMBackup.NODE_LABEL, config.nodeName()).inform(handler(), 0);
        metrics.watch(slots::running, kind -> "VMBackup".equals(kind) ? backups.getStore().list()
                : restores.getStore().list(), config.maxConcurrent());
        recoverInterruptedWork();
        startHeartbeat();
        startDiscovery();
        startDispatcher();
    }

    void onStop(@Observes ShutdownEvent ev) {
        stopping = true;
        if (slots != null) {
            slots.cancelAll("the node agent is shutting down");
        }
        if (dispatcher != null) {
            dispatcher.interrupt();
        }
        if (workers != null) {
            workers.shutdown();
        }
        timers.forEach(ExecutorService::shutdownNow);
        // the watches end with the agent, not only when the client closes
        for (SharedIndexInformer<?> informer : Arrays.asList(backups, restores, qemuVms)) {
            if (informer != null) {
                informer.stop();
            }
        }
    }

    public String instance() {
        return instance;
    }

    private void requireNodeName() {
        if (config.nodeName() == null || config.nodeName().isBlank()) {
            throw new IllegalStateException("qmpbackup.agent.node-name is empty: set NODE_NAME (the DaemonSet takes it"
                    + " from the downward API, spec.nodeName)");
        }
    }

    private void startHeartbeat() {
        Heartbeat heartbeat = new Heartbeat(client, config.discoveryNamespace(), config.nodeName(), instance,
                config.heartbeatInterval(), clock);
        every("heartbeat", config.heartbeatInterval(), heartbeat::beat);
    }

    private void startDiscovery() {
        if (config.discoveryInterval().isZero()) {
            return; // turned off: the QemuVM objects are kept by someone else
        }
        Discovery discovery = new Discovery(client, config, clock);
        every("discovery", config.discoveryInterval(), discovery::scanOnce);
    }

    /** Now and then every interval, on its own thread; a failed round is logged and the next one comes anyway. */
    private void every(String what, Duration interval, Runnable task) {
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(daemon("qmpbackup-" + what));
        timer.scheduleWithFixedDelay(() -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                LOG.warnf("%s: %s", what, e.toString());
            }
        }, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
        timers.add(timer);
    }

    private void startDispatcher() {
        dispatcher = daemon("qmpbackup-dispatch").newThread(this::dispatchLoop);
        dispatcher.start();
    }

    private static ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    /** Informer threads only queue keys: deciding reads the cache again, and work runs on the pool. */
    private <T extends CustomResource<?, ?>> ResourceEventHandler<T> handler() {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(T obj) {
                queue.add(WorkKey.of(obj));
            }

            @Override
            public void onUpdate(T oldObj, T newObj) {
                queue.add(WorkKey.of(newObj));
            }

            @Override
            public void onDelete(T obj, boolean deletedFinalStateUnknown) {
                cancel(WorkKey.of(obj), "its " + obj.getKind() + " was deleted");
            }
        };
    }

    /** One thread decides, so asking for a slot and taking it cannot race; work runs on the pool. */
    private void dispatchLoop() {
        while (!stopping) {
            try {
                decide(queue.take());
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.warnf("dispatch: %s", e.getMessage());
            }
        }
    }

    /**
     * One look at one key, from the caches: gone or deleted, not ours to start, must wait, or
     * start. Capacity is asked before any work object is built: a waiting item costs no API read.
     */
    private void decide(WorkKey key) {
        CustomResource<?, ? extends RunStatus> cached = cached(key);
        if (cached == null) {
            return; // deleted: onDelete cancelled it if it ran
        }
        if (cached.getMetadata().getDeletionTimestamp() != null) {
            cancel(key, "its " + key.kind() + " was deleted");
            return;
        }
        RunStatus s = cached.getStatus();
        if (slots.holds(key) || s == null || s.phase != Phase.SCHEDULED) {
            return;
        }
        VmRef vm = null;
        String claim;
        if (!SpecValidation.problems(cached).isEmpty()) {
            claim = "invalid:" + key.id(); // nothing to resolve: its run fails at once with InvalidSpec
        } else if (cached instanceof VMBackup b) {
            vm = BackupWork.resolve(b, this::qemuVm);
            claim = BackupWork.exclusive(vm);
        } else {
            claim = RestoreWork.exclusive((VMRestore) cached);
        }
        String wait = slots.whyWait(claim, !isExport(cached));
        if (wait != null) {
            markQueued(cached, wait);
        } else {
            start(key, cached, vm, claim);
        }
    }

    private CustomResource<?, ? extends RunStatus> cached(WorkKey key) {
        return switch (key.kind()) {
            case "VMBackup" -> backups.getStore().getByKey(key.cacheKey());
            case "VMRestore" -> restores.getStore().getByKey(key.cacheKey());
            default -> null;
        };
    }

    /**
     * A named QemuVM, from the informer's cache. The cache can trail the operator, which found the
     * QemuVM before it labelled the work for this node: only on a miss is the API server asked.
     */
    private QemuVM qemuVm(String namespace, String name) {
        QemuVM q = qemuVms.getStore().getByKey(namespace + "/" + name);
        return q != null ? q : client.resources(QemuVM.class).inNamespace(namespace).withName(name).get();
    }

    /**
     * Marks waiting work as this agent's, once, so the operator does not fail it as NoAgent while
     * it waits; the update event it causes is looked at and finds it still waiting, or started.
     */
    private void markQueued(CustomResource<?, ? extends RunStatus> cached, String why) {
        if (instance.equals(cached.getStatus().agent)) {
            return;
        }
        CustomResource<?, ? extends RunStatus> r = copy(cached);
        r.getStatus().agent = instance;
        RunTransitions.move(r.getStatus(), Phase.SCHEDULED, "Queued", why, r.getMetadata().getGeneration(),
                clock.instant());
        tryUpdateStatus(r);
    }

    /** Accepts the work (Running, checked against resourceVersion), builds it, runs it on the pool. */
    private void start(WorkKey key, CustomResource<?, ? extends RunStatus> cached, VmRef vm, String claim) {
        CustomResource<?, ? extends RunStatus> r = copy(cached);
        r.getStatus().agent = instance;
        RunTransitions.move(r.getStatus(), Phase.RUNNING, "Started", "started by the node agent on "
                + config.nodeName(), r.getMetadata().getGeneration(), clock.instant());
        if (tryUpdateStatus(r) == null) {
            return;
        }
        WorkRun work = r instanceof VMBackup b ? new BackupWork(client, config, b, vm, clock, metrics.run(r.getKind()))
                : new RestoreWork(client, config, (VMRestore) r, clock, metrics.run(r.getKind()));
        boolean export = isExport(r);
        slots.start(key, claim, work, !export);
        Runnable run = () -> {
            try {
                work.run();
            } finally {
                slots.free(key);
                requeueWaiting();
            }
        };
        if (export) {
            // its own thread for its whole life: the NBD server it starts ends with the thread that started it
            daemon("qmpbackup-export-" + r.getMetadata().getName()).newThread(run).start();
        } else {
            workers.submit(run);
        }
    }

    private static boolean isExport(CustomResource<?, ?> r) {
        return r instanceof VMRestore v && v.getSpec() != null && v.getSpec().mode == RestoreMode.EXPORT;
    }

    /**
     * A slot is free: look again at the work this agent marked Queued, oldest first. Running and
     * finished work cannot use the slot, and unmarked work is still in the queue or on its way
     * (the Queued mark's own update event queues it again).
     */
    private void requeueWaiting() {
        List<CustomResource<?, ? extends RunStatus>> waiting = new ArrayList<>();
        for (VMBackup b : backups.getStore().list()) {
            if (queuedHere(b)) {
                waiting.add(b);
            }
        }
        for (VMRestore r : restores.getStore().list()) {
            if (queuedHere(r)) {
                waiting.add(r);
            }
        }
        // RFC 3339 times in UTC, as the API server writes them, sort as text
        waiting.sort(Comparator.comparing((CustomResource<?, ? extends RunStatus> r) ->
                String.valueOf(r.getMetadata().getCreationTimestamp())).thenComparing(r -> r.getMetadata().getName()));
        waiting.forEach(r -> queue.add(WorkKey.of(r)));
    }

    private boolean queuedHere(CustomResource<?, ? extends RunStatus> r) {
        RunStatus s = r.getStatus();
        return s != null && s.phase == Phase.SCHEDULED && instance.equals(s.agent);
    }

    private void cancel(WorkKey key, String reason) {
        WorkRun running = slots.running(key);
        if (running != null) {
            running.cancel(reason);
        }
    }

    /** A copy to write: the informer's cached object is never changed. */
    private <R extends CustomResource<?, ?>> R copy(R r) {
        return client.getKubernetesSerialization().clone(r);
    }

    /** Update checked against the resourceVersion read; null on conflict (someone else changed it). */
    private <R extends CustomResource<?, ?>> R tryUpdateStatus(R r) {
        try {
            return client.resource(r).updateStatus();
        } catch (KubernetesClientException e) {
            if (e.getCode() == 409) {
                LOG.debugf("%s changed meanwhile; looking again", WorkKey.of(r).id());
                queue.add(WorkKey.of(r));
                return null;
            }
            throw e;
        }
    }

    /**
     * Work left Running by an agent that is gone, or failed by the operator as AgentLost meanwhile:
     * clean the VM (a fleece filter left in it would copy every guest write), fail it with
     * AgentRestarted.
     */
    private void recoverInterruptedWork() {
        for (VMBackup b : backups.getStore().list()) {
            RunStatus s = b.getStatus();
            boolean running = s != null && s.phase == Phase.RUNNING && !instance.equals(s.agent);
            boolean lost = s != null && s.phase == Phase.FAILED && "AgentLost".equals(s.reason);
            if (running || lost) {
                String cleanup = !SpecValidation.problems(b).isEmpty() ? "nothing was cleaned (its spec is invalid)"
                        : new BackupWork(client, config, b, BackupWork.resolve(b, this::qemuVm), clock,
                                AgentMetrics.NONE)
                                .cleanAfterRestart();
                fail(copy(b), "AgentRestarted", "the node agent " + (lost ? "was lost and restarted" : "restarted")
                        + " while this backup ran; " + cleanup
                        + "; the chain's change tracking still holds every change, so the next backup is correct");
            } else if (OffsiteCopy.interrupted(b.getStatus())) {
                VMBackup c = copy(b);
                OffsiteCopy.markInterrupted(c.getStatus(), clock.instant());
                tryUpdateStatus(c);
            }
        }
        for (VMRestore r : restores.getStore().list()) {
            if (r.getStatus() != null && r.getStatus().phase == Phase.RUNNING && !instance.equals(r.getStatus().agent)) {
                fail(copy(r), "AgentRestarted", isExport(r)
                        ? "the node agent restarted, and the export ended with it (its NBD server stops with the agent"
                                + " that started it); create the VMRestore again to serve the point again"
                        : "the node agent restarted while this restore ran; run it again (a merge or instant output"
                                + " was left as .partial at most)");
            }
        }
    }

    private void fail(CustomResource<?, ? extends RunStatus> r, String reason, String message) {
        RunTransitions.move(r.getStatus(), Phase.FAILED, reason, message, r.getMetadata().getGeneration(),
                clock.instant());
        LOG.warnf("%s: %s", WorkKey.of(r).id(), message);
        tryUpdateStatus(r);
    }
}
