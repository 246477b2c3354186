package io.qmpbackup.engine.restore;

import io.qmpbackup.engine.backup.BackupLog;
import io.qmpbackup.engine.repository.ChecksumRecord;
import io.qmpbackup.engine.repository.FileSum;
import io.qmpbackup.engine.repository.QemuImg;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code verify}: every file of a disk's folder, oldest first, through {@code qemu-img check}
 * (qcow2 structure) and against the checksum recorded when it was written ({@link FileSum}: a
 * whole-file SHA-256 or a chunked one, each computed over every byte of the file) (chain manifest, or the
 * integrity record inside the folder): any flipped byte. A file with no recorded checksum fails
 * unless only the structure was asked for: "structure only" is not a pass. Chain completeness
 * (gaps, a missing FULL, unfinished files) was checked when the chain was loaded.
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

    public static Result verify(BackupChain chain, boolean structureOnly, BackupLog log) {
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
            if (problem == null && f.sha256() == null && !structureOnly) {
                problem = "no checksum recorded for it (neither in the chain manifest beside the folder nor in "
                        + ChecksumRecord.of(f.path().getParent(), chain.disk()).getFileName() + " inside it), so"
                        + " a changed byte cannot be told; verify --structure-only checks its structure alone";
            }
            if (problem == null && f.sha256() != null && !structureOnly) {
                checksummed++;
                try {
                    String actual = FileSum.compute(f.path(), f.sha256());
                    if (!actual.equals(f.sha256())) {
                        problem = "its " + FileSum.kind(f.sha256()) + " is " + FileSum.hex(actual) + " but "
                                + FileSum.hex(f.sha256()) + " was recorded when it was written: the file changed since";
                    }
                } catch (IOException e) {
                    problem = "cannot read it: " + e.getMessage();
                }
            }
            if (problem != null) {
                problems.add(f.name() + ": " + problem);
                log.warn(f.name() + (f.sha256() == null && !structureOnly ? " cannot be checked: " : " is damaged: ")
                        + problem);
            } else {
                log.info(f.name() + ": ok" + (structureOnly ? " (structure only)" : " (checksum matches)"));
            }
        }
        return new Result(chain.files().size(), checksummed, problems.isEmpty() ? null : problems.get(0),
                List.copyOf(problems));
    }
}
