package io.qmpbackup.kubectl;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.Progress;
import io.qmpbackup.api.v1alpha1.RunStatus;
import org.junit.jupiter.api.Test;

class ProgressLineTest {
    private static final long MIB = 1 << 20;
    private static final long SECOND = 1_000_000_000L;

    private static RunStatus running(long done, long total) {
        RunStatus s = new RunStatus();
        s.phase = Phase.RUNNING;
        s.progress = new Progress();
        s.progress.bytesDone = done;
        s.progress.bytesTotal = total;
        s.progress.percent = (int) (done * 100 / total);
        return s;
    }

    @Test
    void plainLineHasPercentBytesRateAndEta() {
        ProgressLine meter = new ProgressLine();
        meter.sample(0, running(8 * MIB, 32 * MIB));
        meter.sample(2 * SECOND, running(16 * MIB, 32 * MIB));
        assertThat(meter.rate()).isEqualTo(4.0 * MIB);
        assertThat(ProgressLine.plain(running(16 * MIB, 32 * MIB), meter.rate()))
                .isEqualTo("Running  50%  16.0 MiB of 32.0 MiB  4.0 MiB/s  ETA 4s");
    }

    @Test
    void withoutTwoSamplesThereIsNoRateNorEta() {
        ProgressLine meter = new ProgressLine();
        meter.sample(0, running(MIB, 32 * MIB));
        assertThat(meter.rate()).isEqualTo(-1);
        assertThat(ProgressLine.plain(running(MIB, 32 * MIB), meter.rate()))
                .isEqualTo("Running  3%  1.0 MiB of 32.0 MiB");
    }

    @Test
    void aStatusWithoutProgressShowsItsPhase() {
        RunStatus s = new RunStatus();
        s.phase = Phase.SCHEDULED;
        assertThat(ProgressLine.plain(s, -1)).isEqualTo("Scheduled");
        assertThat(ProgressLine.plain(null, -1)).isEqualTo("Pending");
        assertThat(ProgressLine.bar(null, -1, 80)).isEqualTo("Pending");
    }

    @Test
    void theBarFillsWithThePercentageAndFitsTheWidth() {
        String bar = ProgressLine.bar(running(16 * MIB, 32 * MIB), 4.0 * MIB, 80);
        assertThat(bar).startsWith("[" + "#".repeat(10) + ".".repeat(10) + "]")
                .endsWith("   50%  16.0 MiB of 32.0 MiB  4.0 MiB/s  ETA 4s");
        assertThat(bar.length()).isLessThanOrEqualTo(80);
        assertThat(ProgressLine.bar(running(32 * MIB, 32 * MIB), -1, 200)).startsWith("[" + "#".repeat(40) + "]");
        assertThat(ProgressLine.bar(running(16 * MIB, 32 * MIB), 4.0 * MIB, 30)).hasSize(30);
        assertThat(ProgressLine.bar(running(MIB, 32 * MIB), -1, 80).indexOf(']'))
                .as("the bar keeps its length whether a rate is known or not")
                .isEqualTo(ProgressLine.bar(running(16 * MIB, 32 * MIB), 4.0 * MIB, 80).indexOf(']'));
    }

    @Test
    void anEndedRunShowsNoRateNorEta() {
        RunStatus done = running(32 * MIB, 32 * MIB);
        done.phase = Phase.SUCCEEDED;
        assertThat(ProgressLine.plain(done, 4.0 * MIB)).isEqualTo("Succeeded  100%  32.0 MiB of 32.0 MiB");
    }

    @Test
    void theRateForgetsSamplesOlderThanTheWindowAndARestart() {
        ProgressLine meter = new ProgressLine();
        meter.sample(0, running(0, 100 * MIB));
        meter.sample(10 * SECOND, running(10 * MIB, 100 * MIB));
        meter.sample(30 * SECOND, running(50 * MIB, 100 * MIB));
        meter.sample(40 * SECOND, running(70 * MIB, 100 * MIB));
        // the sample at 0 s is beyond the 20 s window: the rate is that of 10..40 s
        assertThat(meter.rate()).isEqualTo(2.0 * MIB);
        meter.sample(41 * SECOND, running(MIB, 100 * MIB));
        assertThat(meter.rate()).as("a run that starts over has no rate yet").isEqualTo(-1);
    }

    @Test
    void sizesAndDurationsReadAsPeopleWriteThem() {
        assertThat(Sizes.bytes(512)).isEqualTo("512 B");
        assertThat(Sizes.bytes(1536)).isEqualTo("1.5 KiB");
        assertThat(Sizes.bytes(3L << 30)).isEqualTo("3.0 GiB");
        assertThat(Sizes.parse("200M")).isEqualTo(200 * MIB);
        assertThat(Sizes.parse("2GiB")).isEqualTo(2L << 30);
        assertThat(Sizes.parse("4096")).isEqualTo(4096);
        assertThat(Sizes.duration(java.time.Duration.ofSeconds(65))).isEqualTo("1m05s");
        assertThat(Sizes.duration(java.time.Duration.ofSeconds(3725))).isEqualTo("1h02m");
    }
}
