package io.qmpbackup.engine.repository;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The target lock between processes (a CLI prune on the host against the agent's backup) and
 * between runs of one process. Another process is played by python3's fcntl.lockf, the same
 * kind of lock (POSIX record lock) the JDK takes.
 */
class TargetLockTest {
    @TempDir
    Path tmp;

    /** True when another process can take the lock right now. */
    private boolean freeForAnotherProcess() throws Exception {
        Process p = new ProcessBuilder("python3", "-c", "import fcntl,sys\n"
                + "f=open(sys.argv[1],'a')\n"
                + "try:\n fcntl.lockf(f, fcntl.LOCK_EX|fcntl.LOCK_NB)\nexcept OSError:\n sys.exit(3)\n",
                tmp.resolve(TargetLock.FILE).toString()).redirectErrorStream(true).start();
        int exit = p.waitFor();
        assertThat(exit).as(new String(p.getInputStream().readAllBytes())).isIn(0, 3);
        return exit == 0;
    }

    @Test
    void aRunThatGivesUpWaitingDoesNotFreeTheHoldersLock() throws Exception {
        List<String> waited = new ArrayList<>();
        try (TargetLock held = TargetLock.acquire(tmp, Duration.ofSeconds(1), "the backup")) {
            assertThat(freeForAnotherProcess()).isFalse();
            assertThatThrownBy(() -> TargetLock.acquire(tmp, Duration.ofMillis(300), "the prune", waited::add))
                    .isInstanceOf(IOException.class).hasMessageContaining("is busy").hasMessageContaining("the prune");
            assertThat(waited).singleElement().asString().contains("waits for another backup or prune");
            // giving up must not have dropped the holder's lock (POSIX locks are per process)
            assertThat(freeForAnotherProcess()).as("still locked for other processes").isFalse();
        }
        assertThat(freeForAnotherProcess()).isTrue();
        try (TargetLock again = TargetLock.acquire(tmp, Duration.ofMillis(300), "the next backup")) {
            assertThat(freeForAnotherProcess()).isFalse();
        }
    }

    @Test
    void anotherProcessHoldingItMakesUsWait() throws Exception {
        Process holder = new ProcessBuilder("python3", "-c", "import fcntl,sys,time\n"
                + "f=open(sys.argv[1],'a')\nfcntl.lockf(f, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(30)\n",
                tmp.resolve(TargetLock.FILE).toString()).start();
        try {
            assertThat(new String(holder.getInputStream().readNBytes(4))).isEqualTo("held");
            assertThatThrownBy(() -> TargetLock.acquire(tmp, Duration.ofMillis(300), "the prune"))
                    .hasMessageContaining("is busy");
        } finally {
            holder.destroyForcibly().waitFor();
        }
        try (TargetLock got = TargetLock.acquire(tmp, Duration.ofSeconds(2), "the prune")) {
            assertThat(freeForAnotherProcess()).isFalse();
        }
    }
}
