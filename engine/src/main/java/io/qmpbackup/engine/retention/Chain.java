package io.qmpbackup.engine.retention;

import io.qmpbackup.engine.backup.BackupLevel;
import io.qmpbackup.engine.repository.ChainManifest;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.List;

/** A full and the incrementals built on it, or a copy: one disk's files in one chain folder. */
record Chain(String disk, Path folder, Path manifestFile, List<ChainManifest.Entry> entries) {

    String first() {
        return entries.get(0).file;
    }

    List<Instant> points() {
        return entries.stream().map(Chain::pointOf).toList();
    }

    /** Only a chain that starts with a full can be the one change tracking continues; a copy never is. */
    boolean fullBased() {
        return levelOf(entries.get(0)) == BackupLevel.FULL;
    }

    /** How log lines and {@link ChainPruner.Result#kept()} name the chain: relative to the target. */
    String describe(Path target) {
        String where = target.relativize(folder).toString();
        return (where.isEmpty() ? "" : where + "/") + disk + ": " + first()
                + (entries.size() > 1 ? " + " + (entries.size() - 1) + " incremental(s)" : "");
    }

    static Instant pointOf(ChainManifest.Entry e) {
        if (e.startedAt != null) {
            try {
                return Instant.parse(e.startedAt);
            } catch (DateTimeParseException ignored) {
                // fall back to the epoch in the name
            }
        }
        return Instant.ofEpochSecond(e.epoch);
    }

    /**
     * The level of a backup a manifest lists, or null. Stricter than {@link BackupLevel#parse}, which
     * takes any case and "auto": this tool writes exactly full, inc or copy, so anything else means a
     * manifest it cannot vouch for.
     */
    static BackupLevel levelOf(ChainManifest.Entry e) {
        for (BackupLevel level : List.of(BackupLevel.FULL, BackupLevel.INC, BackupLevel.COPY)) {
            if (level.lower().equals(e.level)) {
                return level;
            }
        }
        return null;
    }
}
