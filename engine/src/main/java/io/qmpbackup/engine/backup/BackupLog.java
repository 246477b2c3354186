package io.qmpbackup.engine.backup;

/** Where the engine reports what it does. The CLI prints it; the agent's controller turns it into status. */
public interface BackupLog {
    void info(String message);

    void warn(String message);

    default void debug(String message) {
    }

    /** Bytes copied so far out of the total the jobs will copy. */
    default void progress(long done, long total) {
    }

    BackupLog SILENT = new BackupLog() {
        @Override
        public void info(String message) {
        }

        @Override
        public void warn(String message) {
        }
    };
}
