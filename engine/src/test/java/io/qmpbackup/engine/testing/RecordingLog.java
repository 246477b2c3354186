package io.qmpbackup.engine.testing;

import io.qmpbackup.engine.backup.BackupLog;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Keeps every line the engine logs, and echoes it to stdout for the test report. */
public final class RecordingLog implements BackupLog {
    public final List<String> infos = new CopyOnWriteArrayList<>();
    public final List<String> warnings = new CopyOnWriteArrayList<>();
    public final List<String> debugs = new CopyOnWriteArrayList<>();
    /** Bytes done in the newest progress report. */
    public final java.util.concurrent.atomic.AtomicLong progress = new java.util.concurrent.atomic.AtomicLong();

    @Override
    public void progress(long done, long total) {
        progress.set(done);
    }

    @Override
    public void info(String message) {
        infos.add(message);
        System.out.println("INFO " + message);
    }

    @Override
    public void debug(String message) {
        debugs.add(message);
    }

    @Override
    public void warn(String message) {
        warnings.add(message);
        System.out.println("WARN " + message);
    }
}
