package io.qmpbackup.engine.backup;

/** The run was cancelled (signal, deletion of its CR); everything was rolled back. */
public class BackupCancelledException extends BackupException {
    public BackupCancelledException(String message) {
        super(message);
    }
}
