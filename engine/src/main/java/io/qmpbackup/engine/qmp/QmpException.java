package io.qmpbackup.engine.qmp;

import java.io.IOException;

/** Base of every error raised by the QMP and guest-agent clients. */
public class QmpException extends IOException {
    public QmpException(String message) {
        super(message);
    }

    public QmpException(String message, Throwable cause) {
        super(message, cause);
    }
}
