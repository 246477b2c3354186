package io.qmpbackup.operator.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpbackup.api.v1alpha1.BackupLevel;
import io.qmpbackup.api.v1alpha1.BackupTemplate;
import io.qmpbackup.api.v1alpha1.ConcurrencyPolicy;
import io.qmpbackup.api.v1alpha1.Retention;
import io.qmpbackup.api.v1alpha1.VMBackupScheduleSpec;
import org.junit.jupiter.api.Test;

class ScheduleSettingsTest {
    private static VMBackupScheduleSpec bare() {
        VMBackupScheduleSpec spec = new VMBackupScheduleSpec();
        spec.schedule = "0 2 * * *";
        spec.template = new BackupTemplate();
        return spec;
    }

    @Test
    void unsetFieldsReadAsTheirSchemaDefaults() {
        ScheduleSettings s = ScheduleSettings.of(bare());
        assertThat(s.timeZone()).isEqualTo("UTC");
        assertThat(s.suspend()).isFalse();
        assertThat(s.concurrencyPolicy()).isEqualTo(ConcurrencyPolicy.FORBID);
        assertThat(s.forbidsOverlap()).isTrue();
        assertThat(s.successfulRunsHistoryLimit()).isEqualTo(3);
        assertThat(s.failedRunsHistoryLimit()).isEqualTo(1);
        assertThat(s.level()).isEqualTo(BackupLevel.AUTO);
        assertThat(s.fullEvery()).as("no default: never forces a full").isNull();
        assertThat(s.startingDeadlineSeconds()).as("no default: no deadline").isNull();
        assertThat(s.hasRetention()).isFalse();
    }

    @Test
    void setFieldsWin() {
        VMBackupScheduleSpec spec = bare();
        spec.timeZone = "Europe/Berlin";
        spec.suspend = true;
        spec.concurrencyPolicy = ConcurrencyPolicy.ALLOW;
        spec.successfulRunsHistoryLimit = 0;
        spec.failedRunsHistoryLimit = 5;
        spec.template.level = BackupLevel.COPY;
        ScheduleSettings s = ScheduleSettings.of(spec);
        assertThat(s.timeZone()).isEqualTo("Europe/Berlin");
        assertThat(s.suspend()).isTrue();
        assertThat(s.forbidsOverlap()).isFalse();
        assertThat(s.successfulRunsHistoryLimit()).isZero();
        assertThat(s.failedRunsHistoryLimit()).isEqualTo(5);
        assertThat(s.level()).isEqualTo(BackupLevel.COPY);
        assertThat(s.cron().zone()).hasToString("Europe/Berlin");
    }

    @Test
    void aBadRetentionTimeZoneIsNamedWithTheFix() {
        VMBackupScheduleSpec spec = bare();
        spec.template.retention = new Retention();
        spec.template.retention.keepLast = 1;
        spec.template.retention.timeZone = "Mars/Olympus";
        assertThatThrownBy(() -> ScheduleSettings.of(spec).cron()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("template.retention.timeZone 'Mars/Olympus'").hasMessageContaining("IANA");
    }
}
