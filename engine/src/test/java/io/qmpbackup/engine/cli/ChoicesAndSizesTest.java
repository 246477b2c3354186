package io.qmpbackup.engine.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpbackup.engine.backup.BackupLevel;
import io.qmpbackup.engine.backup.TargetIo;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Word options list their words in help and refuse others with exit 2; sizes take units. */
class ChoicesAndSizesTest {
    private static final long KIB = 1024;
    private static final long MIB = KIB * KIB;
    private static final long GIB = MIB * KIB;

    @Test
    void helpListsTheWordsOfEveryWordOption() {
        CommandLine top = new CommandLine(new QmpBackupCommand());
        // as one line: the help wraps at 80 columns
        String backup = top.getSubcommands().get("backup").getUsageMessage().replaceAll("\\s+", " ");
        assertThat(backup).contains("full, inc, auto, copy").contains("threads, native, io_uring")
                .contains("direct").contains("buffered");
        String info = top.getSubcommands().get("info").getUsageMessage().replaceAll("\\s+", " ");
        assertThat(info).contains("blockdev, bitmaps");
    }

    @Test
    void aWrongWordIsAUsageErrorThatNamesTheWords() {
        List<List<String>> cases = List.of(
                List.of("backup", "--level", "weekly", "-t", "/tmp/t", "full, inc, auto, copy"),
                List.of("backup", "-l", "full", "-t", "/tmp/t", "--target-cache", "x", "direct, buffered"),
                List.of("backup", "-l", "full", "-t", "/tmp/t", "--blockdev-aio", "posix", "threads, native, io_uring"),
                List.of("info", "--show", "x", "blockdev, bitmaps"));
        for (List<String> c : cases) {
            InProcessCli r = InProcessCli.qmpbackup(c.subList(0, c.size() - 1).toArray(String[]::new));
            assertThat(r.exitCode()).as(c + "\n" + r).isEqualTo(2);
            assertThat(r.stderr().strip().lines()).as(c.toString()).singleElement().asString()
                    .contains("is not one of " + c.get(c.size() - 1)).contains("--help");
        }
    }

    @Test
    void wordsAreReadInAnyCase() {
        QmpBackupCommand.Backup b = parseBackup("--level", "INC", "--target-cache", "Buffered");
        assertThat(b.level).isEqualTo(BackupLevel.INC);
        assertThat(b.targetCache).isEqualTo(TargetIo.Cache.BUFFERED);
    }

    @Test
    void sizesTakeUnitsInPowersOf1024() {
        assertThat(Sizes.parse("0")).isZero();
        assertThat(Sizes.parse("8388608")).isEqualTo(8 * MIB);
        assertThat(Sizes.parse("512K")).isEqualTo(512 * KIB);
        assertThat(Sizes.parse("200M")).isEqualTo(200 * MIB);
        assertThat(Sizes.parse("200m")).isEqualTo(200 * MIB);
        assertThat(Sizes.parse("1G")).isEqualTo(GIB);
        assertThat(Sizes.parse("1.5GiB")).isEqualTo(3 * GIB / 2);
        assertThat(Sizes.parse("2 MB")).isEqualTo(2 * MIB);
        assertThat(Sizes.parse("1T")).isEqualTo(GIB * KIB);
        assertThat(Sizes.parse("100B")).isEqualTo(100);
        for (String bad : List.of("", "M", "-1", "2X", "1.5.2G", "10P", "9999999999T")) {
            assertThatThrownBy(() -> Sizes.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(parseBackup("-l", "full", "--speed-limit", "200M").speedLimit).isEqualTo(200 * MIB);
    }

    @Test
    void aBadSizeIsAUsageErrorNamingTheForms() {
        List<InProcessCli> runs = List.of(
                InProcessCli.qmpbackup("backup", "-l", "full", "-t", "/tmp/t", "--speed-limit", "fast"),
                InProcessCli.qmpbackup("stream", "--device", "vda", "--speed-limit", "2X"),
                InProcessCli.qmprestore("commit", "--dir", "/tmp", "--rate-limit", "1Q"));
        for (InProcessCli r : runs) {
            assertThat(r.exitCode()).as(r.toString()).isEqualTo(2);
            assertThat(r.stderr().strip().lines()).singleElement().asString().contains("is not a size")
                    .contains(Sizes.FORMS);
        }
        InProcessCli ttl = InProcessCli.qmprestore("export", "--dir", "/tmp", "--port", "10809", "--ttl", "1 hour");
        assertThat(ttl.exitCode()).as(ttl.toString()).isEqualTo(2);
        assertThat(ttl.stderr()).contains("'1 hour' is not a duration: write it like 90s, 30m, 1h30m or 2d");
        CommandLine restore = new CommandLine(new QmpRestoreCommand());
        CommandLine.ParseResult pr = restore.parseArgs("snapshotrebase", "--dir", "/tmp", "--rate-limit", "1G");
        assertThat(((QmpRestoreCommand.SnapshotRebase) pr.subcommand().commandSpec().userObject()).rateLimit)
                .isEqualTo(GIB);
    }

    @Test
    void sizesPrintInBinaryUnits() {
        assertThat(Sizes.format(0)).isEqualTo("0 B");
        assertThat(Sizes.format(1023)).isEqualTo("1023 B");
        assertThat(Sizes.format(1536)).isEqualTo("1.5 KiB");
        assertThat(Sizes.format(200 * MIB)).isEqualTo("200.0 MiB");
        assertThat(Sizes.format(3 * GIB)).isEqualTo("3.0 GiB");
        assertThat(Sizes.format(5 * GIB * KIB)).isEqualTo("5.0 TiB");
    }

    private static QmpBackupCommand.Backup parseBackup(String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("backup", "-t", "/tmp/t"));
        args.addAll(List.of(extra));
        CommandLine.ParseResult pr = new CommandLine(new QmpBackupCommand()).parseArgs(args.toArray(String[]::new));
        return (QmpBackupCommand.Backup) pr.subcommand().commandSpec().userObject();
    }
}
