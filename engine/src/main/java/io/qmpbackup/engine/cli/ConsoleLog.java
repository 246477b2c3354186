package io.qmpbackup.engine.cli;

import io.qmpbackup.engine.backup.BackupLog;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/** Timestamped log lines on stdout, and appended to --logfile when given. */
final class ConsoleLog implements BackupLog {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");
    private final boolean debug;
    private final Path logfile;
    private final PrintStream out = System.out;
    private long lastProgress = System.nanoTime();

    ConsoleLog(boolean debug, Path logfile) {
        this.debug = debug;
        this.logfile = logfile;
    }

    @Override
    public void info(String message) {
        line("INFO", message);
    }

    @Override
    public void warn(String message) {
        line("WARNING", message);
    }

    @Override
    public void debug(String message) {
        if (debug) {
            line("DEBUG", message);
        }
    }

    void error(String message) {
        // the one-line error goes to stderr from the caller; the log file keeps it too
        write("[" + LocalDateTime.now().format(TIME) + "] ERROR " + message, false);
    }

    @Override
    public synchronized void progress(long done, long total) {
        long now = System.nanoTime();
        if (total > 0 && now - lastProgress > 10_000_000_000L) {
            lastProgress = now;
            line("INFO", "progress: " + (done * 100 / total) + "% (" + done + " of " + total + " bytes)");
        }
    }

    private void line(String level, String message) {
        write("[" + LocalDateTime.now().format(TIME) + "] " + level + " " + message, true);
    }

    private synchronized void write(String text, boolean toStdout) {
        if (toStdout) {
            out.println(text);
        }
        if (logfile != null) {
            try {
                Path parent = logfile.toAbsolutePath().getParent();
                if (parent != null) {
                    Files.createDirectories(parent);
                }
                Files.writeString(logfile, text + System.lineSeparator(), StandardCharsets.UTF_8,
                        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            } catch (IOException e) {
                System.err.println("qmpbackup: cannot write log file " + logfile + ": " + e.getMessage());
            }
        }
    }
}
