package io.qmpbackup.engine.backup;

import io.qmpbackup.engine.repository.AtomicFiles;
import io.qmpbackup.engine.repository.ChecksumRecord;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A VM's TPM state (the swtpm state folder: {@code tpm2-00.permall}, a few KiB) kept with its
 * backups, so a restored Windows 11 / BitLocker / measured-boot VM finds its keys again. It is
 * copied while the VM is paused at the snapshot point: the guest issues no TPM command then, so
 * swtpm writes nothing, and the copy belongs to the same instant as the disks. (swtpm's own
 * state-saving over its control channel would need the TPM stopped, which a running guest does
 * not survive.) Only the permanent state is kept: a restored VM boots cold, and volatile TPM state
 * (PCRs, sessions) starts anew at boot anyway.
 *
 * <p>Kept as {@code <chain>/tpm/<epoch>/} with a {@code SHA256SUMS} ({@code sha256sum -c} checks it).
 */
public final class TpmState {
    public static final String FOLDER = "tpm";
    public static final String SUMS = "SHA256SUMS";

    private TpmState() {
    }

    /** The regular files of a swtpm state folder (not its lock). */
    static List<Path> files(Path stateDir) throws IOException {
        if (!Files.isDirectory(stateDir)) {
            throw new IOException("TPM state folder " + stateDir + " does not exist (give swtpm's --tpmstate dir)");
        }
        List<Path> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(stateDir)) {
            for (Path p : s.sorted().toList()) {
                String n = p.getFileName().toString();
                if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) && !n.equals(".lock") && !n.endsWith(".sock")
                        && !n.endsWith(".pid")) {
                    out.add(p);
                }
            }
        }
        if (out.stream().noneMatch(p -> p.getFileName().toString().endsWith(".permall"))) {
            throw new IOException("TPM state folder " + stateDir + " holds no *.permall file: is it swtpm's"
                    + " --tpmstate dir?");
        }
        return out;
    }

    /** Copies the state into {@code into} (a new folder), with its checksums; durable when it returns. */
    static void copy(Path stateDir, Path into) throws IOException {
        Files.createDirectories(into);
        Map<String, String> sums = new LinkedHashMap<>();
        for (Path f : files(stateDir)) {
            Path copy = into.resolve(f.getFileName());
            AtomicFiles.write(copy, Files.readAllBytes(f));
            sums.put(f.getFileName().toString(), AtomicFiles.sha256(copy, false));
        }
        ChecksumRecord.writeSums(into.resolve(SUMS), sums);
    }

    /** One run's copy: taken at the snapshot point into a partial folder, kept under tpm/ on success. */
    static final class Run {
        private final Path stateDir;
        private final Path partial;
        private final Path kept;

        Run(Path stateDir, Path chainDir, String token, long epoch, UndoStack undo) {
            this.stateDir = stateDir;
            this.partial = chainDir.resolve(FOLDER).resolve(".partial-" + token);
            this.kept = chainDir.resolve(FOLDER).resolve(Long.toString(epoch));
            undo.push("delete the unfinished TPM state copy " + partial, () -> deleteTree(partial));
        }

        /** At the snapshot point, with the VM paused. */
        void take() throws BackupException {
            try {
                copy(stateDir, partial);
            } catch (IOException e) {
                throw new BackupException("cannot copy the TPM state from " + stateDir + ": " + e.getMessage()
                        + "; nothing was recorded (check --tpm-state)", e);
            }
        }

        /** After the backup succeeded: the copy becomes the chain's TPM state of this run. */
        Path keep() throws IOException {
            deleteTree(kept);
            Files.move(partial, kept, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            AtomicFiles.fsyncDirectory(kept.getParent());
            return kept;
        }

        private static void deleteTree(Path dir) throws IOException {
            if (!Files.isDirectory(dir)) {
                return;
            }
            try (Stream<Path> s = Files.list(dir)) {
                for (Path p : s.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
        }
    }
}
