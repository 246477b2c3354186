package io.qmpbackup.engine.backup;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run asking whether another run of the same process lives must not drop that run's lock:
 * JDK locks are POSIX record locks, owned by the process, so closing any channel on the file
 * would free it for other processes, whose next run would then remove the live run's nodes.
 * Another process is played by python3's fcntl.lockf (the same kind of lock).
 */
class RunLockTest {
    @TempDir
    Path tmp;

    private boolean lockableByAnotherProcess(Path file) throws Exception {
        Process p = new ProcessBuilder("python3", "-c", "import fcntl,sys\n"
                + "f=open(sys.argv[1],'a')\n"
                + "try:\n fcntl.lockf(f, fcntl.LOCK_EX|fcntl.LOCK_NB)\nexcept OSError:\n sys.exit(3)\n",
                file.toString()).redirectErrorStream(true).start();
        int exit = p.waitFor();
        assertThat(exit).as(new String(p.getInputStream().readAllBytes())).isIn(0, 3);
        return exit == 0;
    }

    @Test
    void askingAboutALiveRunOfThisProcessKeepsItsLock() throws Exception {
        try (RunLock live = RunLock.acquire(tmp)) {
            Path file = tmp.resolve("qmpbackup-" + live.token() + ".lock");
            assertThat(lockableByAnotherProcess(file)).isFalse();
            assertThat(RunLock.isAlive(tmp, live.token())).isTrue();
            assertThat(lockableByAnotherProcess(file)).as("still held after the question").isFalse();
        }
        assertThat(RunLock.isAlive(tmp, "0badcafe")).isFalse();
    }
}
