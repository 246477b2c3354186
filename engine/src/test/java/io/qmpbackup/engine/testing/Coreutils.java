package io.qmpbackup.engine.testing;

import java.io.IOException;
import java.nio.file.Path;

/** The checks a user runs with standard tools, run the same way (through bash), as the README gives them. */
public final class Coreutils {
    private Coreutils() {
    }

    /**
     * What the README gives to check a disk folder's chunked record: each listed file, OK or
     * FAILED, exit 1 when any failed. Run in the folder; {@code $0} is the record's name.
     */
    public static final String CHECK_FOLDER = "fail=0; while read -r sum file; do"
            + " s=$(split -b 1M --filter=sha256sum \"$file\" | cut -c1-64 | sha256sum | cut -c1-64);"
            + " if [ \"$s\" = \"$sum\" ]; then echo \"$file: OK\"; else echo \"$file: FAILED\"; fail=1; fi;"
            + " done < \"$0\"; exit $fail";

    /** Runs {@link #CHECK_FOLDER} in {@code folder} on {@code record}. */
    public static QemuTools.Result checkFolder(Path folder, Path record) throws IOException {
        return QemuTools.exec("bash", "-c", "cd \"$1\" && " + CHECK_FOLDER, record.getFileName().toString(),
                folder.toString());
    }

    /** The chunked checksum of a backup file: {@code split -b 1M --filter=sha256sum FILE | cut -c1-64 | sha256sum}. */
    public static String chunkSum(Path file) throws IOException {
        return chunkSum(file, "sha256sum");
    }

    /** The same with another per-chunk filter: the README's faster {@code openssl dgst -sha256 -r}. */
    public static String chunkSum(Path file, String filter) throws IOException {
        String out = QemuTools.run("bash", "-c", "set -o pipefail; split -b 1M --filter=\"$1\" \"$0\" | cut -c1-64"
                + " | sha256sum", file.toString(), filter);
        return out.substring(0, 64);
    }
}
