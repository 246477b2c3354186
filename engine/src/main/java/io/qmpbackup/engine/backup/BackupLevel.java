package io.qmpbackup.engine.backup;

import java.util.Locale;

/** What a backup run takes. */
public enum BackupLevel {
    /** Everything; starts (or restarts) the chain's change tracking. */
    FULL,
    /** Changes since the last successful backup of this chain. */
    INC,
    /** FULL when there is no chain or no usable bitmap, else INC. */
    AUTO,
    /** Everything, no change tracking: a standalone copy. */
    COPY;

    public static BackupLevel parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown backup level '" + s + "': use full, inc, auto or copy");
        }
    }

    public String lower() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** File name prefix: FULL, INC, COPY. */
    public String prefix() {
        return name();
    }
}
