package io.qmpbackup.agent.controller;

/**
 * Work the agent will not do as specified, found before anything is touched: a stable reason
 * (the status condition's CamelCase word) and a message that names the thing and the fix.
 */
final class Refusal extends Exception {
    private final String reason;

    Refusal(String reason, String message) {
        super(message);
        this.reason = reason;
    }

    Refusal(String reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    String reason() {
        return reason;
    }
}
