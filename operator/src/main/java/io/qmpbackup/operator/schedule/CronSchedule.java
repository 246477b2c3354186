package io.qmpbackup.operator.schedule;

import java.time.DayOfWeek;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;

/**
 * A standard 5-field cron expression (minute hour day-of-month month day-of-week) in a time
 * zone: {@code *}, lists, ranges, steps, month and weekday names, 0 or 7 for Sunday; when both
 * day fields are restricted a day matches either (as cron does). Local times that do not exist
 * (the hour skipped when clocks go forward) are skipped; local times that occur twice (when
 * clocks go back) fire once, at the first occurrence.
 */
public final class CronSchedule {
    private static final List<String> MONTHS = List.of("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG",
            "SEP", "OCT", "NOV", "DEC");
    private static final List<String> DAYS = List.of("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT");
    /** Bounds the walk over missed firings (a minutely schedule down for ~70 days); only the latest counts. */
    private static final int MAX_MISSED = 100_000;

    private final String expression;
    private final ZoneId zone;
    private final BitSet minutes;
    private final BitSet hours;
    private final BitSet daysOfMonth;
    private final BitSet months;
    private final BitSet daysOfWeek;
    private final boolean domRestricted;
    private final boolean dowRestricted;

    private CronSchedule(String expression, ZoneId zone, String[] f) {
        this.expression = expression;
        this.zone = zone;
        this.minutes = field(f[0], 0, 59, null, "minute");
        this.hours = field(f[1], 0, 23, null, "hour");
        this.daysOfMonth = field(f[2], 1, 31, null, "day of month");
        this.months = field(f[3], 1, 12, MONTHS, "month");
        BitSet dow = field(f[4], 0, 7, DAYS, "day of week");
        if (dow.get(7)) {
            dow.set(0);
        }
        this.daysOfWeek = dow;
        this.domRestricted = !f[2].equals("*") && !f[2].equals("?");
        this.dowRestricted = !f[4].equals("*") && !f[4].equals("?");
    }

    /** Parses; the message of the exception names the field and what is wrong with it. */
    public static CronSchedule parse(String expression, String timeZone) {
        if (expression == null || expression.isBlank()) {
            throw new IllegalArgumentException("schedule is empty: give a 5-field cron expression like '0 2 * * *'");
        }
        String[] f = expression.trim().split("\\s+");
        if (f.length != 5) {
            throw new IllegalArgumentException("schedule '" + expression + "' has " + f.length + " fields: a cron"
                    + " expression has 5 (minute hour day-of-month month day-of-week), like '0 2 * * *'");
        }
        ZoneId zone;
        try {
            zone = timeZone == null || timeZone.isBlank() ? ZoneId.of("UTC") : ZoneId.of(timeZone);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("timeZone '" + timeZone + "' is not a time zone: use an IANA name such"
                    + " as Europe/Berlin or UTC");
        }
        return new CronSchedule(expression, zone, f);
    }

    public ZoneId zone() {
        return zone;
    }

    private static BitSet field(String spec, int min, int max, List<String> names, String what) {
        BitSet bits = new BitSet(max + 1);
        for (String part : spec.split(",")) {
            String range = part;
            int step = 1;
            int slash = part.indexOf('/');
            if (slash >= 0) {
                range = part.substring(0, slash);
                step = number(part.substring(slash + 1), 1, max, null, what);
            }
            int lo;
            int hi;
            if (range.equals("*") || range.equals("?")) {
                lo = min;
                hi = max;
            } else if (range.contains("-")) {
                String[] ab = range.split("-", 2);
                lo = number(ab[0], min, max, names, what);
                hi = number(ab[1], min, max, names, what);
            } else {
                lo = number(range, min, max, names, what);
                hi = slash >= 0 ? max : lo;
            }
            if (lo > hi) {
                throw new IllegalArgumentException(what + " range '" + range + "' runs backwards");
            }
            for (int v = lo; v <= hi; v += step) {
                bits.set(v);
            }
        }
        return bits;
    }

    private static int number(String s, int min, int max, List<String> names, String what) {
        if (names != null) {
            int i = names.indexOf(s.toUpperCase(Locale.ROOT));
            if (i >= 0) {
                return names == MONTHS ? i + 1 : i;
            }
        }
        try {
            int v = Integer.parseInt(s);
            if (v < min || v > max) {
                throw new IllegalArgumentException(what + " " + v + " is out of range " + min + "-" + max);
            }
            return v;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + " '" + s + "' is not a number" + (names == null ? ""
                    : " or a name like " + names.get(0)));
        }
    }

    private boolean dayMatches(LocalDateTime t) {
        boolean dom = daysOfMonth.get(t.getDayOfMonth());
        boolean dow = daysOfWeek.get(t.getDayOfWeek() == DayOfWeek.SUNDAY ? 0 : t.getDayOfWeek().getValue());
        if (domRestricted && dowRestricted) {
            return dom || dow;
        }
        return dom && dow;
    }

    /** The first firing strictly after {@code after}, or null within the next 5 years. */
    public ZonedDateTime next(ZonedDateTime after) {
        LocalDateTime t = after.withZoneSameInstant(zone).toLocalDateTime().truncatedTo(ChronoUnit.MINUTES)
                .plusMinutes(1);
        LocalDateTime limit = t.plusYears(5);
        while (t.isBefore(limit)) {
            if (!months.get(t.getMonthValue())) {
                t = t.withDayOfMonth(1).toLocalDate().plusMonths(1).atStartOfDay();
                continue;
            }
            if (!dayMatches(t)) {
                t = t.toLocalDate().plusDays(1).atStartOfDay();
                continue;
            }
            if (!hours.get(t.getHour())) {
                t = t.truncatedTo(ChronoUnit.HOURS).plusHours(1);
                continue;
            }
            if (!minutes.get(t.getMinute())) {
                t = t.plusMinutes(1);
                continue;
            }
            List<java.time.ZoneOffset> offsets = zone.getRules().getValidOffsets(t);
            if (!offsets.isEmpty()) {
                ZonedDateTime z = ZonedDateTime.ofLocal(t, zone, offsets.get(0));
                if (z.isAfter(after)) {
                    return z;
                }
            }
            t = t.plusMinutes(1);
        }
        return null;
    }

    /** The latest firing in (since, now], or null: one catch-up for any number of missed runs. */
    public ZonedDateTime latestDue(ZonedDateTime since, ZonedDateTime now) {
        ZonedDateTime latest = null;
        ZonedDateTime t = next(since);
        for (int i = 0; t != null && !t.isAfter(now) && i < MAX_MISSED; i++) {
            latest = t;
            t = next(t);
        }
        return latest;
    }

    @Override
    public String toString() {
        return expression + " (" + zone + ")";
    }
}
