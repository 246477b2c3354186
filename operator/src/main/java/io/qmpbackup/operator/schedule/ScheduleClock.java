package io.qmpbackup.operator.schedule;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import java.time.Clock;

/** The time source of schedules; tests replace it. */
@ApplicationScoped
public class ScheduleClock {
    @Produces
    @jakarta.inject.Singleton
    Clock clock() {
        return Clock.systemUTC();
    }
}
