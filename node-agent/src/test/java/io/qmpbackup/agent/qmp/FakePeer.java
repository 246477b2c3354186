package io.qmpbackup.agent.qmp;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A scripted peer on a UNIX socket, for faults real QEMU cannot be made to produce on demand:
 * replies out of order, malformed JSON, a peer that hangs up mid-command.
 */
final class FakePeer implements AutoCloseable {
    private final ServerSocketChannel server;
    private SocketChannel client;
    private BufferedReader reader;

    FakePeer(Path socket) throws IOException {
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
    }

    void accept() throws IOException {
        client = server.accept();
        reader = new BufferedReader(new InputStreamReader(Channels.newInputStream(client), StandardCharsets.UTF_8));
    }

    String readLine() throws IOException {
        return reader.readLine();
    }

    void send(String line) throws IOException {
        ByteBuffer b = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            client.write(b);
        }
    }

    void sendBytes(byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            client.write(b);
        }
    }

    void hangUp() throws IOException {
        client.close();
    }

    /** Runs the peer's script on its own thread; failures surface on {@link #join()}. */
    static final class Script {
        private final BlockingQueue<Throwable> errors = new LinkedBlockingQueue<>();
        private final Thread thread;

        Script(ThrowingRunnable body) {
            thread = new Thread(() -> {
                try {
                    body.run();
                } catch (Throwable t) {
                    errors.add(t);
                }
            }, "fake-peer");
            thread.start();
        }

        void join() throws Throwable {
            thread.join(TimeUnit.SECONDS.toMillis(10));
            Throwable t = errors.poll();
            if (t != null) {
                throw t;
            }
        }
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }

    @Override
    public void close() throws IOException {
        if (client != null) {
            client.close();
        }
        server.close();
    }
}
