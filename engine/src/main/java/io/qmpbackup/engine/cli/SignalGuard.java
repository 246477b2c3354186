package io.qmpbackup.engine.cli;

import io.qmpbackup.engine.backup.Cancellation;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * SIGTERM and SIGINT cancel a running backup instead of killing it halfway: the JVM runs this
 * hook, which asks the backup to roll back and waits until the command has finished (nodes
 * removed, bitmaps restored, partial files deleted) before the process goes away.
 */
final class SignalGuard {
    private static final CountDownLatch FINISHED = new CountDownLatch(1);
    private static volatile Cancellation active;
    private static boolean installed;

    private SignalGuard() {
    }

    static synchronized void watch(Cancellation backup) {
        active = backup;
        if (!installed) {
            installed = true;
            Runtime.getRuntime().addShutdownHook(new Thread(SignalGuard::onSignal, "qmpbackup-signal"));
        }
    }

    static void finished() {
        active = null;
        FINISHED.countDown();
    }

    private static void onSignal() {
        Cancellation b = active;
        if (b == null) {
            return;
        }
        b.cancel("the process received a termination signal");
        try {
            FINISHED.await(120, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
