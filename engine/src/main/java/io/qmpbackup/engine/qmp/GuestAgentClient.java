package io.qmpbackup.engine.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * QEMU guest agent client. The agent protocol has no command ids and answers in order, and a
 * stale reply can be left over from an earlier client, so every session starts (and every
 * timeout is followed) by {@code guest-sync-delimited}: a 0xFF byte makes the agent reset its
 * parser and the reply's id tells us where the stream is.
 *
 * <p>The agent serves one client at a time: keep a connection only as long as needed.
 */
public final class GuestAgentClient implements AutoCloseable {
    private static final JsonNode CLOSED = Json.obj("x-closed", true);

    private final JsonLineChannel channel;
    private final LinkedBlockingQueue<JsonNode> replies = new LinkedBlockingQueue<>();
    private volatile boolean needSync = true;

    private GuestAgentClient(Path socket) throws QmpException {
        this.channel = JsonLineChannel.open(socket, replies::add, cause -> replies.add(CLOSED));
    }

    /** Connects and synchronises; fails with {@link QmpTimeoutException} when the agent is silent. */
    public static GuestAgentClient connect(Path socket, Duration timeout) throws QmpException {
        GuestAgentClient c = new GuestAgentClient(socket);
        return JsonLineChannel.handshake(c, () -> c.sync(timeout), c::close);
    }

    public Path socket() {
        return channel.socket();
    }

    public void sync(Duration timeout) throws QmpException {
        long id = ThreadLocalRandom.current().nextLong(1, Integer.MAX_VALUE);
        channel.sendRaw(new byte[] {(byte) 0xFF});
        channel.send(Json.obj("execute", "guest-sync-delimited", "arguments", Json.obj("id", id)));
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            JsonNode r = take(deadline, "guest-sync-delimited", timeout);
            if (r.path("return").asLong(-1) == id) {
                needSync = false;
                return;
            }
            // anything else is a stale reply to an earlier client's request: drop it
        }
    }

    public JsonNode execute(String command, Map<String, Object> arguments, Duration timeout) throws QmpException {
        return execute(command, arguments == null ? null : (ObjectNode) Json.MAPPER.valueToTree(arguments), timeout);
    }

    public synchronized JsonNode execute(String command, ObjectNode arguments, Duration timeout) throws QmpException {
        long deadline = System.nanoTime() + timeout.toNanos();
        if (needSync) {
            sync(timeout);
        }
        ObjectNode msg = Json.obj("execute", command);
        if (arguments != null && !arguments.isEmpty()) {
            msg.set("arguments", arguments);
        }
        channel.send(msg);
        JsonNode r = take(deadline, command, timeout);
        if (r.has("error")) {
            JsonNode err = r.get("error");
            throw new QmpCommandException(command, err.path("class").asText("GenericError"), err.path("desc").asText(""));
        }
        return r.has("return") ? r.get("return") : Json.object();
    }

    private JsonNode take(long deadline, String command, Duration timeout) throws QmpException {
        try {
            long left = deadline - System.nanoTime();
            JsonNode r = left <= 0 ? replies.poll() : replies.poll(left, TimeUnit.NANOSECONDS);
            if (r == null) {
                needSync = true;
                throw new QmpTimeoutException("guest agent on " + socket() + " did not answer " + command + " within "
                        + timeout.toMillis() + " ms (agent not running in the guest, or busy with another client)");
            }
            if (r == CLOSED) {
                replies.add(CLOSED);
                throw new QmpDisconnectedException("guest agent connection " + socket() + " closed during " + command);
            }
            return r;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QmpException("interrupted while waiting for the guest agent", e);
        }
    }

    public void ping(Duration timeout) throws QmpException {
        execute("guest-ping", (ObjectNode) null, timeout);
    }

    public JsonNode info(Duration timeout) throws QmpException {
        return execute("guest-info", (ObjectNode) null, timeout);
    }

    /** Freezes all guest filesystems; returns how many were frozen. */
    public int fsfreezeFreeze(Duration timeout) throws QmpException {
        return execute("guest-fsfreeze-freeze", (ObjectNode) null, timeout).asInt();
    }

    /** Thaws all guest filesystems; returns how many were thawed. */
    public int fsfreezeThaw(Duration timeout) throws QmpException {
        return execute("guest-fsfreeze-thaw", (ObjectNode) null, timeout).asInt();
    }

    /** {@code thawed} or {@code frozen}. */
    public String fsfreezeStatus(Duration timeout) throws QmpException {
        return execute("guest-fsfreeze-status", (ObjectNode) null, timeout).asText();
    }

    @Override
    public void close() {
        channel.close();
    }
}
