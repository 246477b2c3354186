package io.qmpbackup.engine.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpbackup.engine.repository.ChainManifest;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The planner alone: disks, options and chain state in, levels and reasons out; no QEMU, no files. */
class BackupPlannerTest {
    private static final String UUID = "11111111-2222-3333-4444-555555555555";
    private static final String BITMAP = "qmpbackup-" + UUID;
    private static final Path TARGET = Path.of("/backup/vm1");

    private static Bitmap bitmap(String name, boolean inconsistent) {
        return new Bitmap(name, true, true, inconsistent, false, 65536, 0);
    }

    private static Disk qcow2(String dev, List<Bitmap> bitmaps) {
        return new Disk(dev, "node-" + dev, "/machine/peripheral/" + dev, "qcow2", "/vm/" + dev + ".qcow2", 1 << 30,
                false, false, false, bitmaps);
    }

    private static Disk raw(String dev) {
        return new Disk(dev, "node-" + dev, "/machine/peripheral/" + dev, "raw", "/vm/" + dev + ".img", 1 << 20,
                false, false, false, List.of());
    }

    private static Disk pflash() {
        return new Disk("pflash1", "node-vars", "", "raw", "/vm/vars.fd", 1 << 18, false, true, false, List.of());
    }

    private static ManifestState withFull() {
        ChainManifest m = new ChainManifest();
        ChainManifest.Entry e = new ChainManifest.Entry();
        e.level = "full";
        e.file = "FULL-1-x";
        m.entries.add(e);
        return new ManifestState(Optional.of(m), true);
    }

    private record ManifestState(Optional<ChainManifest> manifest, boolean hasFull) {
    }

    /** A chain folder as the planner sees it; disks not in {@code disks} have nothing in it. */
    private static ChainState chain(Optional<String> uuid, boolean newMonth, Map<String, ManifestState> disks) {
        return new ChainState() {
            @Override
            public Path path() {
                return TARGET;
            }

            @Override
            public Optional<String> uuid() {
                return uuid;
            }

            @Override
            public boolean newMonth() {
                return newMonth;
            }

            @Override
            public DiskChain disk(String basename) {
                ManifestState s = disks.getOrDefault(basename, new ManifestState(Optional.empty(), false));
                return new DiskChain(TARGET.resolve(basename), s.manifest(), s.hasFull(), List.of(), Optional.empty());
            }
        };
    }

    private static BackupPlan plan(BackupOptions.Builder o, List<Disk> disks, ChainState chain) throws BackupException {
        return new BackupPlanner(o.build(), () -> "new-chain").plan("VM vm1", disks, chain);
    }

    private static BackupOptions.Builder level(BackupLevel l) {
        return BackupOptions.builder(l, TARGET);
    }

    @Test
    void autoTakesAnIncWhereTheChainAndItsBitmapAreIntactAndAFullWhereNotSayingWhy() throws Exception {
        List<Disk> disks = List.of(qcow2("vda", List.of(bitmap(BITMAP, false))), qcow2("vdb", List.of()),
                qcow2("vdc", List.of(bitmap(BITMAP, true))));
        BackupPlan p = plan(level(BackupLevel.AUTO), disks, chain(Optional.of(UUID), false,
                Map.of("vda.qcow2", withFull(), "vdb.qcow2", withFull(), "vdc.qcow2", withFull())));

        assertThat(p.disks()).extracting(BackupPlan.DiskPlan::level)
                .containsExactly(BackupLevel.INC, BackupLevel.FULL, BackupLevel.FULL);
        assertThat(p.disks().get(1).reason()).contains("bitmap " + BITMAP + " is missing");
        assertThat(p.disks().get(2).reason()).contains("inconsistent");
        assertThat(p.warnings()).hasSize(2).allSatisfy(w -> assertThat(w).endsWith("taking a full backup instead"));
        assertThat(p.chainId()).isEqualTo(UUID);
        assertThat(p.disks()).extracting(BackupPlan.DiskPlan::index).containsExactly(0, 1, 2);
    }

    @Test
    void incRefusesNamingTheDiskTheProblemAndTheFix() {
        List<Disk> disks = List.of(qcow2("vda", List.of()));
        assertThatThrownBy(() -> plan(level(BackupLevel.INC), disks, chain(Optional.of(UUID), false,
                Map.of("vda.qcow2", withFull()))))
                .isInstanceOf(BackupException.class)
                .hasMessageContaining("cannot take an incremental backup of disk vda")
                .hasMessageContaining("bitmap " + BITMAP + " is missing")
                .hasMessageContaining("run --level full");
        assertThatThrownBy(() -> plan(level(BackupLevel.INC), List.of(qcow2("vda", List.of(bitmap(BITMAP, false)))),
                chain(Optional.of(UUID), false, Map.of())))
                .hasMessageContaining("there is no full backup of it in " + TARGET.resolve("vda.qcow2"));
    }

