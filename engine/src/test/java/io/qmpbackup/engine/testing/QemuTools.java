package io.qmpbackup.engine.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the real qemu-img / qemu-io / qemu-system-x86_64. Missing binaries fail the test loudly. */
public final class QemuTools {
    public static final String QEMU = "qemu-system-x86_64";

    private QemuTools() {
    }

    public static void requireQemu() {
        for (String b : List.of(QEMU, "qemu-img", "qemu-io")) {
            if (!onPath(b)) {
                throw new IllegalStateException(b + " is not installed: these tests run real QEMU; install it with"
                        + " `apt-get install -y qemu-system-x86 qemu-utils` (.ci/run does)");
            }
        }
    }

    private static boolean onPath(String binary) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(d, binary))) {
                return true;
            }
        }
        return false;
    }

    public record Result(int exit, String out) {
    }

    public static Result exec(String... cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IOException("timeout: " + String.join(" ", cmd));
            }
            return new Result(p.exitValue(), out);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    public static String run(String... cmd) throws IOException {
        Result r = exec(cmd);
        if (r.exit() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed (" + r.exit() + "): " + r.out());
        }
        return r.out();
    }

    public static Path createQcow2(Path file, String size) throws IOException {
        requireQemu();
        run("qemu-img", "create", "-q", "-f", "qcow2", file.toString(), size);
        return file;
    }

    public static Path createRaw(Path file, String size) throws IOException {
        run("qemu-img", "create", "-q", "-f", "raw", file.toString(), size);
        return file;
    }

    /** Writes a pattern straight into an image file (VM not running). */
    public static void write(Path image, String format, long offset, long length, int pattern) throws IOException {
        run("qemu-io", "-f", format, "-c", "write -P " + pattern + " " + offset + " " + length, image.toString());
    }

    /** {@code qemu-img compare} (force-share, the live image may be open); returns the exit code (0 = identical). */
    public static Result compare(Path a, String fmtA, Path b, String fmtB) throws IOException {
        return exec("qemu-img", "compare", "-U", "-f", fmtA, "-F", fmtB, a.toString(), b.toString());
    }

    /** Checks with qemu-io that a range reads back as the pattern. */
    public static boolean readsPattern(Path image, String format, long offset, long length, int pattern)
            throws IOException {
        Result r = exec("qemu-io", "-U", "-f", format, "-r", "-c", "read -P " + pattern + " " + offset + " " + length,
                image.toString());
        return r.exit() == 0 && !r.out().contains("Pattern verification failed");
    }

    /**
     * Rebuilds a chain into one standalone image with plain qemu-img: copies the files, rebases
     * each onto the previous one (-u: only the header), then converts the top to a new image.
     */
    public static Path reconstruct(List<Path> chain, Path workDir, Path output) throws IOException {
        Files.createDirectories(workDir);
        List<Path> copies = new ArrayList<>();
        for (Path p : chain) {
            Path c = workDir.resolve(p.getFileName());
            Files.copy(p, c, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            copies.add(c);
        }
        for (int i = 1; i < copies.size(); i++) {
            run("qemu-img", "rebase", "-u", "-f", "qcow2", "-F", "qcow2", "-b",
                    copies.get(i - 1).getFileName().toString(), copies.get(i).toString());
        }
        run("qemu-img", "convert", "-O", "qcow2", copies.get(copies.size() - 1).toString(), output.toString());
        return output;
    }

    /** Removes a folder tree, ignoring what cannot be removed (a test's leftovers at JVM exit). */
    public static void deleteQuietly(Path dir) {
        try (java.util.stream.Stream<Path> s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort
        }
    }
}
