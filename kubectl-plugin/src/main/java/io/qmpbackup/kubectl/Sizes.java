package io.qmpbackup.kubectl;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Byte counts and durations as people type and read them. */
final class Sizes {
    private static final String[] UNITS = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    private static final Pattern SIZE = Pattern.compile("(?i)([0-9]+)\\s*([kmgt]?)(i?b)?");

    private Sizes() {
    }

    /** 1536 -> "1.5 KiB"; binary units, one decimal past bytes. */
    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        double v = n;
        int unit = 0;
        while (v >= 1024 && unit < UNITS.length - 1) {
            v /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, UNITS[unit]);
    }

    /** "200M", "200MiB", "1g", "4096" -> bytes (K, M, G, T are powers of 1024, as qemu-img's). */
    static long parse(String s) {
        Matcher m = SIZE.matcher(s.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + s + "' is not a size: use a number with an optional unit K, M, G"
                    + " or T (for example 200M)");
        }
        int shift = switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            case "t" -> 40;
            default -> 0;
        };
        return Math.multiplyExact(Long.parseLong(m.group(1)), 1L << shift);
    }

    /** 65 s -> "1m05s", 3725 s -> "1h02m", 7 s -> "7s". */
    static String duration(Duration d) {
        long s = Math.max(0, d.toSeconds());
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        }
        return String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60);
    }
}
