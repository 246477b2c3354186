package io.qmpbackup.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpbackup.tenancy.Tenancy;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The operator's first line: foreign sockets and merge targets refused as written, before any node. */
class GrantsTest {
    private final Grants grants = new Grants(Optional.of(List.of("/run/qemu", "/srv/team-a=team-a")),
            Optional.of("default=/var/lib/qmpbackup"), "qmpbackup");

    @Test
    void aSocketIsItsFoldersNamespaces() {
        assertThat(grants.socket("/run/qemu/web1.qmp", "QMP socket", "qmpbackup")).isEmpty();
        assertThat(grants.socket("/srv/team-a/app1.qmp", "QMP socket", "team-a")).isEmpty();
        Tenancy.Denial d = grants.socket("/run/qemu/web1.qmp", "QMP socket", "team-a").orElseThrow();
        assertThat(d.reason()).isEqualTo("NotPermitted");
        assertThat(d.message()).contains("namespace team-a", "/run/qemu/web1.qmp");
        assertThat(grants.socket("/srv/team-a/../../run/qemu/web1.qmp", "guest agent socket", "team-a").orElseThrow()
                .message()).contains("guest agent socket");
        assertThat(grants.socket("/home/x.qmp", "QMP socket", "team-a").orElseThrow().reason())
                .isEqualTo("SocketOutsideAllowedDirs");
        assertThat(grants.socket(null, "guest agent socket", "team-a")).isEmpty();
    }

    @Test
    void aMergeWritesOnlyInTheNamespacesArea() {
        assertThat(grants.mergeTarget("/var/lib/qmpbackup/team-a/restore/app1.qcow2", "team-a")).isEmpty();
        assertThat(grants.mergeTarget("/var/lib/qmpbackup/qmpbackup/restore/app1.qcow2", "team-a").orElseThrow()
                .reason()).isEqualTo("NotPermitted");
        assertThat(grants.mergeTarget("/srv/team-a/app1.qcow2", "team-a").orElseThrow().message())
                .contains("/var/lib/qmpbackup/team-a");
        assertThat(grants.mergeTarget("/var/lib/qmpbackup/team-a/../qmpbackup/x.qcow2", "team-a").orElseThrow()
                .reason()).isEqualTo("InvalidTargetFile");
    }

    @Test
    void unconfiguredTheOperatorLeavesTheJudgementToTheAgents() {
        Grants none = new Grants(Optional.empty(), Optional.empty(), "qmpbackup");
        assertThat(none.socket("/anywhere/x.qmp", "QMP socket", "team-a")).isEmpty();
        assertThat(none.mergeTarget("/anywhere/x.qcow2", "team-a")).isEmpty();
    }
}
