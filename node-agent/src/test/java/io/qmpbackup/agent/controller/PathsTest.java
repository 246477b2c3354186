package io.qmpbackup.agent.controller;

import io.qmpbackup.tenancy.SocketFolder;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Confinement on real paths: storage paths, merge targets, sockets and their folders' namespaces. */
class PathsTest {
    @TempDir
    Path tmp;

    private static String reason(ThrowingCall c) {
        try {
            c.call();
        } catch (Refusal r) {
            return r.reason();
        } catch (Exception e) {
            throw new AssertionError("expected a Refusal, got " + e, e);
        }
        throw new AssertionError("expected a Refusal, got none");
    }

    private interface ThrowingCall {
        void call() throws Exception;
    }

    @Test
    void aRelativePathStaysInsideAndComesBackReal() throws Exception {
        Path area = Files.createDirectories(tmp.resolve("loc/ns-a"));
        assertThat(Paths.inside(area, "web1/2026-12", "storage.path")).isEqualTo(area.toRealPath()
                .resolve("web1/2026-12"));
        assertThat(Paths.inside(tmp.resolve("loc/ns-new"), "web1", "storage.path"))
                .as("an area that does not exist yet").isEqualTo(tmp.toRealPath().resolve("loc/ns-new/web1"));
    }

    @Test
    void dotDotAbsoluteAndEmptyAreRefusedByTheAgentItself() {
        Path area = tmp.resolve("loc/ns-a");
        assertThat(reason(() -> Paths.inside(area, "../ns-b/web1", "storage.path"))).isEqualTo("InvalidStoragePath");
        assertThat(reason(() -> Paths.inside(area, "web1/../../ns-b", "storage.path"))).isEqualTo("InvalidStoragePath");
        assertThat(reason(() -> Paths.inside(area, "web1/..", "storage.path"))).isEqualTo("InvalidStoragePath");
        assertThat(reason(() -> Paths.inside(area, "/etc", "storage.path"))).isEqualTo("InvalidStoragePath");
        assertThat(reason(() -> Paths.inside(area, "", "storage.path"))).isEqualTo("InvalidStoragePath");
        assertThatThrownBy(() -> Paths.relative("../x", "storage.path")).hasMessageContaining("'..'")
                .hasMessageContaining("storage.path");
    }

    @Test
    void aSymlinkInsideTheAreaThatLeadsOutIsRefused() throws Exception {
        Path area = Files.createDirectories(tmp.resolve("loc/ns-a"));
        Path other = Files.createDirectories(tmp.resolve("loc/ns-b/web1"));
        Files.createSymbolicLink(area.resolve("escape"), other);
        assertThat(reason(() -> Paths.inside(area, "escape", "storage.path"))).isEqualTo("NotPermitted");
        assertThat(reason(() -> Paths.inside(area, "escape/web1.qcow2", "storage.path"))).isEqualTo("NotPermitted");
        // a link that stays inside is followed, and the real path is what the engine gets
        Files.createDirectories(area.resolve("real"));
        Files.createSymbolicLink(area.resolve("alias"), area.resolve("real"));
        assertThat(Paths.inside(area, "alias/x", "storage.path")).isEqualTo(area.toRealPath().resolve("real/x"));
        // a dangling link cannot be resolved: refused, not followed later
        Files.createSymbolicLink(area.resolve("dangling"), tmp.resolve("nowhere"));
        assertThat(reason(() -> Paths.inside(area, "dangling/x", "storage.path"))).isEqualTo("InvalidStoragePath");
    }

    @Test
    void aLocationThatIsItselfASymlinkIsTheAdminsChoice() throws Exception {
        Path disk = Files.createDirectories(tmp.resolve("bigdisk"));
        Path location = Files.createSymbolicLink(tmp.resolve("backups"), disk);
        assertThat(Paths.inside(location.resolve("ns-a"), "web1", "storage.path"))
                .isEqualTo(disk.toRealPath().resolve("ns-a/web1"));
    }

    @Test
    void mergeTargetsStayInTheNamespacesAreaAndNeverReplaceAFile() throws Exception {
        Path loc = Files.createDirectories(tmp.resolve("loc"));
        Map<String, Path> storage = Map.of("default", loc);
        Path area = Files.createDirectories(loc.resolve("ns-a")).toRealPath();
        Path made = StorageArea.mergeTarget(storage, "node-a", "ns-a", area.resolve("restore/web1.qcow2").toString());
        assertThat(made).isEqualTo(area.resolve("restore/web1.qcow2"));
        assertThat(made.getParent()).as("the parent folders are made").isDirectory();
        assertThat(made).doesNotExist();

        assertThat(reason(() -> StorageArea.mergeTarget(storage, "node-a", "ns-a", tmp.resolve("x.qcow2").toString())))
                .isEqualTo("NotPermitted");
        assertThat(reason(() -> StorageArea.mergeTarget(storage, "node-a", "ns-a", loc.resolve("ns-b/x.qcow2")
                .toString()))).as("another namespace's area").isEqualTo("NotPermitted");
        assertThat(reason(() -> StorageArea.mergeTarget(storage, "node-a", "ns-a", area + "/../ns-b/x.qcow2")))
                .isEqualTo("InvalidTargetFile");
        assertThat(reason(() -> StorageArea.mergeTarget(storage, "node-a", "ns-a", "restore/x.qcow2")))
                .isEqualTo("InvalidTargetFile");
        Path existing = Files.writeString(area.resolve("restore/old.qcow2"), "data");
        assertThat(reason(() -> StorageArea.mergeTarget(storage, "node-a", "ns-a", existing.toString())))
                .isEqualTo("TargetExists");
        assertThat(existing).hasContent("data");
        assertThat(loc.resolve("ns-b")).doesNotExist();
    }

