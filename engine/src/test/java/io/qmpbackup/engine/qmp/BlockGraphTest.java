package io.qmpbackup.engine.qmp;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The typed graph layer's job handling against a scripted peer (QEMU cannot be told when a job ends). */
class BlockGraphTest {
    @TempDir
    Path tmp;

    private static JsonNode jobs(String id, String status) {
        return id == null ? Json.array() : Json.array().add(Json.obj("id", id, "status", status,
                "current-progress", 5, "total-progress", 10, "type", "backup"));
    }

    @Test
    void cancelAndDismissCancelsARunningJobWaitsForItsEventAndDismissesIt() throws Throwable {
        Path sock = tmp.resolve("q.sock");
        AtomicReference<String> status = new AtomicReference<>("running");
        List<JsonNode> commands = new CopyOnWriteArrayList<>();
        try (FakePeer peer = new FakePeer(sock)) {
            FakePeer.Script script = FakePeer.serve(peer, cmd -> switch (cmd.path("execute").asText()) {
                case "query-jobs" -> jobs("j0", status.get());
                default -> null;
            }, commands, cmd -> {
                if (cmd.path("execute").asText().equals("job-cancel")) {
                    // QEMU concludes the job later and says so with an event, not in the reply
                    status.set("concluded");
                    try {
                        peer.event("JOB_STATUS_CHANGE", Json.obj("id", "j0", "status", "concluded"));
                    } catch (java.io.IOException e) {
                        throw new IllegalStateException(e);
                    }
                }
            });
            try (QmpClient c = QmpClient.connect(sock, Duration.ofSeconds(5))) {
                long t0 = System.nanoTime();
                assertThat(new BlockGraph(c).cancelAndDismiss("j0", Duration.ofSeconds(30))).isTrue();
                // woken by the event: far less than the safety-net re-check interval would add up to
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
            }
            script.join();
        }
        assertThat(commands.stream().map(c -> c.path("execute").asText()).toList())
                .containsExactly("query-jobs", "job-cancel", "query-jobs", "job-dismiss");
        assertThat(commands.get(3).path("arguments").path("id").asText()).isEqualTo("j0");
    }

    @Test
    void aJobQemuDoesNotKnowIsAlreadyGoneAndAConcludedOneIsOnlyDismissed() throws Throwable {
        Path sock = tmp.resolve("q.sock");
        List<JsonNode> commands = new CopyOnWriteArrayList<>();
        try (FakePeer peer = new FakePeer(sock)) {
            FakePeer.Script script = FakePeer.serve(peer, cmd -> cmd.path("execute").asText().equals("query-jobs")
                    ? jobs("done", "concluded") : null, commands, null);
            try (QmpClient c = QmpClient.connect(sock, Duration.ofSeconds(5))) {
                BlockGraph g = new BlockGraph(c);
                assertThat(g.job("gone")).isEmpty();
                assertThat(g.cancelAndDismiss("gone", Duration.ofSeconds(1))).isTrue();
                assertThat(g.cancelAndDismiss("done", Duration.ofSeconds(1))).isTrue();
                assertThat(g.job("done")).hasValueSatisfying(j -> {
                    assertThat(j.concluded()).isTrue();
                    assertThat(j.current()).isEqualTo(5);
                    assertThat(j.total()).isEqualTo(10);
                });
            }
            script.join();
        }
        assertThat(commands.stream().map(c -> c.path("execute").asText()).toList())
                .containsExactly("query-jobs", "query-jobs", "query-jobs", "job-dismiss", "query-jobs");
    }

    @Test
    void aJobThatNeverConcludesIsReportedAndLeftInPlace() throws Throwable {
        Path sock = tmp.resolve("q.sock");
        List<JsonNode> commands = new CopyOnWriteArrayList<>();
        try (FakePeer peer = new FakePeer(sock)) {
            FakePeer.Script script = FakePeer.serve(peer, cmd -> cmd.path("execute").asText().equals("query-jobs")
                    ? jobs("stuck", "running") : null, commands, null);
            try (QmpClient c = QmpClient.connect(sock, Duration.ofSeconds(5))) {
                assertThat(new BlockGraph(c).cancelAndDismiss("stuck", Duration.ofMillis(800))).isFalse();
            }
            script.join();
        }
        assertThat(commands.stream().map(c -> c.path("execute").asText())).contains("job-cancel")
                .doesNotContain("job-dismiss");
    }

    @Test
    void aTransactionSpellsEachActionOnce() {
        Transaction t = new Transaction().addBitmap("n", "b", false).mergeBitmap("s", "b", "n", "chain")
                .backup("j", "s", "t", "b", true, 100).clearBitmap("n", "chain").removeBitmap("n", "b");
        JsonNode a = t.actions();
        assertThat(a).hasSize(5);
        assertThat(a.get(0).toString()).isEqualTo(
                "{\"type\":\"block-dirty-bitmap-add\",\"data\":{\"node\":\"n\",\"name\":\"b\",\"persistent\":false}}");
        assertThat(a.get(1).path("data").path("bitmaps").get(0).toString()).isEqualTo("{\"node\":\"n\",\"name\":\"chain\"}");
        assertThat(a.get(2).path("data").path("sync").asText()).isEqualTo("incremental");
        assertThat(a.get(2).path("data").path("auto-dismiss").asBoolean()).isFalse();
        assertThat(a.get(2).path("data").path("speed").asLong()).isEqualTo(100);
        assertThat(new Transaction().backup("j", "s", "t", null, false, 0).actions().get(0).path("data").toString())
                .doesNotContain("bitmap").doesNotContain("speed").doesNotContain("compress").contains("\"sync\":\"full\"");
    }
}
