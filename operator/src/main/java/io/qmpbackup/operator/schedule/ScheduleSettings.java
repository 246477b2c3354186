package io.qmpbackup.operator.schedule;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.generator.annotation.Default;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.qmpbackup.api.v1alpha1.BackupLevel;
import io.qmpbackup.api.v1alpha1.BackupTemplate;
import io.qmpbackup.api.v1alpha1.ConcurrencyPolicy;
import io.qmpbackup.api.v1alpha1.VMBackupScheduleSpec;
import java.time.DateTimeException;
import java.time.ZoneId;

/**
 * A schedule's spec as the API server stores it: every field with a schema default filled in.
 *
 * <p>The defaults live in the CRD ({@code @Default} on the crds fields), so a real API server
 * never hands the operator a null there. Objects that skipped that step (the in-process test API
 * server does not apply schema defaults, nor did objects stored before a default was added) are
 * read here, the one tolerant place, with the value taken from that same annotation, so a default
 * is written down exactly once.
 */
public record ScheduleSettings(String schedule, String timeZone, boolean suspend, LabelSelector vmSelector,
        BackupTemplate template, BackupLevel level, Integer fullEvery, ConcurrencyPolicy concurrencyPolicy,
        Long startingDeadlineSeconds, int successfulRunsHistoryLimit, int failedRunsHistoryLimit) {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TIME_ZONE = schemaDefault(VMBackupScheduleSpec.class, "timeZone", String.class);
    private static final boolean SUSPEND = schemaDefault(VMBackupScheduleSpec.class, "suspend", Boolean.class);
    private static final ConcurrencyPolicy CONCURRENCY = schemaDefault(VMBackupScheduleSpec.class,
            "concurrencyPolicy", ConcurrencyPolicy.class);
    private static final int KEEP_SUCCEEDED = schemaDefault(VMBackupScheduleSpec.class, "successfulRunsHistoryLimit",
            Integer.class);
    private static final int KEEP_FAILED = schemaDefault(VMBackupScheduleSpec.class, "failedRunsHistoryLimit",
            Integer.class);
    private static final BackupLevel LEVEL = schemaDefault(BackupTemplate.class, "level", BackupLevel.class);

    public static ScheduleSettings of(VMBackupScheduleSpec spec) {
        BackupTemplate t = spec.template;
        return new ScheduleSettings(spec.schedule, or(spec.timeZone, TIME_ZONE), or(spec.suspend, SUSPEND),
                spec.vmSelector, t, t == null ? LEVEL : or(t.level, LEVEL), spec.fullEvery,
                or(spec.concurrencyPolicy, CONCURRENCY), spec.startingDeadlineSeconds,
                or(spec.successfulRunsHistoryLimit, KEEP_SUCCEEDED), or(spec.failedRunsHistoryLimit, KEEP_FAILED));
    }

    /**
     * The cron schedule, once everything a run needs to read its time parses; the exception's
     * message names the bad field and the fix.
     */
    public CronSchedule cron() {
        CronSchedule cron = CronSchedule.parse(schedule, timeZone);
        String retentionZone = template.retention == null ? null : template.retention.timeZone;
        if (retentionZone != null) {
            try {
                ZoneId.of(retentionZone);
            } catch (DateTimeException e) {
                throw new IllegalArgumentException("template.retention.timeZone '" + retentionZone + "' is not a time"
                        + " zone: use an IANA name such as Europe/Berlin or UTC", e);
            }
        }
        return cron;
    }

    public boolean forbidsOverlap() {
        return concurrencyPolicy != ConcurrencyPolicy.ALLOW;
    }

    /** Whether the agent prunes this schedule's chains (then succeeded runs live as long as their files). */
    public boolean hasRetention() {
        return template.retention != null;
    }

    private static <T> T or(T value, T schemaDefault) {
        return value != null ? value : schemaDefault;
    }

    /** The {@code @Default} of {@code owner.field}, read as the API server reads it: JSON of the field's type. */
    private static <T> T schemaDefault(Class<?> owner, String field, Class<T> type) {
        try {
            Default d = owner.getField(field).getAnnotation(Default.class);
            if (d == null) {
                throw new IllegalStateException(owner.getSimpleName() + "." + field + " has no @Default");
            }
            return JSON.convertValue(d.value(), type);
        } catch (NoSuchFieldException e) {
            throw new IllegalStateException(owner.getSimpleName() + " has no field " + field, e);
        }
    }
}
