package io.qmpbackup.engine.repository;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.qmpbackup.engine.testing.QemuTools;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real qemu-img, on an image damaged the way a bad disk or a stray write damages one. */
class QemuImgIT {
    @TempDir
    Path tmp;

    @BeforeAll
    static void tools() {
        QemuTools.requireQemu();
    }

    /**
     * Every refcount block zeroed: {@code qemu-img check} then reports each of thousands of
     * clusters on stderr, far more than a pipe holds, before it closes stdout. The run ends with
     * qemu-img's first messages and how much more it wrote, instead of hanging.
     */
    @Test
    void aCheckThatWritesPagesOfErrorsEndsWithTheirFirstLines() throws Exception {
        Path img = tmp.resolve("damaged.qcow2");
        QemuTools.run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", img.toString(), "64M");
        QemuTools.run("qemu-io", "-f", "qcow2", "-c", "write -P 0x3c 0 24M", img.toString());
        assertThat(QemuImg.info(img).path("cluster-size").asInt()).isEqualTo(4096);
        zeroRefcountBlocks(img);

        Path stderr = tmp.resolve("check.err");
        Process raw = new ProcessBuilder("qemu-img", "check", "-q", img.toString())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(stderr.toFile()).start();
        assertThat(raw.waitFor()).isNotZero();
        assertThat(Files.size(stderr)).as("enough to fill a pipe").isGreaterThan(4 * 65536);

        IOException e = assertTimeoutPreemptively(Duration.ofMinutes(2),
                () -> assertThrows(IOException.class, () -> QemuImg.run("check", "-q", img.toString())));
        assertThat(e.getMessage()).contains("qemu-img check -q " + img).contains("failed (exit 2)")
                .contains("ERROR cluster 0 refcount=0 reference=1")
                .contains(Files.size(stderr) + " bytes of messages in all");
        assertThat(e.getMessage().lines().count()).isLessThanOrEqualTo(QemuImg.ERROR_LINES_SHOWN + 1);
    }

    @Test
    void aShortMessageIsGivenWhole() {
        assertThatThrownBy(() -> QemuImg.run("info", tmp.resolve("absent.qcow2").toString()))
                .isInstanceOf(IOException.class).hasMessageContaining("absent.qcow2")
                .hasMessageContaining("No such file").hasMessageNotContaining("bytes of messages");
    }

    /** Zeroes each refcount block the image's refcount table names (qcow2 header: offsets 20, 48, 56). */
    private static void zeroRefcountBlocks(Path img) throws IOException {
        try (FileChannel ch = FileChannel.open(img, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer header = ByteBuffer.allocate(64);
            ch.read(header, 0);
            int clusterSize = 1 << header.getInt(20);
            long table = header.getLong(48);
            int tableClusters = header.getInt(56);
            ByteBuffer entries = ByteBuffer.allocate(tableClusters * clusterSize);
            ch.read(entries, table);
            int zeroed = 0;
            for (int i = 0; i < entries.capacity(); i += 8) {
                long block = entries.getLong(i);
                if (block != 0) {
                    ch.write(ByteBuffer.allocate(clusterSize), block);
                    zeroed++;
                }
            }
            assertThat(zeroed).isPositive();
        }
    }
}
