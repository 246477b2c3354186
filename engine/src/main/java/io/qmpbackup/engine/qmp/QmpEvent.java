package io.qmpbackup.engine.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;

/** An asynchronous QMP event such as {@code BLOCK_JOB_COMPLETED} or {@code SHUTDOWN}. */
public record QmpEvent(String name, JsonNode data) {
    public QmpEvent {
        if (data == null) {
            data = MissingNode.getInstance();
        }
    }

    public String text(String field) {
        JsonNode v = data.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}
