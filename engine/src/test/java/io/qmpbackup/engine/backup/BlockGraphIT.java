package io.qmpbackup.engine.backup;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpbackup.engine.qmp.BlockGraph;
import io.qmpbackup.engine.qmp.QmpClient;
import io.qmpbackup.engine.qmp.Transaction;
import io.qmpbackup.engine.testing.Chains;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The typed graph layer against a real QEMU: the fleecing graph built through it is what the
 * leftover cleaner finds for a dead run, and the one teardown order takes all of it away
 * mid-job, giving the device its disk back with the guest's data intact.
 */
class BlockGraphIT {
    private static final int MIB = 1 << 20;
    private static final String TOKEN = "0badc0de";

    @TempDir
    Path tmp;

    @Test
    void aFleecingGraphWithARunningJobIsFoundAsLeftoversAndTornDownCompletely() throws Exception {
        Path img = QemuTools.createQcow2(tmp.resolve("disk.qcow2"), "64M");
        QemuTools.write(img, "qcow2", 0, 32 * MIB, 0x3c);
        DiskSpec disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        Path target = QemuTools.createQcow2(tmp.resolve("target.qcow2"), "64M");
        Path fleece = QemuTools.createQcow2(tmp.resolve("fleece.qcow2"), "64M");
        try (TestVm vm = TestVm.startRunning(tmp, List.of(disk));
                QmpClient qmp = QmpClient.connect(vm.qmpSocket(), Duration.ofSeconds(10))) {
            BlockGraph g = new BlockGraph(qmp);
            String node = disk.nodeOrDrive();
            RunObjects made = new RunObjects();
            g.addImage(Names.node(TOKEN, "t", 0), "qcow2", target.toString(), false, "threads", true);
            made.add(RunObjects.Kind.TARGET, 0, Names.node(TOKEN, "t", 0), null);
            g.addFleeceImage(Names.node(TOKEN, "f", 0), fleece.toString());
            made.add(RunObjects.Kind.FLEECE, 0, Names.node(TOKEN, "f", 0), null);
            // the backup's own files ignore flushes (made durable after the job); the guest's disk does not
            assertThat(noFlush(g, target)).isTrue();
            assertThat(noFlush(g, fleece)).isTrue();
            assertThat(noFlush(g, img)).isFalse();
            g.addCopyBeforeWrite(Names.node(TOKEN, "c", 0), node, Names.node(TOKEN, "f", 0), 60);
            made.add(RunObjects.Kind.FILTER, 0, Names.node(TOKEN, "c", 0), null);
            g.setDrive(disk.qdevPath(), Names.node(TOKEN, "c", 0));
            made.add(RunObjects.Kind.DRIVE, 0, disk.qdevPath(), node);
            g.addSnapshotAccess(Names.node(TOKEN, "s", 0), Names.node(TOKEN, "c", 0));
            made.add(RunObjects.Kind.SNAPSHOT, 0, Names.node(TOKEN, "s", 0), null);
            g.addBitmap(node, Names.nextBitmap(TOKEN), false);
            made.add(RunObjects.Kind.BITMAP, -1, Names.nextBitmap(TOKEN), node);
            // a job slow enough to be running when the teardown starts
            g.run(new Transaction().backup(Names.job(TOKEN, 0), Names.node(TOKEN, "s", 0), Names.node(TOKEN, "t", 0),
                    null, false, MIB));
            made.add(RunObjects.Kind.JOB, 0, Names.job(TOKEN, 0), null);
            assertThat(g.job(Names.job(TOKEN, 0))).hasValueSatisfying(j -> assertThat(j.concluded()).isFalse());
            vm.guestWrite(disk, 0, MIB, 0x7e);

            // the run is dead (no run lock holds its token): the cleaner rebuilds exactly what was made
            RunObjects found = new LeftoverCleaner(qmp, tmp.resolve("locks"), BackupLog.SILENT).objectsOf(TOKEN);
            assertThat(found.items()).containsExactlyInAnyOrderElementsOf(made.items());

            List<String> warnings = new ArrayList<>();
            assertThat(found.teardown(g, warnings::add)).isEqualTo(made.items().size());
            assertThat(warnings).isEmpty();
            assertThat(found.graphClean()).isTrue();
            assertThat(Chains.qmpbackupNodes(vm.control())).isEmpty();
            assertThat(Chains.jobs(vm.control())).isEmpty();
            assertThat(Chains.bitmaps(vm.control(), node)).isEmpty();
            assertThat(new LeftoverCleaner(qmp, tmp.resolve("locks"), BackupLog.SILENT).objectsOf(TOKEN).items())
                    .isEmpty();
            // the device writes to its own disk again, and what the guest wrote meanwhile is there
            vm.guestWrite(disk, 2 * MIB, MIB, 0x7f);
            vm.flush(disk);
        }
        assertThat(QemuTools.readsPattern(img, "qcow2", 0, MIB, 0x7e)).isTrue();
        assertThat(QemuTools.readsPattern(img, "qcow2", 2 * MIB, MIB, 0x7f)).isTrue();
        assertThat(QemuTools.readsPattern(img, "qcow2", 4 * MIB, MIB, 0x3c)).isTrue();
    }

    /**
     * The allocator primer's node (a fleece image opened read-only, see RunGraph): one a dead run
     * left behind is found and removed like the run's other images, and opening it wrote nothing.
     */
    @Test
    void aPrimerNodeLeftBehindIsFoundAndRemovedAndItsImageIsUntouched() throws Exception {
        Path img = QemuTools.createQcow2(tmp.resolve("disk.qcow2"), "64M");
        DiskSpec disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        Path fleece = QemuTools.createQcow2(tmp.resolve("fleece.qcow2"), "64M");
        byte[] before = Files.readAllBytes(fleece);
        try (TestVm vm = TestVm.startRunning(tmp, List.of(disk));
                QmpClient qmp = QmpClient.connect(vm.qmpSocket(), Duration.ofSeconds(10))) {
            BlockGraph g = new BlockGraph(qmp);
            g.addReadOnlyImage(Names.node(TOKEN, "p", 0), fleece.toString(), RunGraph.PRIME_BYTES);
            assertThat(Chains.qmpbackupNodes(vm.control())).contains(Names.node(TOKEN, "p", 0));

            RunObjects found = new LeftoverCleaner(qmp, tmp.resolve("locks"), BackupLog.SILENT).objectsOf(TOKEN);
            assertThat(found.items()).containsExactly(
                    new RunObjects.Item(RunObjects.Kind.FLEECE, 0, Names.node(TOKEN, "p", 0), null));
            assertThat(found.teardown(g, w -> { })).isEqualTo(1);
            assertThat(Chains.qmpbackupNodes(vm.control())).isEmpty();
        }
        assertThat(Files.readAllBytes(fleece)).isEqualTo(before);
    }

    /** cache.no-flush of the file-protocol node QEMU opened on {@code file}. */
    private static boolean noFlush(BlockGraph g, Path file) throws Exception {
        for (com.fasterxml.jackson.databind.JsonNode n : g.namedNodes()) {
            if ("file".equals(n.path("drv").asText()) && file.toString().equals(n.path("file").asText())) {
                return n.path("cache").path("no-flush").asBoolean();
            }
        }
        throw new AssertionError("no file node on " + file);
    }
}
