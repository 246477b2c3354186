package io.qmpbackup.engine.backup;

import io.qmpbackup.engine.testing.QemuTools;
import java.io.IOException;
import java.nio.file.Path;

/** Size-limited tmpfs mounts for running a backup out of space (tests run as root, as CI does). */
final class Mounts {
    private Mounts() {
    }

    static void tmpfs(Path dir, String size) throws IOException {
        QemuTools.Result r = QemuTools.exec("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", dir.toString());
        if (r.exit() != 0) {
            throw new IllegalStateException("cannot mount a tmpfs on " + dir + " (" + r.out().strip()
                    + "): this test fills a small filesystem and needs root, as .ci/run has");
        }
    }

    static void remount(Path dir, String size) throws IOException {
        QemuTools.run("mount", "-o", "remount,size=" + size, dir.toString());
    }

    static void unmount(Path dir) throws IOException {
        QemuTools.exec("umount", "-l", dir.toString());
    }
}
