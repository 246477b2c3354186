package io.qmpbackup.engine.restore;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpbackup.engine.backup.BackupLevel;
import io.qmpbackup.engine.backup.BackupOptions;
import io.qmpbackup.engine.testing.Chains;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.RecordingLog;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * qmpbackup 0.67's own restore, step by step as its {@code qmprestore merge} and {@code rebase}
 * run them (libqmpbackup lib.get_images, image.merge / image.rebase), replayed with plain
 * qemu-img on a copy of a disk folder we wrote: a user who goes back to qmpbackup gets the disk
 * byte for byte. The chain holds zeros the guest wrote over old data between two backups.
 */
class QmprestoreReplayIT {
    private static final int MIB = 1 << 20;

    @TempDir
    static Path base;

    static Path folder;
    static Path expected;

    @TempDir
    Path tmp;

    @BeforeAll
    static void takeChain() throws Exception {
        Path img = QemuTools.createQcow2(base.resolve("disk1.qcow2"), "16M");
        QemuTools.write(img, "qcow2", 0, 8 * MIB, 0x31);
        DiskSpec disk = new DiskSpec("vda", img, "qcow2", Attach.BLOCKDEV_VIRTIO, null);
        Path target = base.resolve("backup");
        folder = target.resolve("disk1.qcow2");
        try (TestVm vm = TestVm.start(base, List.of(disk))) {
            Chains.backup(vm, BackupOptions.builder(BackupLevel.FULL, target).build(), new RecordingLog());
            vm.guestWrite(disk, 2L * MIB, MIB, 0x00);
            vm.guestWrite(disk, 10L * MIB, MIB, 0x32);
            Chains.backup(vm, BackupOptions.builder(BackupLevel.INC, target).build(), new RecordingLog());
            vm.guestWrite(disk, 4L * MIB, 512 * 1024, 0x00);
            vm.guestWrite(disk, 12L * MIB, MIB, 0x33);
            Chains.backup(vm, BackupOptions.builder(BackupLevel.INC, target).compress(true).build(),
                    new RecordingLog());
            vm.flush(disk);
            expected = base.resolve("expected.qcow2");
            QemuTools.run("qemu-img", "convert", "-U", "-O", "qcow2", img.toString(), expected.toString());
        }
    }

    /** Its get_images: every file but uuid and *.config, oldest modification first. */
    private static List<Path> images(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> {
                String n = p.getFileName().toString();
                return !n.equals("uuid") && !n.endsWith(".config");
            }).sorted(Comparator.comparing(QmprestoreReplayIT::mtime)).toList();
        }
    }

    private static long mtime(Path p) {
        try {
            return Files.getLastModifiedTime(p).toMillis();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A copy of the folder elsewhere, times kept (what cp -a or rsync -a gives). */
    private Path copy(String name) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve(name).resolve("disk1.qcow2"));
        try (Stream<Path> s = Files.list(folder)) {
            for (Path p : s.toList()) {
                Files.copy(p, dir.resolve(p.getFileName()), StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
        return dir;
    }

    @Test
    void itsMergeRebuildsTheDiskFromOurChain() throws Exception {
        List<Path> files = images(copy("copied"));
        assertThat(files).hasSize(3);
        assertThat(files.get(0).getFileName().toString()).startsWith("FULL-");
        Path out = Files.createDirectories(tmp.resolve("restore")).resolve("disk1.qcow2");
        Path tdir = out.getParent();
        Files.copy(files.get(0), out);
        // pairwise from the newest down, each file copied next to the target before it is used
        for (int i = files.size() - 1; i >= 1; i--) {
            Path next = tdir.resolve(files.get(i).getFileName());
            if (!Files.exists(next)) {
                Files.copy(files.get(i), next);
            }
            Path prev = i == 1 ? out : tdir.resolve(files.get(i - 1).getFileName());
            if (!Files.exists(prev)) {
                Files.copy(files.get(i - 1), prev);
            }
            replay("qemu-img", "rebase", "-f", "qcow2", "-F", "qcow2", "-b", prev.toString(), next.toString(), "-u");
            replay("qemu-img", "commit", "-b", prev.toString(), next.toString());
            Files.delete(next);
        }
        QemuTools.Result cmp = QemuTools.compare(expected, "qcow2", out, "qcow2");
        assertThat(cmp.exit()).as(cmp.out()).isZero();
    }

    @Test
    void itsRebaseMakesOurChainOneBackingChainInPlace() throws Exception {
        List<Path> files = images(copy("in-place"));
        replay("qemu-img", "check", files.get(0).toString());
        for (int i = files.size() - 1; i >= 1; i--) {
            replay("qemu-img", "check", files.get(i).toString());
            replay("qemu-img", "rebase", "-f", "qcow2", "-F", "qcow2", "-b", files.get(i - 1).toString(),
                    files.get(i).toString(), "-u");
        }
        QemuTools.Result cmp = QemuTools.compare(expected, "qcow2", files.get(files.size() - 1), "qcow2");
        assertThat(cmp.exit()).as(cmp.out()).isZero();
    }

    private static void replay(String... cmd) throws IOException {
        QemuTools.Result r = QemuTools.exec(cmd);
        assertThat(r.exit()).as(String.join(" ", cmd) + ": " + r.out()).isZero();
    }

    @Test
    void theReplayFailsOnAChainWhoseIncsNameTheirPredecessor() throws Exception {
        // what the engine wrote before: a relative backing-file header in each INC. The replay
        // must catch that (qmpbackup's commit follows it from the copy, to a file not copied yet)
        Path dir = copy("with-headers");
        List<Path> files = new ArrayList<>(images(dir));
        for (int i = 1; i < files.size(); i++) {
            replay("qemu-img", "rebase", "-u", "-f", "qcow2", "-F", "qcow2", "-b",
                    files.get(i - 1).getFileName().toString(), files.get(i).toString());
        }
        Path out = Files.createDirectories(tmp.resolve("restore-old")).resolve("disk1.qcow2");
        Files.copy(files.get(0), out);
        int last = files.size() - 1;
        Path next = out.getParent().resolve(files.get(last).getFileName());
        Path prev = out.getParent().resolve(files.get(last - 1).getFileName());
        Files.copy(files.get(last), next);
        Files.copy(files.get(last - 1), prev);
        replay("qemu-img", "rebase", "-f", "qcow2", "-F", "qcow2", "-b", prev.toString(), next.toString(), "-u");
        QemuTools.Result commit = QemuTools.exec("qemu-img", "commit", "-b", prev.toString(), next.toString());
        assertThat(commit.exit()).as("qmpbackup's commit of such a copy fails: " + commit.out()).isNotZero();
        assertThat(commit.out()).contains("backing file");
    }
}
