package io.qmpbackup.agent.controller;

import io.qmpbackup.tenancy.Tenancy;

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

    /** The agent's form of a rule's refusal ({@link Tenancy}). */
    static Refusal of(Tenancy.Denial denial) {
        return new Refusal(denial.reason(), denial.message());
    }

    String reason() {
        return reason;
    }
}
