package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonValue;

/** merge, rebase, commit or snapshotrebase (as qmprestore's subcommands). */
public enum RestoreMode {
    MERGE("merge"), REBASE("rebase"), COMMIT("commit"), SNAPSHOTREBASE("snapshotrebase");

    private final String value;

    RestoreMode(String value) {
        this.value = value;
    }

    @JsonValue
    public String value() {
        return value;
    }
}
