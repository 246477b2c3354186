package io.qmpbackup.operator;

import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.enterprise.context.Dependent;

/** One active operator among the Deployment's replicas: a Lease in the operator's namespace. */
@ApplicationScoped
public class LeaderElection {
    /** Null (no leader election) when disabled, for example against a test API server without RBAC APIs. */
    @Produces
    @Dependent
    LeaderElectionConfiguration leaderElection(OperatorConfig config) {
        return config.leaderElection().enabled() ? new LeaderElectionConfiguration(config.leaderElection().leaseName())
                : null;
    }
}
