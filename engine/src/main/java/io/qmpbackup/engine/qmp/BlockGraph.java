package io.qmpbackup.engine.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.FileDescriptor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Typed commands on a VM's block graph: the one place the engine names QMP's block, bitmap,
 * job and fdset commands. Backups and the leftover cleaner both work through it, so a job is
 * looked up, cancelled and awaited one way, and every command's arguments are spelled once.
 */
public final class BlockGraph {
    /** How long a cancelled job may take to conclude before the caller gives up on it. */
    public static final Duration JOB_CANCEL_WAIT = Duration.ofSeconds(60);

    private final QmpClient qmp;

    public BlockGraph(QmpClient qmp) {
        this.qmp = qmp;
    }

    public QmpClient client() {
        return qmp;
    }

    // ---------------------------------------------------------------- the VM

    /** query-name: the VM's name, empty when it has none. */
    public String vmName() throws QmpException {
        return qmp.execute("query-name").path("name").asText("");
    }

    /** query-status: running, paused, prelaunch, ... */
    public String runState() throws QmpException {
        return qmp.execute("query-status").path("status").asText();
    }

    public void stop() throws QmpException {
        qmp.execute("stop");
    }

    public void cont() throws QmpException {
        qmp.execute("cont");
    }

    // ---------------------------------------------------------------- nodes

    /** Every named node: query-named-block-nodes (flat). */
    public JsonNode namedNodes() throws QmpException {
        return qmp.execute("query-named-block-nodes", Json.obj("flat", true));
    }

    /** Every block device: query-block. */
    public JsonNode devices() throws QmpException {
        return qmp.execute("query-block");
    }

    /**
     * The cache options of a backup's own file (target or fleece): QEMU ignores flushes to it. Its
     * qcow2 layer flushes before each new L2 table and refcount block (100 fdatasyncs in an INC
     * of 256 MiB spread over 16 GiB, which held every allocating write behind them), but the
     * file is worth nothing until the job is done: the engine makes it durable once, before its
     * rename (a fleece file is deleted). The qcow2 metadata still reaches the file when the node
     * closes.
     */
    private static ObjectNode scratchCache(boolean directIo) {
        ObjectNode cache = Json.obj("no-flush", true);
        if (directIo) {
            cache.put("direct", true);
        }
        return cache;
    }

    /**
     * A backup target, qcow2 or raw, over a file; {@code directIo} opens it with O_DIRECT, else
     * through the page cache; {@code aio}: threads, native (O_DIRECT only) or io_uring. Flushes
     * are ignored ({@link #scratchCache}): the caller makes the file durable after the job.
     */
    public void addImage(String node, String format, String filename, boolean directIo, String aio,
            boolean noBacking) throws QmpException {
        ObjectNode spec = Json.obj("driver", format, "node-name", node);
        if (noBacking) {
            spec.set("backing", NullNode.getInstance());
        }
        ObjectNode file = Json.obj("driver", "file", "filename", filename);
        file.set("cache", scratchCache(directIo));
        file.put("aio", aio);
        spec.set("file", file);
        qmp.execute("blockdev-add", spec);
    }

    /**
     * A backup target whose file is an NBD export on a UNIX socket (the engine's own sink) instead of
     * a file QEMU opens: QEMU formats it as {@code format} and the sink sees every byte written.
     * QEMU sends no flushes: the sink's export offers none, and makes the file durable when it
     * finishes ({@code cache.no-flush} would not stop them: NBD flushes count as flushes to the OS).
     */
    public void addImageOverNbd(String node, String format, String socket, String export, boolean noBacking)
            throws QmpException {
        ObjectNode spec = Json.obj("driver", format, "node-name", node);
        if (noBacking) {
            spec.set("backing", NullNode.getInstance());
        }
        spec.set("file", Json.obj("driver", "nbd", "server", Json.obj("type", "unix", "path", socket),
                "export", export));
        qmp.execute("blockdev-add", spec);
    }

    /**
     * A qcow2 fleece image whose freed clusters go back to the file system (discard=unmap), and
     * whose flushes are ignored ({@link #scratchCache}): copy-before-write, and so the guest's
     * write that triggered it, never waits for an fdatasync of a file that is thrown away.
     */
    public void addFleeceImage(String node, String filename) throws QmpException {
        qmp.execute("blockdev-add", Json.obj("driver", "qcow2", "node-name", node, "discard", "unmap",
                "file", Json.obj("driver", "file", "filename", filename, "cache", scratchCache(false))));
    }

    /**
     * A qcow2 image opened read-only with a refcount cache of {@code refcountCacheBytes} (allocated
     * at open; filled only as far as the open reads: no data is read).
     */
    public void addReadOnlyImage(String node, String filename, long refcountCacheBytes) throws QmpException {
        qmp.execute("blockdev-add", Json.obj("driver", "qcow2", "node-name", node, "read-only", true,
                "refcount-cache-size", refcountCacheBytes, "file", Json.obj("driver", "file", "filename", filename)));
    }

    /**
     * A copy-before-write filter over {@code file} that saves old data to {@code target}. A write
     * that cannot be saved breaks the snapshot (the backup fails), never the guest's write.
     */
    public void addCopyBeforeWrite(String node, String file, String target, int timeoutSeconds) throws QmpException {
        qmp.execute("blockdev-add", Json.obj("driver", "copy-before-write", "node-name", node, "file", file,
                "target", target, "on-cbw-error", "break-snapshot", "cbw-timeout", timeoutSeconds));
    }

