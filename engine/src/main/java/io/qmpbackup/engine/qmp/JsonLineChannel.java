package io.qmpbackup.engine.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Framing layer shared by the QMP and guest-agent clients: one JSON object per line over a
 * UNIX stream socket. A reader thread parses every complete line and hands it to the
 * consumer; when the peer goes away the close handler runs once with the cause.
 *
 * <p>Uses the JDK's own UNIX-domain {@link SocketChannel} (Java 16+): it needs no native
 * library, which keeps the CLI a plain {@code java -cp} process. A channel opened for fd passing
 * uses junixsocket's channel instead (a native library it unpacks at first use): only it can
 * send a file descriptor with a message (SCM_RIGHTS), which QMP's {@code add-fd} takes.
 *
 * <p>A byte 0xFF on the wire (the guest agent's sync delimiter) discards any partial line
 * received before it.
 */
final class JsonLineChannel implements AutoCloseable {
    private final Path socket;
    private final SocketChannel channel;
    private final Object writeLock = new Object();
    private final Thread reader;
    private volatile boolean closing;

    private JsonLineChannel(Path socket, SocketChannel channel, Consumer<JsonNode> onMessage,
            Consumer<Throwable> onClose) {
        this.socket = socket;
        this.channel = channel;
        this.reader = new Thread(() -> readLoop(onMessage, onClose), "json-line-reader " + socket.getFileName());
        this.reader.setDaemon(true);
    }

    /** A client's first exchange on a new connection. */
    interface Handshake {
        void run() throws QmpException;
    }

    /** Runs a new client's handshake; a failed one closes it, so no half-open connection is left. */
    static <C> C handshake(C client, Handshake handshake, Runnable close) throws QmpException {
        try {
            handshake.run();
            return client;
        } catch (QmpException e) {
            close.run();
            throw e;
        }
    }

    static JsonLineChannel open(Path socket, Consumer<JsonNode> onMessage, Consumer<Throwable> onClose)
            throws QmpException {
        return open(socket, false, onMessage, onClose);
    }

    static JsonLineChannel open(Path socket, boolean fdPassing, Consumer<JsonNode> onMessage,
            Consumer<Throwable> onClose) throws QmpException {
        InetSocketAddress tcp = tcpAddress(socket);
        if (tcp != null) {
            if (fdPassing) {
                throw new QmpException("cannot pass file descriptors over the TCP endpoint " + socket + ": give the"
                        + " VM's QMP UNIX socket (fd passing needs one)");
            }
            return openTcp(socket, tcp, onMessage, onClose);
        }
        SocketChannel ch;
        try {
            ch = fdPassing ? org.newsclub.net.unix.AFUNIXSocketChannel.open()
                    : SocketChannel.open(StandardProtocolFamily.UNIX);
        } catch (IOException | LinkageError e) {
            throw new QmpException("cannot create a UNIX socket" + (fdPassing ? " that passes file descriptors"
                    + " (junixsocket's native library)" : "") + ": " + e.getMessage(), e);
        }
        try {
            ch.connect(fdPassing ? org.newsclub.net.unix.AFUNIXSocketAddress.of(socket)
                    : UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            closeQuietly(ch);
            throw new QmpException("cannot connect to socket " + socket + ": " + describe(e)
                    + " (is the VM running and is this its socket?)", e);
        }
        JsonLineChannel c = new JsonLineChannel(socket, ch, onMessage, onClose);
        c.reader.start();
        return c;
    }

    /**
     * A QMP endpoint given as {@code tcp:HOST:PORT} (qmpbackup's --socket form for QEMU's
     * {@code -qmp tcp:HOST:PORT,server=on}), or null for a UNIX socket path. Endpoints travel as
     * a Path through the engine (the name is all that is kept of them), so the form is read here,
     * where the connection is made.
     */
    static InetSocketAddress tcpAddress(Path socket) throws QmpException {
        String s = socket.toString();
        if (!s.startsWith("tcp:")) {
            return null;
        }
        int colon = s.lastIndexOf(':');
        String host = s.substring(4, colon < 4 ? 4 : colon);
        String port = colon < 4 ? "" : s.substring(colon + 1);
        if (host.isEmpty() || !port.matches("\\d{1,5}") || Integer.parseInt(port) > 65535) {
            throw new QmpException("QMP endpoint " + s + " is not tcp:HOST:PORT (for example tcp:127.0.0.1:4444)");
        }
        return new InetSocketAddress(host.startsWith("[") ? host.substring(1, host.length() - 1) : host,
                Integer.parseInt(port));
    }

    private static JsonLineChannel openTcp(Path name, InetSocketAddress address, Consumer<JsonNode> onMessage,
            Consumer<Throwable> onClose) throws QmpException {
        SocketChannel ch = null;
        try {
            ch = SocketChannel.open();
            ch.connect(address);
        } catch (IOException e) {
            closeQuietly(ch);
            throw new QmpException("cannot connect to QMP endpoint " + name + ": " + describe(e) + " (is the VM"
                    + " running with -qmp tcp:HOST:PORT,server=on,wait=off?)", e);
        }
        JsonLineChannel c = new JsonLineChannel(name, ch, onMessage, onClose);
        c.reader.start();
        return c;
    }

    Path socket() {
        return socket;
    }

    /** Writes the message and its newline in one call: QEMU acts as soon as an object is complete. */
    void send(JsonNode message) throws QmpException {
        byte[] body;
        try {
            body = Json.MAPPER.writeValueAsBytes(message);
        } catch (IOException e) {
            throw new QmpException("cannot encode " + message, e);
        }
        byte[] line = new byte[body.length + 1];
        System.arraycopy(body, 0, line, 0, body.length);
        line[body.length] = '\n';
        sendRaw(line);
    }

    void sendRaw(byte[] bytes) throws QmpException {
        sendRaw(bytes, null);
    }

    /**
     * Writes the message and its newline with {@code fd} attached (SCM_RIGHTS on the first write).
     * Needs a channel opened for fd passing.
     */
    void send(JsonNode message, java.io.FileDescriptor fd) throws QmpException {
        byte[] body;
        try {
            body = Json.MAPPER.writeValueAsBytes(message);
        } catch (IOException e) {
            throw new QmpException("cannot encode " + message, e);
        }
        byte[] line = java.util.Arrays.copyOf(body, body.length + 1);
        line[body.length] = '\n';
        sendRaw(line, fd);
    }

    private void sendRaw(byte[] bytes, java.io.FileDescriptor fd) throws QmpException {
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        synchronized (writeLock) {
            try {
                if (fd != null) {
                    if (!(channel instanceof org.newsclub.net.unix.AFUNIXSocketChannel af)) {
                        throw new QmpException("the connection to " + socket + " was not opened for fd passing");
                    }
                    af.setOutboundFileDescriptors(fd);
                }
                while (buf.hasRemaining()) {
                    channel.write(buf);
                }
            } catch (IOException e) {
                throw new QmpDisconnectedException("connection to " + socket + " lost while sending: "
                        + describe(e), e);
            }
        }
    }

    private void readLoop(Consumer<JsonNode> onMessage, Consumer<Throwable> onClose) {
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        Throwable cause = null;
        try {
            while (true) {
                buf.clear();
                int n = channel.read(buf);
                if (n < 0) {
                    break;
                }
                buf.flip();
                while (buf.hasRemaining()) {
                    byte b = buf.get();
                    if (b == (byte) 0xFF) {
                        line.reset();
                    } else if (b == '\n') {
                        if (line.size() > 0) {
                            deliver(line.toString(StandardCharsets.UTF_8), onMessage);
                        }
                        line.reset();
                    } else {
                        line.write(b);
                    }
                }
            }
        } catch (IOException e) {
            if (!closing) {
                cause = e;
            }
        } finally {
            closeQuietly(channel);
            onClose.accept(cause);
        }
    }

    private void deliver(String text, Consumer<JsonNode> onMessage) {
        JsonNode node;
        try {
            node = Json.MAPPER.readTree(text);
        } catch (IOException e) {
            // A malformed line is reported to the session as a protocol error object.
            node = Json.obj("x-malformed", text);
        }
        onMessage.accept(node);
    }

    @Override
    public void close() {
        closing = true;
        closeQuietly(channel);
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing left to do with a channel that will not close
        }
    }

    static String describe(Throwable e) {
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m;
    }
}
