package io.qmpbackup.engine.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.newsclub.net.unix.AFUNIXDatagramChannel;
import org.newsclub.net.unix.AFUNIXSocketAddress;

/**
 * qmpbackup's --syslog: every log line also to the host's syslog, as datagrams on its socket
 * ({@code /dev/log}; QMPBACKUP_SYSLOG_SOCKET names another), facility user, tagged with the tool's
 * name and pid. The JDK has no datagram UNIX sockets; junixsocket (already here for fd passing)
 * has. A syslog that is not there is reported once on stderr; one that does not keep up loses
 * lines (the socket is non-blocking: a full queue of a stuck syslog daemon never stalls a backup).
 */
final class Syslog implements AutoCloseable {
    static final String SOCKET_ENV = "QMPBACKUP_SYSLOG_SOCKET";
    private static final int USER = 1;

    private final String tag;
    private final Path socket;
    private AFUNIXDatagramChannel out;
    private int dropped;
    private boolean failed;

    Syslog(String tag) {
        this.tag = tag + "[" + ProcessHandle.current().pid() + "]";
        String env = System.getenv(SOCKET_ENV);
        this.socket = Path.of(env == null || env.isBlank() ? "/dev/log" : env);
    }

    /** {@code severity}: 3 error, 4 warning, 6 info, 7 debug (RFC 5424's numbers). */
    synchronized void send(int severity, String message) {
        if (failed) {
            return;
        }
        byte[] line = ("<" + (USER * 8 + severity) + ">" + tag + ": " + message).getBytes(StandardCharsets.UTF_8);
        try {
            if (out == null) {
                out = AFUNIXDatagramChannel.open();
                out.connect(AFUNIXSocketAddress.of(socket));
                out.configureBlocking(false);
            }
            if (out.write(ByteBuffer.wrap(line)) == 0 && dropped++ == 0) {
                System.err.println(tag + ": syslog at " + socket + " does not keep up: some log lines go only to"
                        + " the console and --logfile");
            }
        } catch (IOException | RuntimeException | LinkageError e) {
            failed = true;
            System.err.println(tag + ": cannot log to syslog at " + socket + ": " + e.getMessage()
                    + " (is a syslog daemon running?); going on without it");
        }
    }

    @Override
    public synchronized void close() {
        if (out != null) {
            try {
                out.close();
            } catch (IOException ignored) {
                // nothing left to send
            }
        }
    }
}
