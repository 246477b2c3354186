package io.qmpbackup.engine.repository;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AtomicFilesTest {
    @TempDir
    Path tmp;

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(ints = {0, 1, 4095, 4096, 332_800, 8 << 20, (8 << 20) + 1, 3 * (8 << 20) + 12_345})
    void sha256MatchesADigestOfTheWholeFileAtAnySize(int size) throws Exception {
        byte[] data = new byte[size];
        new Random(size).nextBytes(data);
        Path f = tmp.resolve("f.bin");
        Files.write(f, data);
        String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        assertThat(AtomicFiles.sha256(f)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"first", "second"})
    void writeReplacesAtomically(String content) throws Exception {
        Path f = tmp.resolve("uuid");
        Files.writeString(f, "old");
        AtomicFiles.write(f, content.getBytes());
        assertThat(Files.readString(f)).isEqualTo(content);
        assertThat(tmp.resolve(".uuid.tmp")).doesNotExist();
    }

    @org.junit.jupiter.api.Test
    void directIoIsDetectedPerFilesystem() throws Exception {
        assertThat(DirectIo.supported(tmp)).as("disk-backed temp folder").isTrue();
        assertThat(DirectIo.supported(tmp.resolve("missing"))).as("a folder that cannot be probed").isFalse();
        assertThat(AtomicFiles.sha256(Files.writeString(Files.createTempFile(Path.of("/dev/shm"), "q", ".bin"), "x")))
                .isEqualTo("2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881");
    }
}
