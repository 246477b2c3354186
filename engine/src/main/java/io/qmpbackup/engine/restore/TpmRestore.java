package io.qmpbackup.engine.restore;

import io.qmpbackup.engine.backup.TpmState;
import io.qmpbackup.engine.repository.AtomicFiles;
import io.qmpbackup.engine.repository.ChecksumRecord;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Puts a chain's TPM state back into a swtpm state folder: the copy of the newest run (or of the
 * run of an {@code --until} point, or the newest before it), checked against its SHA256SUMS, into a
 * folder holding no TPM state yet (a restore never overwrites one).
 */
public final class TpmRestore {
    private TpmRestore() {
    }

    /** Returns the run folder the state came from. */
    public static Path restore(Path dir, String until, Path to) throws RestoreException {
        Path tpm = folder(dir);
        Path run = pick(tpm, until);
        try {
            Map<String, String> sums = ChecksumRecord.readSums(run.resolve(TpmState.SUMS));
            if (Files.isDirectory(to)) {
                try (Stream<Path> s = Files.list(to)) {
                    if (s.anyMatch(p -> p.getFileName().toString().endsWith(".permall"))) {
                        throw new RestoreException("TPM state folder " + to + " already holds TPM state: a restore"
                                + " never overwrites it; give an empty folder (and point swtpm's --tpmstate at it)");
                    }
                }
            }
            Files.createDirectories(to);
            for (Map.Entry<String, String> e : sums.entrySet()) {
                String name = e.getKey();
                String sum = e.getValue();
                Path from = run.resolve(name);
                String actual = AtomicFiles.sha256(from, false);
                if (!actual.equals(sum)) {
                    throw new RestoreException("TPM state file " + from + " changed since it was kept (SHA-256 "
                            + actual + ", recorded " + sum + "): restore an earlier run with --until");
                }
                AtomicFiles.write(to.resolve(name), Files.readAllBytes(from));
            }
        } catch (IOException | RuntimeException e) {
            throw new RestoreException("cannot restore the TPM state from " + run + ": " + e.getMessage(), e);
        }
        return run;
    }

    private static Path folder(Path dir) throws RestoreException {
        for (Path d : new Path[] {dir, dir.toAbsolutePath().getParent()}) {
            if (d != null && Files.isDirectory(d.resolve(TpmState.FOLDER))) {
                return d.resolve(TpmState.FOLDER);
            }
        }
        throw new RestoreException("no TPM state kept in " + dir + " (backups keep it with --tpm-state): pass the"
                + " chain folder");
    }

    /** The newest kept run, or the newest at or before the epoch of {@code until} (INC-<epoch>..., or an epoch). */
    private static Path pick(Path tpm, String until) throws RestoreException {
        long limit = Long.MAX_VALUE;
        if (until != null) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("^(?:(?:FULL|INC|COPY)-)?(\\d+)").matcher(until);
            if (!m.find()) {
                throw new RestoreException("--until " + until + " names no backup time (INC-<epoch> or an epoch)");
            }
            limit = Long.parseLong(m.group(1));
        }
        final long max = limit;
        try (Stream<Path> s = Files.list(tpm)) {
            return s.filter(p -> p.getFileName().toString().matches("\\d+") && Files.isDirectory(p))
                    .filter(p -> Long.parseLong(p.getFileName().toString()) <= max)
                    .max(Comparator.comparingLong(p -> Long.parseLong(p.getFileName().toString())))
                    .orElseThrow(() -> new RestoreException("no TPM state kept in " + tpm + (until == null ? ""
                            : " at or before " + until)));
        } catch (IOException e) {
            throw new RestoreException("cannot list " + tpm + ": " + e.getMessage(), e);
        }
    }
}
