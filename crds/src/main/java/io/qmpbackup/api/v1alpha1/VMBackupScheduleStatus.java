package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What a schedule did last. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class VMBackupScheduleStatus {
    @JsonPropertyDescription("The scheduled time of the last run (RFC 3339).")
    public String lastScheduleTime;

    @JsonPropertyDescription("The next scheduled time (RFC 3339).")
    public String nextScheduleTime;

    @JsonPropertyDescription("Completion time of the last successful backup, per QemuVM name.")
    public Map<String, String> lastSuccessfulTime = new LinkedHashMap<>();

    @JsonPropertyDescription("VMBackups of this schedule that have not finished.")
    public List<String> active = new ArrayList<>();

    @JsonPropertyDescription("What the last reconcile did or why it could not, in one line.")
    public String message;

    @JsonPropertyDescription("Conditions: Ready (the schedule parses and runs), Suspended, RunsFailing (the newest"
            + " finished run of some VM failed).")
    public List<io.fabric8.kubernetes.api.model.Condition> conditions = new ArrayList<>();

    @JsonPropertyDescription("Generation of the spec this status describes.")
    public Long observedGeneration;
}
