package io.qmpbackup.agent.controller;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.time.Clock;

/**
 * The one time source of every time the agent writes (transition times, heartbeat renewals,
 * discovery's lastSeen), injected so a test can hand the agent a fixed clock.
 */
@ApplicationScoped
public class AgentClock {
    @Produces
    @Singleton
    Clock clock() {
        return Clock.systemUTC();
    }
}
