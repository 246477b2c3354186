package io.qmpbackup.engine.cli;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/**
 * Byte counts as people type and read them: {@code 200M}, {@code 1G}, {@code 1.5GiB}, plain
 * bytes. K/M/G/T are powers of 1024 whichever spelling is used (K, KB, KiB), as QEMU's and
 * qemu-img's own size arguments read them, so a value means the same here as there.
 */
final class Sizes {
    /** The accepted forms, for help texts and error messages. */
    static final String FORMS = "bytes, or a number with K, M, G or T (powers of 1024; KiB, MB... also"
            + " accepted), e.g. 200M or 1.5G";
    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(?:([KMGT])(?:I?B)?|B)?");
    private static final String UNITS = "KMGT";

    private Sizes() {
    }

    /** Bytes from {@code text}; IllegalArgumentException naming the accepted forms when it is not a size. */
    static long parse(String text) {
        Matcher m = SIZE.matcher(text.trim().toUpperCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a size: give " + FORMS);
        }
        int power = m.group(2) == null ? 0 : UNITS.indexOf(m.group(2)) + 1;
        java.math.BigDecimal bytes = new java.math.BigDecimal(m.group(1)).multiply(
                java.math.BigDecimal.valueOf(1024).pow(power));
        if (bytes.compareTo(java.math.BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
            throw new IllegalArgumentException("'" + text + "' is too large");
        }
        // 1.5K is 1536 bytes; a fraction of a byte (1.3 plain) is dropped
        return bytes.longValue();
    }

    /** {@code 0 B}, {@code 512 B}, {@code 1.5 KiB}, {@code 3.0 GiB}: one decimal past bytes. */
    static String format(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        double v = bytes;
        int unit = -1;
        while (v >= 1024 && unit < UNITS.length() - 1) {
            v /= 1024;
            unit++;
        }
        return String.format(Locale.ROOT, "%.1f %siB", v, UNITS.charAt(unit));
    }

    /** picocli: a size option's value; a bad one is a usage error (exit 2) naming the accepted forms. */
    static final class Converter implements CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            return CliMain.asUsageError(() -> parse(value));
        }
    }
}
