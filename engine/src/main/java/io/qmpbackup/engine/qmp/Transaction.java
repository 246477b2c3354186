package io.qmpbackup.engine.qmp;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The actions of one QMP {@code transaction}: QEMU applies all of them or none, which is what
 * makes starting every backup job, or moving change tracking forward, a single step.
 */
public final class Transaction {
    private final ArrayNode actions = Json.array();

    public Transaction addBitmap(String node, String name, boolean persistent) {
        return add("block-dirty-bitmap-add", bitmap(node, name).put("persistent", persistent));
    }

    public Transaction clearBitmap(String node, String name) {
        return add("block-dirty-bitmap-clear", bitmap(node, name));
    }

    public Transaction removeBitmap(String node, String name) {
        return add("block-dirty-bitmap-remove", bitmap(node, name));
    }

    /** Merges bitmap {@code source} of node {@code sourceNode} into {@code target} of {@code node}. */
    public Transaction mergeBitmap(String node, String target, String sourceNode, String source) {
        ArrayNode sources = Json.array();
        sources.add(bitmap(sourceNode, source));
        return add("block-dirty-bitmap-merge", Json.obj("node", node, "target", target, "bitmaps", sources));
    }

    /**
     * A blockdev-backup job from {@code device} into {@code target}. The job is not dismissed by
     * itself (auto-dismiss off), so its outcome can be read after it concludes.
     *
     * @param bitmap copy only what it marks (sync=incremental), or null for everything (sync=full)
     * @param speed  bytes per second, 0 for unlimited
     */
    public Transaction backup(String jobId, String device, String target, String bitmap, boolean compress,
            long speed) {
        ObjectNode b = Json.obj("job-id", jobId, "device", device, "target", target, "sync",
                bitmap != null ? "incremental" : "full", "auto-finalize", true, "auto-dismiss", false);
        if (bitmap != null) {
            b.put("bitmap", bitmap);
        }
        if (compress) {
            b.put("compress", true);
        }
        if (speed > 0) {
            b.put("speed", speed);
        }
        return add("blockdev-backup", b);
    }

    public boolean isEmpty() {
        return actions.isEmpty();
    }

    ArrayNode actions() {
        return actions;
    }

    static ObjectNode bitmap(String node, String name) {
        return Json.obj("node", node, "name", name);
    }

    private Transaction add(String type, ObjectNode data) {
        actions.add(Json.obj("type", type, "data", data));
        return this;
    }
}
