package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonValue;

/** Forbid: no second run for a VM while one is active (default). Allow: start it anyway. */
public enum ConcurrencyPolicy {
    FORBID("Forbid"), ALLOW("Allow");

    private final String value;

    ConcurrencyPolicy(String value) {
        this.value = value;
    }

    @JsonValue
    public String value() {
        return value;
    }
}
