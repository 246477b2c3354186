package io.qmpbackup.engine.repository;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpbackup.engine.qmp.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Holds on backup files that something outside the folder depends on: an instant-restore
 * overlay whose backing chain they are, or a running export of a restore point. Retention never
 * prunes a held file and in-place restores refuse to change one.
 *
 * <p>A hold is a small JSON file in {@code .holds/} of the chain folder (where the chain
 * manifests lie, so retention, which reads that folder, finds it; and outside the disk folder,
 * so qmpbackup 0.67's qmprestore, which reads every file there, never sees it). Whether it is
 * still in force is decided from what it names, never from the record alone: an overlay holds
 * while it exists and still names a backing file (a finished stream or a deleted overlay
 * releases it); an export holds while its process lives. So a crash between "stream finished"
 * and "hold removed" can only leave a hold that the next reader finds released.
 */
public final class Holds {
    public static final String FOLDER = ".holds";

    private Holds() {
    }

    /** What keeps the files: an overlay file or a process. */
    public enum Kind { OVERLAY, EXPORT }

    /**
     * One hold.
     *
     * @param record   its file in {@code .holds/}
     * @param disk     the disk (image name) whose files it holds
     * @param files    the held backup files, by name in the disk's folder
     * @param overlay  the overlay (OVERLAY)
     * @param pid      the exporting process (EXPORT)
     * @param started  that process's start time, so a reused pid is not mistaken for it
     */
    public record Hold(Path record, Kind kind, String disk, List<String> files, Path overlay, long pid,
            String started, String createdAt) {

        /** Still in force: see the class comment. */
        public boolean active() {
            if (kind == Kind.OVERLAY) {
                try {
                    return Files.exists(overlay) && Qcow2Header.backingFile(overlay) != null;
                } catch (IOException e) {
                    return Files.exists(overlay); // unreadable but there: keep holding, to be safe
                }
            }
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                    .flatMap(h -> h.info().startInstant()).map(i -> i.toString().equals(started)).orElse(false);
        }

        public boolean holds(String diskName, String file) {
            return disk.equals(diskName) && files.contains(file);
        }

        public String describe() {
            return kind == Kind.OVERLAY ? "instant-restore overlay " + overlay + " (since " + createdAt + ")"
                    : "export by process " + pid + " (since " + createdAt + ")";
        }

        /** Deletes the record, and {@code .holds/} with the last one, so an emptied month folder can go. */
        public void release() throws IOException {
            Files.deleteIfExists(record);
            try {
                Files.deleteIfExists(record.getParent());
            } catch (java.nio.file.DirectoryNotEmptyException e) {
                // other holds remain
            }
        }
    }

    /** Records that {@code overlay} depends on {@code files} of {@code disk}. */
    public static Hold placeOverlay(Path chainFolder, String disk, List<String> files, Path overlay)
            throws IOException {
        return place(chainFolder, Kind.OVERLAY, disk, files, overlay.toAbsolutePath().normalize(), 0, null);
    }

    /** Records that the running process {@code process} serves {@code files} of {@code disk}. */
    public static Hold placeProcess(Path chainFolder, String disk, List<String> files, ProcessHandle process)
            throws IOException {
        String started = process.info().startInstant().map(Instant::toString)
                .orElseThrow(() -> new IOException("cannot read the start time of process " + process.pid()));
        return place(chainFolder, Kind.EXPORT, disk, files, null, process.pid(), started);
    }

    private static Hold place(Path chainFolder, Kind kind, String disk, List<String> files, Path overlay, long pid,
            String started) throws IOException {
        Path folder = chainFolder.resolve(FOLDER);
        Files.createDirectories(folder);
        Path record = folder.resolve(kind.name().toLowerCase() + "-" + UUID.randomUUID() + ".json");
        Hold h = new Hold(record, kind, disk, List.copyOf(files), overlay, pid, started, Instant.now().toString());
        ObjectNode o = Json.obj("kind", kind.name(), "disk", disk, "createdAt", h.createdAt());
        files.forEach(o.putArray("files")::add);
        if (overlay != null) {
            o.put("overlay", overlay.toString());
        } else {
            o.put("pid", pid).put("started", started);
        }
        AtomicFiles.write(record, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(o));
        return h;
    }

    /** Every hold recorded in the chain folder, in force or not; an unreadable record throws (it may hold anything). */
    public static List<Hold> read(Path chainFolder) throws IOException {
        Path folder = chainFolder.resolve(FOLDER);
        List<Hold> holds = new ArrayList<>();
        if (!Files.isDirectory(folder)) {
            return holds;
        }
        List<Path> records;
        try (Stream<Path> s = Files.list(folder)) {
            records = s.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList();
        }
        for (Path r : records) {
            parse(r).ifPresent(holds::add);
        }
        return holds;
    }

    /** The holds in force on the disk's files; releases (deletes) the records no longer in force. */
    public static List<Hold> inForce(Path chainFolder, String disk, boolean releaseStale) throws IOException {
        List<Hold> active = new ArrayList<>();
        for (Hold h : read(chainFolder)) {
            if (!h.disk().equals(disk)) {
                continue;
            }
            if (h.active()) {
                active.add(h);
            } else if (releaseStale) {
                h.release();
            }
        }
        return active;
    }

    /** The overlay holds naming {@code overlay}, in any chain folder given. */
    public static List<Hold> ofOverlay(List<Path> chainFolders, Path overlay) throws IOException {
        Path want = overlay.toAbsolutePath().normalize();
        List<Hold> found = new ArrayList<>();
        for (Path f : chainFolders) {
            read(f).stream().filter(h -> h.kind() == Kind.OVERLAY && want.equals(h.overlay())).forEach(found::add);
        }
        return found;
    }

    private static Optional<Hold> parse(Path r) throws IOException {
        JsonNode o;
        try {
            o = Json.MAPPER.readTree(Files.readAllBytes(r));
        } catch (NoSuchFileException e) {
            return Optional.empty(); // released meanwhile
        } catch (IOException e) {
            // a damaged record must not release what it may have held: hold everything of no disk
            throw new IOException("hold record " + r + " cannot be read (" + e.getMessage() + "): retention and"
                    + " in-place restores stop here; delete it if nothing depends on the chain any more", e);
        }
        List<String> files = new ArrayList<>();
        o.path("files").forEach(f -> files.add(f.asText()));
        Kind kind = "EXPORT".equals(o.path("kind").asText()) ? Kind.EXPORT : Kind.OVERLAY;
        Path overlay = o.hasNonNull("overlay") ? Path.of(o.get("overlay").asText()) : null;
        if (kind == Kind.OVERLAY && overlay == null) {
            throw new IOException("hold record " + r + " names no overlay: delete it if nothing depends on the"
                    + " chain any more");
        }
        return Optional.of(new Hold(r, kind, o.path("disk").asText(), List.copyOf(files), overlay,
                o.path("pid").asLong(), o.path("started").asText(null), o.path("createdAt").asText("")));
    }
}
