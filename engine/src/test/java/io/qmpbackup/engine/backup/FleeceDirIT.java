package io.qmpbackup.engine.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.qmpbackup.engine.testing.Chains;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.RecordingLog;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Correctness property 4: fleece images go to --fleece-dir (default: inside the target),
 * never next to the VM's disk, and are removed afterwards.
 */
class FleeceDirIT {
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "explicit fleece dir: {0}")
    @ValueSource(booleans = {true, false})
    void fleeceImagesLiveWhereAskedAndGoAway(boolean explicit) throws Exception {
        Path vmDir = Files.createDirectories(tmp.resolve("vm"));
        // a source made unlike qemu-img's defaults: its fleece image is made the same way
        Path img = vmDir.resolve("disk1.qcow2");
        QemuTools.run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=131072,compat=1.1",
                img.toString(), "16M");
        QemuTools.write(img, "qcow2", 0, 8 << 20, 0x31);
        DiskSpec disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        Path target = tmp.resolve("backup");
        Path fleeceDir = explicit ? Files.createDirectories(tmp.resolve("fleece")) : target;
        Set<String> seenInFleeceDir = ConcurrentHashMap.newKeySet();
        Set<String> seenNextToDisk = ConcurrentHashMap.newKeySet();
        try (TestVm vm = TestVm.start(vmDir, List.of(disk))) {
            BackupOptions.Builder opts = BackupOptions.builder(BackupLevel.FULL, target).speedLimit(8 << 20);
            if (explicit) {
                opts.fleeceDir(fleeceDir);
            }
            CompletableFuture<BackupResult> run = CompletableFuture.supplyAsync(() -> {
                try {
                    return Chains.backup(vm, opts.build(), new RecordingLog());
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            Set<String> fleeceInfo = ConcurrentHashMap.newKeySet();
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20)).until(() -> {
                seenInFleeceDir.addAll(names(fleeceDir));
                seenNextToDisk.addAll(names(vmDir));
                for (String n : names(fleeceDir)) {
                    if (n.endsWith(".fleece.qcow2")) {
                        fleeceInfo.add(QemuTools.exec("qemu-img", "info", "-U", fleeceDir.resolve(n).toString()).out());
                    }
                }
                return !fleeceInfo.isEmpty();
            });
            assertThat(fleeceInfo).anyMatch(i -> i.contains("cluster_size: 131072") && i.contains("compat: 1.1"));
            run.get();
            assertThat(seenInFleeceDir).anyMatch(n -> n.startsWith(".qmpbackup-") && n.endsWith(".fleece.qcow2"));
            assertThat(seenNextToDisk).noneMatch(n -> n.contains("fleece"));
            assertThat(names(fleeceDir)).noneMatch(n -> n.contains(".fleece."));
            if (explicit) {
                try (Stream<Path> s = Files.walk(target)) {
                    assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains(".fleece."));
                }
            }
        }
    }

    private static Set<String> names(Path dir) throws Exception {
        if (!Files.isDirectory(dir)) {
            return Set.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
    }
}
