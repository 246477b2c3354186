package io.qmpbackup.engine.testing;

import java.io.IOException;
import java.nio.file.Path;

/** The checks a user runs with standard tools, run the same way (through bash), as the README gives them. */
public final class Coreutils {
    private Coreutils() {
    }

    /** The chunked checksum of a backup file: {@code split -b 1M --filter=sha256sum FILE | cut -c1-64 | sha256sum}. */
    public static String chunkSum(Path file) throws IOException {
        String out = QemuTools.run("bash", "-c", "set -o pipefail; split -b 1M --filter=sha256sum \"$0\" | cut -c1-64"
                + " | sha256sum", file.toString());
        return out.substring(0, 64);
    }
}
