package io.qmpbackup.engine.service;

import java.nio.file.Path;
import java.util.List;

/**
 * A finished restore.
 *
 * @param output   the file to boot from: the merged image, the {@code image} link, or the FULL
 * @param steps    what was run, in order
 * @param warnings what the chain's loading noticed (files it skipped, a missing manifest)
 * @param check    how the result was checked
 */
public record RestoreOutcome(Path output, List<String> steps, List<String> warnings, String check) {
    public RestoreOutcome {
        steps = List.copyOf(steps);
        warnings = List.copyOf(warnings);
    }
}