    @Test
    void aMergeTargetThroughASymlinkedParentIsRefusedAndCreatesNothing() throws Exception {
        Path loc = Files.createDirectories(tmp.resolve("loc"));
        Path area = Files.createDirectories(loc.resolve("ns-a"));
        Path outside = Files.createDirectories(tmp.resolve("etc"));
        Files.createSymbolicLink(area.resolve("out"), outside);
        Map<String, Path> storage = Map.of("default", loc);
        assertThat(reason(() -> StorageArea.mergeTarget(storage, "node-a", "ns-a", area + "/out/new/x.qcow2")))
                .isEqualTo("NotPermitted");
        assertThat(outside.resolve("new")).doesNotExist();
        // the target name itself a link out (dangling or not): it exists, and resolves out
        Files.createSymbolicLink(area.resolve("x.qcow2"), outside.resolve("x.qcow2"));
        assertThat(reason(() -> StorageArea.mergeTarget(storage, "node-a", "ns-a", area + "/x.qcow2")))
                .isIn("NotPermitted", "TargetExists", "InvalidTargetFile");
        assertThat(outside.resolve("x.qcow2")).doesNotExist();
        // a .partial beside the target that is a link out
        Files.createSymbolicLink(area.resolve("y.qcow2.partial"), outside.resolve("y"));
        assertThat(reason(() -> StorageArea.mergeTarget(storage, "node-a", "ns-a", area + "/y.qcow2")))
                .isEqualTo("NotPermitted");
    }

    @Test
    void aSocketBelongsToTheNamespaceOfTheDeepestFolderHoldingIt() throws Exception {
        Path shared = Files.createDirectories(tmp.resolve("run/qemu"));
        Path team = Files.createDirectories(shared.resolve("team-a"));
        List<SocketFolder> folders = SocketFolder.parse(List.of(shared.toString(), team + "=team-a"), "qmpbackup");
        assertThat(Paths.socket(shared + "/vm1.qmp", "QMP socket", "qmpbackup", folders))
                .isEqualTo(shared.toRealPath().resolve("vm1.qmp"));
        assertThat(Paths.socket(team + "/vm2.qmp", "QMP socket", "team-a", folders))
                .isEqualTo(team.toRealPath().resolve("vm2.qmp"));
        assertThat(reason(() -> Paths.socket(team + "/vm2.qmp", "QMP socket", "qmpbackup", folders)))
                .isEqualTo("NotPermitted");
        assertThatThrownBy(() -> Paths.socket(shared + "/vm1.qmp", "guest agent socket", "team-a", folders))
                .isInstanceOf(Refusal.class).hasMessageContaining("team-a").hasMessageContaining(shared + "/vm1.qmp")
                .hasMessageContaining("guest agent socket").hasMessageContaining("qmpbackup.agent.socket-dirs")
                .hasMessageContaining("agent.socketDirs");
        assertThat(reason(() -> Paths.socket("/etc/qemu/x.qmp", "QMP socket", "qmpbackup", folders)))
                .isEqualTo("SocketOutsideAllowedDirs");
        assertThat(reason(() -> Paths.socket(shared.toString(), "QMP socket", "qmpbackup", folders)))
                .as("the folder itself is no socket").isEqualTo("SocketOutsideAllowedDirs");
    }

    @Test
    void aSocketLinkedIntoAFolderIsJudgedWhereItReallyIs() throws Exception {
        Path shared = Files.createDirectories(tmp.resolve("run/qemu"));
        Path team = Files.createDirectories(tmp.resolve("team"));
        List<SocketFolder> folders = SocketFolder.parse(List.of(shared.toString(), team + "=team-a"), "qmpbackup");
        Path real = Files.createFile(shared.resolve("vm1.qmp"));
        Files.createSymbolicLink(team.resolve("vm1.qmp"), real);
        assertThat(reason(() -> Paths.socket(team + "/vm1.qmp", "QMP socket", "team-a", folders)))
                .isEqualTo("NotPermitted");
        assertThat(reason(() -> Paths.socket(team + "/../run/qemu/vm1.qmp", "QMP socket", "team-a", folders)))
                .isEqualTo("NotPermitted");
    }
}
