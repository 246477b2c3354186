package io.qmpbackup.engine.cli;

import java.util.Locale;

/**
 * The progress bar drawn on a terminal: percent, bar, bytes, rate and time left, as one line
 * that is redrawn in place. A pure function of the numbers, so what it shows is tested without a
 * terminal.
 */
final class ProgressBar {
    /** Cells of the bar itself: with the numbers the line stays within 80 columns. */
    static final int CELLS = 24;
    /** Before this long a rate says too little (the jobs' first read is a burst). */
    private static final long SETTLE_NANOS = 500_000_000L;

    private ProgressBar() {
    }

    /**
     * The line for {@code done} of {@code total} bytes after {@code elapsedNanos}; the rate is the
     * average since the start, which an uneven copy (sparse areas, throttling) keeps steadier than
     * the last interval's.
     */
    static String render(long done, long total, long elapsedNanos) {
        long shown = Math.max(0, Math.min(done, total));
        int percent = total <= 0 ? 0 : (int) (shown * 100 / total);
        int filled = total <= 0 ? 0 : (int) (shown * CELLS / total);
        String rate = "-- B/s";
        String eta = "--:--";
        if (shown > 0 && elapsedNanos >= SETTLE_NANOS) {
            double perSecond = shown / (elapsedNanos / 1e9);
            rate = Sizes.format((long) perSecond) + "/s";
            eta = clock((long) Math.ceil((total - shown) / perSecond));
        }
        return String.format(Locale.ROOT, "%3d%% [%s%s] %s / %s  %s  ETA %s", percent, "#".repeat(filled),
                "-".repeat(CELLS - filled), Sizes.format(shown), Sizes.format(total), rate, eta);
    }

    /** {@code 0:07}, {@code 12:34}, {@code 1:02:03}. */
    static String clock(long seconds) {
        long h = seconds / 3600;
        long m = seconds / 60 % 60;
        long s = seconds % 60;
        return h > 0 ? String.format(Locale.ROOT, "%d:%02d:%02d", h, m, s) : String.format(Locale.ROOT, "%d:%02d", m, s);
    }
}
