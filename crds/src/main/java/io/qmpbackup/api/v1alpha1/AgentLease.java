package io.qmpbackup.api.v1alpha1;

/**
 * The node agent's heartbeat: a coordination.k8s.io Lease named {@code qmpbackup-agent-<node>} in
 * the agent's namespace, held by the agent instance (the id work it accepted carries in
 * status.agent) and renewed every few seconds. The operator reads it to tell a lost agent.
 */
public final class AgentLease {
    public static final String PREFIX = "qmpbackup-agent-";
    /** Label on the Lease: the operator watches only these. */
    public static final String COMPONENT_LABEL = "app.kubernetes.io/component";
    public static final String COMPONENT = "qmpbackup-node-agent";

    private AgentLease() {
    }

    public static String name(String node) {
        String n = PREFIX + node;
        return n.length() <= 253 ? n : n.substring(0, 253);
    }
}
