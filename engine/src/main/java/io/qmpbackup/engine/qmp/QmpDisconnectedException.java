package io.qmpbackup.engine.qmp;

/** The peer closed the connection (QEMU quit or was killed) while a reply was awaited. */
public class QmpDisconnectedException extends QmpException {
    public QmpDisconnectedException(String message) {
        super(message);
    }

    public QmpDisconnectedException(String message, Throwable cause) {
        super(message, cause);
    }
}