    @Test
    void aNewChainGetsANewIdAndNoFallbackWarning() throws Exception {
        BackupPlan p = plan(level(BackupLevel.AUTO), List.of(qcow2("vda", List.of())),
                chain(Optional.empty(), false, Map.of()));
        assertThat(p.disks()).singleElement().satisfies(d -> {
            assertThat(d.level()).isEqualTo(BackupLevel.FULL);
            assertThat(d.reason()).contains("no chain in " + TARGET);
        });
        assertThat(p.warnings()).isEmpty();
        assertThat(p.chainId()).isEqualTo("new-chain");
        assertThat(plan(level(BackupLevel.FULL).uuid(UUID), List.of(qcow2("vda", List.of())),
                chain(Optional.empty(), false, Map.of())).chainId()).isEqualTo(UUID);
        assertThat(plan(level(BackupLevel.AUTO).monthly(true), List.of(qcow2("vda", List.of(bitmap(BITMAP, false)))),
                chain(Optional.of(UUID), true, Map.of("vda.qcow2", withFull()))).disks().get(0).reason())
                .isEqualTo("a new month starts a new chain");
    }

    @Test
    void copiesKeepNoChainAndAnotherUuidIsRefusedForChainedLevelsOnly() throws Exception {
        BackupPlan copy = plan(level(BackupLevel.COPY).uuid("other"), List.of(qcow2("vda", List.of())),
                chain(Optional.of(UUID), false, Map.of()));
        assertThat(copy.disks()).singleElement().extracting(BackupPlan.DiskPlan::level).isEqualTo(BackupLevel.COPY);
        assertThat(copy.chainId()).isNull();
        assertThat(copy.disks().get(0).advancesTracking()).isFalse();
        assertThatThrownBy(() -> plan(level(BackupLevel.FULL).uuid("other"), List.of(qcow2("vda", List.of())),
                chain(Optional.of(UUID), false, Map.of())))
                .hasMessageContaining("holds chain " + UUID + " but --uuid other was given");
    }

    @Test
    void rawDisksNeedIncludeRawAndAreTrackedWhileQemuRunsAndPflashIsAlwaysTaken() throws Exception {
        List<Disk> disks = List.of(qcow2("vda", List.of()), raw("vdb"), pflash());
        BackupPlan p = plan(level(BackupLevel.AUTO).include(List.of("vda")), disks,
                chain(Optional.empty(), false, Map.of()));
        assertThat(p.disks()).extracting(d -> d.disk().name()).containsExactly("vda", "pflash1");
        assertThat(p.disks().get(1).tracked()).isFalse();
        assertThat(p.disks().get(1).fleeced()).as("no qdev to swap").isFalse();
        assertThat(p.notes()).anySatisfy(n -> assertThat(n).contains("leaving out disk vdb").contains("not in --include"));

        BackupPlan noRaw = plan(level(BackupLevel.FULL), disks, chain(Optional.empty(), false, Map.of()));
        assertThat(noRaw.disks()).extracting(d -> d.disk().name()).containsExactly("vda", "pflash1");
        assertThat(noRaw.warnings()).singleElement().asString().contains("leaving out raw disk vdb")
                .contains("--include-raw");

        BackupPlan withRaw = plan(level(BackupLevel.AUTO).includeRaw(true), disks,
                chain(Optional.empty(), false, Map.of()));
        assertThat(withRaw.disks()).extracting(BackupPlan.DiskPlan::level).containsOnly(BackupLevel.FULL);
        assertThat(withRaw.disks().get(1).tracked()).as("the raw disk").isTrue();
        // its bitmap is gone with a QEMU restart: inc says so
        assertThatThrownBy(() -> plan(level(BackupLevel.INC).includeRaw(true).include(List.of("vdb")), disks,
                chain(Optional.of(UUID), false, Map.of())))
                .hasMessageContaining("a raw disk's tracking lives only while its QEMU process runs");
    }

    @Test
    void unknownDiskNamesAreRefusedForIncludeAndWarnedForExclude() throws Exception {
        List<Disk> disks = List.of(qcow2("vda", List.of()));
        assertThatThrownBy(() -> plan(level(BackupLevel.FULL).include(List.of("vdz")), disks,
                chain(Optional.empty(), false, Map.of())))
                .hasMessageContaining("has no disk named 'vdz' (--include): its disks are [vda]");
        BackupPlan p = plan(level(BackupLevel.FULL).exclude(List.of("vdz")), disks,
                chain(Optional.empty(), false, Map.of()));
        assertThat(p.warnings()).singleElement().asString().contains("nothing to exclude");
        assertThatThrownBy(() -> plan(level(BackupLevel.FULL).exclude(List.of("vda")), disks,
                chain(Optional.empty(), false, Map.of()))).hasMessageContaining("has no disk to back up");
    }
}
