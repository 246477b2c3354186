package io.qmpbackup.tenancy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** qmpbackup.agent.socket-dirs: plain paths (the discovery namespace's) and path=namespace entries. */
class SocketFolderTest {
    @Test
    void plainPathsBelongToTheDefaultNamespaceAndPathEqualsNamespaceToThatOne() {
        assertThat(SocketFolder.parse(List.of("/run/qemu", " /srv/team-a/ = team-a", "", "/var/run/a=b=ops"), "qmpbackup"))
                .containsExactly(new SocketFolder(Path.of("/run/qemu"), "qmpbackup"),
                        new SocketFolder(Path.of("/srv/team-a"), "team-a"),
                        new SocketFolder(Path.of("/var/run/a=b"), "ops"));
    }

    @Test
    void badEntriesNameTheSettingAndTheFix() {
        assertThatThrownBy(() -> SocketFolder.parse(List.of("run/qemu"), "qmpbackup"))
                .hasMessageContaining("qmpbackup.agent.socket-dirs").hasMessageContaining("absolute");
        assertThatThrownBy(() -> SocketFolder.parse(List.of("/run/qemu=Team_A"), "qmpbackup"))
                .hasMessageContaining("Team_A").hasMessageContaining("namespace");
        assertThatThrownBy(() -> SocketFolder.parse(List.of("=team-a"), "qmpbackup"))
                .hasMessageContaining("absolute");
        assertThatThrownBy(() -> SocketFolder.parse(List.of("/run/qemu", "/run/qemu/=team-a"), "qmpbackup"))
                .hasMessageContaining("twice");
    }
}
