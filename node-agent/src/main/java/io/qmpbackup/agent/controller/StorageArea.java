package io.qmpbackup.agent.controller;

import io.qmpbackup.engine.repository.ChainDirectory;
import io.qmpbackup.tenancy.Tenancy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

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
        return new StorageArea(locationName, Tenancy.area(location, namespace));
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
     * Where a restore from the remote downloads its chain: {@code <area>/.qmpbackup-remote/<restore>}
     * (the restore's own name, so a rerun finds and replaces what an interrupted one left).
     */
    Path scratch(String restoreName) throws Refusal {
        return resolve(SCRATCH + "/" + restoreName, "the remote download folder");
    }

    static final String SCRATCH = ".qmpbackup-remote";

    /**
     * A merge's new image: an absolute path that resolves inside {@code namespace}'s area of one of
     * the storage locations, outside every chain folder, with no file (or link) there yet. Its
     * parent folders are created, and the parent's real path is checked again after that. Returns
     * the path to write.
     */
    static Path mergeTarget(Map<String, Path> storage, String nodeName, String namespace, String targetFile)
            throws Refusal {
        Optional<Tenancy.Denial> form = Tenancy.targetFileForm(targetFile, namespace);
        if (form.isPresent()) {
            throw Refusal.of(form.get());
        }
        try {
            Path real = Paths.real(Path.of(targetFile));
            Optional<Path> area = Tenancy.areaHolding(real, namespace, storage, Paths::real);
            if (area.isEmpty()) {
                throw Refusal.of(Tenancy.outsideAreas(targetFile, namespace, storage, " on node " + nodeName
                        + " (resolved through symlinks)"));
            }
            refuseInsideChain(targetFile, real, area.get());
            return prepare(Path.of(targetFile), real, area.get());
        } catch (IOException e) {
            throw new Refusal("InvalidTargetFile", "targetFile " + targetFile + " cannot be resolved: " + e, e);
        }
    }

    /**
     * A restored image written among a chain's files would be taken for part of it (by retention,
     * by a copy of the folder, by the next restore): a chain folder (it holds {@code uuid}) and the
     * folders in it are no place for one.
     */
    private static void refuseInsideChain(String targetFile, Path real, Path area) throws Refusal {
        for (Path dir = real.getParent(); dir != null && dir.startsWith(area) && !dir.equals(area);
                dir = dir.getParent()) {
            if (Files.exists(dir.resolve(ChainDirectory.UUID_FILE), LinkOption.NOFOLLOW_LINKS)) {
                throw new Refusal(Tenancy.NOT_PERMITTED, "targetFile " + targetFile + " is inside the backup chain"
                        + " folder " + dir + ": a restore is written outside chains; give a path such as "
                        + area + "/restore/" + real.getFileName());
            }
        }
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
