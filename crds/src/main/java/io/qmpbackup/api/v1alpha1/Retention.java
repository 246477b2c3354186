package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.ValidationRule;

/**
 * Which chains of a backup target to keep. A chain is a full backup and the incrementals built
 * on it (a copy is a chain of its own). The newest chain is always kept; older ones are kept
 * when keepLast counts them or when they hold a restore point the GFS counts pick; the rest
 * are deleted whole, so no kept incremental ever loses the full it needs.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "has(self.keepLast) || has(self.keepDaily) || has(self.keepWeekly) || has(self.keepMonthly)",
        message = "give at least one of keepLast, keepDaily, keepWeekly, keepMonthly")
public class Retention {
    @JsonPropertyDescription("Keep the newest N chains.")
    @Min(1)
    public Integer keepLast;

    @JsonPropertyDescription("GFS: keep the newest restore point of each of the last N days that have one (and the"
            + " chain it needs).")
    @Min(0)
    public Integer keepDaily;

    @JsonPropertyDescription("GFS: keep the newest restore point of each of the last N ISO weeks that have one.")
    @Min(0)
    public Integer keepWeekly;

    @JsonPropertyDescription("GFS: keep the newest restore point of each of the last N calendar months that have one.")
    @Min(0)
    public Integer keepMonthly;

    @JsonPropertyDescription("IANA time zone that days, weeks and months are counted in; default UTC (a schedule's"
            + " own timeZone when set there).")
    public String timeZone;

    public Retention copy() {
        Retention r = new Retention();
        r.keepLast = keepLast;
        r.keepDaily = keepDaily;
        r.keepWeekly = keepWeekly;
        r.keepMonthly = keepMonthly;
        r.timeZone = timeZone;
        return r;
    }
}
