package io.qmpbackup.operator.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.ZoneId;
import java.time.ZonedDateTime;
import org.junit.jupiter.api.Test;

class CronScheduleTest {
    private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");

    private static ZonedDateTime at(String local) {
        return ZonedDateTime.of(java.time.LocalDateTime.parse(local), BERLIN);
    }

    @Test
    void everyDayAtTwoSkipsTheHourThatDoesNotExist() {
        CronSchedule c = CronSchedule.parse("30 2 * * *", "Europe/Berlin");
        // 2027-03-28: clocks go from 02:00 to 03:00 in Berlin, 02:30 does not exist that day
        assertThat(c.next(at("2027-03-27T03:00")).toLocalDateTime()).hasToString("2027-03-29T02:30");
        // 2027-10-31: 02:30 happens twice; the run happens once, at the first one (+02:00)
        ZonedDateTime first = c.next(at("2027-10-30T03:00"));
        assertThat(first.toOffsetDateTime()).hasToString("2027-10-31T02:30+02:00");
        assertThat(c.next(first).toLocalDateTime()).hasToString("2027-11-01T02:30");
    }

    @Test
    void fieldsListsRangesStepsAndNames() {
        CronSchedule c = CronSchedule.parse("*/15 9-17 * * MON-FRI", "UTC");
        ZonedDateTime fri = ZonedDateTime.parse("2027-01-08T17:50:00Z"); // a Friday
        assertThat(c.next(fri)).hasToString("2027-01-11T09:00Z[UTC]");
        assertThat(c.next(ZonedDateTime.parse("2027-01-11T09:00:00Z"))).hasToString("2027-01-11T09:15Z[UTC]");
        // day-of-month and day-of-week both restricted: either matches; 7 is Sunday
        CronSchedule either = CronSchedule.parse("0 0 1 * 7", "UTC");
        assertThat(either.next(ZonedDateTime.parse("2027-01-01T00:00:00Z"))).hasToString("2027-01-03T00:00Z[UTC]");
        assertThat(CronSchedule.parse("0 3 * JAN,jul *", null).next(ZonedDateTime.parse("2027-02-01T00:00:00Z")))
                .hasToString("2027-07-01T03:00Z[UTC]");
    }

    @Test
    void badExpressionsSayWhatIsWrong() {
        assertThatThrownBy(() -> CronSchedule.parse("0 2 * *", "UTC")).hasMessageContaining("has 4 fields");
        assertThatThrownBy(() -> CronSchedule.parse("61 2 * * *", "UTC")).hasMessageContaining("minute 61 is out of range");
        assertThatThrownBy(() -> CronSchedule.parse("0 2 * FOO *", "UTC")).hasMessageContaining("month 'FOO'");
        assertThatThrownBy(() -> CronSchedule.parse("0 2 * * *", "Mars/Olympus")).hasMessageContaining("IANA");
    }

    @Test
    void aLongOutageCatchesUpOnceWithTheLatestMissedRun() {
        CronSchedule c = CronSchedule.parse("0 * * * *", "UTC");
        ZonedDateTime due = c.latestDue(ZonedDateTime.parse("2027-01-01T00:00:00Z"),
                ZonedDateTime.parse("2027-01-03T05:30:00Z"));
        assertThat(due).hasToString("2027-01-03T05:00Z[UTC]");
        assertThat(c.latestDue(ZonedDateTime.parse("2027-01-03T05:00:00Z"),
                ZonedDateTime.parse("2027-01-03T05:30:00Z"))).isNull();
    }
}
