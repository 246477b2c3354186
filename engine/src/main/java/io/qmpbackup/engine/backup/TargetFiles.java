package io.qmpbackup.engine.backup;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import io.qmpbackup.engine.qmp.Json;
import io.qmpbackup.engine.repository.AtomicFiles;
import io.qmpbackup.engine.repository.ChainDirectory;
import io.qmpbackup.engine.repository.QemuImg;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The run's files in the target: each backup file is created as {@code *.partial} (its inverse,
 * deleting it, registered at once), the source's {@code .config} saved, and the fleece image
 * made; nothing here talks to QEMU.
 */
final class TargetFiles {
    private final BackupOptions o;
    private final ChainDirectory chain;
    private final String vm;
    private final Consumer<String> warn;
    /** Every disk of the VM, backed up or not: no backup file may land on one of their images. */
    private final List<Disk> vmDisks;

    TargetFiles(BackupOptions options, ChainDirectory chain, String vm, Consumer<String> warn, List<Disk> vmDisks) {
        this.o = options;
        this.chain = chain;
        this.vm = vm;
        this.warn = warn;
        this.vmDisks = List.copyOf(vmDisks);
    }

    List<DiskFiles> prepare(BackupPlan plan, Path fleeceDir, String token, UndoStack undo, Cancellation cancel)
            throws IOException, BackupException {
        refuseOverlaps(plan);
        long now = o.clock().instant().getEpochSecond();
        List<DiskFiles> files = new ArrayList<>();
        for (BackupPlan.DiskPlan p : plan.disks()) {
            cancel.check(vm);
            files.add(prepare(p, fleeceDir, token, now, undo));
        }
        return files;
    }

    private DiskFiles prepare(BackupPlan.DiskPlan p, Path fleeceDir, String token, long now, UndoStack undo)
            throws IOException, BackupException {
        String basename = p.disk().basename();
        Path folder = chain.diskFolder(basename);
        Files.createDirectories(folder);
        removeStalePartials(basename);
        var manifest = chain.manifest(basename).orElse(null);
        saveConfig(p.disk(), basename);
        JsonNode source = sourceInfo(basename);
        long epoch = chain.nextEpoch(basename, now);
        boolean plainName = o.noTimestamp() && p.level() != BackupLevel.INC;
        String name = plainName ? basename : p.level().prefix() + "-" + epoch + "-" + basename;
        Path finalFile = folder.resolve(name);
        Path partial = folder.resolve(name + ChainDirectory.PARTIAL_SUFFIX);
        boolean replaces = Files.exists(finalFile, java.nio.file.LinkOption.NOFOLLOW_LINKS);
        if (replaces && !plainName) {
            throw new BackupException(vm + ": backup file " + finalFile + " already exists; refusing to overwrite it");
        }
        if (replaces && (manifest == null || manifest.entries.stream().noneMatch(e -> e.file.equals(name)))) {
            // --no-timestamp replaces the previous full of that name, never a file the chain did not write
            // (the VM's own image, when QEMU names it by a relative path the check above cannot resolve)
            throw new BackupException(vm + ": " + finalFile + " exists and is no backup of this chain (its manifest"
                    + " does not list it), so --no-timestamp will not replace it; give a --target that is not the"
                    + " folder of the VM's images, or remove the file if it is an old backup");
        }
        String backing = p.level() == BackupLevel.INC ? previousFile(p, folder, manifest) : null;
        List<String> args = new ArrayList<>(List.of("create", "-q", "-f", p.targetFormat()));
        if (p.disk().format().equals("qcow2")) {
            // no backing-file header, as qmpbackup writes INCs: its restore copies the files one by one
            // into another folder, where a header naming the previous file points at nothing yet (the
            // chain's order is in the manifest and the file names; our restore passes the backing itself)
            args.addAll(qcow2Options(p, source));
        }
        args.add(partial.toString());
        args.add(Long.toString(p.disk().virtualSize()));
        undo.push("delete unfinished file " + partial, () -> deleteUnfinished(partial));
        QemuImg.run(args.toArray(String[]::new));
        Path fleece = null;
        if (p.fleeced()) {
            Path f = fleeceDir.resolve(".qmpbackup-" + token + "-" + p.index() + ".fleece.qcow2");
            undo.push("delete fleece file " + f, () -> Files.deleteIfExists(f));
            List<String> create = new ArrayList<>(List.of("create", "-q", "-f", "qcow2"));
            create.addAll(fleeceOptions(source));
            create.add(f.toString());
            create.add(Long.toString(p.disk().virtualSize()));
            QemuImg.run(create.toArray(String[]::new));
            fleece = f;
        }
        return new DiskFiles(p, basename, folder, partial, finalFile, fleece, backing, epoch, manifest, replaces);
    }

