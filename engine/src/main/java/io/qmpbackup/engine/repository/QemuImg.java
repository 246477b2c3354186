package io.qmpbackup.engine.repository;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpbackup.engine.qmp.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code qemu-img}. Every failure carries the command line and qemu-img's own message (its
 * first lines, when it wrote many). Both of its pipes are read at once, each on a thread of its
 * own: {@code qemu-img check} of a badly damaged image writes hundreds of KiB of errors to stderr
 * before it closes stdout, and a reader that waited for stdout first left it blocked on a full
 * pipe for good (a hung verify of exactly the backup that most needed one).
 */
public final class QemuImg {
    private static final String BINARY = System.getenv().getOrDefault("QMPBACKUP_QEMU_IMG", "qemu-img");
    /** stderr kept for the message; the rest is counted, not held. */
    private static final int ERROR_BYTES_KEPT = 64 * 1024;
    static final int ERROR_LINES_SHOWN = 20;

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
            p.getOutputStream().close();
            Drain out = Drain.start(p.getInputStream(), Integer.MAX_VALUE, "qemu-img-stdout");
            Drain err = Drain.start(p.getErrorStream(), ERROR_BYTES_KEPT, "qemu-img-stderr");
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " did not finish within 10 minutes");
            }
            byte[] stdout = out.bytes();
            if (p.exitValue() != 0) {
                throw new IOException(String.join(" ", cmd) + " failed (exit " + p.exitValue() + "): "
                        + message(err.bytes(), err.total()));
            }
            return new String(stdout, StandardCharsets.UTF_8);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + String.join(" ", cmd), e);
        }
    }

    /** qemu-img's message, or its first lines and how much more there was. */
    static String message(byte[] kept, long total) {
        List<String> lines = new String(kept, StandardCharsets.UTF_8).strip().lines().toList();
        if (lines.size() <= ERROR_LINES_SHOWN && total == kept.length) {
            return String.join("\n", lines);
        }
        return String.join("\n", lines.subList(0, Math.min(ERROR_LINES_SHOWN, lines.size())))
                + "\n... (" + total + " bytes of messages in all; run the command by hand to see the rest)";
    }

    /** Reads a stream to its end on a thread of its own, keeping at most {@code keep} bytes. */
    private static final class Drain extends Thread {
        private final InputStream in;
        private final int keep;
        private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
        private long total;
        private IOException failure;

        private Drain(InputStream in, int keep, String name) {
            super(name);
            this.in = in;
            this.keep = keep;
            setDaemon(true);
        }

        static Drain start(InputStream in, int keep, String name) {
            Drain d = new Drain(in, keep, name);
            d.start();
            return d;
        }

        @Override
        public void run() {
            byte[] buf = new byte[8192];
            try (in) {
                for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
                    kept.write(buf, 0, (int) Math.min(n, Math.max(0, (long) keep - kept.size())));
                    total += n;
                }
            } catch (IOException e) {
                failure = e;
            }
        }

        /** What was kept, once the stream ended (the process has exited, so its pipes are closing). */
        byte[] bytes() throws IOException, InterruptedException {
            join(TimeUnit.MINUTES.toMillis(1));
            if (isAlive()) {
                throw new IOException("qemu-img exited but its output did not end within a minute");
            }
            if (failure != null) {
                throw new IOException("cannot read qemu-img's output: " + failure.getMessage(), failure);
            }
            return kept.toByteArray();
        }

        long total() {
            return total;
        }
    }
}
