package io.qmpbackup.engine.restore;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpbackup.engine.backup.BackupCancelledException;
import io.qmpbackup.engine.backup.BackupLog;
import io.qmpbackup.engine.backup.Cancellation;
import io.qmpbackup.engine.backup.Disk;
import io.qmpbackup.engine.backup.DiskDiscovery;
import io.qmpbackup.engine.qmp.BlockGraph;
import io.qmpbackup.engine.qmp.BlockJob;
import io.qmpbackup.engine.qmp.JobWatch;
import io.qmpbackup.engine.qmp.QmpClient;
import io.qmpbackup.engine.qmp.QmpException;
import io.qmpbackup.engine.repository.Holds;
import io.qmpbackup.engine.repository.Qcow2Header;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Finishes a live restore: {@code block-stream} on the running VM copies the restore point into
 * the instant-restore overlay it runs from, so the overlay stands alone and the backups are no
 * longer needed. The guest keeps running and writing meanwhile (its writes land in the overlay,
 * which the stream never overwrites). The job has a fixed id per disk, so a run that finds it
 * already going (its earlier caller was killed) waits for it; a cancelled or interrupted stream
 * keeps what it copied, and running it again copies only the rest.
 */
public final class LiveStream {
    private static final Duration REPORT = Duration.ofMillis(500);

    private final BlockGraph graph;
    private final BackupLog log;

    /**
     * What the stream did.
     *
     * @param overlay  the image the disk runs from, now standing alone
     * @param copied   QEMU's progress at the end: the disk's bytes the job went over, the size of the
     *                 disk, though only what the backing chain holds is copied (0 when it already stood alone)
     * @param released the holds this released
     */
    public record Result(String disk, Path overlay, long copied, List<Holds.Hold> released) {
    }

    public LiveStream(QmpClient qmp, BackupLog log) {
        this.graph = new BlockGraph(qmp);
        this.log = log;
    }

    public static String jobId(Disk d) {
        return "qmpbackup-stream-" + d.name().replaceAll("[^A-Za-z0-9_-]", "_");
    }

    public Result run(String device, long speed, Cancellation cancel) throws RestoreException, QmpException {
        Disk disk = find(device);
        Path overlay = Path.of(disk.filename()).toAbsolutePath().normalize();
        String id = jobId(disk);
        Optional<BlockJob> running = graph.job(id);
        List<Path> chainFolders = chainFolders(backingOf(disk.nodeName()));
        if (running.isEmpty() && !disk.hasBacking()) {
            log.info(disk.describe() + " already stands alone (no backing file): nothing to stream");
            return new Result(disk.name(), overlay, 0, release(chainFolders, overlay));
        }
        if (running.isPresent()) {
            // its earlier caller was killed; the job went on in QEMU: wait for it, at this run's speed
            log.info(disk.describe() + ": stream job " + id + " is already there (" + running.get().status()
                    + "): waiting for it");
            if (!running.get().concluded()) {
                graph.setSpeed(id, speed);
            }
        } else {
            graph.stream(id, disk.nodeName(), speed);
            log.info(disk.describe() + ": streaming its backing chain into " + overlay);
        }
        long copied = await(id, disk, cancel);
        removeLinks(overlay);
        return new Result(disk.name(), overlay, copied, release(chainFolders, overlay));
    }

    private Disk find(String device) throws RestoreException, QmpException {
        List<Disk> disks = DiskDiscovery.discover(graph.client());
        for (Disk d : disks) {
            if (d.matches(device)) {
                return d;
            }
        }
        throw new RestoreException("the VM has no disk " + device + "; its disks are "
                + disks.stream().map(Disk::name).toList() + " (qmpbackup info --show blockdev)");
    }

