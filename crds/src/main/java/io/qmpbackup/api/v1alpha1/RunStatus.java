package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/** Status common to job-like resources (a backup run, a restore run). */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class RunStatus {
    @JsonPropertyDescription("Pending, Scheduled (handed to the node's agent), Running, Succeeded, Failed or Cancelled.")
    public Phase phase;

    @JsonPropertyDescription("Conditions: Accepted, Running, Complete, Failed (type, status, reason, message,"
            + " lastTransitionTime, observedGeneration).")
    public List<Condition> conditions = new ArrayList<>();

    @JsonPropertyDescription("Generation of the spec this status describes.")
    public Long observedGeneration;

    @JsonPropertyDescription("Node the work runs on.")
    public String node;

    @JsonPropertyDescription("The node agent instance that accepted the work.")
    public String agent;

    @JsonPropertyDescription("How far the work is.")
    public Progress progress;

    @JsonPropertyDescription("When the work was handed to the node's agent (RFC 3339).")
    public String scheduledTime;

    @JsonPropertyDescription("When the agent started the work (RFC 3339).")
    public String startTime;

    @JsonPropertyDescription("When the work ended (RFC 3339).")
    public String completionTime;

    @JsonPropertyDescription("What happened, in one line; on failure what went wrong and what to do.")
    public String message;

    @JsonPropertyDescription("Stable CamelCase reason of the last transition (for example NoAgent, AgentRestarted).")
    public String reason;
}
