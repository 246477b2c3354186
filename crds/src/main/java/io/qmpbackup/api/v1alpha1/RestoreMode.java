package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonValue;

/** merge, rebase, commit or snapshotrebase (as qmprestore's subcommands); instant and export (live restore). */
public enum RestoreMode {
    MERGE("merge"), REBASE("rebase"), COMMIT("commit"), SNAPSHOTREBASE("snapshotrebase"), INSTANT("instant"),
    EXPORT("export");

    private final String value;

    RestoreMode(String value) {
        this.value = value;
    }

    @JsonValue
    public String value() {
        return value;
    }
}
