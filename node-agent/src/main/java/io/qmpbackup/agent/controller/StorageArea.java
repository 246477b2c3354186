package io.qmpbackup.agent.controller;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One namespace's part of a storage location, {@code <location>/<namespace>}: the only folder its
 * backups and restores read and write. Paths in its runs' status (chainPath, disk files, pruned
 * files) are relative to it, so a VMRestore naming a VMBackup finds the chain again.
 */
final class StorageArea {
    private final String locationName;
    private final Path root;

    private StorageArea(String locationName, Path root) {
        this.locationName = locationName;
        this.root = root;
    }

    /** The area of {@code namespace} in the location named {@code locationName}, or StorageNotFound. */
    static StorageArea of(Map<String, Path> storage, String nodeName, String locationName, String namespace)
            throws Refusal {
        Path location = locationName == null ? null : storage.get(locationName);
        if (location == null) {
            throw new Refusal("StorageNotFound", "storage location " + locationName + " is not configured on node "
                    + nodeName + " (configured: " + storage.keySet() + ")");
        }
        return new StorageArea(locationName, location.resolve(namespace).normalize());
    }

    /** {@code <location>/<namespace>} as configured (before symlinks are resolved). */
    Path root() {
        return root;
    }

    /** The area's real path: what every path inside it is resolved against and relative to. */
    Path realRoot() throws Refusal {
        try {
            return Paths.real(root);
        } catch (IOException e) {
            throw new Refusal("InvalidStoragePath", "storage area " + root + " cannot be resolved: " + e, e);
        }
    }

    /** {@code relative} inside the area, its real path; '..', absolute paths and symlinks out are refused. */
    Path resolve(String relative, String field) throws Refusal {
        return Paths.inside(root, relative, field + " (in storage location " + locationName + ")");
    }

    /**
     * A merge's new image: an absolute path that resolves inside {@code namespace}'s area of one of
     * the storage locations, with no file (or link) there yet. Its parent folders are created, and
     * the parent's real path is checked again after that. Returns the path to write.
     */
    static Path mergeTarget(Map<String, Path> storage, String nodeName, String namespace, String targetFile)
            throws Refusal {
        if (targetFile == null || !targetFile.startsWith("/")) {
            throw new Refusal("InvalidTargetFile", "targetFile " + targetFile + " must be an absolute path inside"
                    + " the namespace's storage area, <location>/" + namespace + "/...");
        }
        for (Path part : Path.of(targetFile)) {
            if (part.toString().equals("..")) {
                throw new Refusal("InvalidTargetFile", "targetFile " + targetFile + " contains '..'");
            }
        }
        List<Path> areas = new ArrayList<>();
        try {
            Path real = Paths.real(Path.of(targetFile));
            for (Map.Entry<String, Path> loc : storage.entrySet()) {
                Path area = of(storage, nodeName, loc.getKey(), namespace).realRoot();
                areas.add(loc.getValue().resolve(namespace));
                if (real.startsWith(area) && !real.equals(area)) {
                    return prepare(Path.of(targetFile), real, area);
                }
            }
        } catch (IOException e) {
            throw new Refusal("InvalidTargetFile", "targetFile " + targetFile + " cannot be resolved: " + e, e);
        }
        throw new Refusal("NotPermitted", "targetFile " + targetFile + " is outside namespace " + namespace + "'s storage"
                + " areas " + areas + " on node " + nodeName + " (resolved through symlinks): a merge writes only"
                + " there; give a path inside one, for example " + (areas.isEmpty() ? "<location>/" + namespace
                        : areas.get(0)) + "/restore/<name>.qcow2");
    }

    /** Refuses an existing target, creates the parent folders, checks the parent's real path again. */
    private static Path prepare(Path given, Path real, Path area) throws Refusal, IOException {
        Path partial = real.resolveSibling(real.getFileName() + ".partial");
        if (Files.exists(given, LinkOption.NOFOLLOW_LINKS) || Files.exists(real, LinkOption.NOFOLLOW_LINKS)) {
            throw new Refusal("TargetExists", "targetFile " + given + " already exists: a merge never overwrites a"
                    + " file; give a new path or remove it");
        }
        if (Files.isSymbolicLink(partial)) {
            throw new Refusal("NotPermitted", "targetFile " + given + ": " + partial + " is a symlink");
        }
        Files.createDirectories(real.getParent());
        Path parent = real.getParent().toRealPath();
        if (!parent.startsWith(area)) {
            throw new Refusal("NotPermitted", "targetFile " + given + ": its folder resolves to " + parent
                    + ", outside the storage area " + area);
        }
        return parent.resolve(real.getFileName());
    }
}
