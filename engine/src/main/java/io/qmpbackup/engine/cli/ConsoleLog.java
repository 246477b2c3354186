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

/** Timestamped log lines on stdout, appended to --logfile when given, and sent to syslog with --syslog. */
final class ConsoleLog implements BackupLog {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");
    /** qmpbackup's default for --progress-interval. */
    static final int DEFAULT_PROGRESS_SECONDS = 20;
    private final boolean debug;
    private final Path logfile;
    private final Syslog syslog;
    private final PrintStream out = System.out;
    private long lastProgress = System.nanoTime();
    private long progressNanos = DEFAULT_PROGRESS_SECONDS * 1_000_000_000L;

    ConsoleLog(boolean debug, Path logfile, Syslog syslog) {
        this.debug = debug;
        this.logfile = logfile;
        this.syslog = syslog;
    }

    /** --progress-interval: a progress line at most this often; 0 for none. */
    synchronized void progressEvery(int seconds) {
        progressNanos = seconds <= 0 ? Long.MAX_VALUE : seconds * 1_000_000_000L;
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
        // the one-line error goes to stderr from the caller; the log file and syslog keep it too
        write("[" + LocalDateTime.now().format(TIME) + "] ERROR " + message, false);
        if (syslog != null) {
            syslog.send(3, "ERROR " + message);
        }
    }

    @Override
    public synchronized void progress(long done, long total) {
        long now = System.nanoTime();
        if (total > 0 && now - lastProgress >= progressNanos) {
            lastProgress = now;
            line("INFO", "progress: " + (done * 100 / total) + "% (" + done + " of " + total + " bytes)");
        }
    }

    private void line(String level, String message) {
        write("[" + LocalDateTime.now().format(TIME) + "] " + level + " " + message, true);
        if (syslog != null) {
            syslog.send(switch (level) {
                case "WARNING" -> 4;
                case "DEBUG" -> 7;
                default -> 6;
            }, level + " " + message);
        }
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
