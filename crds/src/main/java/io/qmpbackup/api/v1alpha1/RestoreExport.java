package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;

/**
 * How a VMRestore of mode export is served. The node agent listens only where its admin allows:
 * a UNIX socket in the namespace's folder under the agent's export folder, or a TCP port when
 * the chart enables TCP exports.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class RestoreExport {
    public static final String TTL_PATTERN = "^([0-9]+[dhms])+$";

    @JsonPropertyDescription("How long the export runs (90s, 30m, 1h30m, 2d); deleting the VMRestore ends it earlier.")
    @Default("1h")
    @Pattern(TTL_PATTERN)
    public String ttl;

    @JsonPropertyDescription("The UNIX socket to listen on, an absolute path in the namespace's folder under the"
            + " agent's export folder; default <export folder>/<namespace>/<name>.sock.")
    @Pattern("^/.*")
    public String socket;

    @JsonPropertyDescription("Listen on this TCP port instead of a socket (only where the chart enables TCP exports).")
    @Min(1)
    @Max(65535)
    public Integer port;
}
