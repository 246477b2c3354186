package io.qmpbackup.engine.remote;

import java.io.IOException;

/** A remote operation that failed; the message names the object and what to do, never a credential. */
public final class RemoteException extends IOException {
    public RemoteException(String message) {
        super(message);
    }

    public RemoteException(String message, Throwable cause) {
        super(message, cause);
    }
}
