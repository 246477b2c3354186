package io.qmpbackup.engine.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Every option of qmpbackup 0.67's command line (its argparse definitions) is in ours, in --help. */
class QmpbackupOptionsTest {
    /** qmpbackup 0.67, `qmpbackup backup`: parser_backup's arguments. */
    private static final List<String> BACKUP_067 = List.of("--level", "-l", "--target", "-t", "--uuid", "--monthly",
            "--include", "-i", "--exclude", "-e", "--quiesce", "--pause", "--speed-limit", "--progress-interval",
            "--cbw-timeout", "--compress", "--include-raw", "--no-subdir", "--no-timestamp", "--no-symlink",
            "--remove-delay", "--blockdev-disable-cache", "--blockdev-aio");
    /** Its top-level arguments. */
    private static final List<String> TOP_067 = List.of("--socket", "--agent-socket", "--debug", "--syslog",
            "--logfile");

    @Test
    void backupHelpListsEveryOptionOfQmpbackup067() {
        CommandLine top = new CommandLine(new QmpBackupCommand());
        String backupHelp = top.getSubcommands().get("backup").getUsageMessage();
        for (String o : BACKUP_067) {
            assertThat(backupHelp).as("backup --help").containsPattern("(^|[\\s\\[,])" + java.util.regex.Pattern.quote(o)
                    + "([=\\s,\\]]|$)");
        }
        String topHelp = top.getUsageMessage();
        for (String o : TOP_067) {
            assertThat(topHelp).as("qmpbackup --help").contains(o);
        }
    }
}
