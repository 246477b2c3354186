package io.qmpbackup.engine.retention;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpbackup.engine.repository.ChainManifest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How a target's manifests become chains, on hand-written manifests: no QEMU, no backup files needed. */
class TargetChainsTest {
    @TempDir
    Path target;

    private final List<String> warnings = new ArrayList<>();

    private static ChainManifest.Entry entry(String level, String file, String backingFile) {
        ChainManifest.Entry e = new ChainManifest.Entry();
        e.level = level;
        e.file = file;
        e.backingFile = backingFile;
        e.epoch = Long.parseLong(file.replaceAll("^[A-Z]+-(\\d+)-.*$", "$1"));
        return e;
    }

    private static Path manifest(Path folder, String disk, ChainManifest.Entry... entries) throws Exception {
        ChainManifest m = new ChainManifest();
        m.disk = disk;
        m.folder = disk;
        m.entries.addAll(List.of(entries));
        Path file = Files.createDirectories(folder).resolve(disk + ".chain.json");
        m.write(file);
        return file;
    }

    private TargetChains read() throws Exception {
        return TargetChains.read(target, (mf, m) -> { }, warnings::add);
    }

    private static List<List<String>> files(List<Chain> chains) {
        return chains.stream().map(c -> c.entries().stream().map(e -> e.file).toList()).toList();
    }

    @Test
    void eachManifestSplitsIntoChainsOldestFirstTargetFolderBeforeMonths() throws Exception {
        manifest(target.resolve("2027-02"), "a.qcow2", entry("full", "FULL-30-a.qcow2", null));
        manifest(target, "a.qcow2", entry("full", "FULL-10-a.qcow2", null),
                entry("inc", "INC-11-a.qcow2", "a.qcow2/FULL-10-a.qcow2"), entry("copy", "COPY-12-a.qcow2", null),
                entry("inc", "INC-13-a.qcow2", "INC-11-a.qcow2"));
        manifest(target.resolve("2027-01"), "a.qcow2", entry("copy", "COPY-20-a.qcow2", null));
        manifest(target.resolve("not-a-month"), "a.qcow2", entry("full", "FULL-99-a.qcow2", null));

        TargetChains chains = read();

        assertThat(warnings).isEmpty();
        assertThat(chains.unprunable()).isEmpty();
        assertThat(files(chains.byDisk().get("a.qcow2"))).containsExactly(
                List.of("FULL-10-a.qcow2", "INC-11-a.qcow2", "INC-13-a.qcow2"), List.of("COPY-12-a.qcow2"),
                List.of("COPY-20-a.qcow2"), List.of("FULL-30-a.qcow2"));
        assertThat(chains.trackedChains()).singleElement().extracting(Chain::first).isEqualTo("FULL-30-a.qcow2");
        assertThat(chains.manifests()).hasSize(3);
    }

    @Test
    void copiesAfterTheNewestFullDoNotMoveChangeTracking() throws Exception {
        manifest(target, "a.qcow2", entry("full", "FULL-10-a.qcow2", null), entry("copy", "COPY-11-a.qcow2", null));
        assertThat(read().trackedChains()).singleElement().extracting(Chain::first).isEqualTo("FULL-10-a.qcow2");
    }

    @Test
    void aDiskItsManifestDoesNotFullyDescribeIsUnprunableWithTheReason() throws Exception {
        manifest(target, "orphan.qcow2", entry("inc", "INC-11-orphan.qcow2", null));
        manifest(target, "rebased.qcow2", entry("full", "FULL-10-rebased.qcow2", null),
                entry("inc", "INC-11-rebased.qcow2", "FULL-9-elsewhere.qcow2"));
        manifest(target, "shouting.qcow2", entry("FULL", "FULL-10-shouting.qcow2", null));
        manifest(target, "auto.qcow2", entry("auto", "FULL-10-auto.qcow2", null));

        TargetChains chains = read();

        assertThat(chains.unprunable()).containsExactlyInAnyOrder("orphan.qcow2", "rebased.qcow2", "shouting.qcow2",
                "auto.qcow2");
        assertThat(chains.byDisk()).containsOnlyKeys("auto.qcow2", "orphan.qcow2", "rebased.qcow2", "shouting.qcow2")
                .allSatisfy((disk, list) -> assertThat(list).isEmpty());
        assertThat(warnings).containsExactly(
                "auto.qcow2: " + target.resolve("auto.qcow2.chain.json")
                        + " lists FULL-10-auto.qcow2 with unknown level 'auto'; retention keeps every backup of this disk",
                "orphan.qcow2: " + target.resolve("orphan.qcow2.chain.json") + " starts with incremental"
                        + " INC-11-orphan.qcow2 whose full it does not list; retention keeps every backup of this disk",
                "rebased.qcow2: INC-11-rebased.qcow2 builds on FULL-9-elsewhere.qcow2, not on the backup before it"
                        + " (FULL-10-rebased.qcow2); retention keeps every backup of this disk",
                "shouting.qcow2: " + target.resolve("shouting.qcow2.chain.json")
                        + " lists FULL-10-shouting.qcow2 with unknown level 'FULL'; retention keeps every backup of"
                        + " this disk");
    }

    @Test
    void aFolderWithBackupsButNoManifestIsReportedAndEachManifestIsSeenAsItIsRead() throws Exception {
        Path month = Files.createDirectories(target.resolve("2027-03").resolve("b.qcow2"));
        Files.writeString(month.resolve("FULL-10-b.qcow2"), "");
        Path mf = manifest(target, "a.qcow2", entry("full", "FULL-10-a.qcow2", null));
        List<Path> seen = new ArrayList<>();

        TargetChains.read(target, (file, m) -> seen.add(file), warnings::add);

        assertThat(seen).containsExactly(mf);
        assertThat(warnings).containsExactly(target.resolve("2027-03") + " holds backups but no chain manifest"
                + " (*.chain.json): retention leaves it alone; it only prunes chains written by this tool");
    }

    @Test
    void aManifestCanNeverPointADeletionOutsideItsChainFolder() {
        Path mf = target.resolve("a.qcow2.chain.json");
        ChainManifest m = new ChainManifest();
        m.disk = "a.qcow2";
        assertThat(TargetChains.filesFolder(mf, m)).isEqualTo(target.resolve("a.qcow2"));
        m.folder = ".";
        assertThat(TargetChains.filesFolder(mf, m)).isEqualTo(target);
        for (String outside : List.of("..", "../x", "a/b", "/etc")) {
            m.folder = outside;
            assertThat(TargetChains.filesFolder(mf, m)).as(outside).isNull();
        }
        assertThat(TargetChains.plainName("FULL-1-a.qcow2")).isTrue();
        for (String notPlain : new String[] {null, "", ".", "..", "../x", "a/b", "a\\b", "a\0b"}) {
            assertThat(TargetChains.plainName(notPlain)).as(String.valueOf(notPlain)).isFalse();
        }
    }

    @Test
    void aRestorePointIsWhenTheBackupStartedElseTheEpochInItsName() {
        ChainManifest.Entry e = entry("full", "FULL-1000-a.qcow2", null);
        assertThat(Chain.pointOf(e)).isEqualTo(Instant.ofEpochSecond(1000));
        e.startedAt = "2027-01-01T00:00:00Z";
        assertThat(Chain.pointOf(e)).isEqualTo(Instant.parse("2027-01-01T00:00:00Z"));
        e.startedAt = "yesterday";
        assertThat(Chain.pointOf(e)).isEqualTo(Instant.ofEpochSecond(1000));
    }
}
