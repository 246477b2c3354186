package io.qmpbackup.engine.backup;

import com.fasterxml.jackson.databind.JsonNode;

/** A dirty bitmap as QEMU reports it in query-block / query-named-block-nodes. */
public record Bitmap(String name, boolean recording, boolean persistent, boolean inconsistent, boolean busy,
        long granularity, long count) {

    static Bitmap of(JsonNode n) {
        return new Bitmap(n.path("name").asText(""), n.path("recording").asBoolean(true),
                n.path("persistent").asBoolean(false), n.path("inconsistent").asBoolean(false),
                n.path("busy").asBoolean(false), n.path("granularity").asLong(0), n.path("count").asLong(0));
    }

    /** Usable as the base of an incremental backup. */
    public boolean usable() {
        return recording && !inconsistent && !busy;
    }

    public String problem() {
        if (inconsistent) {
            return "is marked inconsistent (QEMU was killed or crashed while it was in use)";
        }
        if (busy) {
            return "is busy (in use by another block job)";
        }
        if (!recording) {
            return "is disabled (not recording changes)";
        }
        return "is usable";
    }
}
