package io.qmpbackup.kubectl;

import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.RunStatus;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * --wait: polls a run's status until it ends, showing its progress: a bar redrawn in place on a
 * terminal, else a plain line whenever the phase or the percentage changes (so a log or a CI job
 * gets a line per step, not one per poll). Polling rather than a watch: one GET per second is
 * nothing to the API server, and it survives connection drops without a resync.
 */
final class RunWatch {
    private final PrintWriter out;
    private final boolean tty;
    private final int width;
    private final Duration poll;

    RunWatch(PrintWriter out, boolean tty, int width, Duration poll) {
        this.out = out;
        this.tty = tty;
        this.width = width;
        this.poll = poll;
    }

    /** A watch for this process's stdout: a bar when it is a terminal, as wide as $COLUMNS says. */
    static RunWatch forTerminal(PrintWriter out) {
        int width = 80;
        try {
            width = Integer.parseInt(Objects.requireNonNullElse(System.getenv("COLUMNS"), "80").trim());
        } catch (NumberFormatException e) {
            // keep 80
        }
        return new RunWatch(out, terminal(), width, Duration.ofSeconds(1));
    }

    /**
     * Reads a run's status as {@link #await} wants it: an empty status while the run has none yet
     * (Pending), null once the run is gone.
     */
    static <R extends io.fabric8.kubernetes.client.CustomResource<?, ? extends RunStatus>> Supplier<RunStatus>
            statusOf(io.fabric8.kubernetes.client.KubernetesClient client, Class<R> type, String ns, String name,
                    Supplier<? extends RunStatus> none) {
        return () -> {
            R now = client.resources(type).inNamespace(ns).withName(name).get();
            return now == null ? null : now.getStatus() == null ? none.get() : now.getStatus();
        };
    }

    /** What kubectl prints for a created object: {@code vmbackup.qmpbackup.io/NAME created}. */
    static void created(PrintWriter out, String resource, String name) {
        out.println(resource + ".qmpbackup.io/" + name + " created");
        out.flush();
    }

    /**
     * Whether stdin and stdout are a terminal. Up to Java 21 that is System.console() != null; from
     * Java 22 on System.console() is there even on a pipe, and Console.isTerminal() tells.
     */
    static boolean terminal() {
        java.io.Console console = System.console();
        if (console == null) {
            return false;
        }
        try {
            return (Boolean) java.io.Console.class.getMethod("isTerminal").invoke(console);
        } catch (ReflectiveOperationException e) {
            return true; // before Java 22: a console is a terminal
        }
    }

    /**
     * Polls {@code fetch} until {@code done} holds (or the run is gone: {@code fetch} returns null;
     * a run without status yet is an empty status), and returns the last status read.
     */
    RunStatus await(String name, Supplier<RunStatus> fetch, Predicate<RunStatus> done) throws InterruptedException {
        ProgressLine meter = new ProgressLine();
        String shown = null;
        while (true) {
            RunStatus s = fetch.get();
            meter.sample(System.nanoTime(), s);
            boolean end = s == null || done.test(s);
            if (tty) {
                out.print("\r" + pad(name + "  " + ProgressLine.bar(s, meter.rate(), width - name.length() - 2)));
                if (end) {
                    out.println();
                }
            } else {
                String key = s == null ? "gone" : s.phase + "/" + (s.progress == null ? "" : s.progress.percent);
                if (!key.equals(shown)) {
                    out.println(name + "  " + ProgressLine.plain(s, meter.rate()));
                    shown = key;
                }
            }
            out.flush();
            if (end) {
                return s;
            }
            Thread.sleep(poll.toMillis());
        }
    }

    private String pad(String line) {
        return line.length() >= width ? line.substring(0, width) : line + " ".repeat(width - line.length());
    }

    /** Whether a status is an end: a terminal phase. */
    static boolean terminal(RunStatus s) {
        return s.phase != null && s.phase.terminal();
    }

    /** The exit code of an ended run (0 Succeeded, 1 otherwise), after a line saying how it ended. */
    static int outcome(PrintWriter out, String kind, String name, RunStatus s) {
        if (s == null) {
            out.println(kind + " " + name + " was deleted while waiting for it");
            return KubectlQmpBackup.FAILED;
        }
        String how = s.phase.value() + (s.reason == null ? "" : " (" + s.reason + ")")
                + (s.message == null ? "" : ": " + s.message);
        out.println(kind + " " + name + " " + how);
        return s.phase == Phase.SUCCEEDED ? 0 : KubectlQmpBackup.FAILED;
    }
}
