package io.qmpbackup.engine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A prune that finds no chain was given the wrong --target (a cron job would never prune): it
 * fails and says which target to give, for a folder of targets and for a disk's folder.
 */
class PruneTargetTest {
    @TempDir
    Path tmp;

    @Test
    void aFolderOfTargetsNamesThem() throws Exception {
        Path all = tmp.resolve("all");
        Path web1 = Files.createDirectories(all.resolve("web1"));
        Files.writeString(web1.resolve("uuid"), "c0ffee\n");
        InProcessCli r = InProcessCli.qmpbackup("prune", "-t", all.toString(), "--keep-last", "1");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(1);
        assertThat(r.stderr()).contains("no chain in " + all).contains("the folders [web1] in it hold chains")
                .contains(all.resolve("web1").toString());
        assertThat(web1.resolve("uuid")).hasContent("c0ffee\n");
    }

    @Test
    void aTargetOfQmpbackup067ItselfIsSaidToBeLeftAlone() throws Exception {
        Path t = Files.createDirectories(tmp.resolve("t067"));
        Files.writeString(t.resolve("uuid"), "c0ffee\n");
        Path f = Files.write(Files.createDirectories(t.resolve("disk1.qcow2")).resolve("FULL-1700000000-disk1.qcow2"),
                new byte[] {1});
        InProcessCli r = InProcessCli.qmpbackup("prune", "-t", t.toString(), "--keep-last", "1");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(1);
        assertThat(r.stderr()).contains("no chain manifest").contains("which prune leaves as it is");
        assertThat(f).exists();
    }

    @Test
    void aDisksFolderNamesItsTarget() throws Exception {
        Path disk = Files.createDirectories(tmp.resolve("t").resolve("disk1.qcow2"));
        Files.write(disk.resolve("FULL-1700000000-disk1.qcow2"), new byte[] {1, 2, 3});
        InProcessCli r = InProcessCli.qmpbackup("prune", "-t", disk.toString(), "--keep-last", "1");
        assertThat(r.exitCode()).as(r.toString()).isEqualTo(1);
        assertThat(r.stderr()).contains("it holds backup files, so it is a disk's folder")
                .contains("--target " + tmp.resolve("t"));
        assertThat(disk.resolve("FULL-1700000000-disk1.qcow2")).exists();
    }
}
