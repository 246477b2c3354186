package io.qmpbackup.engine.backup;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpbackup.engine.qmp.Json;
import io.qmpbackup.engine.qmp.QmpClient;
import io.qmpbackup.engine.qmp.QmpException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds the VM's disks from {@code query-block}, with bitmaps taken from
 * {@code query-named-block-nodes} (the flat list has them for every node, whichever way the
 * disk was attached): {@code -blockdev} and {@code -drive} disks, with and without node
 * names, on any bus; qcow2 (also with a raw data_file, and overlays) and raw; pflash.
 */
public final class DiskDiscovery {
    private DiskDiscovery() {
    }

    /** Filter drivers a device may sit on above its format node: they pass data through unchanged. */
    private static final Set<String> FILTERS = Set.of("throttle", "copy-on-read", "preallocate", "compress");

    public static List<Disk> discover(QmpClient qmp) throws QmpException {
        Map<String, JsonNode> nodes = new HashMap<>();
        for (JsonNode n : qmp.execute("query-named-block-nodes", Json.obj("flat", true))) {
            nodes.put(n.path("node-name").asText(), n);
        }
        Map<String, String> fileChild = null;
        List<Disk> disks = new ArrayList<>();
        for (JsonNode b : qmp.execute("query-block")) {
            JsonNode ins = b.get("inserted");
            if (ins == null) {
                continue; // empty CD-ROM or removable drive
            }
            String device = b.path("device").asText("");
            String root = ins.path("node-name").asText("");
            String node = root;
            JsonNode info = ins;
            while (nodes.containsKey(node) && FILTERS.contains(nodes.get(node).path("drv").asText())) {
                fileChild = fileChild != null ? fileChild : fileChildren(qmp);
                String child = fileChild.get(node);
                if (child == null || !nodes.containsKey(child)) {
                    break;
                }
                node = child;
                info = nodes.get(child);
            }
            JsonNode image = info.path("image");
            List<Bitmap> bitmaps = bitmaps(nodes.containsKey(node) ? nodes.get(node) : ins, b);
            String qdev = b.path("qdev").asText("");
            boolean pflash = device.startsWith("pflash") || qdev.contains("flash");
            disks.add(new Disk(device, node, qdev, info.path("drv").asText(""),
                    imageFile(image.path("filename").asText(info.path("file").asText(""))),
                    image.path("virtual-size").asLong(),
                    ins.path("ro").asBoolean(false), pflash, image.has("backing-image") || info.has("backing_file"),
                    List.copyOf(bitmaps), root));
        }
        return disks;
    }

    /**
     * The image file itself. A format node over a filter (a throttle group below qcow2, say) has
     * no plain file name: QEMU describes it as {@code json:{"driver": "qcow2", "file": {...}}}, and
     * the file is the innermost {@code filename}. Its base name names the backup folder, so the
     * description itself must not (it would end in {@code "}}}}).
     */
    static String imageFile(String filename) {
        if (!filename.startsWith("json:")) {
            return filename;
        }
        try {
            JsonNode n = io.qmpbackup.engine.qmp.Json.MAPPER.readTree(filename.substring(5));
            while (n != null && n.isObject()) {
                if (n.path("filename").isTextual()) {
                    return n.path("filename").asText();
                }
                n = n.get("file");
                if (n != null && n.isTextual()) {
                    return n.asText();
                }
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            // not JSON after all: the name as QEMU gave it
        }
        return filename;
    }

    private static List<Bitmap> bitmaps(JsonNode node, JsonNode block) {
        List<Bitmap> bitmaps = new ArrayList<>();
        for (JsonNode bm : node.path("dirty-bitmaps")) {
            bitmaps.add(Bitmap.of(bm));
        }
        if (bitmaps.isEmpty()) {
            for (JsonNode bm : block.path("dirty-bitmaps")) {
                bitmaps.add(Bitmap.of(bm));
            }
        }
        return bitmaps;
    }

    /**
     * Each node's "file" child, by node name: only QEMU's block graph query tells which node a
     * filter passes to (query-named-block-nodes names no children). It is an x-debug command, so a
     * QEMU without it leaves filters unresolved (such a disk is then refused, as before).
     */
    private static Map<String, String> fileChildren(QmpClient qmp) {
        Map<String, String> out = new HashMap<>();
        try {
            JsonNode g = qmp.execute("x-debug-query-block-graph");
            Map<Long, String> names = new HashMap<>();
            for (JsonNode n : g.path("nodes")) {
                names.put(n.path("id").asLong(), n.path("name").asText());
            }
            for (JsonNode e : g.path("edges")) {
                if (e.path("name").asText().equals("file")) {
                    out.put(names.get(e.path("parent").asLong()), names.get(e.path("child").asLong()));
                }
            }
        } catch (QmpException e) {
            // no graph query: filters stay as they are
        }
        return out;
    }
}
