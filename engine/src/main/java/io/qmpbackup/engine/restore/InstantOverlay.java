package io.qmpbackup.engine.restore;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpbackup.engine.backup.BackupLog;
import io.qmpbackup.engine.qmp.Json;
import io.qmpbackup.engine.repository.AtomicFiles;
import io.qmpbackup.engine.repository.Holds;
import io.qmpbackup.engine.repository.Qcow2Header;
import io.qmpbackup.engine.repository.QemuImg;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Instant recovery: a new, empty qcow2 overlay whose backing chain is a restore point. It takes
 * the same time whatever the disk's size (only headers are read and written), and no backup file
 * is opened for writing: QEMU opens backing files read-only and the guest's writes land in the
 * overlay. {@code qmpbackup stream} later copies the point into the overlay so it stands alone.
 *
 * <p>The backup files name no backing file (neither tool writes one into an INC), so the overlay
 * names its chain with a {@code json:} description. qcow2 limits a backing name to 1023 bytes:
 * a chain too long for one description gets one empty link image per INC beside the overlay
 * ({@code <overlay>.links/}), each naming one INC with the link below it as its backing.
 */
public final class InstantOverlay {
    private InstantOverlay() {
    }

    /**
     * What was made.
     *
     * @param backing what the overlay's header names as its backing file
     * @param links   the link images (empty for a chain that fits one description)
     * @param hold    the hold on the point's files; null when the folder has no chain manifest beside
     *                it (retention never prunes such a folder)
     */
    public record Result(Path overlay, List<ChainFile> point, String backing, List<Path> links, Holds.Hold hold) {
    }

    public static Path linksOf(Path overlay) {
        return overlay.resolveSibling(overlay.getFileName() + ".links");
    }

    /** Checks the request, then makes the hold, the links and the overlay; on failure, none of them stays. */
    public static Result create(BackupChain chain, String until, Path overlay, boolean skipCheck, BackupLog log)
            throws RestoreException {
        Path target = overlay.toAbsolutePath().normalize();
        refuse(chain, target);
        List<ChainFile> point = chain.pointUpTo(until);
        if (!skipCheck) {
            for (ChainFile f : point) {
                if ("qcow2".equals(f.format())) {
                    run(log, "check", "-U", "-q", f.path().toString());
                }
            }
        }
        long size = virtualSize(point.get(point.size() - 1));
        Path partial = ChainRestore.partialOf(target);
        List<Path> links = new ArrayList<>();
        Holds.Hold hold = null;
        try {
            hold = placeHold(chain, point, target);
            String backing = backing(point, target, size, links, log);
            run(log, "create", "-q", "-f", "qcow2", "-F", topFormat(point), "-b", backing,
                    partial.toString(), Long.toString(size));
            AtomicFiles.fsync(partial);
            AtomicFiles.moveDurably(partial, target);
            log.info("overlay " + target + " made on " + point.get(point.size() - 1).name() + " (" + point.size()
                    + " backup file(s)" + (links.isEmpty() ? "" : ", " + links.size() + " link image(s)") + ")");
            return new Result(target, point, backing, List.copyOf(links), hold);
        } catch (IOException | RestoreException e) {
            undo(partial, links, hold, log);
            throw e instanceof RestoreException r ? r
                    : new RestoreException("cannot make the overlay " + target + ": " + e.getMessage(), e);
        }
    }

    private static void refuse(BackupChain chain, Path target) throws RestoreException {
        RestoreTarget.check(target, chain, "overlay");
        if (Files.exists(linksOf(target), LinkOption.NOFOLLOW_LINKS)) {
            throw new RestoreException(linksOf(target) + " already exists (left by an earlier overlay of that name?):"
                    + " remove it or pick another --targetfile");
        }
    }

    /** The chain folder's hold on the point's files (held before the overlay exists, so no prune can slip between). */
    private static Holds.Hold placeHold(BackupChain chain, List<ChainFile> point, Path target) throws IOException {
        return chain.chainFolder() == null ? null : Holds.placeOverlay(chain.chainFolder(), chain.disk(),
                point.stream().map(ChainFile::name).toList(), target);
    }

    /** The overlay's backing name: the file itself, one json: description, or the top link image. */
    private static String backing(List<ChainFile> point, Path target, long size, List<Path> links, BackupLog log)
            throws RestoreException, IOException {
        if (point.size() == 1) {
            return point.get(0).path().toAbsolutePath().toString();
        }
        String one = "json:" + ChainRestore.chainDescription(point);
        if (one.getBytes(StandardCharsets.UTF_8).length <= Qcow2Header.MAX_BACKING_NAME) {
            return one;
        }
        Path folder = Files.createDirectory(linksOf(target));
        links.add(folder);
        ObjectNode below = ChainNodes.of(point.subList(0, 1), false);
        for (int i = 1; i < point.size(); i++) {
            Path link = folder.resolve(String.format("link-%03d-%s", i, point.get(i).name()));
            ObjectNode inc = ChainNodes.on(point.get(i), below, false);
            run(log, "create", "-q", "-u", "-f", "qcow2", "-F", "qcow2", "-b", "json:" + inc, link.toString(),
                    Long.toString(size));
            links.add(link);
            below = Json.obj("driver", "qcow2", "file", Json.obj("driver", "file", "filename", link.toString()));
        }
        return links.get(links.size() - 1).toString();
    }

    private static String topFormat(List<ChainFile> point) {
        return point.size() == 1 ? point.get(0).format() : "qcow2";
    }

    private static long virtualSize(ChainFile top) throws RestoreException {
        try {
            return "qcow2".equals(top.format()) ? Qcow2Header.virtualSize(top.path()) : Files.size(top.path());
        } catch (IOException e) {
            throw new RestoreException(top.name() + " cannot be read: " + e.getMessage() + "; run verify", e);
        }
    }

    private static void run(BackupLog log, String... args) throws RestoreException {
        log.debug("qemu-img " + String.join(" ", args));
        try {
            QemuImg.run(args);
        } catch (IOException e) {
            throw new RestoreException(e.getMessage(), e);
        }
    }

    private static void undo(Path partial, List<Path> links, Holds.Hold hold, BackupLog log) {
        try {
            Files.deleteIfExists(partial);
            if (!links.isEmpty()) {
                removeLinks(links.get(0));
            }
            if (hold != null) {
                hold.release();
            }
        } catch (IOException e) {
            log.warn("cannot remove what the failed overlay left (" + e.getMessage() + "): delete " + partial
                    + (links.isEmpty() ? "" : " and " + links.get(0)) + " by hand");
        }
    }

    /** Deletes a link folder (after a stream made the overlay stand alone, or after a failed create). */
    public static void removeLinks(Path folder) throws IOException {
        if (!Files.isDirectory(folder, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(folder)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
