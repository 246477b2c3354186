package io.qmpbackup.engine.service;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as Kubernetes users write them ({@code 90s}, {@code 30m}, {@code 1h30m}, {@code 2d}),
 * for an export's time to live on the command line and in a VMRestore alike.
 */
public final class Durations {
    private static final Pattern WHOLE = Pattern.compile("^(\\d+[dhms])+$");
    private static final Pattern PART = Pattern.compile("(\\d+)([dhms])");

    private Durations() {
    }

    /** @throws IllegalArgumentException naming the accepted forms */
    public static Duration parse(String text) {
        String t = text == null ? "" : text.trim();
        if (!WHOLE.matcher(t).matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a duration: write it like 90s, 30m, 1h30m or 2d");
        }
        Duration d = Duration.ZERO;
        Matcher m = PART.matcher(t);
        while (m.find()) {
            long n = Long.parseLong(m.group(1));
            d = d.plus(switch (m.group(2)) {
                case "d" -> Duration.ofDays(n);
                case "h" -> Duration.ofHours(n);
                case "m" -> Duration.ofMinutes(n);
                default -> Duration.ofSeconds(n);
            });
        }
        if (d.isZero()) {
            throw new IllegalArgumentException("a duration of zero ('" + text + "') ends at once: give at least 1s");
        }
        return d;
    }
}
