package io.qmpbackup.engine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code completion} prints a bash script that bash reads and that completes commands, options and words. */
class CompletionTest {
    @TempDir
    Path tmp;

    @Test
    void qmpbackupCompletionIsABashScriptForItsCommands() throws Exception {
        InProcessCli r = InProcessCli.qmpbackup("completion");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.stdout()).startsWith("#!/usr/bin/env bash").contains("complete -F _complete_qmpbackup")
                .contains("backup info cleanup prune replicate stream list completion help");
        Path script = Files.writeString(tmp.resolve("qmpbackup.bash"), r.stdout());
        assertThat(complete(script, "_complete_qmpbackup", "qmpbackup", "ba")).isEqualTo("backup");
        assertThat(complete(script, "_complete_qmpbackup", "qmpbackup", "backup", "--level", ""))
                .isEqualTo("full inc auto copy");
        assertThat(complete(script, "_complete_qmpbackup", "qmpbackup", "info", "--show", ""))
                .isEqualTo("blockdev bitmaps");
    }

    @Test
    void qmprestoreCompletionIsABashScriptForItsCommands() throws Exception {
        InProcessCli r = InProcessCli.qmprestore("completion");
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.stdout()).startsWith("#!/usr/bin/env bash")
                .contains("rebase commit merge snapshotrebase verify vm tpm instant export download list completion help");
        Path script = Files.writeString(tmp.resolve("qmprestore.bash"), r.stdout());
        assertThat(complete(script, "_complete_qmprestore", "qmprestore", "me")).isEqualTo("merge");
        assertThat(complete(script, "_complete_qmprestore", "qmprestore", "list", "--fi")).isEqualTo("--filter");
    }

    /** What bash offers for the last word of {@code words}, by the script's completion function. */
    private String complete(Path script, String function, String... words) throws Exception {
        String line = String.join(" ", words);
        StringBuilder array = new StringBuilder();
        for (String w : words) {
            array.append(" '").append(w).append("'");
        }
        String program = "source '" + script + "' 2>/dev/null; COMP_WORDS=(" + array + "); COMP_CWORD="
                + (words.length - 1) + "; COMP_LINE='" + line + "'; COMP_POINT=${#COMP_LINE}; " + function
                + " 2>/dev/null; echo \"${COMPREPLY[*]}\"";
        Process p = new ProcessBuilder(List.of("bash", "-c", program)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out.strip();
    }
}
