package io.qmpbackup.tenancy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Who may reach which VM socket and where a namespace's restores may write: the rules, stated
 * once for both processes. The agent applies them to real paths (through every symlink, on the
 * node); the operator applies them to the paths as written (it sees no node's files), so it can
 * fail work that is plainly not permitted before any node is involved. Both give the same reason
 * and message.
 */
public final class Tenancy {
    /** The reason of a run that names something its namespace was not given. */
    public static final String NOT_PERMITTED = "NotPermitted";
    /** The reason of a run naming a socket under no configured folder. */
    public static final String OUTSIDE_SOCKET_DIRS = "SocketOutsideAllowedDirs";

    private Tenancy() {
    }

    /** How a path is turned into the one compared: its real path on the node, or as written. */
    @FunctionalInterface
    public interface Resolver {
        /** The operator's: the path as written, made absolute and without '.' or '..' parts. */
        Resolver AS_WRITTEN = p -> p.toAbsolutePath().normalize();

        Path resolve(Path p) throws IOException;
    }

    /** A refusal: the status reason and a message that names what was refused and what would allow it. */
    public record Denial(String reason, String message) {
    }

    /**
     * Why {@code namespace} may not use {@code socket} (its {@code what}: "QMP socket", "guest
     * agent socket"), or empty when it may: the deepest socket folder holding it must belong to that
     * namespace. {@code socket} is already resolved; the folders are resolved with {@code resolve}
     * (a folder that cannot be resolved holds nothing).
     */
    public static Optional<Denial> socketDenial(Path socket, String given, String what, String namespace,
            List<SocketFolder> folders, Resolver resolve) {
        return folderDenial(socket, given, what, namespace, folders, resolve, SOCKET_FOLDERS);
    }

    /** Which folders a kind of host path must lie in: the status reason outside them, and the settings naming them. */
    public record Folders(String outsideReason, String setting, String chartValue) {
    }

    public static final Folders SOCKET_FOLDERS = new Folders(OUTSIDE_SOCKET_DIRS, "qmpbackup.agent.socket-dirs",
            "agent.socketDirs");
    public static final Folders TPM_FOLDERS = new Folders("TpmStateOutsideAllowedDirs",
            "qmpbackup.agent.tpm-state-dirs", "agent.tpmStateDirs");

    /**
     * As {@link #socketDenial}, for any host path an admin assigns by folder ({@code kind}: socket
     * folders, TPM state folders): the deepest folder holding {@code path} must belong to the namespace.
     */
    public static Optional<Denial> folderDenial(Path path, String given, String what, String namespace,
            List<SocketFolder> folders, Resolver resolve, Folders kind) {
        SocketFolder owner = null;
        int depth = -1;
        for (SocketFolder f : folders) {
            Path dir;
            try {
                dir = resolve.resolve(f.path());
            } catch (IOException e) {
                continue;
            }
            if (path.startsWith(dir) && !path.equals(dir) && dir.getNameCount() > depth) {
                owner = f;
                depth = dir.getNameCount();
            }
        }
        if (owner == null) {
            return Optional.of(new Denial(kind.outsideReason(), what + " " + given + " is not under the agent's folders"
                    + " " + folders.stream().map(SocketFolder::path).toList() + " (" + kind.setting() + "): move it"
                    + " there or add its folder to the agent's configuration (chart: " + kind.chartValue() + ")"));
        }
        if (!owner.namespace().equals(namespace)) {
            return Optional.of(new Denial(NOT_PERMITTED, "namespace " + namespace + " may not use " + what + " " + given
                    + ": its folder belongs to another namespace; an admin can assign a folder to " + namespace
                    + " with " + kind.setting() + " (<folder>=" + namespace + "; chart: " + kind.chartValue() + ":"
                    + " [{path: <folder>, namespace: " + namespace + "}])"));
        }
        return Optional.empty();
    }

    /** Storage locations as configured, {@code name=path,name=path} ({@code setting} names where, for errors). */
    public static Map<String, Path> locations(String entries, String setting) {
        Map<String, Path> m = new LinkedHashMap<>();
        for (String entry : entries.split(",")) {
            String e = entry.trim();
            if (e.isEmpty()) {
                continue;
            }
            int eq = e.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException(setting + " entry '" + e + "' is not name=path");
            }
            m.put(e.substring(0, eq).trim(), Path.of(e.substring(eq + 1).trim()));
        }
        return m;
    }

    /** A namespace's part of a storage location: the only folder its backups and restores use. */
    public static Path area(Path location, String namespace) {
        return location.resolve(namespace).normalize();
    }

    /**
     * The area (resolved) of {@code namespace} that holds {@code target} (already resolved), among
     * the storage locations; empty when none does. The area itself is no place for a file.
     */
    public static Optional<Path> areaHolding(Path target, String namespace, Map<String, Path> locations,
            Resolver resolve) throws IOException {
        for (Path location : locations.values()) {
            Path area = resolve.resolve(area(location, namespace));
            if (target.startsWith(area) && !target.equals(area)) {
                return Optional.of(area);
            }
        }
        return Optional.empty();
    }

    /** Why a merge may not write {@code targetFile}: it lies in none of the namespace's areas. */
    public static Denial outsideAreas(String targetFile, String namespace, Map<String, Path> locations, String where) {
        List<Path> areas = new ArrayList<>();
        locations.values().forEach(l -> areas.add(area(l, namespace)));
        return new Denial(NOT_PERMITTED, "targetFile " + targetFile + " is outside namespace " + namespace
                + "'s storage areas " + areas + where + ": a merge writes only there; give a path inside one, for"
                + " example " + (areas.isEmpty() ? "<location>/" + namespace : areas.get(0)) + "/restore/<name>.qcow2");
    }

    /** Why {@code targetFile} is no merge target as written (relative, or with '..'); empty when it may be. */
    public static Optional<Denial> targetFileForm(String targetFile, String namespace) {
        if (targetFile == null || !targetFile.startsWith("/")) {
            return Optional.of(new Denial("InvalidTargetFile", "targetFile " + targetFile + " must be an absolute path"
                    + " inside the namespace's storage area, <location>/" + namespace + "/..."));
        }
        for (Path part : Path.of(targetFile)) {
            if (part.toString().equals("..")) {
                return Optional.of(new Denial("InvalidTargetFile", "targetFile " + targetFile + " contains '..'"));
            }
        }
        return Optional.empty();
    }
}
