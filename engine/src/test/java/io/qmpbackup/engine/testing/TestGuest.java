package io.qmpbackup.engine.testing;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpbackup.engine.qmp.GuestAgentClient;
import io.qmpbackup.engine.qmp.QmpClient;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real small Linux guest (Debian kernel, busybox initramfs, the host's qemu-ga) under
 * QEMU TCG, for tests of guest filesystem freeze.
 *
 * <p>The guest mounts its ext4 data disk ({@link #dataImage()}, QEMU node {@code data0},
 * device {@code vdisk0}) at {@code /data}, appends a line to {@code /data/ticks} and syncs
 * every 0.1 s (so a frozen filesystem visibly stalls it), and runs qemu-ga on
 * {@link #agentSocket()}. QEMU has two QMP sockets ({@link #qmpSocket()} for the code
 * under test, {@link #qmpSocket2()} for the test itself); each serves one client at a
 * time, as does the agent socket. The fixture holds no connection open between calls.
 *
 * <p>Missing QEMU, tools or packages make {@link #ensureBuilt()} and {@link #boot(Path)}
 * throw {@link IllegalStateException}: tests fail, they never skip.
 */
public final class TestGuest implements AutoCloseable {

    public static final String KERNEL_CMDLINE = "console=ttyS0 panic=-1 quiet";
    /** QMP chardev id of the guest agent channel. */
    public static final String AGENT_CHARDEV = "qga0";
    public static final String DATA_NODE = "data0";
    public static final String DATA_DEVICE = "vdisk0";

    private static final String SCRIPT = "src/test/guest/build-test-guest.sh";
    private static final Duration BOOT_TIMEOUT = Duration.ofSeconds(90);
    private static final Duration BUILD_TIMEOUT = Duration.ofMinutes(15);
    private static final Duration POLL = Duration.ofMillis(200);
    private static final Duration AGENT_TIMEOUT = Duration.ofSeconds(30);
    private static final long DATA_DISK_BYTES = 64L * 1024 * 1024;
    private static final int MAX_SOCKET_PATH = 107;

    private static Path built;

    private final Path workDir;
    private final Process qemu;
    private Duration bootTime;

    private TestGuest(Path workDir, Process qemu) {
        this.workDir = workDir;
        this.qemu = qemu;
    }

    /**
     * Builds (once, cached across runs by a stamp) the guest kernel and initramfs into
     * {@code target/test-guest} of the node-agent module and returns that folder.
     */
    public static synchronized Path ensureBuilt() {
        if (built != null) {
            return built;
        }
        Path moduleDir = findModuleDir();
        Path script = moduleDir.resolve(SCRIPT);
        Path out = moduleDir.resolve(Paths.get("target", "test-guest")).toAbsolutePath().normalize();
        Path log = out.resolveSibling("test-guest-build.log");
        try {
            Files.createDirectories(out);
            Process p = new ProcessBuilder("bash", script.toAbsolutePath().toString(), out.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .start();
            if (!p.waitFor(BUILD_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("test guest build timed out after " + BUILD_TIMEOUT
                        + "; log " + log + ":\n" + tail(log, 4000));
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException("test guest build failed (exit " + p.exitValue() + "): " + script
                        + "; log " + log + ":\n" + tail(log, 4000));
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + script + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while building the test guest", e);
        }
        for (String f : List.of("kernel", "initrd.img")) {
            if (!Files.isRegularFile(out.resolve(f))) {
                throw new IllegalStateException("test guest build succeeded but " + out.resolve(f) + " is missing");
            }
        }
        built = out;
        return out;
    }

    /**
     * Boots a guest with its own data disk and sockets in {@code workDir} (keep it short:
     * socket paths must stay under 107 bytes) and waits until its agent answers.
     */
    public static TestGuest boot(Path workDir) {
        Path guest = ensureBuilt();
        Path dir = workDir.toAbsolutePath().normalize();
        if (dir.resolve("qmp2.sock").toString().getBytes(StandardCharsets.UTF_8).length > MAX_SOCKET_PATH) {
            throw new IllegalArgumentException("work folder path too long for UNIX sockets: " + dir);
        }
        try {
            Files.createDirectories(dir);
            for (String f : List.of("qmp.sock", "qmp2.sock", "qga.sock", "console.log", "qemu.log")) {
                Files.deleteIfExists(dir.resolve(f));
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot prepare " + dir + ": " + e.getMessage(), e);
        }
        createDataDisk(dir);

        List<String> cmd = new ArrayList<>(List.of(
                "qemu-system-x86_64",
                "-machine", "q35", "-accel", "tcg", "-cpu", "max", "-m", "256", "-smp", "1",
                "-nographic", "-no-reboot", "-nic", "none",
                "-kernel", guest.resolve("kernel").toString(),
                "-initrd", guest.resolve("initrd.img").toString(),
                "-append", KERNEL_CMDLINE,
                "-blockdev", "driver=qcow2,node-name=" + DATA_NODE
                        + ",file.driver=file,file.filename=" + dir.resolve("data.qcow2"),
                "-device", "virtio-blk-pci,drive=" + DATA_NODE + ",id=" + DATA_DEVICE,
                "-chardev", "socket,id=qmp0,path=" + dir.resolve("qmp.sock") + ",server=on,wait=off",
                "-mon", "chardev=qmp0,mode=control",
                "-chardev", "socket,id=qmp2,path=" + dir.resolve("qmp2.sock") + ",server=on,wait=off",
                "-mon", "chardev=qmp2,mode=control",
                "-device", "virtio-serial-pci,id=vser0",
                "-chardev", "socket,id=" + AGENT_CHARDEV + ",path=" + dir.resolve("qga.sock") + ",server=on,wait=off",
                "-device", "virtserialport,bus=vser0.0,chardev=" + AGENT_CHARDEV + ",name=org.qemu.guest_agent.0",
                "-serial", "file:" + dir.resolve("console.log")));
        long start = System.nanoTime();
        Process qemu;
        try {
            qemu = new ProcessBuilder(cmd)
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("qemu.log").toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start qemu-system-x86_64 (is qemu-system-x86 installed?): "
                    + e.getMessage(), e);
        }
        TestGuest g = new TestGuest(dir, qemu);
        try {
            long deadline = start + BOOT_TIMEOUT.toNanos();
            g.waitForAgentPort(deadline);
            g.waitForPing(deadline);
            g.bootTime = Duration.ofNanos(System.nanoTime() - start);
            return g;
        } catch (RuntimeException e) {
            String diag = g.diagnostics();
            g.close();
            throw new IllegalStateException(e.getMessage() + "\n" + diag, e);
        }
    }

    public Path workDir() {
        return workDir;
    }

    public Path qmpSocket() {
        return workDir.resolve("qmp.sock");
    }

    public Path qmpSocket2() {
        return workDir.resolve("qmp2.sock");
    }

    public Path agentSocket() {
        return workDir.resolve("qga.sock");
    }

    /** The qcow2 image of the guest's ext4 data disk (QEMU node {@value #DATA_NODE}). */
    public Path dataImage() {
        return workDir.resolve("data.qcow2");
    }

    public Path consoleLog() {
        return workDir.resolve("console.log");
    }

    /** From QEMU start until the agent answered guest-ping. */
    public Duration bootTime() {
        return bootTime;
    }

    public boolean isRunning() {
        return qemu.isAlive();
    }

    /** Reads a whole guest file through the agent (refused while the guest is frozen). */
    public String readGuestFile(String path) throws IOException {
        GuestAgentClient ga = GuestAgentClient.connect(agentSocket(), AGENT_TIMEOUT);
        try {
            JsonNode handle = ga.execute("guest-file-open", Map.of("path", path, "mode", "r"), AGENT_TIMEOUT);
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            try {
                while (true) {
                    JsonNode r = ga.execute("guest-file-read",
                            Map.of("handle", handle.asLong(), "count", 1 << 20), AGENT_TIMEOUT);
                    buf.write(Base64.getDecoder().decode(r.path("buf-b64").asText("")));
                    if (r.path("eof").asBoolean(false) || r.path("count").asInt(0) == 0) {
                        break;
                    }
                }
            } finally {
                ga.execute("guest-file-close", Map.of("handle", handle.asLong()), AGENT_TIMEOUT);
            }
            return buf.toString(StandardCharsets.UTF_8);
        } finally {
            closeQuietly(ga);
        }
    }

    /** Runs a program in the guest through the agent and returns its exit code. */
    public int exec(String... argv) throws IOException {
        return execWithOutput(argv).exitCode();
    }

    /** Result of {@link #execWithOutput}; {@code exitCode} is 128+signal if killed by a signal. */
    public record ExecResult(int exitCode, String stdout, String stderr) {
    }

    /** Runs a program in the guest through the agent (waits up to 60 s) and returns its output. */
    public ExecResult execWithOutput(String... argv) throws IOException {
        if (argv.length == 0) {
            throw new IllegalArgumentException("argv is empty");
        }
        Map<String, Object> args = new LinkedHashMap<>();
        args.put("path", argv[0]);
        args.put("arg", Arrays.asList(argv).subList(1, argv.length));
        args.put("capture-output", true);
        GuestAgentClient ga = GuestAgentClient.connect(agentSocket(), AGENT_TIMEOUT);
        try {
            long pid = ga.execute("guest-exec", args, AGENT_TIMEOUT).path("pid").asLong();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (true) {
                JsonNode st = ga.execute("guest-exec-status", Map.of("pid", pid), AGENT_TIMEOUT);
                if (st.path("exited").asBoolean(false)) {
                    int code = st.has("exitcode") ? st.get("exitcode").asInt()
                            : 128 + st.path("signal").asInt(0);
                    return new ExecResult(code, decode(st.path("out-data")), decode(st.path("err-data")));
                }
                if (System.nanoTime() > deadline) {
                    throw new IOException("guest command did not finish within 60 s: " + Arrays.toString(argv));
                }
                sleep(Duration.ofMillis(100));
            }
        } finally {
            closeQuietly(ga);
        }
    }

    /** Quits QEMU (QMP quit, then destroys the process after 5 s). Leaves the work folder. */
    @Override
    public void close() {
        if (qemu.isAlive()) {
            for (Path sock : List.of(qmpSocket(), qmpSocket2())) {
                QmpClient c = null;
                try {
                    c = QmpClient.connect(sock, Duration.ofSeconds(2));
                    c.execute("quit");
                    break;
                } catch (IOException | RuntimeException e) {
                    // busy, or QEMU closed the socket while quitting: try the other, then destroy
                } finally {
                    closeQuietly(c);
                }
            }
        }
        try {
            if (!qemu.waitFor(5, TimeUnit.SECONDS)) {
                qemu.destroy();
                if (!qemu.waitFor(5, TimeUnit.SECONDS)) {
                    qemu.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            }
        } catch (InterruptedException e) {
            qemu.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    // --- boot steps ----------------------------------------------------------------------

    /** Waits until QMP shows the agent chardev's frontend (qemu-ga) open. */
    private void waitForAgentPort(long deadline) {
        String last = "no QMP connection";
        while (true) {
            checkAlive();
            QmpClient c = null;
            try {
                c = QmpClient.connect(qmpSocket(), Duration.ofSeconds(5));
                while (true) {
                    JsonNode chardevs = c.execute("query-chardev");
                    for (JsonNode ch : chardevs) {
                        if (AGENT_CHARDEV.equals(ch.path("label").asText())
                                && ch.path("frontend-open").asBoolean(false)) {
                            return;
                        }
                    }
                    last = "agent chardev " + AGENT_CHARDEV + " not frontend-open";
                    checkDeadline(deadline, last);
                    checkAlive();
                    sleep(POLL);
                }
            } catch (IOException e) {
                last = "QMP: " + e.getMessage();
            } finally {
                closeQuietly(c);
            }
            checkDeadline(deadline, last);
            sleep(POLL);
        }
    }

    private void waitForPing(long deadline) {
        String last = "";
        while (true) {
            checkAlive();
            long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
            Duration t = Duration.ofMillis(Math.min(left, 10_000));
            GuestAgentClient ga = null;
            try {
                ga = GuestAgentClient.connect(agentSocket(), t);
                ga.ping(t);
                return;
            } catch (IOException e) {
                last = "guest agent: " + e.getMessage();
            } finally {
                closeQuietly(ga); // the agent serves one client at a time
            }
            checkDeadline(deadline, last);
            sleep(POLL);
        }
    }

    private void checkAlive() {
        if (!qemu.isAlive()) {
            throw new IllegalStateException("QEMU exited with status " + qemu.exitValue() + " while booting the test guest");
        }
    }

    private static void checkDeadline(long deadline, String last) {
        if (System.nanoTime() > deadline) {
            throw new IllegalStateException("test guest agent not ready within " + BOOT_TIMEOUT + " (" + last + ")");
        }
    }

    private String diagnostics() {
        return "work folder " + workDir + "\n--- qemu.log ---\n" + tail(workDir.resolve("qemu.log"), 2000)
                + "\n--- console.log ---\n" + tail(consoleLog(), 4000);
    }

    // --- helpers -------------------------------------------------------------------------

    private static void createDataDisk(Path dir) {
        Path raw = dir.resolve("data.raw");
        Path qcow2 = dir.resolve("data.qcow2");
        try {
            Files.deleteIfExists(qcow2);
            try (RandomAccessFile f = new RandomAccessFile(raw.toFile(), "rw")) {
                f.setLength(0);
                f.setLength(DATA_DISK_BYTES);
            }
            run(List.of(tool("mkfs.ext4"), "-q", "-F", raw.toString()));
            run(List.of(tool("qemu-img"), "convert", "-f", "raw", "-O", "qcow2", raw.toString(), qcow2.toString()));
            Files.delete(raw);
        } catch (IOException e) {
            throw new IllegalStateException("cannot create the data disk in " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Finds a host tool on PATH or in the sbin folders (often not on a user's PATH). */
    private static String tool(String name) {
        List<String> dirs = new ArrayList<>(Arrays.asList(System.getenv().getOrDefault("PATH", "").split(":")));
        dirs.addAll(List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin"));
        for (String d : dirs) {
            if (!d.isEmpty() && Files.isExecutable(Paths.get(d, name))) {
                return Paths.get(d, name).toString();
            }
        }
        throw new IllegalStateException("host tool " + name + " not found (PATH, /usr/sbin, /sbin)");
    }

    private static void run(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("timed out: " + String.join(" ", cmd));
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: " + String.join(" ", cmd), e);
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException("failed (exit " + p.exitValue() + "): " + String.join(" ", cmd) + "\n"
                    + new String(out, StandardCharsets.UTF_8));
        }
    }

    private static Path findModuleDir() {
        for (Path d : List.of(Paths.get(""), Paths.get("engine"), Paths.get("../engine"))) {
            if (Files.isRegularFile(d.resolve(SCRIPT))) {
                return d;
            }
        }
        throw new IllegalStateException("cannot find " + SCRIPT + " from " + Paths.get("").toAbsolutePath()
                + " (tests run in the engine or node-agent module folder)");
    }

    private static void closeQuietly(QmpClient c) {
        try {
            if (c != null) {
                c.close();
            }
        } catch (Exception e) {
            // ignored
        }
    }

    private static void closeQuietly(GuestAgentClient c) {
        try {
            if (c != null) {
                c.close();
            }
        } catch (Exception e) {
            // ignored
        }
    }

    private static String decode(JsonNode b64) {
        return b64.isMissingNode() || b64.isNull() ? ""
                : new String(Base64.getDecoder().decode(b64.asText()), StandardCharsets.UTF_8);
    }

    private static String tail(Path file, int maxChars) {
        try {
            String s = Files.readString(file, StandardCharsets.ISO_8859_1);
            return s.length() <= maxChars ? s : "..." + s.substring(s.length() - maxChars);
        } catch (IOException e) {
            return "(" + file + " unreadable: " + e.getMessage() + ")";
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
