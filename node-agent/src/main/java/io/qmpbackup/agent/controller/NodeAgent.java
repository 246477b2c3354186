package io.qmpbackup.agent.controller;

import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.RunStatus;
import io.qmpbackup.api.v1alpha1.RunTransitions;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMRestore;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import org.jboss.logging.Logger;

/**
 * The node agent's controller. It sees only its own node's work (label
 * {@code qmpbackup.io/node=<node>}), accepts it with an update checked against resourceVersion
 * (a conflict means someone else has it), runs the engine on worker threads (never on the
 * informer's thread) and writes progress and the result to status. Work beyond the per-node
 * limit waits in Scheduled, marked as queued by this agent. Work found Running at start-up
 * belonged to a previous instance: its VM is cleaned and it is failed with AgentRestarted.
 */
@ApplicationScoped
public class NodeAgent {
    private static final Logger LOG = Logger.getLogger(NodeAgent.class);

    private final KubernetesClient client;
    private final AgentConfig config;
    private final String instance = "agent-" + UUID.randomUUID().toString().substring(0, 8);
    private final LinkedBlockingQueue<String> queue = new LinkedBlockingQueue<>();
    private final Map<String, WorkRun> active = new ConcurrentHashMap<>();
    private ExecutorService workers;
    private Thread dispatcher;
    private SharedIndexInformer<VMBackup> backups;
    private SharedIndexInformer<VMRestore> restores;
    private volatile boolean stopping;
    private java.util.concurrent.ScheduledExecutorService discoveryTimer;
    private java.util.concurrent.ScheduledExecutorService heartbeatTimer;

    public NodeAgent(KubernetesClient client, AgentConfig config) {
        this.client = client;
        this.config = config;
    }

