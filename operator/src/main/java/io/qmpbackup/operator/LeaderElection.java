package io.qmpbackup.operator;

import io.javaoperatorsdk.operator.api.config.LeaderElectionConfiguration;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

/** One active operator among the Deployment's replicas: a Lease in the operator's namespace. */
@ApplicationScoped
public class LeaderElection {
    @Produces
    @Singleton
    LeaderElectionConfiguration leaderElection(OperatorConfig config) {
        return config.leaderElection().enabled() ? new LeaderElectionConfiguration(config.leaderElection().leaseName())
                : null;
    }
}
