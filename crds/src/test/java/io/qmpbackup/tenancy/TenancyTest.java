package io.qmpbackup.tenancy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The rules as the operator applies them: paths as written (the agent's real-path use is in PathsTest). */
class TenancyTest {
    private static final List<SocketFolder> FOLDERS = SocketFolder.parse(List.of("/run/qemu",
            "/run/qemu/team-a=team-a"), "vms");
    private static final Map<String, Path> LOCATIONS = Tenancy.locations("default=/backups,nfs=/mnt/nfs", "test");

    private static Optional<Tenancy.Denial> socket(String socket, String namespace) {
        return Tenancy.socketDenial(Path.of(socket).normalize(), socket, "QMP socket", namespace, FOLDERS,
                Tenancy.Resolver.AS_WRITTEN);
    }

    @Test
    void theDeepestFolderHoldingASocketDecidesWhoseItIs() {
        assertThat(socket("/run/qemu/web1.qmp", "vms")).isEmpty();
        assertThat(socket("/run/qemu/team-a/app1.qmp", "team-a")).isEmpty();
        Tenancy.Denial d = socket("/run/qemu/team-a/app1.qmp", "vms").orElseThrow();
        assertThat(d.reason()).isEqualTo(Tenancy.NOT_PERMITTED);
        assertThat(d.message()).contains("namespace vms", "/run/qemu/team-a/app1.qmp", "qmpbackup.agent.socket-dirs",
                "agent.socketDirs: [{path: <folder>, namespace: vms}]");
        assertThat(socket("/run/qemu/web1.qmp", "team-a").orElseThrow().reason()).isEqualTo(Tenancy.NOT_PERMITTED);
    }

    @Test
    void aSocketUnderNoFolderOrReachedByDotDotIsRefused() {
        assertThat(socket("/tmp/web1.qmp", "vms").orElseThrow().reason()).isEqualTo(Tenancy.OUTSIDE_SOCKET_DIRS);
        // as written, '..' is folded before the folders are compared
        assertThat(socket("/run/qemu/team-a/../web1.qmp", "team-a").orElseThrow().reason())
                .isEqualTo(Tenancy.NOT_PERMITTED);
        // a folder is no socket of its own
        assertThat(socket("/run/qemu", "vms").orElseThrow().reason()).isEqualTo(Tenancy.OUTSIDE_SOCKET_DIRS);
    }

    @Test
    void aMergeTargetMustLieInsideOneOfTheNamespacesAreas() throws Exception {
        assertThat(Tenancy.areaHolding(Path.of("/backups/team-a/restore/x.qcow2"), "team-a", LOCATIONS,
                Tenancy.Resolver.AS_WRITTEN)).contains(Path.of("/backups/team-a"));
        assertThat(Tenancy.areaHolding(Path.of("/mnt/nfs/team-a/x.qcow2"), "team-a", LOCATIONS,
                Tenancy.Resolver.AS_WRITTEN)).contains(Path.of("/mnt/nfs/team-a"));
        assertThat(Tenancy.areaHolding(Path.of("/backups/vms/x.qcow2"), "team-a", LOCATIONS,
                Tenancy.Resolver.AS_WRITTEN)).isEmpty();
        assertThat(Tenancy.areaHolding(Path.of("/backups/team-a"), "team-a", LOCATIONS, Tenancy.Resolver.AS_WRITTEN))
                .as("the area itself is no file").isEmpty();
        assertThat(Tenancy.areaHolding(Path.of("/backups/team-ab/x.qcow2"), "team-a", LOCATIONS,
                Tenancy.Resolver.AS_WRITTEN)).as("a namespace whose name starts alike").isEmpty();
        Tenancy.Denial d = Tenancy.outsideAreas("/var/lib/x.qcow2", "team-a", LOCATIONS, "");
        assertThat(d.message()).contains("[/backups/team-a, /mnt/nfs/team-a]", "/backups/team-a/restore/");
    }

    @Test
    void aMergeTargetIsAbsoluteWithoutDotDot() {
        assertThat(Tenancy.targetFileForm("restore/x.qcow2", "team-a").orElseThrow().reason())
                .isEqualTo("InvalidTargetFile");
        assertThat(Tenancy.targetFileForm("/backups/team-a/../vms/x.qcow2", "team-a").orElseThrow().message())
                .contains("'..'");
        assertThat(Tenancy.targetFileForm(null, "team-a")).isPresent();
        assertThat(Tenancy.targetFileForm("/backups/team-a/x.qcow2", "team-a")).isEmpty();
    }

    @Test
    void storageLocationsAreNameEqualsPath() {
        assertThat(LOCATIONS).containsEntry("default", Path.of("/backups")).containsEntry("nfs", Path.of("/mnt/nfs"));
        assertThatThrownBy(() -> Tenancy.locations("default", "qmpbackup.operator.storage-locations"))
                .hasMessageContaining("qmpbackup.operator.storage-locations entry 'default' is not name=path");
    }
}
