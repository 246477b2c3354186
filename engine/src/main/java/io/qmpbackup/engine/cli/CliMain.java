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

        /** Checks across a command and the tool's own options, once parsed (a usage error: exit 2). */
        void check(CommandLine.ParseResult parsed) {
        }
    }

    private static volatile boolean ownsProcess;

    private CliMain() {
    }

    /** Called by a tool's main(): the JVM is this command line's alone (not a test's, not an embedder's). */
    static void ownProcess() {
        ownsProcess = true;
    }

    static boolean ownsProcess() {
        return ownsProcess;
    }

    /** Ends the process; a signal's shutdown hook finishes first (the JVM then exits 130/143). */
    static void exit(int code) {
        SignalGuard.finished();
        System.exit(code);
    }

    /** A tool run with no command: a usage error that lists its commands. */
    static CommandLine.ParameterException missingCommand(CommandLine.Model.CommandSpec spec) {
        return new CommandLine.ParameterException(spec.commandLine(), "missing command: "
                + String.join(", ", spec.subcommands().keySet()));
    }

    /**
     * Where a usage error's help is: the help of the command that was wrong ({@code qmpbackup backup
     * --help}), which lists its options. A command's own checks may report through a CommandLine of
     * their own, which does not know the tool above it: the tool's name is put in front then.
     */
    static String helpFor(String tool, CommandLine wrong) {
        String command = wrong == null ? tool : wrong.getCommandSpec().qualifiedName();
        return (command.equals(tool) || command.startsWith(tool + " ") ? command : tool + " " + command) + " --help";
    }

    /**
     * A value parsed while the command line is read, so a bad one is a usage error (exit 2) whose
     * message is the parser's own (which names the accepted forms).
     */
    static <T> T asUsageError(java.util.function.Supplier<T> parse) {
        try {
            return parse.get();
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }

    static int run(String name, Tool top, String... args) {
        // the S3 SDK logs through SLF4J, which has no provider here and says so on stderr: our log
        // reports what the remote did, the SDK's own lines are not wanted
        if (System.getProperty("slf4j.provider") == null) {
            System.setProperty("slf4j.provider", "org.slf4j.helpers.NOP_FallbackServiceProvider");
            System.setProperty("slf4j.internal.verbosity", "WARN");
        }
        CommandLine cl = new CommandLine(top);
        for (CommandLine sub : cl.getSubcommands().values()) {
            // -V on a command prints the tool's version, not an empty line
            if (sub.getCommandSpec().version().length == 0) {
                sub.getCommandSpec().version(cl.getCommandSpec().version());
            }
        }
        cl.setExecutionStrategy(parseResult -> {
            top.log = new ConsoleLog(top.debug, top.logfile, top.syslog ? new Syslog(name) : null);
            top.log.debug(name + " " + String.join(" ", args));
            top.check(parseResult);
            return new CommandLine.RunLast().execute(parseResult);
        });
        cl.setParameterExceptionHandler((ex, argv) -> {
            System.err.println(name + ": error: " + ex.getMessage().replace('\n', ' ') + " (see "
                    + helpFor(name, ex.getCommandLine()) + ")");
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
