package io.qmpbackup.engine.restore;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpbackup.engine.backup.BackupLog;
import io.qmpbackup.engine.repository.Holds;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A read-only NBD export of a restore point, served by QEMU's own NBD server
 * ({@code qemu-storage-daemon}, Debian's qemu-system-common): the chain opened read-only as one
 * block node, exported with {@code writable=off}, so a client reads exactly the point and no
 * write can reach a backup file. No nbd kernel module is needed to serve it.
 *
 * <p>The daemon runs under {@code setpriv --pdeathsig} so it dies with the thread that started
 * it: a killed caller leaves no daemon behind. While it runs, a hold keeps retention and in-place
 * restores off the point's files; the hold is in force only while the daemon lives.
 */
public final class PointExport implements AutoCloseable {
    private static final String QSD = System.getenv().getOrDefault("QMPBACKUP_QEMU_STORAGE_DAEMON",
            "qemu-storage-daemon");
    private static final Duration READY_WAIT = Duration.ofSeconds(30);

    /** Where the export listens: a UNIX socket, or a TCP address. */
    public record Listen(Path socket, String host, int port) {
        public static Listen unix(Path socket) {
            return new Listen(socket.toAbsolutePath().normalize(), null, 0);
        }

        public static Listen tcp(String host, int port) {
            return new Listen(null, host, port);
        }

        String uri(String name) {
            return socket != null ? "nbd+unix:///" + name + "?socket=" + socket
                    : "nbd://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port + "/" + name;
        }
    }

    private final Process daemon;
    private final Holds.Hold hold;
    private final Listen listen;
    private final Path output;
    private final String uri;
    private final List<ChainFile> point;

    private PointExport(Process daemon, Holds.Hold hold, Listen listen, Path output, String uri,
            List<ChainFile> point) {
        this.daemon = daemon;
        this.hold = hold;
        this.listen = listen;
        this.output = output;
        this.uri = uri;
        this.point = point;
    }

    /** The NBD URI a client opens (qemu-img, qemu-io, qemu-nbd -c, nbdfuse). */
    public String uri() {
        return uri;
    }

    public List<ChainFile> point() {
        return point;
    }

    public long pid() {
        return daemon.pid();
    }

    public boolean alive() {
        return daemon.isAlive();
    }

    /**
     * Starts the export and returns once it accepts connections. Call it from a thread that lives
     * as long as the export: the daemon gets SIGTERM when that thread ends.
     */
    public static PointExport start(BackupChain chain, String until, Listen listen, BackupLog log)
            throws RestoreException {
        List<ChainFile> point = chain.pointUpTo(until);
        if (listen.socket() != null && Files.exists(listen.socket(), LinkOption.NOFOLLOW_LINKS)) {
            throw new RestoreException("export socket " + listen.socket() + " already exists (another export, or"
                    + " one that did not end cleanly): remove it or pick another --socket");
        }
        String name = chain.disk();
        List<String> cmd = new ArrayList<>(List.of("setpriv", "--pdeathsig", "TERM", QSD,
                "--blockdev", blockdev(point).toString(),
                "--nbd-server", listen.socket() != null ? "addr.type=unix,addr.path=" + listen.socket()
                        : "addr.type=inet,addr.host=" + listen.host() + ",addr.port=" + listen.port(),
                "--export", "type=nbd,id=point,node-name=point,name=" + name + ",writable=off"));
        Process p;
        Path output;
        try {
            // its messages go to a file nobody has to drain: a full pipe would stall the daemon
            output = Files.createTempFile("qmpbackup-export-", ".log");
            p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
        } catch (IOException e) {
            throw new RestoreException("cannot run " + QSD + " (" + e.getMessage() + "): install"
                    + " qemu-system-common (apt-get install qemu-system-common), and util-linux for setpriv", e);
        }
        Holds.Hold hold = null;
        try {
            awaitReady(p, listen, output);
            hold = chain.chainFolder() == null ? null : Holds.placeProcess(chain.chainFolder(), chain.disk(),
                    point.stream().map(ChainFile::name).toList(), p.toHandle());
        } catch (IOException | RestoreException e) {
            stop(p, listen, output);
            throw e instanceof RestoreException r ? r : new RestoreException(e.getMessage(), e);
        }
        PointExport x = new PointExport(p, hold, listen, output, listen.uri(name), point);
        log.info("exporting " + point.get(point.size() - 1).name() + " of " + chain.dir() + " read-only at "
                + x.uri() + " (pid " + p.pid() + ")");
        return x;
    }

    /** The point as one read-only node named {@code point}. */
    static ObjectNode blockdev(List<ChainFile> point) {
        return ChainNodes.of(point, true).put("node-name", "point");
    }

    private static void awaitReady(Process p, Listen listen, Path output) throws RestoreException {
        Instant deadline = Instant.now().plus(READY_WAIT);
        while (Instant.now().isBefore(deadline)) {
            if (!p.isAlive()) {
                String out;
                try {
                    out = Files.readString(output, StandardCharsets.UTF_8).trim();
                } catch (IOException e) {
                    out = e.getMessage();
                }
                throw new RestoreException("the export did not start: " + QSD + " exited " + p.exitValue() + ": "
                        + out);
            }
            if (accepts(listen)) {
                return;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new RestoreException("interrupted while starting the export", e);
            }
        }
        throw new RestoreException("the export did not accept connections within " + READY_WAIT.toSeconds() + " s");
    }

    private static boolean accepts(Listen listen) {
        if (listen.socket() != null) {
            if (!Files.exists(listen.socket())) {
                return false;
            }
            try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                return ch.connect(UnixDomainSocketAddress.of(listen.socket()));
            } catch (IOException e) {
                return false;
            }
        }
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(listen.host(), listen.port()), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Waits until the daemon ends by itself (it never does unless killed) or {@code max} passes. */
    public boolean awaitEnd(Duration max) throws InterruptedException {
        return daemon.waitFor(max.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Ends the export: the daemon stopped, its socket removed, the hold released. */
    @Override
    public void close() {
        stop(daemon, listen, output);
        try {
            if (hold != null) {
                hold.release();
            }
        } catch (IOException e) {
            // the hold is out of force once the daemon is gone; the next prune deletes the record
        }
    }

    private static void stop(Process p, Listen listen, Path output) {
        p.destroy();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        if (listen.socket() != null) {
            try {
                Files.deleteIfExists(listen.socket());
            } catch (IOException e) {
                // qemu-storage-daemon removes its own socket on SIGTERM; this is the safety net
            }
        }
        try {
            Files.deleteIfExists(output);
        } catch (IOException e) {
            // a temporary file; the system's tmp cleaner gets it
        }
    }
}
