package io.qmpbackup.engine.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A folder the backup writes to, checked before the VM is touched: a run that would fail on its
 * first file would otherwise have set up a snapshot, frozen the guest and left a half run behind.
 * Each problem is one line that says what is wrong and what to do. The folder itself is not
 * created here (the backup does that); what would have to create it is checked instead.
 */
final class TargetCheck {
    /** Kernel file systems: writable-looking to root, yet they hold no files. */
    private static final List<Path> PSEUDO = List.of(Path.of("/proc"), Path.of("/sys"), Path.of("/dev"));

    private TargetCheck() {
    }

    /** Throws an IOException whose message is the one line, when {@code folder} cannot take the backup. */
    static void folder(Path folder, String what, String option) throws IOException {
        Path abs = folder.toAbsolutePath().normalize();
        String it = what + " " + folder;
        for (Path p : PSEUDO) {
            if (abs.startsWith(p)) {
                throw new IOException(it + " is under " + p + ", a kernel file system that cannot hold backups:"
                        + " give a " + option + " folder on a disk");
            }
        }
        if (Files.exists(abs) && !Files.isDirectory(abs)) {
            throw new IOException(it + " is a file, not a folder: give a " + option + " folder (a missing one is"
                    + " created)");
        }
        Path existing = abs;
        while (!Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (!Files.isDirectory(existing)) {
            throw new IOException(it + " cannot be created: " + existing + " is a file, not a folder: give a "
                    + option + " whose parent folders are folders");
        }
        probe(existing, existing.equals(abs) ? it + " is not writable" : it + " cannot be created: " + existing
                + " is not writable", option);
    }

    /**
     * Writes and removes a file: the only test that answers for root (whom permission bits do not
     * stop), read-only mounts and ACLs alike.
     */
    static void probe(Path dir, String problem, String option) throws IOException {
        Path probe;
        try {
            probe = Files.createTempFile(dir, ".qmpbackup-probe-", "");
        } catch (IOException | SecurityException e) {
            String why = e instanceof java.nio.file.AccessDeniedException ? "permission denied"
                    : e instanceof java.nio.file.FileSystemException f && f.getReason() != null ? f.getReason()
                            : "it takes no new files";
            throw new IOException(problem + " (" + why + ", user " + System.getProperty("user.name") + "): make"
                    + " it writable for this user (chown/chmod, or remount read-write) or give another " + option,
                    e);
        }
        Files.deleteIfExists(probe);
    }
}
