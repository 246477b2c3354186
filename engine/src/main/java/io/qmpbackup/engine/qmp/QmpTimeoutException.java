package io.qmpbackup.engine.qmp;

/** No answer within the time allowed. */
public class QmpTimeoutException extends QmpException {
    public QmpTimeoutException(String message) {
        super(message);
    }
}
