package io.qmpbackup.engine.cli;

import io.qmpbackup.engine.backup.BackupException;
import io.qmpbackup.engine.qmp.QmpException;
import io.qmpbackup.engine.restore.RestoreException;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine;

/**
 * What both command lines share: the log set up from --debug/--logfile, usage errors on one
 * line (exit 2), failures on one line (exit 1), the stack trace only with --debug.
 */
final class CliMain {
    /** The top command of a tool: the options every tool has, and the log they set up. */
    abstract static class Tool {
        @picocli.CommandLine.Option(names = {"-L", "--logfile"}, scope = picocli.CommandLine.ScopeType.INHERIT,
                description = "also append the log to this file")
        Path logfile;

        @picocli.CommandLine.Option(names = "--debug", scope = picocli.CommandLine.ScopeType.INHERIT,
                description = "more verbose output")
        boolean debug;

        @picocli.CommandLine.Option(names = "--syslog", scope = picocli.CommandLine.ScopeType.INHERIT,
                description = "also log to syslog (/dev/log)")
        boolean syslog;

        ConsoleLog log;
    }

    private CliMain() {
    }

    /** Ends the process; a signal's shutdown hook finishes first (the JVM then exits 130/143). */
    static void exit(int code) {
        SignalGuard.finished();
        System.exit(code);
    }

    static int run(String name, Tool top, String... args) {
        CommandLine cl = new CommandLine(top);
        cl.setExecutionStrategy(parseResult -> {
            top.log = new ConsoleLog(top.debug, top.logfile, top.syslog ? new Syslog(name) : null);
            top.log.debug(name + " " + String.join(" ", args));
            return new CommandLine.RunLast().execute(parseResult);
        });
        cl.setParameterExceptionHandler((ex, argv) -> {
            System.err.println(name + ": error: " + ex.getMessage().replace('\n', ' ') + " (see " + name + " --help)");
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            boolean expected = ex instanceof BackupException || ex instanceof RestoreException
                    || ex instanceof QmpException || ex instanceof IOException || ex instanceof IllegalArgumentException;
            String msg = expected ? ex.getMessage() : ex.toString();
            if (top.log != null) {
                top.log.error(msg);
            }
            System.err.println(name + ": error: " + msg.replace('\n', ' '));
            if (top.debug) {
                ex.printStackTrace();
            }
            return 1;
        });
        return cl.execute(args);
    }
}