    /** The point-in-time view a copy-before-write filter offers. */
    public void addSnapshotAccess(String node, String filter) throws QmpException {
        qmp.execute("blockdev-add", Json.obj("driver", "snapshot-access", "node-name", node, "file", filter));
    }

    public void deleteNode(String node) throws QmpException {
        qmp.execute("blockdev-del", Json.obj("node-name", node));
    }

    /** Points a device at another node (the filter, or its own disk again). */
    public void setDrive(String qdev, String node) throws QmpException {
        qmp.execute("qom-set", Json.obj("path", qdev, "property", "drive", "value", node));
    }

    /** Filter node name to the node below it ("file" child), for filters whose name starts with {@code prefix}. */
    public Map<String, String> filterChildren(String prefix) throws QmpException {
        JsonNode graph = qmp.execute("x-debug-query-block-graph");
        Map<Long, String> names = new HashMap<>();
        for (JsonNode n : graph.path("nodes")) {
            names.put(n.path("id").asLong(), n.path("name").asText());
        }
        Map<String, String> result = new HashMap<>();
        for (JsonNode e : graph.path("edges")) {
            String parent = names.get(e.path("parent").asLong());
            if (parent != null && parent.startsWith(prefix) && "file".equals(e.path("name").asText())) {
                result.put(parent, names.get(e.path("child").asLong()));
            }
        }
        return result;
    }

    // ---------------------------------------------------------------- bitmaps

    public void addBitmap(String node, String name, boolean persistent) throws QmpException {
        qmp.execute("block-dirty-bitmap-add", Transaction.bitmap(node, name).put("persistent", persistent));
    }

    public void removeBitmap(String node, String name) throws QmpException {
        qmp.execute("block-dirty-bitmap-remove", Transaction.bitmap(node, name));
    }

    /** Runs the actions as one QMP transaction: all or none. */
    public void run(Transaction t) throws QmpException {
        qmp.execute("transaction", Json.obj("actions", t.actions()));
    }

    // ---------------------------------------------------------------- fdsets

    /** Hands QEMU an open file; returns the fdset id that {@code /dev/fdset/<id>} names. */
    public long addFd(FileDescriptor fd, String tag) throws QmpException {
        return qmp.addFd(fd, tag);
    }

    public void removeFdset(long id) throws QmpException {
        qmp.execute("remove-fd", Json.obj("fdset-id", id));
    }

    /** fdset id to the tags (opaque strings) of its descriptors. */
    public Map<Long, List<String>> fdsets() throws QmpException {
        Map<Long, List<String>> sets = new HashMap<>();
        for (JsonNode set : qmp.execute("query-fdsets")) {
            List<String> tags = new ArrayList<>();
            for (JsonNode fd : set.path("fds")) {
                tags.add(fd.path("opaque").asText());
            }
            sets.put(set.path("fdset-id").asLong(), tags);
        }
        return sets;
    }

    // ---------------------------------------------------------------- jobs

    /**
     * block-stream: copies everything the node's backing chain holds into the node, then drops its
     * backing (in QEMU and in the image header). Kept after it concludes (auto-dismiss off) so its
     * result can be read; {@code speed} bytes per second, 0 for unlimited.
     */
    public void stream(String jobId, String node, long speed) throws QmpException {
        ObjectNode args = Json.obj("job-id", jobId, "device", node, "auto-dismiss", false);
        if (speed > 0) {
            args.put("speed", speed);
        }
        qmp.execute("block-stream", args);
    }

    /** block-job-set-speed: bytes per second, 0 for unlimited. */
    public void setSpeed(String jobId, long speed) throws QmpException {
        qmp.execute("block-job-set-speed", Json.obj("device", jobId, "speed", speed));
    }

    /** Cancels a job without waiting (block-job-cancel keeps what a stream copied so far). */
    public void cancel(String id) throws QmpException {
        qmp.execute("job-cancel", Json.obj("id", id));
    }

    public List<BlockJob> jobs() throws QmpException {
        List<BlockJob> jobs = new ArrayList<>();
        for (JsonNode j : qmp.execute("query-jobs")) {
            jobs.add(BlockJob.of(j));
        }
        return jobs;
    }

    /** The job, or empty when QEMU has no such job (never started, or dismissed). */
    public Optional<BlockJob> job(String id) throws QmpException {
        return jobs().stream().filter(j -> j.id().equals(id)).findFirst();
    }

    /**
     * Stops a job and removes it: cancels it unless it has concluded, waits (woken by QEMU's job
     * events, not by polling) until it concludes, then dismisses it. A job QEMU does not know is
     * already gone: nothing to do.
     *
     * @return false when the job did not conclude within {@code wait} (it is left in QEMU)
     */
    public boolean cancelAndDismiss(String id, Duration wait) throws QmpException {
        try (JobWatch watch = JobWatch.open(qmp)) {
            Optional<BlockJob> job = job(id);
            if (job.isEmpty()) {
                return true;
            }
            if (!job.get().concluded()) {
                qmp.execute("job-cancel", Json.obj("id", id));
                if (!watch.awaitConcluded(this, id, wait)) {
                    return false;
                }
            }
            qmp.execute("job-dismiss", Json.obj("id", id));
            return true;
        }
    }

    public void dismiss(String id) throws QmpException {
        qmp.execute("job-dismiss", Json.obj("id", id));
    }
}
