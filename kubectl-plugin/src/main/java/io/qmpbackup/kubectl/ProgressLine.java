package io.qmpbackup.kubectl;

import io.qmpbackup.api.v1alpha1.Progress;
import io.qmpbackup.api.v1alpha1.RunStatus;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * One line of a run's progress: phase, percent, bytes, rate and ETA. The agent writes
 * status.progress every few seconds; the rate is measured here over the samples of the last
 * {@link #WINDOW} (the status carries no rate, and the client's own clock is the only one that
 * needs no agreement with the node's).
 */
final class ProgressLine {
    static final Duration WINDOW = Duration.ofSeconds(20);
    /**
     * Room kept right of the bar for the longest tail ("  100%  1023.9 MiB of 1023.9 MiB  1023.9
     * MiB/s  ETA 99h59m"), so the bar keeps its length from one frame to the next.
     */
    private static final int TAIL_MAX = 58;

    private record Sample(long nanos, long bytes) {
    }

    private final Deque<Sample> samples = new ArrayDeque<>();

    /** Records what the status says at {@code nanos} (System.nanoTime()). */
    void sample(long nanos, RunStatus s) {
        if (s == null || s.progress == null || s.progress.bytesDone == null) {
            return;
        }
        long done = s.progress.bytesDone;
        Sample last = samples.peekLast();
        if (last != null && done < last.bytes) {
            samples.clear(); // the agent started over (a retried run): the old samples say nothing
        }
        if (last == null || done != last.bytes) {
            samples.addLast(new Sample(nanos, done));
        }
        while (samples.size() > 2 && nanos - samples.peekFirst().nanos > WINDOW.toNanos()) {
            samples.removeFirst();
        }
    }

    /** Bytes per second over the window, or -1 when two samples are not there yet. */
    double rate() {
        if (samples.size() < 2) {
            return -1;
        }
        Sample first = samples.peekFirst();
        Sample last = samples.peekLast();
        double seconds = (last.nanos - first.nanos) / 1e9;
        return seconds <= 0 ? -1 : (last.bytes - first.bytes) / seconds;
    }

    /** "Running  42%  13.4 MiB of 32.0 MiB  4.0 MiB/s  ETA 5s", for logs and pipes. */
    static String plain(RunStatus s, double rate) {
        StringBuilder b = new StringBuilder(phase(s));
        Progress p = s == null ? null : s.progress;
        if (p != null && p.bytesTotal != null && p.bytesDone != null) {
            b.append("  ").append(percent(p)).append('%');
            b.append("  ").append(Sizes.bytes(p.bytesDone)).append(" of ").append(Sizes.bytes(p.bytesTotal));
            b.append(rateAndEta(s, rate));
        }
        return b.toString();
    }

    /** "[#######.............]  35%  11.2 MiB of 32.0 MiB  4.0 MiB/s  ETA 5s", {@code width} columns at most. */
    static String bar(RunStatus s, double rate, int width) {
        Progress p = s == null ? null : s.progress;
        if (p == null || p.bytesTotal == null || p.bytesDone == null) {
            return fit(phase(s), width);
        }
        String tail = String.format("  %3d%%  %s of %s%s", percent(p), Sizes.bytes(p.bytesDone),
                Sizes.bytes(p.bytesTotal), rateAndEta(s, rate));
        int cells = Math.max(10, Math.min(40, width - TAIL_MAX - 2));
        int filled = (int) Math.round(cells * percent(p) / 100.0);
        return fit("[" + "#".repeat(filled) + ".".repeat(cells - filled) + "]" + tail, width);
    }

    /** Only while it runs: an ended run has no ETA, and its last rate is not its average. */
    private static String rateAndEta(RunStatus s, double rate) {
        if (rate <= 0 || s.phase != io.qmpbackup.api.v1alpha1.Phase.RUNNING) {
            return "";
        }
        Progress p = s.progress;
        long left = Math.max(0, p.bytesTotal - p.bytesDone);
        return "  " + Sizes.bytes((long) rate) + "/s  ETA " + Sizes.duration(Duration.ofSeconds((long) (left / rate)));
    }

    private static int percent(Progress p) {
        if (p.percent != null) {
            return p.percent;
        }
        return p.bytesTotal <= 0 ? 0 : (int) Math.min(100, p.bytesDone * 100 / p.bytesTotal);
    }

    private static String phase(RunStatus s) {
        return s == null || s.phase == null ? "Pending" : s.phase.value();
    }

    private static String fit(String line, int width) {
        return line.length() <= width ? line : line.substring(0, width);
    }
}