    void onStart(@Observes StartupEvent ev) {
        if (config.nodeName() == null || config.nodeName().isBlank()) {
            throw new IllegalStateException("qmpbackup.agent.node-name is empty: set NODE_NAME (the DaemonSet takes it"
                    + " from the downward API, spec.nodeName)");
        }
        LOG.infof("node agent %s on node %s: sockets under %s, storage %s, at most %d at once", instance,
                config.nodeName(), config.socketDirs(), config.storage(), config.maxConcurrent());
        workers = Executors.newFixedThreadPool(config.maxConcurrent(), r -> {
            Thread t = new Thread(r, "qmpbackup-work");
            t.setDaemon(true);
            return t;
        });
        backups = client.resources(VMBackup.class).inAnyNamespace().withLabel(VMBackup.NODE_LABEL, config.nodeName())
                .inform(handler(), 0);
        restores = client.resources(VMRestore.class).inAnyNamespace()
                .withLabel(VMBackup.NODE_LABEL, config.nodeName()).inform(handler(), 0);
        recoverInterruptedWork();
        Heartbeat heartbeat = new Heartbeat(client, config.discoveryNamespace(), config.nodeName(), instance,
                config.heartbeatInterval(), java.time.Clock.systemUTC());
        heartbeatTimer = timer("qmpbackup-heartbeat");
        heartbeatTimer.scheduleWithFixedDelay(() -> {
            try {
                heartbeat.beat();
            } catch (RuntimeException e) {
                LOG.warnf("heartbeat: %s", e.toString());
            }
        }, 0, config.heartbeatInterval().toMillis(),
                java.util.concurrent.TimeUnit.MILLISECONDS);
        if (!config.discoveryInterval().isZero()) {
            Discovery discovery = new Discovery(client, config, java.time.Clock.systemUTC());
            discoveryTimer = timer("qmpbackup-discovery");
            discoveryTimer.scheduleWithFixedDelay(() -> {
                try {
                    discovery.scanOnce();
                } catch (RuntimeException e) {
                    LOG.warnf("discovery: %s", e.getMessage());
                }
            }, 0, config.discoveryInterval().toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        }
        dispatcher = new Thread(this::dispatchLoop, "qmpbackup-dispatch");
        dispatcher.setDaemon(true);
        dispatcher.start();
        backups.getStore().list().forEach(b -> queue.add(key(b)));
        restores.getStore().list().forEach(r -> queue.add(key(r)));
    }

    void onStop(@Observes ShutdownEvent ev) {
        stopping = true;
        active.values().forEach(w -> w.cancel("the node agent is shutting down"));
        if (dispatcher != null) {
            dispatcher.interrupt();
        }
        if (workers != null) {
            workers.shutdown();
        }
        if (discoveryTimer != null) {
            discoveryTimer.shutdownNow();
        }
        if (heartbeatTimer != null) {
            heartbeatTimer.shutdownNow();
        }
    }

    private static java.util.concurrent.ScheduledExecutorService timer(String name) {
        return Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    public String instance() {
        return instance;
    }

    private <T extends CustomResource<?, ?>> ResourceEventHandler<T> handler() {
        return new ResourceEventHandler<>() {
            @Override
            public void onAdd(T obj) {
                queue.add(key(obj));
            }

            @Override
            public void onUpdate(T oldObj, T newObj) {
                queue.add(key(newObj));
            }

            @Override
            public void onDelete(T obj, boolean deletedFinalStateUnknown) {
                WorkRun w = active.get(key(obj));
                if (w != null) {
                    w.cancel("its " + obj.getKind() + " was deleted");
                }
            }
        };
    }

    private static String key(CustomResource<?, ?> r) {
        return r.getKind() + "/" + r.getMetadata().getNamespace() + "/" + r.getMetadata().getName();
    }

    /** One thread decides; work runs on the pool. */
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

    private void decide(String key) {
        String[] k = key.split("/", 3);
        CustomResource<?, ? extends RunStatus> cached = k[0].equals("VMBackup")
                ? backups.getStore().getByKey(k[1] + "/" + k[2]) : restores.getStore().getByKey(k[1] + "/" + k[2]);
        if (cached == null) {
            return;
        }
        // never change the informer's cached object
        CustomResource<?, ? extends RunStatus> r = client.getKubernetesSerialization().clone(cached);
        WorkRun running = active.get(key);
        if (r.getMetadata().getDeletionTimestamp() != null) {
            if (running != null) {
                running.cancel("its " + r.getKind() + " was deleted");
            }
            return;
        }
        RunStatus s = r.getStatus();
        if (running != null || s == null || s.phase != Phase.SCHEDULED) {
            return;
        }
        WorkRun w = r instanceof VMBackup b ? new BackupWork(client, config, b)
                : new RestoreWork(client, config, (VMRestore) r);
        boolean vmBusy = active.values().stream().anyMatch(a -> a.exclusive().equals(w.exclusive()));
        if (active.size() >= config.maxConcurrent() || vmBusy) {
            if (!instance.equals(s.agent)) {
                // tell the operator an agent has it, so it does not fail it as NoAgent while it waits
                s.agent = instance;
                RunTransitions.move(s, Phase.SCHEDULED, "Queued", vmBusy ? "waiting: another backup of this VM is"
                        + " running" : "waiting for a free slot on node " + config.nodeName() + " (" + active.size()
                        + " running, limit " + config.maxConcurrent() + ")", r.getMetadata().getGeneration(),
                        Instant.now());
                tryUpdateStatus(r);
            }
            return;
        }
        s.agent = instance;
        RunTransitions.move(s, Phase.RUNNING, "Started", "started by the node agent on " + config.nodeName(),
                r.getMetadata().getGeneration(), Instant.now());
        if (tryUpdateStatus(r) == null) {
            return;
        }
        active.put(key, w);
        workers.submit(() -> {
            try {
                w.run();
            } finally {
                active.remove(key);
                // a slot is free: look at waiting work again
                backups.getStore().list().forEach(b -> queue.add(key(b)));
                restores.getStore().list().forEach(x -> queue.add(key(x)));
            }
        });
    }

    /** Update checked against the resourceVersion read; null on conflict (someone else changed it). */
    private <R extends CustomResource<?, ?>> R tryUpdateStatus(R r) {
        try {
            return client.resource(r).updateStatus();
        } catch (KubernetesClientException e) {
            if (e.getCode() == 409) {
                LOG.debugf("%s changed meanwhile; looking again", key(r));
                queue.add(key(r));
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
                String cleanup = new BackupWork(client, config, b).cleanAfterRestart();
                fail(b, "AgentRestarted", "the node agent " + (lost ? "was lost and restarted" : "restarted")
                        + " while this backup ran; " + cleanup
                        + "; the chain's change tracking still holds every change, so the next backup is correct");
            }
        }
        for (VMRestore r : restores.getStore().list()) {
            if (r.getStatus() != null && r.getStatus().phase == Phase.RUNNING && !instance.equals(r.getStatus().agent)) {
                fail(r, "AgentRestarted", "the node agent restarted while this restore ran; run it again (a merge"
                        + " output was left as .partial at most)");
            }
        }
    }

    private void fail(CustomResource<?, ? extends RunStatus> r, String reason, String message) {
        RunTransitions.move(r.getStatus(), Phase.FAILED, reason, message, r.getMetadata().getGeneration(),
                Instant.now());
        LOG.warnf("%s: %s", key(r), message);
        tryUpdateStatus(r);
    }
}
