package io.qmpbackup.engine.repository;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpbackup.engine.qmp.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs {@code qemu-img}. Every failure carries the command line and qemu-img's own message. */
public final class QemuImg {
    private static final String BINARY = System.getenv().getOrDefault("QMPBACKUP_QEMU_IMG", "qemu-img");

    private QemuImg() {
    }

    /** {@code qemu-img info -U --output=json}: readable while a VM has the image open. */
    public static JsonNode info(Path image) throws IOException {
        return Json.MAPPER.readTree(run("info", "-U", "--output=json", image.toString()));
    }

    public static String run(String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(BINARY);
        cmd.addAll(List.of(args));
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
        } catch (IOException e) {
            throw new IOException("cannot run " + BINARY + " (" + e.getMessage()
                    + "): install qemu-utils (apt-get install qemu-utils)", e);
        }
        try {
            byte[] out = p.getInputStream().readAllBytes();
            byte[] err = p.getErrorStream().readAllBytes();
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " did not finish within 10 minutes");
            }
            if (p.exitValue() != 0) {
                throw new IOException(String.join(" ", cmd) + " failed (exit " + p.exitValue() + "): "
                        + new String(err, StandardCharsets.UTF_8).trim());
            }
            return new String(out, StandardCharsets.UTF_8);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + String.join(" ", cmd), e);
        }
    }
}
