package io.qmpbackup.engine.qmp;

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
public final class FakePeer implements AutoCloseable {
    private final ServerSocketChannel server;
    private SocketChannel client;
    private BufferedReader reader;

    public FakePeer(Path socket) throws IOException {
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
    public static final class Script {
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

        public void join() throws Throwable {
            thread.join(TimeUnit.SECONDS.toMillis(10));
            Throwable t = errors.poll();
            if (t != null) {
                throw t;
            }
        }
    }

    /** The greeting of a QEMU 7.2.2. */
    public static final String GREETING = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 2,"
            + " \"major\": 7}, \"package\": \"\"}, \"capabilities\": [\"oob\"]}}";

    /**
     * Plays a QEMU on its own thread: greets, accepts capabilities, then answers every command
     * with {@code answer}'s {@code return} value (or, when it returns a string starting with
     * "error:", an error with that description) and records each command, in order, with its
     * arguments. {@code after} runs after each reply (to send events). Ends when the client hangs up.
     */
    public static Script serve(FakePeer peer, java.util.function.Function<com.fasterxml.jackson.databind.JsonNode,
            Object> answer, java.util.List<com.fasterxml.jackson.databind.JsonNode> commands,
            java.util.function.Consumer<com.fasterxml.jackson.databind.JsonNode> after) {
        return new Script(() -> {
            peer.accept();
            peer.send(GREETING);
            String line;
            while ((line = peer.readLine()) != null) {
                com.fasterxml.jackson.databind.JsonNode cmd = Json.MAPPER.readTree(line);
                String id = cmd.path("id").asText();
                if (!cmd.path("execute").asText().equals("qmp_capabilities")) {
                    commands.add(cmd);
                }
                Object r = cmd.path("execute").asText().equals("qmp_capabilities") ? Json.object() : answer.apply(cmd);
                if (r instanceof String e && e.startsWith("error:")) {
                    peer.send(Json.obj("error", Json.obj("class", "GenericError", "desc", e.substring(6)), "id", id)
                            .toString());
                } else {
                    peer.send(Json.obj("return", r == null ? Json.object() : r, "id", id).toString());
                }
                if (after != null) {
                    after.accept(cmd);
                }
            }
        });
    }

    public void event(String name, Object data) throws IOException {
        send(Json.obj("event", name, "data", data, "timestamp", Json.obj("seconds", 1, "microseconds", 0)).toString());
    }

    public interface ThrowingRunnable {
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
