package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonValue;

/** Where a backup or restore run is: Pending -> Scheduled -> Running -> Succeeded | Failed | Cancelled. */
public enum Phase {
    PENDING("Pending"), SCHEDULED("Scheduled"), RUNNING("Running"), SUCCEEDED("Succeeded"), FAILED("Failed"),
    CANCELLED("Cancelled");

    private final String value;

    Phase(String value) {
        this.value = value;
    }

    @JsonValue
    public String value() {
        return value;
    }

    public boolean terminal() {
        return this == SUCCEEDED || this == FAILED || this == CANCELLED;
    }
}
