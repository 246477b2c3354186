package io.qmpbackup.engine.sink;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Against the real kernel and renice(1): a thread lowers only itself, the threads it then creates
 * start at its priority (what the sink relies on for its workers), a priority is never raised,
 * and the CLI's whole process is lowered.
 */
class LowPriorityIT {
    /** Runs {@code body} in a new thread and returns what it returned (or throws what it threw). */
    private static <T> T inThread(Callable<T> body) throws Exception {
        AtomicReference<T> result = new AtomicReference<>();
        AtomicReference<Exception> failure = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                result.set(body.call());
            } catch (Exception e) {
                failure.set(e);
            }
        });
        t.start();
        t.join();
        if (failure.get() != null) {
            throw failure.get();
        }
        return result.get();
    }

    @Test
    void aThreadLowersItselfAndTheThreadsItCreatesInheritItButNotItsCreator() throws Exception {
        int before = LowPriority.currentNice();
        // a build that already runs at nice 10 or lower stays there: never raised
        int expected = Math.max(before, LowPriority.NICE);
        List<Object> seen = inThread(() -> {
            boolean lowered = LowPriority.lowerCurrentThread();
            int self = LowPriority.currentNice();
            int child = inThread(LowPriority::currentNice);
            return List.of(lowered, self, child);
        });
        assertThat(seen).containsExactly(true, expected, expected);
        assertThat(LowPriority.currentNice()).isEqualTo(before);
    }

    @Test
    void aThreadAlreadyLowerIsNotRaised() throws Exception {
        List<Object> seen = inThread(() -> {
            String tid = Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString();
            assertThat(new ProcessBuilder("renice", "-n", "15", "-p", tid).start().waitFor()).isZero();
            return List.of(LowPriority.lowerCurrentThread(), LowPriority.currentNice());
        });
        assertThat(seen).containsExactly(true, 15);
    }

    /** Run in a JVM of its own by the test below: lowers its whole process, prints each thread's nice value. */
    public static void main(String[] args) throws Exception {
        StringBuilder out = new StringBuilder(LowPriority.lowerProcess() + "\n");
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                String stat = Files.readString(t.resolve("stat"));
                out.append(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[19 - 3]).append('\n');
            }
        }
        out.append("later ").append(inThread(LowPriority::currentNice));
        System.out.println(out);
    }

    @Test
    void theCliLowersEveryThreadOfItsProcess() throws Exception {
        String expected = Integer.toString(Math.max(LowPriority.currentNice(), LowPriority.NICE));
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), LowPriorityIT.class.getName())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(p.waitFor()).as(out).isZero();
        List<String> lines = out.lines().toList();
        assertThat(lines.get(0)).as(out).isEqualTo("true");
        assertThat(lines.subList(1, lines.size() - 1)).as("every thread's nice value").hasSizeGreaterThan(3)
                .allMatch(n -> n.equals(expected));
        assertThat(lines.get(lines.size() - 1)).isEqualTo("later " + expected);
    }
}
