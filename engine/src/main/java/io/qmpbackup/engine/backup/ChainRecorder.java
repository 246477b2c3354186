package io.qmpbackup.engine.backup;

import io.qmpbackup.engine.repository.AtomicFiles;
import io.qmpbackup.engine.repository.ChainDirectory;
import io.qmpbackup.engine.repository.ChainManifest;
import io.qmpbackup.engine.repository.FileSum;
import io.qmpbackup.engine.sink.LowPriority;
import io.qmpbackup.engine.sink.NbdSink;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Makes the run's files part of the chain once QEMU is done with them: each file is fsynced,
 * checksummed (by its sink, which hashed it on the way, or by reading it back; disks in parallel)
 * and renamed into place, then every
 * disk's manifest records it and the chain's uuid is written. Until the manifests hold them, the
 * renamed files have an inverse on the undo stack, so a failure here leaves no file that the
 * manifest does not describe.
 */
final class ChainRecorder {
    /** A finished file: its size and checksum. */
    record Written(DiskFiles files, long bytesCopied, long fileSize, String sha256) {
    }

    /** How long QEMU may take to let go of a sink once its node is deleted (it flushes and disconnects). */
    private static final Duration SINK_WAIT = Duration.ofSeconds(60);

    private final BackupOptions o;
    private final ChainDirectory chain;
    private final BackupLog log;
    private final String vm;
    /** Inverses of the renames, dropped once the manifests record the files. */
    private final java.util.Map<Path, UndoStack.Entry> renamed = new java.util.HashMap<>();

    ChainRecorder(BackupOptions options, ChainDirectory chain, BackupLog log, String vm) {
        this.o = options;
        this.chain = chain;
        this.log = log;
        this.vm = vm;
    }

    /**
     * fsync, checksum, rename; {@code bytesCopied} by disk index; {@code direct}: the files were
     * written with O_DIRECT (read back the same way), else through the page cache (read from it
     * while the data is still there, then dropped from it).
     */
    List<Written> finish(List<DiskFiles> files, long[] bytesCopied, boolean direct, TargetSinks sinks,
            UndoStack undo) throws IOException {
        List<String> sums = checksums(files, direct, sinks);
        List<Written> written = new ArrayList<>();
        for (int i = 0; i < files.size(); i++) {
            DiskFiles f = files.get(i);
            long size = Files.size(f.partial());
            AtomicFiles.moveDurably(f.partial(), f.finalFile());
            if (!f.replaces()) {
                renamed.put(f.finalFile(), undo.push("delete " + f.finalFile() + ", which no manifest records", () -> Files.deleteIfExists(
                        f.finalFile())));
            }
            if (o.noTimestamp() && f.level() != BackupLevel.INC && !o.noSymlink()) {
                Path link = f.folder().resolve(f.level().prefix() + "-" + f.finalFile().getFileName());
                Files.deleteIfExists(link);
                Files.createSymbolicLink(link, f.finalFile().toAbsolutePath());
            }
            log.info(vm + ": wrote " + f.finalFile() + " (" + bytesCopied[f.plan().index()] + " bytes copied, " + size
                    + " bytes on disk)");
            written.add(new Written(f, bytesCopied[f.plan().index()], size, sums.get(i)));
        }
        return written;
    }

    /** Each file durable and its recorded value ({@link FileSum}): from its sink, else read back. */
    private List<String> checksums(List<DiskFiles> files, boolean direct, TargetSinks sinks) throws IOException {
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(files.size(),
                Math.max(1, Runtime.getRuntime().availableProcessors())));
        try {
            List<Future<String>> sums = new ArrayList<>();
            for (DiskFiles f : files) {
                NbdSink sink = sinks.of(f.plan().index());
                sums.add(pool.submit(() -> {
                    if (sink != null) {
                        return fromSink(f, sink);
                    }
                    AtomicFiles.fsync(f.partial());
                    String sum = AtomicFiles.sha256(f.partial(), direct);
                    if (!direct) {
                        AtomicFiles.dropFromPageCache(f.partial());
                    }
                    return sum;
                }));
            }
            List<String> out = new ArrayList<>();
            for (Future<String> s : sums) {
                out.add(s.get());
            }
            return out;
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while checksumming the backup files", e);
        } finally {
            pool.shutdownNow();
        }
    }

    /** The sink has seen every write: it makes the file durable and reads back only what it did not see whole. */
    private String fromSink(DiskFiles f, NbdSink sink) throws IOException {
        NbdSink.Result r = sink.finish(SINK_WAIT);
        log.debug(vm + ": " + f.partial().getFileName() + ": " + r.chunksFromMemory() + " of " + r.chunks()
                + " chunks hashed on the way, the rest read back (at most " + r.peakOpenChunks() + " open at once, "
                + r.heldBytes() / (1 << 20) + " MiB held until a gap before them filled, fdatasync "
                + r.flushMillis() + " ms; "
                + (r.lowPriority() ? "at nice " + LowPriority.NICE : "at normal priority: could not renice")
                + ")");
        return FileSum.chunked(r.chunkDigest());
    }

    /** Appends each file to its disk's manifest and writes the chain id. */
    void record(List<Written> written, BackupPlan plan, boolean quiesced, Instant started) throws IOException {
        for (Written w : written) {
            DiskFiles f = w.files();
            boolean chained = f.plan().advancesTracking();
            ChainManifest m = f.manifest() != null ? f.manifest() : new ChainManifest();
            m.chain = chained ? plan.chainId() : m.chain;
            m.disk = f.basename();
            m.folder = o.noSubdir() ? "." : f.basename();
            m.sourceFormat = f.disk().format();
            m.virtualSize = f.disk().virtualSize();
            m.entries.add(entry(w, m.entries.size() + 1, chained ? Names.chainBitmap(plan.chainId()) : null,
                    quiesced, started));
            m.write(chain.manifestFile(f.basename()));
            UndoStack.Entry e = renamed.remove(f.finalFile());
            if (e != null) {
                e.release();
            }
        }
        if (plan.chainId() != null) {
            chain.writeUuid(plan.chainId());
        }
    }

    private ChainManifest.Entry entry(Written w, int sequence, String bitmap, boolean quiesced, Instant started) {
        DiskFiles f = w.files();
        ChainManifest.Entry e = new ChainManifest.Entry();
        e.sequence = sequence;
        e.level = f.level().lower();
        e.file = f.finalFile().getFileName().toString();
        e.epoch = f.epoch();
        e.bitmap = bitmap;
        e.backingFile = f.backingFile();
        e.device = f.disk().device();
        e.nodeName = f.disk().nodeName();
        e.virtualSize = f.disk().virtualSize();
        e.fileSize = w.fileSize();
        e.bytesCopied = w.bytesCopied();
        e.record(w.sha256());
        e.quiesced = quiesced;
        e.startedAt = started.toString();
        e.completedAt = o.clock().instant().toString();
        return e;
    }
}
