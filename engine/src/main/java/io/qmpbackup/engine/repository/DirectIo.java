package io.qmpbackup.engine.repository;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Whether a folder's filesystem takes O_DIRECT (tmpfs and some FUSE filesystems refuse it). */
public final class DirectIo {
    private DirectIo() {
    }

    public static boolean supported(Path dir) {
        Path probe = dir.resolve(".qmpbackup-direct-probe-" + ProcessHandle.current().pid());
        try (FileChannel ch = FileChannel.open(probe, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.DELETE_ON_CLOSE, com.sun.nio.file.ExtendedOpenOption.DIRECT)) {
            return true;
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        } finally {
            try {
                Files.deleteIfExists(probe);
            } catch (IOException ignored) {
                // DELETE_ON_CLOSE already took it
            }
        }
    }
}
