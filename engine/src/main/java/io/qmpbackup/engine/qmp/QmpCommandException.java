package io.qmpbackup.engine.qmp;

/**
 * QEMU answered a command with an error. Carries the command that was sent and QEMU's
 * error class (for example {@code GenericError}, {@code DeviceNotFound}).
 */
public class QmpCommandException extends QmpException {
    private final String command;
    private final String errorClass;
    private final String description;

    public QmpCommandException(String command, String errorClass, String description) {
        super(command + " failed: " + description + " (" + errorClass + ")");
        this.command = command;
        this.errorClass = errorClass;
        this.description = description;
    }

    public String command() {
        return command;
    }

    public String errorClass() {
        return errorClass;
    }

    public String description() {
        return description;
    }
}
