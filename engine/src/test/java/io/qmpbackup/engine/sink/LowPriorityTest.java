package io.qmpbackup.engine.sink;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Against the real kernel and renice(1): a thread lowers only itself, and the threads it then
 * creates start at its priority (what the sink relies on for its workers).
 */
class LowPriorityTest {
    @Test
    void aThreadLowersItselfAndTheThreadsItCreatesInheritItButNotItsCreator() throws Exception {
        int before = LowPriority.currentNice();
        assertThat(before).isLessThan(LowPriority.NICE); // else the test shows nothing
        AtomicReference<Boolean> lowered = new AtomicReference<>();
        AtomicInteger self = new AtomicInteger(Integer.MIN_VALUE);
        AtomicInteger child = new AtomicInteger(Integer.MIN_VALUE);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                lowered.set(LowPriority.lowerCurrentThread());
                self.set(LowPriority.currentNice());
                Thread c = new Thread(() -> {
                    try {
                        child.set(LowPriority.currentNice());
                    } catch (Exception e) {
                        failure.set(e);
                    }
                });
                c.start();
                c.join();
            } catch (Exception e) {
                failure.set(e);
            }
        });
        t.start();
        t.join();
        assertThat(failure.get()).isNull();
        assertThat(lowered.get()).as("renice of the thread succeeded").isTrue();
        assertThat(self.get()).isEqualTo(LowPriority.NICE);
        assertThat(child.get()).isEqualTo(LowPriority.NICE);
        assertThat(LowPriority.currentNice()).isEqualTo(before);
    }

    @Test
    void aThreadAlreadyLowerIsNotRaised() throws Exception {
        AtomicInteger after = new AtomicInteger(Integer.MIN_VALUE);
        AtomicReference<Boolean> lowered = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                new ProcessBuilder("renice", "-n", "15", "-p", java.nio.file.Files.readSymbolicLink(
                        java.nio.file.Path.of("/proc/thread-self")).getFileName().toString()).start().waitFor();
                lowered.set(LowPriority.lowerCurrentThread());
                after.set(LowPriority.currentNice());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        t.start();
        t.join();
        assertThat(lowered.get()).isTrue();
        assertThat(after.get()).isEqualTo(15);
    }

    /** Run in a JVM of its own by the test below: lowers its whole process, prints each thread's nice value. */
    public static void main(String[] args) throws Exception {
        boolean lowered = LowPriority.lowerProcess();
        StringBuilder out = new StringBuilder(lowered + "\n");
        try (var tasks = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/task"))) {
            for (java.nio.file.Path t : tasks.toList()) {
                String stat = java.nio.file.Files.readString(t.resolve("stat"));
                out.append(stat.substring(stat.lastIndexOf(')') + 2).split(" ")[16]).append('\n');
            }
        }
        Thread later = new Thread(() -> { });
        later.start();
        later.join();
        out.append("later ").append(LowPriority.currentNice());
        System.out.println(out);
    }

    @Test
    void theCliLowersEveryThreadOfItsProcess() throws Exception {
        Process p = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), LowPriorityTest.class.getName())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
        assertThat(p.waitFor()).as(out).isZero();
        java.util.List<String> lines = out.lines().toList();
        assertThat(lines.get(0)).as(out).isEqualTo("true");
        assertThat(lines.subList(1, lines.size() - 1)).as("every thread's nice value").hasSizeGreaterThan(3)
                .allMatch(n -> n.equals(Integer.toString(LowPriority.NICE)));
        assertThat(lines.get(lines.size() - 1)).isEqualTo("later " + LowPriority.NICE);
    }
}
