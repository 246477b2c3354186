package io.qmpbackup.engine.backup;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpbackup.engine.qmp.Json;
import io.qmpbackup.engine.qmp.QmpClient;
import io.qmpbackup.engine.qmp.QmpException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds the VM's disks from {@code query-block}, with bitmaps taken from
 * {@code query-named-block-nodes} (the flat list has them for every node, whichever way the
 * disk was attached): {@code -blockdev} and {@code -drive} disks, with and without node
 * names, on any bus; qcow2 (also with a raw data_file, and overlays) and raw; pflash.
 */
public final class DiskDiscovery {
    private DiskDiscovery() {
    }

    public static List<Disk> discover(QmpClient qmp) throws QmpException {
        Map<String, JsonNode> nodes = new HashMap<>();
        for (JsonNode n : qmp.execute("query-named-block-nodes", Json.obj("flat", true))) {
            nodes.put(n.path("node-name").asText(), n);
        }
        List<Disk> disks = new ArrayList<>();
        for (JsonNode b : qmp.execute("query-block")) {
            JsonNode ins = b.get("inserted");
            if (ins == null) {
                continue; // empty CD-ROM or removable drive
            }
            String device = b.path("device").asText("");
            String node = ins.path("node-name").asText("");
            JsonNode image = ins.path("image");
            JsonNode bitmapSource = nodes.containsKey(node) ? nodes.get(node) : ins;
            List<Bitmap> bitmaps = new ArrayList<>();
            for (JsonNode bm : bitmapSource.path("dirty-bitmaps")) {
                bitmaps.add(Bitmap.of(bm));
            }
            if (bitmaps.isEmpty()) {
                for (JsonNode bm : b.path("dirty-bitmaps")) {
                    bitmaps.add(Bitmap.of(bm));
                }
            }
            String qdev = b.path("qdev").asText("");
            boolean pflash = device.startsWith("pflash") || qdev.contains("flash");
            disks.add(new Disk(device, node, qdev, ins.path("drv").asText(""),
                    image.path("filename").asText(ins.path("file").asText("")), image.path("virtual-size").asLong(),
                    ins.path("ro").asBoolean(false), pflash, image.has("backing-image") || ins.has("backing_file"),
                    List.copyOf(bitmaps)));
        }
        return disks;
    }
}
