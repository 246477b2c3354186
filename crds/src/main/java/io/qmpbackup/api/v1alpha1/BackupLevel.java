package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonValue;

/** full, inc, auto or copy (as qmpbackup's --level). */
public enum BackupLevel {
    FULL("full"), INC("inc"), AUTO("auto"), COPY("copy");

    private final String value;

    BackupLevel(String value) {
        this.value = value;
    }

    @JsonValue
    public String value() {
        return value;
    }
}
