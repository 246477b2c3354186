package io.qmpbackup.engine.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Function;

/** Runs a tool's command line in this JVM with its stdout and stderr captured. */
record InProcessCli(int exitCode, String stdout, String stderr) {
    static InProcessCli qmpbackup(String... args) {
        return run(QmpBackupCommand::run, args);
    }

    static InProcessCli qmprestore(String... args) {
        return run(QmpRestoreCommand::run, args);
    }

    static synchronized InProcessCli run(Function<String[], Integer> tool, String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int code = tool.apply(args);
            return new InProcessCli(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @Override
    public String toString() {
        return "exit " + exitCode + "\nstdout:\n" + stdout + "\nstderr:\n" + stderr;
    }
}
