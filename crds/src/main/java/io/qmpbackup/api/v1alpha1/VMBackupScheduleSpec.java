package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Required;
import io.fabric8.kubernetes.api.model.LabelSelector;

/** Backups of a labelled fleet of VMs on a cron schedule. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class VMBackupScheduleSpec {
    @JsonPropertyDescription("5-field cron expression (minute hour day-of-month month day-of-week), e.g. '0 2 * * *'.")
    @Required
    public String schedule;

    @JsonPropertyDescription("IANA time zone of the schedule (e.g. Europe/Berlin); default UTC.")
    @Default("UTC")
    public String timeZone;

    @JsonPropertyDescription("No new runs while true.")
    @Default("false")
    public Boolean suspend;

    @JsonPropertyDescription("Label selector over QemuVM objects in this namespace: the fleet.")
    @Required
    public LabelSelector vmSelector;

    @JsonPropertyDescription("The VMBackup each run creates per VM.")
    @Required
    public BackupTemplate template;

    @JsonPropertyDescription("Take a full after this many successful incrementals (per VM).")
    @Min(1)
    public Integer fullEvery;

    @JsonPropertyDescription("Forbid (default): skip a VM whose previous run is still active. Allow: run anyway.")
    @Default("Forbid")
    public ConcurrencyPolicy concurrencyPolicy;

    @JsonPropertyDescription("A run missed by more than this (operator down) is skipped; default: no limit. At most"
            + " one missed run is caught up.")
    @Min(0)
    public Long startingDeadlineSeconds;

    @JsonPropertyDescription("Succeeded VMBackups kept per VM when template.retention is unset (the backup files are not"
            + " touched); default 3. With retention, a succeeded VMBackup lives as long as its files.")
    @Default("3")
    @Min(0)
    public Integer successfulRunsHistoryLimit;

    @JsonPropertyDescription("Failed VMBackups kept per VM; default 1.")
    @Default("1")
    @Min(0)
    public Integer failedRunsHistoryLimit;
}
