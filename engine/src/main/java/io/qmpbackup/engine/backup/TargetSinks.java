package io.qmpbackup.engine.backup;

import io.qmpbackup.engine.sink.NbdSink;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The run's NBD sinks ({@link NbdSink}), one per backup file, when the checksum is taken on the
 * way ({@link TargetIo.Checksum#SINK}). Each listens on {@code .qmpbackup-<token>-<disk>.sink} in
 * the fleece folder, which QEMU can open (it opens the fleece images there by path), and is
 * stopped, its socket removed, by the undo stack on every path. Not used with {@code --pass-fds}:
 * there QEMU cannot see this process's paths at all, so it gets the file as a descriptor and the
 * file is read back after the job, as before. A socket path too long for a UNIX socket also
 * falls back to the read-back.
 */
final class TargetSinks {
    /** sun_path holds 108 bytes with its terminating NUL. */
    private static final int MAX_SOCKET_PATH = 107;

    private final Map<Integer, NbdSink> sinks = new HashMap<>();

    /** The sink of a disk (by plan index), or null when its file is written by QEMU and read back. */
    NbdSink of(int disk) {
        return sinks.get(disk);
    }

    static TargetSinks start(BackupOptions o, List<DiskFiles> files, Path fleeceDir, String token, UndoStack undo,
            BackupLog log, String vm) throws IOException {
        TargetSinks s = new TargetSinks();
        if (o.targetIo().checksum() != TargetIo.Checksum.SINK) {
            return s;
        }
        if (o.passFds()) {
            log.info(vm + ": --pass-fds: QEMU gets the backup files as descriptors, so they are read back after the"
                    + " job to checksum them (the checksum sink needs a socket QEMU can open)");
            return s;
        }
        for (DiskFiles f : files) {
            int i = f.plan().index();
            Path socket = socket(fleeceDir, token, i);
            if (socket.toString().getBytes(StandardCharsets.UTF_8).length > MAX_SOCKET_PATH) {
                log.info(vm + ": " + socket + " is too long for a UNIX socket: " + f.partial().getFileName()
                        + " is checksummed by reading it back after the job (a shorter --fleece-dir avoids it)");
                continue;
            }
            NbdSink sink = NbdSink.start(f.partial(), socket, "qmpbackup-" + token + "-" + i, exportSize(f),
                    o.targetIo().cache() == TargetIo.Cache.DIRECT);
            undo.push("stop the checksum sink " + socket, sink::close);
            s.sinks.put(i, sink);
        }
        return s;
    }

    static Path socket(Path fleeceDir, String token, int disk) {
        return fleeceDir.toAbsolutePath().resolve(".qmpbackup-" + token + "-" + disk + ".sink");
    }

    /**
     * An NBD export has a fixed size and qcow2 puts its clusters where its refcounts say, not
     * where the export ends, so the export only has to be large enough: the disk's size plus its
     * metadata (L2 tables are 1/64 of the data at the smallest cluster size, 512 bytes; refcounts
     * less), with room to spare. Nothing is allocated for it; the file ends where the last write
     * ended. A raw target's size is the disk's exactly (the job needs equal sizes).
     */
    static long exportSize(DiskFiles f) {
        long v = f.disk().virtualSize();
        return f.targetFormat().equals("raw") ? v : v + v / 16 + (256L << 20);
    }
}
