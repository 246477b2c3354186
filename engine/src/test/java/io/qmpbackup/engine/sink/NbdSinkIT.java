package io.qmpbackup.engine.sink;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpbackup.engine.repository.ChunkDigest;
import io.qmpbackup.engine.testing.Coreutils;
import io.qmpbackup.engine.testing.QemuTools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sink against QEMU's own NBD client (qemu-io, qemu-img): handshake, every command, the bytes, the digest. */
class NbdSinkIT {
    private static final long MIB = 1 << 20;

    @TempDir
    Path tmp;

    @BeforeAll
    static void qemu() {
        QemuTools.requireQemu();
    }

    private NbdSink sink(Path file, long size) throws Exception {
        return NbdSink.start(file, tmp.resolve("s.sock"), "disk0", size, true);
    }

    private String uri() {
        return "nbd+unix:///disk0?socket=" + tmp.resolve("s.sock");
    }

    private static QemuTools.Result io(String image, String... commands) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        for (String c : commands) {
            cmd.addAll(List.of("-c", c));
        }
        cmd.add(image);
        return QemuTools.exec(cmd.toArray(String[]::new));
    }

    @Test
    void rawWritesReadsZeroesAndFlushesReachTheFileAndItsDigest() throws Exception {
        Path file = Files.createFile(tmp.resolve("raw.partial"));
        NbdSink s = sink(file, 8 * MIB);
        QemuTools.Result w = io(uri(), "write -P 0xab 0 1M", "write -P 0xcd 1M 64k", "write -P 0x5a 1114112 983040",
                "write -z 2M 1M", "write -P 0x77 3M 12345", "write -P 0x33 4M 1M", "write -P 0x44 4M 4k", "flush",
                "discard 6M 64k", "read -P 0xab 0 1M", "read -P 0xcd 1M 64k", "read -P 0 2M 1M",
                "read -P 0x44 4M 4k", "read -P 0x33 4100k 1020k");
        assertThat(w.exit()).as(w.out()).isZero();
        assertThat(w.out()).doesNotContain("Pattern verification failed", "error");
        NbdSink.Result r = s.finish(Duration.ofSeconds(10));

        assertThat(r.size()).isEqualTo(5 * MIB);
        assertThat(r.chunkDigest()).isEqualTo(ChunkDigest.of(file)).isEqualTo(Coreutils.chunkSum(file));
        // chunks 0, 1 (two writes that cover it in order) and 2 (write-zeroes) seen whole; 3 short, 4 overwritten
        assertThat(r.chunksFromMemory()).isEqualTo(3);
        assertThat(r.lowPriority()).as("the sink's threads ran at nice " + LowPriority.NICE).isTrue();
        QemuTools.Result direct = io(file.toString(), "read -P 0xab 0 1M", "read -P 0x5a 1114112 983040",
                "read -P 0 2M 1M", "read -P 0x77 3M 12345", "read -P 0x44 4M 4k");
        assertThat(direct.out()).doesNotContain("Pattern verification failed");
        assertThat(tmp.resolve("s.sock")).doesNotExist();
    }

    @Test
    void theExportOffersNoFlushSoQemuSendsNone() throws Exception {
        Path file = Files.createFile(tmp.resolve("list.partial"));
        try (NbdSink s = sink(file, 8 * MIB)) {
            QemuTools.Result l = QemuTools.exec("qemu-nbd", "--list", "-k", tmp.resolve("s.sock").toString());
            assertThat(l.exit()).as(l.out()).isZero();
            assertThat(l.out()).contains("export: 'disk0'").containsPattern("flags: 0x[0-9a-f]+ \\( trim zeroes \\)")
                    .doesNotContain("flush", "fua");
        }
    }

    @Test
    void qcow2OverTheSinkAllocatesInsideAFixedSizeExportAndChecksClean() throws Exception {
        Path file = tmp.resolve("t.qcow2.partial");
        QemuTools.run("qemu-img", "create", "-q", "-f", "qcow2", file.toString(), "64M");
        NbdSink s = sink(file, 256 * MIB);
        String opts = "driver=qcow2,file.driver=nbd,file.server.type=unix,file.server.path=" + tmp.resolve("s.sock")
                + ",file.export=disk0";
        QemuTools.Result w = QemuTools.exec("qemu-io", "--image-opts", opts, "-c", "aio_write -P 0x11 8M 4M",
                "-c", "aio_write -P 0x22 0 3M", "-c", "aio_flush", "-c", "write -P 0x33 40M 5M", "-c",
                "write -z 50M 1M", "-c", "read -P 0x11 8M 4M");
        assertThat(w.exit()).as(w.out()).isZero();
        assertThat(w.out()).doesNotContain("Pattern verification failed", "error");
        NbdSink.Result r = s.finish(Duration.ofSeconds(10));

        assertThat(QemuTools.exec("qemu-img", "check", "-q", file.toString()).exit()).isZero();
        assertThat(r.size()).isEqualTo(Files.size(file));
        assertThat(r.chunkDigest()).isEqualTo(Coreutils.chunkSum(file));
        assertThat(r.chunksFromMemory()).as("data clusters hashed on the way").isGreaterThanOrEqualTo(8);
        QemuTools.Result back = QemuTools.exec("qemu-io", "-f", "qcow2", "-c", "read -P 0x11 8M 4M", "-c",
                "read -P 0x22 0 3M", "-c", "read -P 0x33 40M 5M", "-c", "read -P 0 50M 1M", file.toString());
        assertThat(back.out()).doesNotContain("Pattern verification failed");
    }

    @Test
    void aSinkStoppedMidWriteFailsTheClientAndLeavesNoSocket() throws Exception {
        Path file = Files.createFile(tmp.resolve("cut.partial"));
        NbdSink s = sink(file, 4096 * MIB);
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        for (int i = 0; i < 64; i++) {
            cmd.addAll(List.of("-c", "write -P 7 " + i * 32 + "M 32M"));
        }
        cmd.add(uri());
        Process client = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> Files.size(file) > 64 * MIB);
        s.close();
        String out = new String(client.getInputStream().readAllBytes());
        assertThat(client.waitFor()).as(out).isNotZero();
        assertThat(out).contains("failed");
        assertThat(tmp.resolve("s.sock")).doesNotExist();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> s.finish(Duration.ofSeconds(1)))
                .isInstanceOf(java.io.IOException.class);
    }

    @Test
    void writesPastTheExportFailAndTheWrongExportIsRefused() throws Exception {
        Path file = Files.createFile(tmp.resolve("small.partial"));
        NbdSink s = sink(file, MIB);
        QemuTools.Result wrong = io("nbd+unix:///other?socket=" + tmp.resolve("s.sock"), "read 0 4k");
        assertThat(wrong.exit()).isNotZero();
        assertThat(io(uri(), "write -P 1 0 4k").exit()).isZero();
        QemuTools.Result past = io(uri(), "write -P 2 1020k 8k");
        assertThat(past.out()).contains("write failed");
        NbdSink.Result r = s.finish(Duration.ofSeconds(10));
        assertThat(r.chunkDigest()).isEqualTo(ChunkDigest.of(file));
    }
}
