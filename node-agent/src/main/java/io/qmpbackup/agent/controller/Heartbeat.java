package io.qmpbackup.agent.controller;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.qmpbackup.api.v1alpha1.AgentLease;
import io.qmpbackup.api.v1alpha1.VMBackup;
import java.time.Clock;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * The agent's sign of life: a Lease {@code qmpbackup-agent-<node>} whose holder is this agent
 * instance (the id work it accepted carries in status.agent), renewed every interval. The
 * operator fails work an agent accepted when that agent's Lease has not been renewed for
 * {@code qmpbackup.operator.agent-lost-timeout} (reason AgentLost): a node that went down
 * would otherwise leave its backups Running, and a Forbid schedule would skip its VMs forever.
 */
final class Heartbeat {
    private static final Logger LOG = Logger.getLogger(Heartbeat.class);

    private final KubernetesClient client;
    private final String namespace;
    private final String node;
    private final String instance;
    private final Duration interval;
    private final Clock clock;
    private volatile boolean warned;
    /** The Lease as the last renewal left it: renewing it needs no read first (a conflict reads again). */
    private Lease current;

    Heartbeat(KubernetesClient client, String namespace, String node, String instance, Duration interval, Clock clock) {
        this.client = client;
        this.namespace = namespace;
        this.node = node;
        this.instance = instance;
        this.interval = interval;
        this.clock = clock;
    }

    void beat() {
        ZonedDateTime now = ZonedDateTime.now(clock);
        int duration = (int) Math.max(1, interval.multipliedBy(3).toSeconds());
        try {
            if (current == null) {
                current = client.leases().inNamespace(namespace).withName(AgentLease.name(node)).get();
            }
            if (current == null) {
                current = client.leases().inNamespace(namespace).resource(new LeaseBuilder().withNewMetadata()
                        .withName(AgentLease.name(node)).withNamespace(namespace)
                        .withLabels(Map.of(AgentLease.COMPONENT_LABEL, AgentLease.COMPONENT, VMBackup.NODE_LABEL, node))
                        .endMetadata().withNewSpec().withHolderIdentity(instance).withLeaseDurationSeconds(duration)
                        .withAcquireTime(now).withRenewTime(now).endSpec().build()).create();
            } else {
                boolean newHolder = !instance.equals(current.getSpec().getHolderIdentity());
                current.getSpec().setHolderIdentity(instance);
                current.getSpec().setLeaseDurationSeconds(duration);
                current.getSpec().setRenewTime(now);
                if (newHolder) {
                    current.getSpec().setAcquireTime(now);
                    current.getSpec().setLeaseTransitions(current.getSpec().getLeaseTransitions() == null ? 1
                            : current.getSpec().getLeaseTransitions() + 1);
                }
                current = client.leases().inNamespace(namespace).resource(current).update();
            }
            if (warned) {
                LOG.infof("heartbeat Lease %s/%s renewed again", namespace, AgentLease.name(node));
                warned = false;
            }
        } catch (KubernetesClientException e) {
            current = null; // read it again next time (someone else changed it, or it is gone)
            if (!warned) {
                LOG.warnf("cannot renew the heartbeat Lease %s/%s: %s (needs get/create/update on leases in"
                        + " that namespace); after the operator's agent-lost-timeout it fails this node's running"
                        + " work with AgentLost", namespace, AgentLease.name(node), e.getMessage());
                warned = true;
            }
        }
    }
}
