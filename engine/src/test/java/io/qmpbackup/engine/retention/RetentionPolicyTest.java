package io.qmpbackup.engine.retention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which chains a policy keeps, on chains described by their restore points only. */
class RetentionPolicyTest {
    /** A chain: a name and the instants of its backups (the first is the full). */
    record C(String name, List<Instant> points) {
    }

    private static C chain(String name, String... times) {
        return new C(name, Arrays.stream(times).map(Instant::parse).toList());
    }

    private static List<String> kept(RetentionPolicy p, Map<String, List<C>> byDisk) {
        return new ArrayList<>(p.keep(byDisk, C::points).keySet().stream().map(C::name).toList());
    }

    private static RetentionPolicy last(int n) {
        return new RetentionPolicy(n, 0, 0, 0, ZoneOffset.UTC);
    }

    @Test
    void keepLastKeepsTheNewestChainsWhole() {
        List<C> chains = List.of(
                chain("a", "2026-11-01T02:00:00Z", "2026-11-02T02:00:00Z"),
                chain("b", "2026-11-03T02:00:00Z", "2026-11-04T02:00:00Z", "2026-11-05T02:00:00Z"),
                chain("c", "2026-11-06T02:00:00Z"));
        assertThat(kept(last(2), Map.of("vda", chains))).containsExactly("b", "c");
        assertThat(kept(last(1), Map.of("vda", chains))).containsExactly("c");
        assertThat(kept(last(5), Map.of("vda", chains))).containsExactly("a", "b", "c");
    }

    @Test
    void theNewestChainIsAlwaysKeptEvenByAPolicyOfGfsCountsOnly() {
        // monthly 1 picks the newest point, which is in the newest chain; weekly 0 and daily 0 pick nothing else
        List<C> chains = List.of(chain("old", "2026-10-01T00:00:00Z"), chain("new", "2026-11-20T00:00:00Z"));
        assertThat(kept(new RetentionPolicy(0, 0, 0, 1, ZoneOffset.UTC), Map.of("vda", chains)))
                .containsExactly("new");
    }

    @Test
    void dailyKeepsTheNewestPointOfEachDayAndTheChainItNeeds() {
        // a weekly full with daily incrementals: 7 daily points reach back into the previous week's chain
        List<C> chains = List.of(
                chain("w1", "2026-11-02T01:00:00Z", "2026-11-03T01:00:00Z", "2026-11-04T01:00:00Z"),
                chain("w2", "2026-11-09T01:00:00Z", "2026-11-10T01:00:00Z", "2026-11-11T01:00:00Z",
                        "2026-11-12T01:00:00Z", "2026-11-13T01:00:00Z", "2026-11-14T01:00:00Z"),
                chain("w3", "2026-11-16T01:00:00Z", "2026-11-17T01:00:00Z"));
        RetentionPolicy daily = new RetentionPolicy(0, 7, 0, 0, ZoneOffset.UTC);
        // the last 7 days with a point: 17, 16, 14, 13, 12, 11, 10 -> w2 and w3; w1 goes
        assertThat(kept(daily, Map.of("vda", chains))).containsExactly("w2", "w3");
        RetentionPolicy daily3 = new RetentionPolicy(0, 3, 0, 0, ZoneOffset.UTC);
        assertThat(kept(daily3, Map.of("vda", chains))).containsExactly("w2", "w3");
        RetentionPolicy daily2 = new RetentionPolicy(0, 2, 0, 0, ZoneOffset.UTC);
        assertThat(kept(daily2, Map.of("vda", chains))).containsExactly("w3");
    }

    @Test
    void twoBackupsOnOneDayCountOnceAndTheNewestOfTheDayIsPicked() {
        List<C> chains = List.of(
                chain("morning", "2026-11-20T06:00:00Z"),
                chain("evening", "2026-11-20T18:00:00Z"),
                chain("next", "2026-11-21T06:00:00Z"));
        assertThat(kept(new RetentionPolicy(0, 2, 0, 0, ZoneOffset.UTC), Map.of("vda", chains)))
                .containsExactly("evening", "next");
    }

