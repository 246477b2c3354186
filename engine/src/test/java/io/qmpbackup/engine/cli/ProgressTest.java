package io.qmpbackup.engine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The bar a terminal shows, and the plain progress lines everything else gets. */
class ProgressTest {
    private static final long MIB = 1 << 20;
    private static final long SECOND = 1_000_000_000L;

    @Test
    void barShowsPercentBytesRateAndTimeLeft() {
        assertThat(ProgressBar.render(256 * MIB, 1024 * MIB, 4 * SECOND))
                .isEqualTo(" 25% [######------------------] 256.0 MiB / 1.0 GiB  64.0 MiB/s  ETA 0:12");
        assertThat(ProgressBar.render(1024 * MIB, 1024 * MIB, 16 * SECOND))
                .isEqualTo("100% [########################] 1.0 GiB / 1.0 GiB  64.0 MiB/s  ETA 0:00");
        // nothing copied yet, or too early for a rate: no guess
        assertThat(ProgressBar.render(0, 4 * MIB, 3 * SECOND))
                .isEqualTo("  0% [------------------------] 0 B / 4.0 MiB  -- B/s  ETA --:--");
        assertThat(ProgressBar.render(MIB, 4 * MIB, SECOND / 10)).endsWith("-- B/s  ETA --:--");
        // a job's numbers past its total (QEMU grows total as it goes) never overfill the bar
        assertThat(ProgressBar.render(5 * MIB, 4 * MIB, SECOND)).startsWith("100% [########################]");
        assertThat(ProgressBar.clock(3723)).isEqualTo("1:02:03");
        assertThat(ProgressBar.clock(59)).isEqualTo("0:59");
    }

    @Test
    void onATerminalTheBarIsRedrawnInPlaceAndEndsOnItsOwnLine() {
        AtomicLong now = new AtomicLong();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ConsoleLog log = new ConsoleLog(false, null, null, new PrintStream(bytes, true, StandardCharsets.UTF_8),
                true, now::get);
        log.progress(0, 8 * MIB);
        now.addAndGet(SECOND / 10);
        log.progress(MIB, 8 * MIB); // too soon after the last draw: not drawn
        now.addAndGet(SECOND);
        log.progress(4 * MIB, 8 * MIB);
        log.info("a log line");
        now.addAndGet(SECOND);
        log.progress(8 * MIB, 8 * MIB);
        log.progress(8 * MIB, 8 * MIB); // read again after the end: the bar is not drawn twice
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertThat(out.split("\r", -1)).hasSize(4);
        assertThat(out).startsWith("\r  0% [").contains("\r 50% [############------------] 4.0 MiB / 8.0 MiB")
                .doesNotContain("12%").doesNotContain("progress:");
        // the log line comes after the bar's line is ended, not into it
        assertThat(out).containsPattern("\u001b\\[K\n\\[\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d,\\d{3}\\] INFO a log line\n");
        assertThat(out).endsWith("100% [########################] 8.0 MiB / 8.0 MiB  3.8 MiB/s  ETA 0:00\u001b[K\n");
    }

    @Test
    void elsewhereProgressIsAPlainLineEveryInterval() {
        AtomicLong now = new AtomicLong();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ConsoleLog log = new ConsoleLog(false, null, null, new PrintStream(bytes, true, StandardCharsets.UTF_8),
                false, now::get);
        log.progressEvery(10);
        for (int s = 1; s <= 25; s++) {
            now.addAndGet(SECOND);
            log.progress(s * MIB, 25 * MIB);
        }
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertThat(out).doesNotContain("\r").doesNotContain("[#");
        assertThat(out.lines()).hasSize(2).satisfiesExactly(
                l -> assertThat(l).endsWith("INFO progress: 40% (10485760 of 26214400 bytes)"),
                l -> assertThat(l).endsWith("INFO progress: 80% (20971520 of 26214400 bytes)"));
    }

    @Test
    void progressInterval0MeansNoProgressOnATerminalEither() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ConsoleLog log = new ConsoleLog(false, null, null, new PrintStream(bytes, true, StandardCharsets.UTF_8),
                true, System::nanoTime);
        log.progressEvery(0);
        log.progress(MIB, 2 * MIB);
        log.progress(2 * MIB, 2 * MIB);
        assertThat(bytes.toString(StandardCharsets.UTF_8)).isEmpty();
    }
}
