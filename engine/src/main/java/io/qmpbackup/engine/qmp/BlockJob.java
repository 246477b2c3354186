package io.qmpbackup.engine.qmp;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A job as query-jobs shows it.
 *
 * @param id       the job id
 * @param status   created, running, paused, ready, concluded, ...
 * @param current  progress so far (bytes for a backup job)
 * @param total    the progress it will reach
 * @param error    QEMU's error message once it concluded with a failure, else null
 */
public record BlockJob(String id, String status, long current, long total, String error) {
    static BlockJob of(JsonNode j) {
        return new BlockJob(j.path("id").asText(), j.path("status").asText(), j.path("current-progress").asLong(),
                j.path("total-progress").asLong(), j.has("error") ? j.get("error").asText() : null);
    }

    public boolean concluded() {
        return "concluded".equals(status);
    }

    public boolean failed() {
        return concluded() && error != null;
    }
}
