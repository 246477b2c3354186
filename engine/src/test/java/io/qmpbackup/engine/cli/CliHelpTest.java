package io.qmpbackup.engine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** Help on every command of both tools: -h, --help and `help COMMAND` exit 0 and list the command's options. */
class CliHelpTest {
    private static final Map<String, Function<String[], Integer>> TOOLS = Map.of(
            "qmpbackup", QmpBackupCommand::run, "qmprestore", QmpRestoreCommand::run);

    private static CommandLine model(String tool) {
        return new CommandLine(tool.equals("qmpbackup") ? new QmpBackupCommand() : new QmpRestoreCommand());
    }

    @Test
    void everyCommandHasHelpThatListsItsOptions() {
        int checked = 0;
        for (String tool : TOOLS.keySet()) {
            for (Map.Entry<String, CommandLine> sub : model(tool).getSubcommands().entrySet()) {
                for (List<String> args : List.of(List.of(sub.getKey(), "--help"), List.of(sub.getKey(), "-h"),
                        List.of("help", sub.getKey()))) {
                    InProcessCli r = InProcessCli.run(TOOLS.get(tool), args.toArray(String[]::new));
                    assertThat(r.exitCode()).as(tool + " " + args + "\n" + r).isZero();
                    assertThat(r.stdout()).as(tool + " " + args).contains("Usage: " + tool + " " + sub.getKey());
                    for (OptionSpec o : sub.getValue().getCommandSpec().options()) {
                        if (!o.hidden()) {
                            assertThat(r.stdout()).as(tool + " " + args).contains(o.longestName());
                        }
                    }
                    checked++;
                }
            }
        }
        // qmpbackup: backup info cleanup prune replicate stream list completion help; qmprestore: 13 commands
        assertThat(checked).isEqualTo(3 * (9 + 13));
    }

    @Test
    void topHelpListsTheCommandsAndNoCommandIsAUsageError() {
        InProcessCli help = InProcessCli.qmprestore("--help");
        assertThat(help.exitCode()).isZero();
        assertThat(help.stdout()).contains("rebase", "merge", "list", "completion", "help");
        InProcessCli version = InProcessCli.qmprestore("merge", "-V");
        assertThat(version.exitCode()).isZero();
        assertThat(version.stdout().strip()).isEqualTo("qmprestore (QMPBackup Operator) 0.1.0");
        InProcessCli none = InProcessCli.qmpbackup();
        assertThat(none.exitCode()).isEqualTo(2);
        assertThat(none.stderr().strip()).isEqualTo("qmpbackup: error: missing command: backup, info, cleanup,"
                + " prune, replicate, stream, list, completion, help (see qmpbackup --help)");
    }

    @Test
    void aUsageErrorPointsAtTheHelpOfTheCommandThatWasWrong() {
        InProcessCli r = InProcessCli.qmpbackup("backup", "--level", "full");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.stderr().strip()).startsWith("qmpbackup: error: Missing required option: '--target=<target>'")
                .endsWith("(see qmpbackup backup --help)");
        InProcessCli prune = InProcessCli.qmpbackup("prune", "--target", "/tmp");
        // prune's own check, thrown from its call(), names the tool too
        assertThat(prune.stderr().strip()).contains("prune needs a policy").endsWith("(see qmpbackup prune --help)");
    }
}
