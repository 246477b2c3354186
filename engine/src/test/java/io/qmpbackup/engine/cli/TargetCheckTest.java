package io.qmpbackup.engine.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every unusable target is one line that says what is wrong and what to do, before the VM is touched. */
class TargetCheckTest {
    @TempDir
    Path tmp;

    @Test
    void eachUnusableTargetSaysWhatIsWrongAndWhatToDo() throws IOException {
        Path file = Files.writeString(tmp.resolve("file"), "x");
        assertThatThrownBy(() -> TargetCheck.folder(Path.of("/proc/nc-target"), "backup target", "--target"))
                .hasMessage("backup target /proc/nc-target is under /proc, a kernel file system that cannot hold"
                        + " backups: give a --target folder on a disk");
        assertThatThrownBy(() -> TargetCheck.folder(file, "backup target", "--target"))
                .hasMessage("backup target " + file + " is a file, not a folder: give a --target folder (a missing"
                        + " one is created)");
        assertThatThrownBy(() -> TargetCheck.folder(file.resolve("a/b"), "fleece folder", "--fleece-dir"))
                .hasMessage("fleece folder " + file.resolve("a/b") + " cannot be created: " + file + " is a file,"
                        + " not a folder: give a --fleece-dir whose parent folders are folders");
    }

    @Test
    void aFolderThatCannotBeWrittenIsFoundByWritingToIt() {
        // root passes every permission check, so a file is written: /proc/self refuses it even to root
        assertThatThrownBy(() -> TargetCheck.probe(Path.of("/proc/self"), "backup target /proc/self is not writable",
                "--target")).isInstanceOf(IOException.class).message()
                .startsWith("backup target /proc/self is not writable (")
                .contains("user " + System.getProperty("user.name"))
                .endsWith("make it writable for this user (chown/chmod, or remount read-write) or give another"
                        + " --target");
    }

    @Test
    void aUsableTargetPassesAndIsLeftAsItWas() throws IOException {
        assertThatCode(() -> TargetCheck.folder(tmp, "backup target", "--target")).doesNotThrowAnyException();
        assertThatCode(() -> TargetCheck.folder(tmp.resolve("new/nested"), "backup target", "--target"))
                .doesNotThrowAnyException();
        try (Stream<Path> s = Files.list(tmp)) {
            assertThat(s).isEmpty();
        }
    }

    @Test
    void theBackupCommandChecksTheTargetBeforeTheVm() throws IOException {
        // no VM at this socket: the target's error comes first, so nothing was asked of the VM
        Path file = Files.writeString(tmp.resolve("file"), "x");
        InProcessCli r = InProcessCli.qmpbackup("--socket", tmp.resolve("no-vm.sock").toString(), "backup", "-l",
                "full", "-t", file.toString());
        assertThat(r.exitCode()).isEqualTo(1);
        assertThat(r.stderr().strip().lines()).singleElement().asString()
                .isEqualTo("qmpbackup: error: backup target " + file + " is a file, not a folder: give a --target"
                        + " folder (a missing one is created)");
        InProcessCli fleece = InProcessCli.qmpbackup("--socket", tmp.resolve("no-vm.sock").toString(), "backup",
                "-l", "full", "-t", tmp.toString(), "--fleece-dir", "/sys/fleece");
        assertThat(fleece.stderr().strip()).isEqualTo("qmpbackup: error: fleece folder /sys/fleece is under /sys,"
                + " a kernel file system that cannot hold backups: give a --fleece-dir folder on a disk");
    }
}
