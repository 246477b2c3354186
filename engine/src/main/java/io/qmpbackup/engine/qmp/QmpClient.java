package io.qmpbackup.engine.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * QMP session over a UNIX socket: greeting, {@code qmp_capabilities}, numbered commands with a
 * pending-reply map, events delivered to listeners, and every pending call failed when the
 * connection drops.
 *
 * <p>Register an event listener before sending the command whose events it waits for.
 */
public final class QmpClient implements AutoCloseable {
    /** How long a command may take before the caller gives up on QEMU. */
    public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofMinutes(5);

    private final Map<String, CompletableFuture<JsonNode>> pending = new ConcurrentHashMap<>();
    private final Map<String, String> pendingCommand = new ConcurrentHashMap<>();
    private final CopyOnWriteArrayList<Consumer<QmpEvent>> listeners = new CopyOnWriteArrayList<>();
    private final CompletableFuture<JsonNode> greeting = new CompletableFuture<>();
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    private final AtomicLong ids = new AtomicLong();
    private final JsonLineChannel channel;
    private volatile Duration commandTimeout = DEFAULT_COMMAND_TIMEOUT;

    private QmpClient(Path socket, boolean fdPassing) throws QmpException {
        this.channel = JsonLineChannel.open(socket, fdPassing, this::onMessage, this::onClose);
    }

    /**
     * Connects, waits for the greeting and negotiates capabilities. A socket that accepts but
     * never greets is almost always held by another client: QMP sockets serve one at a time.
     */
    public static QmpClient connect(Path socket, Duration timeout) throws QmpException {
        return connect(socket, timeout, false);
    }

    /** As {@link #connect(Path, Duration)}; {@code fdPassing} opens a connection {@link #addFd} can use. */
    public static QmpClient connect(Path socket, Duration timeout, boolean fdPassing) throws QmpException {
        QmpClient c = new QmpClient(socket, fdPassing);
        return JsonLineChannel.handshake(c, () -> c.greet(timeout), c::close);
    }

    private void greet(Duration timeout) throws QmpException {
        Path socket = socket();
        try {
            greeting.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new QmpTimeoutException("QMP socket " + socket + " accepted the connection but sent no greeting within "
                    + timeout.toSeconds() + "s: another client probably holds it (a QMP socket serves one client at"
                    + " a time); give the backup its own socket (-qmp unix:PATH,server=on,wait=off)");
        } catch (ExecutionException e) {
            throw unwrap(e, "waiting for the QMP greeting on " + socket);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QmpException("interrupted while connecting to " + socket, e);
        }
        execute("qmp_capabilities");
    }

    public Path socket() {
        return channel.socket();
    }

    /** QEMU's version from the greeting: major, minor, micro. */
    public int[] version() {
        JsonNode q = greeting.getNow(null).path("QMP").path("version").path("qemu");
        return new int[] {q.path("major").asInt(), q.path("minor").asInt(), q.path("micro").asInt()};
    }

    public void setCommandTimeout(Duration timeout) {
        this.commandTimeout = timeout;
    }

    /** Completes (normally) when the connection is gone. */
    public CompletableFuture<Void> closedFuture() {
        return closed;
    }

    public boolean isConnected() {
        return !closed.isDone();
    }

