package io.qmpbackup.agent.controller;

import io.qmpbackup.tenancy.SocketFolder;
import io.qmpbackup.tenancy.Tenancy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Where the agent may reach, checked on real paths: every path from a CR is resolved through its
 * symlinks (the deepest part that exists, by {@code toRealPath}, plus the names below it that do
 * not exist yet), confined, and only then used, in that resolved form. The agent runs as root and
 * sees whatever its mounts reach, so a lexical check alone would let a symlink lead out.
 */
final class Paths {
    private Paths() {
    }

    /**
     * The path as the kernel reaches it now: the deepest existing ancestor through its symlinks,
     * then the names below it (which do not exist, so hold no symlink yet).
     */
    static Path real(Path p) throws IOException {
        Path abs = p.toAbsolutePath().normalize();
        Path existing = abs;
        while (existing.getParent() != null && !Files.exists(existing, LinkOption.NOFOLLOW_LINKS)) {
            existing = existing.getParent();
        }
        // a dangling symlink exists without following: toRealPath fails on it, and so does the check
        return existing.toRealPath().resolve(existing.relativize(abs));
    }

    /**
     * A relative path given in a CR, checked by the agent itself (the schema's CEL rule is a first
     * line only): not absolute, no '..' part, not empty.
     */
    static Path relative(String given, String field) throws Refusal {
        if (given == null || given.isBlank()) {
            throw new Refusal("InvalidStoragePath", field + " is empty: give a folder relative to the storage area");
        }
        Path p = Path.of(given);
        if (given.startsWith("/") || p.isAbsolute()) {
            throw new Refusal("InvalidStoragePath", field + " " + given + " is absolute: give a path relative to the"
                    + " storage area, without '..'");
        }
        for (Path part : p) {
            if (part.toString().equals("..")) {
                throw new Refusal("InvalidStoragePath", field + " " + given + " contains '..': give a path relative"
                        + " to the storage area, without '..'");
            }
        }
        return p;
    }

    /** {@code area/relative}, resolved through its symlinks, refused unless it stays inside the area. */
    static Path inside(Path area, String relative, String field) throws Refusal {
        Path rel = relative(relative, field);
        try {
            Path realArea = real(area);
            Path p = real(realArea.resolve(rel));
            if (!p.startsWith(realArea)) {
                throw new Refusal("NotPermitted", field + " " + relative + " leads out of the storage area " + area
                        + " (it resolves to " + p + " through a symlink)");
            }
            return p;
        } catch (IOException e) {
            throw new Refusal("InvalidStoragePath", field + " " + relative + " cannot be resolved inside " + area + ": "
                    + e, e);
        }
    }

    /**
     * A VM socket ({@code what}: "QMP socket", "guest agent socket") that a run of {@code namespace}
     * names: its real path when the deepest socket folder holding it belongs to that namespace.
     * Nothing is connected to before this answers.
     */
    static Path socket(String socket, String what, String namespace, List<SocketFolder> folders) throws Refusal {
        return owned(socket, what, namespace, folders, Tenancy.SOCKET_FOLDERS);
    }

    /** Any host path assigned by folder ({@code kind}): its real path when its folder is the namespace's. */
    static Path owned(String given, String what, String namespace, List<SocketFolder> folders, Tenancy.Folders kind)
            throws Refusal {
        Path real;
        try {
            real = real(Path.of(given));
        } catch (IOException | RuntimeException e) {
            throw new Refusal(kind.outsideReason(), what + " " + given + " cannot be resolved: " + e, e);
        }
        Optional<Tenancy.Denial> denial = Tenancy.folderDenial(real, given, what, namespace, folders, Paths::real,
                kind);
        if (denial.isPresent()) {
            throw Refusal.of(denial.get());
        }
        return real;
    }
}