    /**
     * Before any file is written: two disks of the run would share one folder and one chain
     * manifest (the same image name), or a backup file would land on an image of the VM (with
     * --no-subdir and --no-timestamp a full's name is the image's own: the target the image's
     * folder would replace the running disk), or a disk's folder is a file (the target is the
     * image's folder).
     */
    private void refuseOverlaps(BackupPlan plan) throws IOException, BackupException {
        Map<String, Disk> byName = new HashMap<>();
        for (BackupPlan.DiskPlan p : plan.disks()) {
            Disk other = byName.putIfAbsent(p.disk().basename(), p.disk());
            if (other != null) {
                throw new BackupException(vm + ": " + other.describe() + " and " + p.disk().describe() + " have the"
                        + " same image name " + p.disk().basename() + ", so their backups would share one folder and one"
                        + " chain in " + chain.path() + "; back them up to separate targets (--include/--exclude)");
            }
            Path folder = chain.diskFolder(p.disk().basename());
            if (Files.exists(folder) && !Files.isDirectory(folder)) {
                throw new BackupException(vm + ": the backup folder of " + p.disk().describe() + " would be " + folder
                        + ", which is a file" + (onImage(folder) != null ? " (the VM's disk image)" : "")
                        + "; give a --target that is not the folder of the VM's images");
            }
            Path plain = folder.resolve(p.disk().basename());
            Disk image = o.noTimestamp() ? onImage(plain) : null;
            if (image != null) {
                throw new BackupException(vm + ": the backup of " + p.disk().describe() + " would be written over " + plain
                        + ", " + (image.equals(p.disk()) ? "its own image" : "the image of " + image.describe())
                        + " (--no-subdir --no-timestamp in the image's folder); give a --target that is not the folder"
                        + " of the VM's images");
            }
        }
    }

    /** The VM's disk whose image {@code file} is (symlinks and hard links too), or null. */
    private Disk onImage(Path file) throws IOException {
        if (!Files.exists(file)) {
            return null;
        }
        for (Disk d : vmDisks) {
            Path image = Path.of(d.filename());
            if (image.isAbsolute() && Files.exists(image) && Files.isSameFile(file, image)) {
                return d;
            }
        }
        return null;
    }

    private void deleteUnfinished(Path partial) throws IOException {
        try {
            Files.deleteIfExists(partial);
        } catch (IOException e) {
            throw new IOException(e.getMessage() + "; delete " + partial + " by hand (it is not a usable backup)", e);
        }
    }

    /**
     * Unfinished files of interrupted runs. Ours never advanced change tracking, so they are
     * garbage; an INC over a manifest-less (qmpbackup) chain with such a file was refused in
     * planning, since qmpbackup clears its bitmap before the file is complete.
     */
    private void removeStalePartials(String basename) throws IOException {
        for (Path p : chain.partialFiles(basename)) {
            Files.deleteIfExists(p);
            warn.accept(vm + ": removed unfinished backup file " + p + " left by an interrupted run");
        }
    }

    private void saveConfig(Disk disk, String basename) {
        Path image = Path.of(disk.filename());
        if (!image.isAbsolute() || !Files.exists(image)) {
            warn.accept(vm + ": cannot read image " + disk.filename() + " from here; " + chain.configFile(basename)
                    + " (qemu-img info of the source) is not written");
            return;
        }
        try {
            AtomicFiles.write(chain.configFile(basename), QemuImg.run("info", "-U", "--output=json",
                    image.toString()).getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            warn.accept(vm + ": cannot save " + chain.configFile(basename) + ": " + e.getMessage());
        }
    }

    /** The source's qemu-img info as saved in its .config (empty when there is none or it cannot be read). */
    private JsonNode sourceInfo(String basename) {
        Path config = chain.configFile(basename);
        try {
            return Files.exists(config) ? Json.MAPPER.readTree(config.toFile()) : MissingNode.getInstance();
        } catch (IOException e) {
            warn.accept(vm + ": cannot read " + config + ": " + e.getMessage());
            return MissingNode.getInstance();
        }
    }

    private static String compat(JsonNode info) {
        return info.path("format-specific").path("data").path("compat").asText("");
    }

    private static List<String> clusterSize(JsonNode info) {
        return info.has("cluster-size") ? List.of("-o", "cluster_size=" + info.get("cluster-size").asLong())
                : List.of();
    }

    private List<String> qcow2Options(BackupPlan.DiskPlan p, JsonNode info) throws BackupException {
        if (p.advancesTracking() && compat(info).equals("0.10")) {
            throw new BackupException(vm + ": " + p.disk().describe() + " is a qcow2 version 2 image"
                    + " (compat=0.10), which cannot store change-tracking bitmaps; upgrade it with"
                    + " `qemu-img amend -o compat=1.1` while the VM is off, or use --level copy");
        }
        return clusterSize(info);
    }

    /**
     * The fleece image as the source is made (qmpbackup 0.65): its cluster size, so copy-before-write
     * saves a guest write's old data in units of the source's clusters, and its compat level.
     */
    private static List<String> fleeceOptions(JsonNode info) {
        List<String> opts = new ArrayList<>(clusterSize(info));
        if (!compat(info).isEmpty()) {
            opts.addAll(List.of("-o", "compat=" + compat(info)));
        }
        return opts;
    }

    /**
     * The file an INC builds on: the manifest's newest FULL or INC (a COPY is no part of the chain:
     * the bitmap kept tracking since the backup before it), else the newest FULL/INC by name.
     */
    private String previousFile(BackupPlan.DiskPlan p, Path folder, io.qmpbackup.engine.repository.ChainManifest m)
            throws IOException, BackupException {
        if (m != null) {
            for (int i = m.entries.size() - 1; i >= 0; i--) {
                if (BackupLevel.parse(m.entries.get(i).level) != BackupLevel.COPY) {
                    return m.entries.get(i).file;
                }
            }
        }
        Path newest = null;
        long newestEpoch = -1;
        for (Path f : chain.backupFiles(p.disk().basename())) {
            String n = f.getFileName().toString();
            long e = ChainDirectory.epochOf(n);
            if (!n.startsWith(BackupLevel.COPY.prefix() + "-") && e > newestEpoch) {
                newest = f;
                newestEpoch = e;
            }
        }
        if (newest == null) {
            throw new BackupException(vm + ": no full backup of " + p.disk().describe() + " in " + folder
                    + "; run --level full");
        }
        return newest.getFileName().toString();
    }
}
