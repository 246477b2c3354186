package io.qmpbackup.engine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * qmprestore's --remote and --download-dir belong to the tool, before the command: a command that
 * reads only a local folder must refuse them rather than quietly run on a local folder of the
 * same name (a verify the user takes for a check of the off-site copy).
 */
class RemoteOptionsTest {
    @Test
    void aCommandThatReadsOnlyALocalFolderRefusesRemote() {
        for (List<String> command : List.of(List.of("verify", "--dir", "disk1.qcow2"),
                List.of("instant", "--dir", "disk1.qcow2", "--targetfile", "/tmp/o.qcow2"),
                List.of("tpm", "--dir", "disk1.qcow2", "--to", "/tmp/tpm"))) {
            String[] args = Stream.concat(Stream.of("--remote", "/nonexistent/remote.properties"), command.stream())
                    .toArray(String[]::new);
            InProcessCli r = InProcessCli.qmprestore(args);
            assertThat(r.exitCode()).as(r.toString()).isEqualTo(2);
            assertThat(r.stderr().strip().lines()).as(r.toString()).singleElement().asString()
                    .contains("--remote works with merge and download only; " + command.get(0) + " reads a local folder")
                    .contains("download --dir PATH --to DIR");
        }
    }

    @Test
    void downloadDirWithoutRemoteOrWithDownloadIsRefused() {
        InProcessCli alone = InProcessCli.qmprestore("--download-dir", "/tmp/d", "merge", "--dir", "/tmp/none",
                "--targetfile", "/tmp/o.qcow2");
        assertThat(alone.exitCode()).as(alone.toString()).isEqualTo(2);
        assertThat(alone.stderr()).contains("without --remote nothing is downloaded");
        InProcessCli download = InProcessCli.qmprestore("--remote", "/nonexistent/remote.properties", "--download-dir",
                "/tmp/d", "download", "--dir", "disk1.qcow2", "--to", "/tmp/t");
        assertThat(download.exitCode()).as(download.toString()).isEqualTo(2);
        assertThat(download.stderr()).contains("download takes --to");
    }

    @Test
    void mergeAndDownloadStillTakeRemote() {
        InProcessCli merge = InProcessCli.qmprestore("--remote", "/nonexistent/remote.properties", "merge", "--dir",
                "disk1.qcow2", "--targetfile", "/tmp/none/o.qcow2");
        assertThat(merge.stderr()).as(merge.toString()).doesNotContain("works with merge and download only")
                .contains("/nonexistent/remote.properties");
    }
}