    @Test
    void gfsCountsAddUp() {
        List<C> chains = new ArrayList<>();
        // one full per week, Mondays, from 2026-06-01 to 2026-11-23 (26 chains)
        Instant t = Instant.parse("2026-06-01T03:00:00Z");
        for (int i = 0; i < 26; i++) {
            chains.add(new C("c" + i, List.of(t)));
            t = t.plusSeconds(7 * 86400);
        }
        RetentionPolicy gfs = new RetentionPolicy(0, 0, 4, 3, ZoneOffset.UTC);
        List<String> kept = kept(gfs, Map.of("vda", chains));
        // weekly 4: the newest 4 chains (c22..c25); monthly 3: newest of November (c25), October (c21: Oct 26),
        // September (c17: Sep 28)
        assertThat(kept).containsExactlyInAnyOrder("c17", "c21", "c22", "c23", "c24", "c25");
    }

    @Test
    void daysAreCountedInTheGivenTimeZone() {
        // 23:30 UTC on the 20th is the 21st in Berlin: in UTC they are two days, in Berlin one
        List<C> chains = List.of(chain("a", "2026-11-20T23:30:00Z"), chain("b", "2026-11-21T10:00:00Z"),
                chain("c", "2026-11-22T10:00:00Z"));
        assertThat(kept(new RetentionPolicy(0, 3, 0, 0, ZoneOffset.UTC), Map.of("vda", chains)))
                .containsExactly("a", "b", "c");
        assertThat(kept(new RetentionPolicy(0, 3, 0, 0, ZoneId.of("Europe/Berlin")), Map.of("vda", chains)))
                .containsExactly("b", "c");
    }

    @Test
    void aRestorePointKeptForOneDiskIsKeptForEveryDisk() {
        // vdb lost its bitmap on the 3rd and started a new chain; vda went on incrementally
        Map<String, List<C>> byDisk = new LinkedHashMap<>();
        byDisk.put("vda", List.of(
                chain("vda-1", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z", "2026-11-03T00:00:00Z",
                        "2026-11-04T00:00:00Z"),
                chain("vda-5", "2026-11-05T00:00:00Z")));
        byDisk.put("vdb", List.of(
                chain("vdb-1", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"),
                chain("vdb-3", "2026-11-03T00:00:00Z", "2026-11-04T00:00:00Z"),
                chain("vdb-5", "2026-11-05T00:00:00Z")));
        // daily 2 keeps the points of the 5th and the 4th: vda keeps its old chain for the 4th
        assertThat(kept(new RetentionPolicy(0, 2, 0, 0, ZoneOffset.UTC), byDisk))
                .containsExactly("vda-1", "vda-5", "vdb-3", "vdb-5");
        // keepLast 2 of vda keeps the 1st to 4th, so vdb keeps every chain: no point is whole for one disk only
        assertThat(kept(last(2), byDisk)).containsExactly("vda-1", "vda-5", "vdb-1", "vdb-3", "vdb-5");
        assertThat(kept(last(1), byDisk)).containsExactly("vda-5", "vdb-5");
    }

    @Test
    void aPolicyThatKeepsNothingOrCountsBackwardsIsRefused() {
        assertThatThrownBy(() -> new RetentionPolicy(0, 0, 0, 0, null)).hasMessageContaining("--keep-last");
        assertThatThrownBy(() -> new RetentionPolicy(-1, 0, 0, 0, null)).hasMessageContaining("negative");
        assertThatThrownBy(() -> RetentionPolicy.zone("Mars/Olympus")).hasMessageContaining("IANA");
        assertThat(new RetentionPolicy(2, 0, 0, 0, null).zone()).isEqualTo(ZoneOffset.UTC);
    }

    @Test
    void aPinnedChainIsKeptLikeTheNewest() {
        List<C> chains = List.of(chain("full", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"),
                chain("copy1", "2026-11-03T00:00:00Z"), chain("copy2", "2026-11-04T00:00:00Z"));
        assertThat(new RetentionPolicy(1, 0, 0, 0, null).keep(Map.of("vda", chains), C::points,
                c -> c.name().equals("full")).keySet()).extracting(C::name).containsExactly("full", "copy2");
    }
}
