package io.qmpbackup.operator;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;

/** Operator settings ({@code qmpbackup.operator.*}; environment: QMPBACKUP_OPERATOR_*). */
@ConfigMapping(prefix = "qmpbackup.operator")
public interface OperatorConfig {
    /** How long work may wait in Scheduled before it fails with reason NoAgent. */
    @WithDefault("60s")
    Duration noAgentTimeout();

    /** How long a deleted running backup may take to cancel before its finalizer goes anyway. */
    @WithDefault("120s")
    Duration cancelTimeout();

    /**
     * Work an agent accepted fails with reason AgentLost when that agent's heartbeat Lease was not
     * renewed for this long (the node or the agent is down); 0 turns the check off.
     */
    @WithDefault("60s")
    Duration agentLostTimeout();

    /**
     * Threads that create a firing schedule's VMBackups (one per selected VM), shared by all
     * schedules: they bound how many creates hit the API server at once. The reconcilers of the
     * new VMBackups compete for the same API server, so fewer threads make a large fleet's tick
     * take longer.
     */
    @WithDefault("32")
    int scheduleCreateThreads();

    /** Namespace of the agents' heartbeat Leases; default: the operator's own. */
    java.util.Optional<String> agentNamespace();

    /**
     * The agents' socket folders, as they are given to the agents ({@code path} or
     * {@code path=namespace}; the chart renders both from agent.socketDirs): with them the operator
     * fails a backup naming a socket its namespace was not given before any node sees it. Unset:
     * only the agents check.
     */
    java.util.Optional<java.util.List<String>> socketDirs();

    /**
     * The agents' storage locations ({@code name=path,...}, as the agents have them): with them the
     * operator fails a merge restore whose targetFile lies outside the namespace's storage areas.
     * Unset: only the agents check.
     */
    java.util.Optional<String> storageLocations();

    LeaderElection leaderElection();

    interface LeaderElection {
        @WithDefault("true")
        boolean enabled();

        @WithDefault("qmpbackup-operator-lease")
        String leaseName();
    }
}
