package io.qmpbackup.engine.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the real {@code bin/qmpbackup} script (the packaged jar) as a separate process. */
public final class CliProcess {
    private final Process process;
    private final Path stdout;
    private final Path stderr;

    private CliProcess(Process process, Path stdout, Path stderr) {
        this.process = process;
        this.stdout = stdout;
        this.stderr = stderr;
    }

    public static Path script() {
        return script("qmpbackup");
    }

    public static Path script(String tool) {
        Path here = Path.of("").toAbsolutePath();
        for (Path p = here; p != null; p = p.getParent()) {
            Path s = p.resolve("bin/" + tool);
            if (Files.isExecutable(s)) {
                return s;
            }
        }
        throw new IllegalStateException("bin/" + tool + " not found above " + here);
    }

    public static CliProcess start(Path workDir, String... args) throws IOException {
        return startTool(workDir, "qmpbackup", args);
    }

    /** Runs {@code bin/<tool>} (qmpbackup or qmprestore) to completion. */
    public static CliProcess runTool(Path workDir, String tool, String... args) throws IOException,
            InterruptedException {
        CliProcess c = startTool(workDir, tool, args);
        c.waitFor();
        return c;
    }

    public static CliProcess startTool(Path workDir, String tool, String... args) throws IOException {
        return startTool(workDir, tool, java.util.Map.of(), args);
    }

    /** As {@link #startTool(Path, String, String...)}, with these environment variables added. */
    public static CliProcess startTool(Path workDir, String tool, java.util.Map<String, String> env, String... args)
            throws IOException {
        return startTool(workDir, null, tool, env, args);
    }

    /** Runs {@code bin/<tool>} to completion with {@code cwd} as its working folder (relative arguments). */
    public static CliProcess runIn(Path cwd, String tool, String... args) throws IOException, InterruptedException {
        CliProcess c = startTool(cwd, cwd, tool, java.util.Map.of(), args);
        c.waitFor();
        return c;
    }

    private static CliProcess startTool(Path workDir, Path cwd, String tool, java.util.Map<String, String> env,
            String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(script(tool).toString());
        cmd.addAll(List.of(args));
        Files.createDirectories(workDir);
        Path out = Files.createTempFile(workDir, "cli", ".out");
        Path err = Files.createTempFile(workDir, "cli", ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().putAll(env);
        if (cwd != null) {
            pb.directory(cwd.toFile());
        }
        Process p = pb.start();
        return new CliProcess(p, out, err);
    }

    /** Runs to completion (max 5 minutes). */
    public static CliProcess run(Path workDir, String... args) throws IOException, InterruptedException {
        CliProcess c = start(workDir, args);
        c.waitFor();
        return c;
    }

    public int waitFor() throws InterruptedException {
        if (!process.waitFor(5, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            throw new AssertionError("qmpbackup did not finish in 5 minutes");
        }
        return process.exitValue();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    public int exitCode() {
        return process.exitValue();
    }

    public long pid() {
        return process.pid();
    }

    public void signal(String signal) throws IOException, InterruptedException {
        // the script execs java, so the process we started is the JVM itself
        new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).inheritIO().start().waitFor();
    }

    public String stdout() throws IOException {
        return Files.readString(stdout, StandardCharsets.UTF_8);
    }

    public String stderr() throws IOException {
        return Files.readString(stderr, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        try {
            return "exit " + (process.isAlive() ? "(running)" : process.exitValue()) + "\nstdout:\n" + stdout()
                    + "\nstderr:\n" + stderr();
        } catch (IOException e) {
            return e.toString();
        }
    }
}
