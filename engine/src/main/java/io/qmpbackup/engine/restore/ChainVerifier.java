package io.qmpbackup.engine.restore;

import io.qmpbackup.engine.backup.BackupLog;
import io.qmpbackup.engine.repository.AtomicFiles;
import io.qmpbackup.engine.repository.QemuImg;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code verify}: every file of a disk's folder, oldest first, through {@code qemu-img check}
 * (qcow2 structure) and against the SHA-256 the chain manifest recorded when it was written
 * (any flipped byte). Chain completeness (gaps, a missing FULL, unfinished files) was checked
 * when the chain was loaded.
 */
public final class ChainVerifier {
    /** @param damaged the first damaged file and why, or null when all are sound */
    public record Result(int files, int checksummed, String damaged, List<String> problems) {
        public boolean ok() {
            return damaged == null;
        }
    }

    private ChainVerifier() {
    }

    public static Result verify(BackupChain chain, BackupLog log) {
        List<String> problems = new ArrayList<>();
        int checksummed = 0;
        for (ChainFile f : chain.files()) {
            String problem = null;
            if ("qcow2".equals(f.format())) {
                try {
                    QemuImg.run("check", "-q", f.path().toString());
                } catch (IOException e) {
                    problem = "qemu-img check failed: " + e.getMessage();
                }
            }
            if (problem == null && f.sha256() != null) {
                checksummed++;
                try {
                    String actual = AtomicFiles.sha256(f.path());
                    if (!actual.equals(f.sha256())) {
                        problem = "its SHA-256 is " + actual + " but the chain manifest recorded " + f.sha256()
                                + " when it was written: the file changed since";
                    }
                } catch (IOException e) {
                    problem = "cannot read it: " + e.getMessage();
                }
            }
            if (problem != null) {
                problems.add(f.name() + ": " + problem);
                log.warn(f.name() + " is damaged: " + problem);
            } else {
                log.info(f.name() + ": ok" + (f.sha256() != null ? " (checksum matches)" : " (structure only: no"
                        + " checksum recorded)"));
            }
        }
        return new Result(chain.files().size(), checksummed, problems.isEmpty() ? null : problems.get(0),
                List.copyOf(problems));
    }
}
