package io.qmpbackup.kubectl;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.EventBuilder;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.StorageRef;
import io.qmpbackup.api.v1alpha1.VMBackup;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class DescribeViewTest {
    private static Event event(String reason, String type, String at, String message) {
        return new EventBuilder().withNewMetadata().withName("e-" + reason).endMetadata().withReason(reason)
                .withType(type).withLastTimestamp(at).withMessage(message).withNewSource()
                .withComponent("qmpbackup-operator").endSource().build();
    }

    @Test
    void statusConditionsAndEventsInOneView() {
        VMBackup b = PointsTableTest.run("web1-full", "web1", Phase.FAILED, null, "2026-03-01T09:01:00Z");
        b.getSpec().storage = new StorageRef();
        b.getSpec().storage.location = "default";
        b.getSpec().storage.path = "web1";
        b.getStatus().startTime = "2026-03-01T09:00:00Z";
        b.getStatus().reason = "BackupFailed";
        b.getStatus().message = "QMP socket refused the connection";
        b.getStatus().conditions.add(new ConditionBuilder().withType("Failed").withStatus("True")
                .withReason("BackupFailed").withLastTransitionTime("2026-03-01T09:01:00Z").withMessage("refused")
                .build());
        // out of order on purpose: the view sorts by time (an 11-character fraction sorts wrong as text)
        List<Event> events = List.of(event("BackupFailed", "Warning", "2026-03-01T09:01:00Z", "refused"),
                event("Started", "Normal", "2026-03-01T09:00:00.123456789Z", "Running"));
        String view = DescribeView.render(b, events, Instant.parse("2026-03-01T09:11:00Z"));
        assertThat(view).contains("Name:       web1-full\n", "Kind:       VMBackup\n", "VM:         web1\n",
                "Storage:    default/web1\n", "Phase:      Failed\n", "Reason:     BackupFailed\n",
                "Message:    QMP socket refused the connection\n", "Duration:   1m00s\n");
        assertThat(view).contains("Conditions:\n  TYPE     STATUS   REASON         SINCE        MESSAGE\n"
                + "  Failed   True     BackupFailed   10m00s ago   refused\n");
        assertThat(view).containsSubsequence("Events:\n", "Normal    Started", "Warning   BackupFailed   10m00s ago"
                + "   qmpbackup-operator   refused");
    }

    @Test
    void aBackupsOffSiteCopyIsShown() {
        VMBackup b = PointsTableTest.run("web1-full", "web1", Phase.SUCCEEDED, null, "2026-03-01T09:01:00Z");
        b.getStatus().offsite = new io.qmpbackup.api.v1alpha1.OffsiteStatus();
        b.getStatus().offsite.state = "Uploaded";
        b.getStatus().offsite.remote = "s3 bucket vm-backups";
        b.getStatus().offsite.attempts = 1;
        b.getStatus().offsite.bytesSent = 3L << 20;
        String view = DescribeView.render(b, List.of(), Instant.parse("2026-03-01T09:11:00Z"));
        assertThat(view).contains("Off-site:   Uploaded (s3 bucket vm-backups), attempts 1, 3.0 MiB sent\n");
    }

    @Test
    void aRunWithoutStatusSaysSoAndHasNoConditionsOrEvents() {
        VMBackup b = PointsTableTest.run("web1-new", "web1", null, null, null);
        String view = DescribeView.render(b, List.of(), Instant.now());
        assertThat(view).contains("Phase:      Pending (no status yet: is the operator running?)",
                "Conditions:\n  <none>\n", "Events:\n  <none>\n");
    }
}
