package io.qmpbackup.engine.remote;

import io.qmpbackup.engine.backup.BackupLog;
import io.qmpbackup.engine.repository.ChecksumRecord;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Downloads one disk's backup folder from the remote into a local folder laid out as the target
 * was: {@code <root>/<dir>} with the chain manifest, uuid, image config and vm.json beside it.
 * The folder's integrity record comes first; every backup file is checked against it, so a
 * damaged, missing or foreign object is named and nothing unchecked reaches a restore.
 */
public final class ChainDownload {
    private final RemoteStore store;
    private final BackupLog log;

    public ChainDownload(RemoteStore store, BackupLog log) {
        this.store = store;
        this.log = log;
    }

    /** What was downloaded: the local disk folder, files and bytes. */
    public record Result(Path folder, int files, long bytes) {
    }

    /** @param dir the disk folder's path in the remote, relative to the prefix (e.g. {@code 2026-12/disk1.qcow2}) */
    public Result download(String dir, Path root) throws IOException {
        String d = dir.replaceAll("^/+|/+$", "");
        if (d.isEmpty() || d.contains("..")) {
            throw new RemoteException("--dir must name a disk folder in the remote, such as disk1.qcow2 or"
                    + " 2026-12/disk1.qcow2, not '" + dir + "'");
        }
        String parent = d.contains("/") ? d.substring(0, d.lastIndexOf('/')) : "";
        String image = d.substring(d.lastIndexOf('/') + 1);
        Map<String, Long> inFolder = store.list(store.config().key(d) + "/");
        if (inFolder.isEmpty()) {
            throw new RemoteException("the remote holds nothing under " + store.config().key(d) + "/ in bucket "
                    + store.config().bucket() + ": give --dir as the disk folder's path relative to the target");
        }
        ObjectDownload down = new ObjectDownload(store);
        Path folder = root.resolve(d);
        int files = 0;
        long bytes = 0;
        String beside = parent.isEmpty() ? "" : parent + "/";
        files += downloadBeside(down, root, folder, beside, image);
        Map<String, String> sums = new HashMap<>();
        for (String key : inFolder.keySet()) {
            String rel = store.config().relative(key);
            if (TargetFiles.isRecord(rel)) {
                Path local = inside(root, rel);
                down.download(key, local, null);
                files++;
                if (ChecksumRecord.isRecord(local.getFileName().toString())) {
                    sums.putAll(ChecksumRecord.readSums(local));
                }
            }
        }
        if (sums.isEmpty()) {
            throw new RemoteException("the remote folder " + store.config().key(d) + "/ has no integrity record"
                    + " (SHA256CHUNKS-*.config or SHA256SUMS-*.config): its files cannot be checked, nothing is"
                    + " restored from it");
        }
        for (Map.Entry<String, String> e : sums.entrySet()) {
            Path local = inside(folder, e.getKey());
            String key = store.config().key(d + "/" + e.getKey());
            if (!inFolder.containsKey(key)) {
                throw new RemoteException("remote object s3://" + store.config().bucket() + "/" + key + " is missing"
                        + " (the integrity record lists it): the remote copy is incomplete");
            }
            down.download(key, local, e.getValue());
            files++;
            bytes += Files.size(local);
            log.info("remote: downloaded and checked " + d + "/" + e.getKey());
        }
        return new Result(folder, files, bytes);
    }

    /** The records beside the disk's folder: its own manifest and image config, the chain's uuid and vm.json. */
    private int downloadBeside(ObjectDownload down, Path root, Path folder, String beside, String image)
            throws IOException {
        List<String> own = List.of(beside + image + ".chain.json", beside + image + ".config");
        // the chain's, shared by its disks: a second disk downloaded into the same folder finds them there
        List<String> shared = List.of(beside + "uuid", beside + "vm.json");
        refuseLocal(root, folder, own);
        int files = 0;
        for (String rel : own) {
            if (store.head(store.config().key(rel)).isPresent()) {
                down.download(store.config().key(rel), inside(root, rel), null);
                files++;
            }
        }
        for (String rel : shared) {
            if (store.head(store.config().key(rel)).isPresent() && downloadShared(down, store.config().key(rel),
                    inside(root, rel))) {
                files++;
            }
        }
        return files;
    }

    /**
     * A file every disk of the chain shares: downloaded when missing; when there, kept if the
     * remote's is the same, else refused (another chain's). Returns whether it was downloaded.
     */
    private static boolean downloadShared(ObjectDownload down, String key, Path local) throws IOException {
        if (!Files.exists(local, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            down.download(key, local, null);
            return true;
        }
        Path remote = local.resolveSibling(".qmpbackup-remote-" + local.getFileName());
        try {
            down.download(key, remote, null);
            if (Files.mismatch(remote, local) != -1) {
                throw new RemoteException("the download would replace " + local + ", which is another chain's: a"
                        + " download never replaces local files; give a new or empty folder");
            }
            return false;
        } finally {
            Files.deleteIfExists(remote);
        }
    }

    /**
     * A download never replaces a local file: laid over a local chain, the remote's older manifest
     * and integrity record would hide the local backups taken since, and the next INC would build
     * on the wrong file. Checked before anything is written.
     */
    private static void refuseLocal(Path root, Path folder, List<String> records) throws RemoteException {
        List<Path> there = new java.util.ArrayList<>(List.of(folder));
        for (String rel : records) {
            there.add(inside(root, rel));
        }
        for (Path p : there) {
            if (Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                throw new RemoteException("the download would replace " + p + ": a download never replaces local"
                        + " files (the remote's records would hide a local chain's newer backups); give a new or"
                        + " empty folder; if it is an earlier download that completed, restore from it with"
                        + " qmprestore merge --dir " + folder + ", if it was cut short, remove it and download again");
            }
        }
    }

    /**
     * {@code base/relative}, refused unless it stays inside {@code base}: object keys and the names
     * in a record come from the bucket, which others can write, and the agent downloads as root.
     */
    static Path inside(Path base, String relative) throws RemoteException {
        Path b = base.toAbsolutePath().normalize();
        Path p = b.resolve(relative).normalize();
        boolean dots = java.util.Arrays.asList(relative.split("/")).contains("..");
        if (dots || relative.startsWith("/") || !p.startsWith(b) || p.equals(b)) {
            throw new RemoteException("the remote names '" + relative + "', which leads outside the download folder "
                    + base + ": refused, nothing is written there (is someone else writing to this bucket?)");
        }
        return p;
    }
}
