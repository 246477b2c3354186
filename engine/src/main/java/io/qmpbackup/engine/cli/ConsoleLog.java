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
import java.util.function.LongSupplier;

/**
 * Timestamped log lines on stdout, appended to --logfile when given, and sent to syslog with --syslog.
 * Progress is a bar redrawn in place when stdout is a terminal, and a log line every
 * --progress-interval seconds otherwise (and in the log file and syslog always), so a pipe or a
 * log collector never sees the bar's carriage returns.
 */
final class ConsoleLog implements BackupLog {
    /** qmpbackup's stamp (Python logging's default): milliseconds, so a --debug log times each step. */
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss,SSS");
    /** qmpbackup's default for --progress-interval. */
    static final int DEFAULT_PROGRESS_SECONDS = 20;
    private final boolean debug;
    private final Path logfile;
    private final Syslog syslog;
    /** The bar is redrawn at most this often: smooth to the eye, cheap on a slow terminal. */
    private static final long DRAW_NANOS = 250_000_000L;
    private final PrintStream out;
    private final boolean terminal;
    private final LongSupplier clock;
    private long lastProgress;
    private long progressNanos = DEFAULT_PROGRESS_SECONDS * 1_000_000_000L;
    private long barStart;
    private long lastDraw;
    private long lastDone;
    private boolean barRunning;
    private boolean barShown;

    ConsoleLog(boolean debug, Path logfile, Syslog syslog) {
        // Java 17: a console exists only when stdin and stdout are both a terminal
        this(debug, logfile, syslog, System.out, System.console() != null, System::nanoTime);
    }

    /** @param clock nanoseconds, as System.nanoTime: a test's own makes the timing exact */
    ConsoleLog(boolean debug, Path logfile, Syslog syslog, PrintStream out, boolean terminal, LongSupplier clock) {
        this.debug = debug;
        this.logfile = logfile;
        this.syslog = syslog;
        this.out = out;
        this.terminal = terminal;
        this.clock = clock;
        this.lastProgress = clock.getAsLong();
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
        long now = clock.getAsLong();
        if (total <= 0) {
            return;
        }
        if (terminal && progressNanos != Long.MAX_VALUE) {
            bar(done, total, now);
        }
        if (now - lastProgress >= progressNanos) {
            lastProgress = now;
            line("INFO", "progress: " + (done * 100 / total) + "% (" + done + " of " + total + " bytes)", !terminal);
        }
    }

    private void bar(long done, long total, long now) {
        if (!barRunning && done >= total && done == lastDone) {
            // the jobs are read again after the last one finished: the finished bar stays as it is
            return;
        }
        if (!barRunning || done < lastDone) {
            // a new job (the next disk of a restore): its rate starts afresh, its first numbers show at once
            barRunning = true;
            barStart = now;
            lastDraw = now - DRAW_NANOS;
        }
        lastDone = done;
        if (now - lastDraw < DRAW_NANOS && done < total) {
            return;
        }
        lastDraw = now;
        // \r back to the line's start, ESC[K clears what a longer earlier line left
        out.print("\r" + ProgressBar.render(done, total, now - barStart) + "\u001b[K");
        out.flush();
        barShown = true;
        if (done >= total) {
            endBar();
            barRunning = false;
        }
    }

    /** Keeps the bar as last drawn on its own line, so a log line never lands in the middle of it. */
    private void endBar() {
        if (barShown) {
            out.println();
            barShown = false;
        }
    }

    private void line(String level, String message) {
        line(level, message, true);
    }

    private void line(String level, String message, boolean toStdout) {
        write("[" + LocalDateTime.now().format(TIME) + "] " + level + " " + message, toStdout);
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
            endBar();
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
