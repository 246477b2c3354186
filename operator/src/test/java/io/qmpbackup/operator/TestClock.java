package io.qmpbackup.operator;

import io.quarkus.test.Mock;
import jakarta.inject.Singleton;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;

/** The schedules' clock in tests: the real time plus an offset the test moves. */
@Mock
@Singleton
public class TestClock extends Clock {
    private volatile Duration offset = Duration.ZERO;

    public void reset() {
        offset = Duration.ZERO;
    }

    public void advance(Duration d) {
        offset = offset.plus(d);
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        return this;
    }

    @Override
    public Instant instant() {
        return Instant.now().plus(offset);
    }
}
