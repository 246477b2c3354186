package io.qmpbackup.engine.backup;

/** A backup could not be taken. The message names the VM or disk, the problem and the fix. */
public class BackupException extends Exception {
    public BackupException(String message) {
        super(message);
    }

    public BackupException(String message, Throwable cause) {
        super(message, cause);
    }
}
