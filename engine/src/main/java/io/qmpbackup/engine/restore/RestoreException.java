package io.qmpbackup.engine.restore;

/** A restore was refused or failed. The message names the folder or file, the problem and the fix. */
public class RestoreException extends Exception {
    public RestoreException(String message) {
        super(message);
    }

    public RestoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
