package io.qmpbackup.engine.restore;

import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpbackup.engine.qmp.Json;
import java.util.List;

/**
 * A restore point as QEMU block options: the top file, each qcow2 file's backing set explicitly
 * to the file before it (the backup files name no backing file, or one a copied folder cannot
 * resolve), the bottom's backing set to none. Merge reads it as a {@code json:} name, an
 * instant-restore overlay names it as its backing, an export opens it in qemu-storage-daemon.
 */
final class ChainNodes {
    private ChainNodes() {
    }

    /** The point's options; {@code readOnly} marks every node so (an export). */
    static ObjectNode of(List<ChainFile> point, boolean readOnly) {
        ObjectNode node = null;
        for (ChainFile f : point) {
            node = on(f, node == null ? NullNode.getInstance() : node, readOnly);
        }
        return node;
    }

    /** One file's options over {@code backing} (a node's options, or null-node for none). */
    static ObjectNode on(ChainFile f, com.fasterxml.jackson.databind.JsonNode backing, boolean readOnly) {
        ObjectNode file = Json.obj("driver", "file", "filename", f.path().toAbsolutePath().toString());
        ObjectNode n = Json.obj("driver", f.format());
        if (readOnly) {
            n.put("read-only", true);
            file.put("read-only", true);
        }
        n.set("file", file);
        if ("qcow2".equals(f.format())) {
            n.set("backing", backing);
        }
        return n;
    }
}
