package io.qmpbackup.engine.qmp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Session behaviour of the QMP client against a scripted peer (faults QEMU does not produce on demand). */
class QmpClientTest {
    private static final String GREETING = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 2, \"major\": 7},"
            + " \"package\": \"\"}, \"capabilities\": [\"oob\"]}}";

    @TempDir
    Path tmp;

    private static String id(String line) throws Exception {
        return Json.MAPPER.readTree(line).path("id").asText();
    }

    private static void handshake(FakePeer peer) throws Exception {
        peer.accept();
        peer.send(GREETING);
        String caps = peer.readLine();
        assertThat(Json.MAPPER.readTree(caps).path("execute").asText()).isEqualTo("qmp_capabilities");
        peer.send("{\"return\": {}, \"id\": \"" + id(caps) + "\"}");
    }

    @Test
    void repliesAreMatchedByIdEventsReachListenersAndErrorsAreTyped() throws Throwable {
        Path sock = tmp.resolve("q.sock");
        try (FakePeer peer = new FakePeer(sock)) {
            FakePeer.Script script = new FakePeer.Script(() -> {
                handshake(peer);
                String first = peer.readLine();
                String second = peer.readLine();
                peer.send("{\"event\": \"JOB_STATUS_CHANGE\", \"data\": {\"id\": \"j1\", \"status\": \"running\"},"
                        + " \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}");
                // answered in reverse order
                peer.send("{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device 'x' not found\"}, \"id\": \""
                        + id(second) + "\"}");
                peer.send("{\"return\": {\"status\": \"running\"}, \"id\": \"" + id(first) + "\"}");
            });
            try (QmpClient c = QmpClient.connect(sock, Duration.ofSeconds(5))) {
                assertThat(c.version()).containsExactly(7, 2, 2);
                List<QmpEvent> events = new CopyOnWriteArrayList<>();
                c.onEvent(events::add);
                CompletableFuture<JsonNode> status = c.send("query-status", null);
                CompletableFuture<JsonNode> del = c.send("blockdev-del", Json.obj("node-name", "x"));
                assertThat(status.get().path("status").asText()).isEqualTo("running");
                assertThatThrownBy(del::get).isInstanceOf(ExecutionException.class)
                        .cause().isInstanceOfSatisfying(QmpCommandException.class, e -> {
                            assertThat(e.errorClass()).isEqualTo("DeviceNotFound");
                            assertThat(e.command()).isEqualTo("blockdev-del");
                            assertThat(e.getMessage()).contains("Device 'x' not found");
                        });
                assertThat(events).singleElement().satisfies(e -> {
                    assertThat(e.name()).isEqualTo("JOB_STATUS_CHANGE");
                    assertThat(e.text("status")).isEqualTo("running");
                });
            }
            script.join();
        }
    }

    @Test
    void everyPendingCallFailsWhenThePeerHangsUp() throws Throwable {
        Path sock = tmp.resolve("q.sock");
        try (FakePeer peer = new FakePeer(sock)) {
            FakePeer.Script script = new FakePeer.Script(() -> {
                handshake(peer);
                peer.readLine();
                peer.readLine();
                peer.hangUp();
            });
            try (QmpClient c = QmpClient.connect(sock, Duration.ofSeconds(5))) {
                CompletableFuture<JsonNode> a = c.send("query-jobs", null);
                CompletableFuture<JsonNode> b = c.send("query-block", null);
                assertThatThrownBy(a::get).cause().isInstanceOf(QmpDisconnectedException.class)
                        .hasMessageContaining("closed");
                assertThatThrownBy(b::get).cause().isInstanceOf(QmpDisconnectedException.class);
                c.closedFuture().get();
                assertThat(c.isConnected()).isFalse();
                assertThatThrownBy(() -> c.execute("query-status")).isInstanceOf(QmpDisconnectedException.class);
            }
            script.join();
        }
    }

    @Test
    void malformedJsonFailsThePendingCall() throws Throwable {
        Path sock = tmp.resolve("q.sock");
        try (FakePeer peer = new FakePeer(sock)) {
            FakePeer.Script script = new FakePeer.Script(() -> {
                handshake(peer);
                peer.readLine();
                peer.send("{\"return\": {\"oops\"");
            });
            try (QmpClient c = QmpClient.connect(sock, Duration.ofSeconds(5))) {
                assertThatThrownBy(() -> c.execute("query-status")).isInstanceOf(QmpException.class)
                        .hasMessageContaining("malformed JSON");
            }
            script.join();
        }
    }

    @Test
    void aSocketThatNeverGreetsIsReportedAsBusy() throws Throwable {
        Path sock = tmp.resolve("q.sock");
        try (FakePeer peer = new FakePeer(sock)) {
            FakePeer.Script script = new FakePeer.Script(peer::accept);
            assertThatThrownBy(() -> QmpClient.connect(sock, Duration.ofMillis(300)))
                    .isInstanceOf(QmpTimeoutException.class)
                    .hasMessageContaining("another client probably holds it");
            script.join();
        }
    }

    @Test
    void aMissingSocketNamesThePath() {
        Path sock = tmp.resolve("none.sock");
        assertThatThrownBy(() -> QmpClient.connect(sock, Duration.ofSeconds(1)))
                .isInstanceOf(QmpException.class).hasMessageContaining(sock.toString());
    }

    @Test
    void guestAgentSyncSkipsStaleRepliesAndTimesOutOnSilence() throws Throwable {
        Path sock = tmp.resolve("qga.sock");
        try (FakePeer peer = new FakePeer(sock)) {
            FakePeer.Script script = new FakePeer.Script(() -> {
                peer.accept();
                String sync = peer.readLine();
                // what the agent answers: a stale reply left from an earlier client, then the sync id
                long syncId = Json.MAPPER.readTree(sync.replaceAll("^[^{]*", ""))
                        .path("arguments").path("id").asLong();
                peer.send("{\"return\": {\"stale\": true}}");
                // the agent's 0xFF delimiter, with a partial line before it that must be dropped
                peer.sendBytes(new byte[] {'{', '"', 'x', (byte) 0xFF});
                peer.send("{\"return\": " + syncId + "}");
                assertThat(peer.readLine()).contains("guest-fsfreeze-status");
                peer.send("{\"return\": \"thawed\"}");
                assertThat(peer.readLine()).contains("guest-fsfreeze-freeze");
                // never answers the freeze
            });
            try (GuestAgentClient g = GuestAgentClient.connect(sock, Duration.ofSeconds(5))) {
                assertThat(g.fsfreezeStatus(Duration.ofSeconds(5))).isEqualTo("thawed");
                assertThatThrownBy(() -> g.fsfreezeFreeze(Duration.ofMillis(300)))
                        .isInstanceOf(QmpTimeoutException.class).hasMessageContaining("did not answer");
            }
            script.join();
        }
    }
}
