package io.qmpbackup.operator;

import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.qmpbackup.api.v1alpha1.AgentLease;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Instant;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * The node agents' heartbeat Leases, from a watch (no request per check): when each node's
 * agent last said it is alive, and which instance it is.
 */
@ApplicationScoped
public class AgentLeases {
    private static final Logger LOG = Logger.getLogger(AgentLeases.class);

    private final KubernetesClient client;
    private final String namespace;
    private volatile SharedIndexInformer<Lease> informer;

    public AgentLeases(KubernetesClient client, OperatorConfig config) {
        this.client = client;
        this.namespace = config.agentNamespace().orElse(client.getNamespace());
    }

    /** A node agent's heartbeat: the instance holding it and when it last renewed. */
    public record Beat(String holder, Instant renewed) {
    }

    public String namespace() {
        return namespace;
    }

    /** The heartbeat of {@code node}'s agent, or empty when it keeps none (yet). */
    public Optional<Beat> of(String node) {
        Lease l = informer().getStore().getByKey(namespace + "/" + AgentLease.name(node));
        if (l == null || l.getSpec() == null || l.getSpec().getRenewTime() == null) {
            return Optional.empty();
        }
        return Optional.of(new Beat(l.getSpec().getHolderIdentity(), l.getSpec().getRenewTime().toInstant()));
    }

    private SharedIndexInformer<Lease> informer() {
        SharedIndexInformer<Lease> i = informer;
        if (i == null) {
            synchronized (this) {
                if (informer == null) {
                    LOG.infof("watching node agent heartbeats (Leases %s*) in namespace %s", AgentLease.PREFIX,
                            namespace);
                    informer = client.leases().inNamespace(namespace)
                            .withLabel(AgentLease.COMPONENT_LABEL, AgentLease.COMPONENT).inform();
                }
                i = informer;
            }
        }
        return i;
    }

    @PreDestroy
    void stop() {
        if (informer != null) {
            informer.close();
        }
    }
}