    /** Adds a listener; close the returned handle to remove it. */
    public AutoCloseable onEvent(Consumer<QmpEvent> listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    public JsonNode execute(String command) throws QmpException {
        return execute(command, (ObjectNode) null);
    }

    public JsonNode execute(String command, Map<String, Object> arguments) throws QmpException {
        return execute(command, arguments == null ? null : (ObjectNode) Json.MAPPER.valueToTree(arguments));
    }

    /** Sends a command and waits for its reply; returns QEMU's {@code return} value. */
    public JsonNode execute(String command, ObjectNode arguments) throws QmpException {
        return await(send(command, arguments), command);
    }

    private JsonNode await(CompletableFuture<JsonNode> reply, String command) throws QmpException {
        try {
            return reply.get(commandTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new QmpTimeoutException("QEMU did not answer " + command + " within " + commandTimeout.toSeconds()
                    + "s on " + socket());
        } catch (ExecutionException e) {
            throw unwrap(e, command);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QmpException("interrupted while waiting for " + command, e);
        }
    }

    /**
     * Hands QEMU an open file: {@code add-fd} with the descriptor attached. QEMU keeps its own copy
     * in a new fdset, which {@code /dev/fdset/<id>} names wherever QEMU takes a file name.
     *
     * @param opaque a tag QEMU shows in query-fdsets (for finding leftovers)
     * @return the fdset id
     */
    public long addFd(java.io.FileDescriptor fd, String opaque) throws QmpException {
        CompletableFuture<JsonNode> reply = send("add-fd", Json.obj("opaque", opaque), fd);
        return await(reply, "add-fd").path("fdset-id").asLong();
    }

    /** Sends a command without waiting; the future completes with the reply or fails typed. */
    public CompletableFuture<JsonNode> send(String command, ObjectNode arguments) throws QmpException {
        return send(command, arguments, null);
    }

    private CompletableFuture<JsonNode> send(String command, ObjectNode arguments, java.io.FileDescriptor fd)
            throws QmpException {
        String id = "q" + ids.incrementAndGet();
        CompletableFuture<JsonNode> reply = new CompletableFuture<>();
        pending.put(id, reply);
        pendingCommand.put(id, command);
        if (closed.isDone()) {
            failPending(new QmpDisconnectedException("connection to " + socket() + " is closed"));
        }
        ObjectNode msg = Json.obj("execute", command, "id", id);
        if (arguments != null && !arguments.isEmpty()) {
            msg.set("arguments", arguments);
        }
        try {
            if (fd == null) {
                channel.send(msg);
            } else {
                channel.send(msg, fd);
            }
        } catch (QmpException e) {
            pending.remove(id);
            pendingCommand.remove(id);
            throw e;
        }
        return reply;
    }

    /** Runs an HMP command through {@code human-monitor-command}; returns its text output. */
    public String hmp(String commandLine) throws QmpException {
        return execute("human-monitor-command", Json.obj("command-line", commandLine)).asText();
    }

    private void onMessage(JsonNode msg) {
        if (msg.has("QMP")) {
            greeting.complete(msg);
        } else if (msg.has("event")) {
            QmpEvent ev = new QmpEvent(msg.get("event").asText(), msg.get("data"));
            for (Consumer<QmpEvent> l : listeners) {
                try {
                    l.accept(ev);
                } catch (RuntimeException ignored) {
                    // one faulty listener must not starve the others
                }
            }
        } else if (msg.has("id")) {
            String id = msg.get("id").asText();
            CompletableFuture<JsonNode> f = pending.remove(id);
            String command = pendingCommand.remove(id);
            if (f == null) {
                return;
            }
            if (msg.has("error")) {
                JsonNode err = msg.get("error");
                f.completeExceptionally(new QmpCommandException(command, err.path("class").asText("GenericError"),
                        err.path("desc").asText("")));
            } else {
                f.complete(msg.has("return") ? msg.get("return") : Json.object());
            }
        } else if (msg.has("x-malformed")) {
            failPending(new QmpException("QEMU sent malformed JSON on " + socket() + ": "
                    + abbreviate(msg.get("x-malformed").asText())));
        }
    }

    private void onClose(Throwable cause) {
        QmpDisconnectedException e = new QmpDisconnectedException("connection to QEMU on " + socket()
                + " closed" + (cause == null ? "" : ": " + JsonLineChannel.describe(cause))
                + " (did the VM quit or get killed?)", cause);
        greeting.completeExceptionally(e);
        failPending(e);
        closed.complete(null);
    }

    private void failPending(QmpException e) {
        for (String id : pending.keySet()) {
            CompletableFuture<JsonNode> f = pending.remove(id);
            pendingCommand.remove(id);
            if (f != null) {
                f.completeExceptionally(e);
            }
        }
    }

    private static QmpException unwrap(ExecutionException e, String what) {
        if (e.getCause() instanceof QmpException q) {
            return q;
        }
        return new QmpException(what + ": " + e.getCause(), e.getCause());
    }

    private static String abbreviate(String s) {
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }

    @Override
    public void close() {
        channel.close();
    }
}
