package io.qmpbackup.engine.sink;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Lowers the calling thread's CPU priority to nice {@link #NICE}, so that when the host's CPUs
 * are short, the guest's vCPUs and QEMU's own threads (among them the copy-before-write of the
 * guest's writes) go first and the backup's hashing and writing wait. On Linux a thread inherits
 * the nice value of the thread that creates it, so the sink lowers its acceptor thread, which
 * creates the workers. Measured (bench/backup.sh's guest batch, 2 cores, CLI and QEMU in one
 * cgroup): the guest's writes during a full ran at 0.40-0.57 of their idle throughput, against
 * 0.31-0.44 at nice 0; a full with an idle guest took as long either way. Nice values only order
 * threads of one CPU cgroup: between the node agent's pod and the VM's, the pods' CPU weights
 * (requests) decide, so there the agent's low request does what nice does here.
 *
 * <p>No native code: Linux names a thread's own id in {@code /proc/thread-self}, and renice(1)
 * (util-linux) sets the nice value of the one thread that id names. A priority is never raised
 * (a thread already at {@code NICE} or lower is left as it is), and a failure (no renice, no
 * /proc) only leaves the priority as it was. The CLI, whose process does nothing but the one
 * backup, lowers all of its threads ({@link #lowerProcess}): the JIT compilers are busiest in the
 * backup's first seconds, when the guest's writes also meet copy-before-write the most (the
 * guest batch above gave 0.31-0.42 with only the sink's threads lowered).
 */
public final class LowPriority {
    public static final int NICE = 10;

    private LowPriority() {
    }

    /** True when the calling thread now runs at nice {@link #NICE} or lower. */
    static boolean lowerCurrentThread() {
        try {
            // "<pid>/task/<tid>"
            return lower(List.of(Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString()));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Lowers every thread of this process to nice {@link #NICE}; threads made later inherit it
     * from their creator. True when all of them now run at that priority or lower.
     */
    public static boolean lowerProcess() {
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            return lower(tasks.map(t -> t.getFileName().toString()).toList());
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Renices those of the threads above {@link #NICE}; true when none is above it afterwards. */
    private static boolean lower(List<String> threads) {
        List<String> tids = threads.stream().filter(t -> niceOf(t) < NICE).toList();
        if (tids.isEmpty()) {
            return true;
        }
        List<String> cmd = new ArrayList<>(List.of("renice", "-n", Integer.toString(NICE), "-p"));
        cmd.addAll(tids);
        // renice's exit code is not the answer: a thread that ended meanwhile fails it, and counts as lowered
        run(cmd);
        return tids.stream().allMatch(t -> niceOf(t) >= NICE);
    }

    private static void run(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        } catch (IOException e) {
            // no renice: the threads stay as they are, which the caller checks
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A thread's nice value from its stat line; a thread that is gone counts as lowered. */
    private static int niceOf(String tid) {
        try {
            return niceIn(Files.readString(Path.of("/proc/self/task", tid, "stat")));
        } catch (IOException e) {
            return NICE;
        }
    }

    private static int niceIn(String stat) {
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Integer.parseInt(fields[19 - 3]);
    }

    /** The calling thread's nice value: field 19 of its stat line (fields counted after the command's ')'). */
    static int currentNice() throws IOException {
        return niceIn(Files.readString(Path.of("/proc/thread-self/stat")));
    }
}
