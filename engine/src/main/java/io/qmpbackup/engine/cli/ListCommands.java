package io.qmpbackup.engine.cli;

import io.qmpbackup.engine.service.RestorePoints;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * What both tools print without touching a VM or a backup: {@code qmpbackup list} and
 * {@code qmprestore list} (the restore points), and {@code completion} (the bash completion script).
 */
final class ListCommands {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss")
            .withZone(ZoneId.systemDefault());
    private static final List<String> HEADER = List.of("TIME", "LEVEL", "SIZE", "CHAIN", "DISK", "FILE");

    private ListCommands() {
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "list the restore points of a backup"
            + " target (every disk, every chain, the YYYY-MM folders of --monthly): time, level, size, chain, file")
    static final class TargetPoints implements Callable<Integer> {
        @ParentCommand
        QmpBackupCommand top;

        @Option(names = {"-t", "--target"}, required = true, description = "backup target folder")
        Path target;

        @Override
        public Integer call() throws Exception {
            folder(target, "--target the backups were written to");
            RestorePoints.Listing l = RestorePoints.ofTarget(target);
            l.warnings().forEach(top.log::warn);
            print(target, l.points());
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "list the restore points of a disk's"
            + " backup folder, oldest first; --until takes the FILE")
    static final class FolderPoints implements Callable<Integer> {
        @Option(names = "--dir", required = true, description = "the disk's backup folder")
        Path dir;

        @Option(names = "--filter", description = "one disk of a --no-subdir folder (its image name)")
        String filter;

        @Override
        public Integer call() throws Exception {
            folder(dir, "--dir of one disk's backups");
            print(dir, RestorePoints.ofFolder(dir, filter == null || filter.isEmpty() ? null : filter));
            return 0;
        }
    }

    @Command(name = "completion", mixinStandardHelpOptions = true, description = "print a bash completion script:"
            + " source <(qmpbackup completion), or save it in /etc/bash_completion.d/")
    static final class Completion implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            CommandLine root = spec.root().commandLine();
            System.out.print(AutoComplete.bash(root.getCommandName(), root));
            System.out.flush();
            return 0;
        }
    }

    private static void folder(Path dir, String give) throws java.io.IOException {
        if (!Files.isDirectory(dir)) {
            throw new java.io.IOException(dir + (Files.exists(dir) ? " is a file, not a folder" : " does not exist")
                    + ": give the " + give);
        }
    }

    private static String relative(Path base, Path file) {
        return base.toAbsolutePath().normalize().relativize(file.toAbsolutePath().normalize()).toString();
    }

    /** A table with columns as wide as their widest cell; files relative to the folder listed. */
    static void print(Path base, List<RestorePoints.Point> points) {
        if (points.isEmpty()) {
            System.out.println("no restore points in " + base);
            return;
        }
        List<List<String>> rows = new ArrayList<>();
        rows.add(HEADER);
        for (RestorePoints.Point p : points) {
            rows.add(List.of(p.time().equals(Instant.EPOCH) ? "-" : TIME.format(p.time()), p.level(),
                    Sizes.format(p.size()), p.chain() == null ? "-" : p.chain(), String.valueOf(p.disk()),
                    relative(base, p.file())));
        }
        int[] width = new int[HEADER.size()];
        for (List<String> r : rows) {
            for (int i = 0; i < width.length; i++) {
                width[i] = Math.max(width[i], r.get(i).length());
            }
        }
        for (List<String> r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < width.length; i++) {
                line.append(i == width.length - 1 ? r.get(i) : String.format("%-" + (width[i] + 2) + "s", r.get(i)));
            }
            System.out.println(line);
        }
    }
}