    /** Waits for the job, reporting progress; a cancel stops it, keeping what it copied. */
    private long await(String id, Disk disk, Cancellation cancel) throws RestoreException, QmpException {
        boolean cancelSent = false;
        try (JobWatch watch = JobWatch.open(graph.client()); AutoCloseable wake = cancel.onCancel(watch::poke)) {
            while (true) {
                long seen = watch.mark();
                Optional<BlockJob> j = graph.job(id);
                if (j.isEmpty()) {
                    throw new RestoreException("stream job " + id + " of " + disk.describe() + " vanished from QEMU"
                            + " (dismissed by someone else?); run stream again to finish");
                }
                BlockJob job = j.get();
                log.progress(job.current(), job.total());
                if (job.concluded()) {
                    graph.dismiss(id);
                    return finished(job, disk, cancel);
                }
                if (cancel.cancelled() && !cancelSent) {
                    graph.cancel(id);
                    cancelSent = true;
                }
                watch.await(seen, REPORT);
            }
        } catch (RestoreException | QmpException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private long finished(BlockJob job, Disk disk, Cancellation cancel) throws RestoreException, QmpException {
        if (job.error() != null || cancel.cancelled()) {
            String why = cancel.cancelled() ? "cancelled (" + cancel.reason() + ")" : "failed: " + job.error();
            throw new RestoreException("stream of " + disk.describe() + " " + why + " after " + job.current()
                    + " of " + job.total() + " bytes; the VM still runs on its backing chain, which is unchanged;"
                    + " run stream again to copy the rest");
        }
        if (!backingOf(disk.nodeName()).isEmpty()) {
            throw new RestoreException("stream of " + disk.describe() + " ended but the disk still has a backing"
                    + " file; run stream again");
        }
        log.info(disk.describe() + ": stream done (" + job.current() + " bytes); it no longer needs the backups");
        return job.current();
    }

    /** The node's backing name as QEMU shows it, empty for none. */
    private String backingOf(String node) throws QmpException {
        for (JsonNode n : graph.namedNodes()) {
            if (node.equals(n.path("node-name").asText())) {
                return n.path("image").path("backing-filename").asText(n.path("backing_file").asText(""));
            }
        }
        return "";
    }

    /**
     * The chain folders of the backup files a backing name reaches (a path, a json: description,
     * or a link image naming more): where the holds on them lie.
     */
    static List<Path> chainFolders(String backing) {
        Set<Path> folders = new LinkedHashSet<>();
        List<String> todo = new ArrayList<>(List.of(backing));
        for (int guard = 0; !todo.isEmpty() && guard < 10_000; guard++) {
            String b = todo.remove(0);
            for (String p : paths(b)) {
                Path file = Path.of(p).toAbsolutePath().normalize();
                if (file.getParent() != null && file.getParent().getFileName() != null
                        && file.getParent().getFileName().toString().endsWith(".links")) {
                    try {
                        Optional.ofNullable(Qcow2Header.backingFile(file)).ifPresent(todo::add);
                    } catch (IOException e) {
                        // a link gone or unreadable names nothing more
                    }
                } else if (file.getParent() != null && file.getParent().getParent() != null) {
                    folders.add(file.getParent().getParent());
                }
            }
        }
        return List.copyOf(folders);
    }

    /** The file names a backing name holds: the path itself, or every "filename" of a json: description. */
    private static List<String> paths(String backing) {
        if (backing.isEmpty()) {
            return List.of();
        }
        if (!backing.startsWith("json:")) {
            return List.of(backing);
        }
        try {
            return io.qmpbackup.engine.qmp.Json.MAPPER.readTree(backing.substring(5)).findValuesAsText("filename");
        } catch (IOException e) {
            return List.of(); // not a description we wrote: it names no chain of ours
        }
    }

    private List<Holds.Hold> release(List<Path> chainFolders, Path overlay) throws RestoreException {
        List<Holds.Hold> released = new ArrayList<>();
        try {
            for (Holds.Hold h : Holds.ofOverlay(chainFolders, overlay)) {
                if (!h.active()) {
                    h.release();
                    released.add(h);
                    log.info("hold released: " + h.describe());
                }
            }
        } catch (IOException e) {
            throw new RestoreException("the stream is done, but the hold on the backups could not be released ("
                    + e.getMessage() + "); the next prune releases it", e);
        }
        return released;
    }

    private void removeLinks(Path overlay) {
        Path links = InstantOverlay.linksOf(overlay);
        if (Files.isDirectory(links)) {
            try {
                InstantOverlay.removeLinks(links);
            } catch (IOException e) {
                log.warn("cannot remove the link images " + links + " (" + e.getMessage() + "); nothing needs them"
                        + " any more: delete them by hand");
            }
        }
    }
}
