package io.qmpbackup.engine.backup;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpbackup.engine.qmp.BlockGraph;
import io.qmpbackup.engine.qmp.FakePeer;
import io.qmpbackup.engine.qmp.Json;
import io.qmpbackup.engine.qmp.QmpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one teardown order, and what a refused step holds back, against a scripted QEMU. */
class RunObjectsTest {
    @TempDir
    Path tmp;
    private int sockets;

    /** Two fleeced disks, registered in the order a run makes them (not the order they must go). */
    private static RunObjects twoDisks() {
        RunObjects o = new RunObjects();
        for (int d = 0; d < 2; d++) {
            o.add(RunObjects.Kind.FDSET, d, "qmpbackup-abcd1234-t" + d, Integer.toString(10 + d));
            o.add(RunObjects.Kind.TARGET, d, "qmpbackup-abcd1234-t" + d, null);
            o.add(RunObjects.Kind.FLEECE, d, "qmpbackup-abcd1234-f" + d, null);
        }
        for (int d = 0; d < 2; d++) {
            o.add(RunObjects.Kind.FILTER, d, "qmpbackup-abcd1234-c" + d, null);
            o.add(RunObjects.Kind.DRIVE, d, "/machine/peripheral/vd" + d, "disk" + d);
        }
        for (int d = 0; d < 2; d++) {
            o.add(RunObjects.Kind.SNAPSHOT, d, "qmpbackup-abcd1234-s" + d, null);
        }
        for (int d = 0; d < 2; d++) {
            o.add(RunObjects.Kind.JOB, d, "qmpbackup-abcd1234-job" + d, null);
        }
        o.add(RunObjects.Kind.BITMAP, -1, "qmpbackup-run-abcd1234-job", "disk1");
        return o;
    }

    private static String describe(JsonNode cmd) {
        JsonNode a = cmd.path("arguments");
        return switch (cmd.path("execute").asText()) {
            case "blockdev-del" -> "del " + a.path("node-name").asText();
            case "qom-set" -> "drive " + a.path("path").asText() + "=" + a.path("value").asText();
            case "remove-fd" -> "fd " + a.path("fdset-id").asLong();
            case "job-dismiss" -> "dismiss " + a.path("id").asText();
            case "block-dirty-bitmap-remove" -> "bitmap " + a.path("node").asText() + "/" + a.path("name").asText();
            default -> cmd.path("execute").asText();
        };
    }

    private List<String> teardown(RunObjects objects, String refuse, List<String> warnings) throws Throwable {
        Path sock = tmp.resolve("q" + (sockets++) + ".sock");
        List<JsonNode> commands = new CopyOnWriteArrayList<>();
        int before = objects.items().size();
        int removed;
        try (FakePeer peer = new FakePeer(sock)) {
            FakePeer.Script script = FakePeer.serve(peer, cmd -> {
                if (cmd.path("execute").asText().equals("query-jobs")) {
                    JsonNode jobs = Json.array();
                    for (int d = 0; d < 2; d++) {
                        ((com.fasterxml.jackson.databind.node.ArrayNode) jobs).add(Json.obj("id",
                                "qmpbackup-abcd1234-job" + d, "status", "concluded"));
                    }
                    return jobs;
                }
                return refuse != null && describe(cmd).equals(refuse) ? "error:Node is in use" : null;
            }, commands, null);
            try (QmpClient c = QmpClient.connect(sock, Duration.ofSeconds(5))) {
                removed = objects.teardown(new BlockGraph(c), warnings::add);
            }
            script.join();
        }
        assertThat(removed).as("objects removed").isEqualTo(before - objects.items().size());
        return commands.stream().map(RunObjectsTest::describe).filter(s -> !s.equals("query-jobs")).toList();
    }

    @Test
    void everythingGoesInTheOneOrderWhateverOrderItWasMadeIn() throws Throwable {
        RunObjects objects = twoDisks();
        List<String> warnings = new ArrayList<>();
        assertThat(teardown(objects, null, warnings)).containsExactly(
                "dismiss qmpbackup-abcd1234-job0", "dismiss qmpbackup-abcd1234-job1",
                "del qmpbackup-abcd1234-s0", "del qmpbackup-abcd1234-s1",
                "drive /machine/peripheral/vd0=disk0", "drive /machine/peripheral/vd1=disk1",
                "del qmpbackup-abcd1234-c0", "del qmpbackup-abcd1234-c1",
                "del qmpbackup-abcd1234-t0", "del qmpbackup-abcd1234-t1",
                "del qmpbackup-abcd1234-f0", "del qmpbackup-abcd1234-f1",
                "fd 10", "fd 11", "bitmap disk1/qmpbackup-run-abcd1234-job");
        assertThat(warnings).isEmpty();
        assertThat(objects.items()).isEmpty();
        assertThat(objects.graphClean()).isTrue();
    }

    @Test
    void aRefusedStepHoldsBackOnlyWhatComesAfterItOnTheSameDiskAndASecondCallRetriesIt() throws Throwable {
        RunObjects objects = twoDisks();
        List<String> warnings = new ArrayList<>();
        List<String> sent = teardown(objects, "del qmpbackup-abcd1234-s0", warnings);
        // disk 0 keeps its snapshot, so its device, filter, images and fdset stay; disk 1 is fully cleaned
        assertThat(sent).contains("del qmpbackup-abcd1234-s0", "del qmpbackup-abcd1234-f1", "fd 11")
                .doesNotContain("drive /machine/peripheral/vd0=disk0", "del qmpbackup-abcd1234-c0",
                        "del qmpbackup-abcd1234-t0", "fd 10");
        assertThat(warnings).singleElement().asString().contains("qmpbackup-abcd1234-s0").contains("Node is in use");
        assertThat(objects.graphClean()).isFalse();
        assertThat(objects.items()).extracting(RunObjects.Item::name).containsExactlyInAnyOrder(
                "qmpbackup-abcd1234-s0", "/machine/peripheral/vd0", "qmpbackup-abcd1234-c0",
                "qmpbackup-abcd1234-t0", "qmpbackup-abcd1234-f0", "qmpbackup-abcd1234-t0");

        List<String> retry = teardown(objects, null, new ArrayList<>());
        assertThat(retry).containsExactly("del qmpbackup-abcd1234-s0", "drive /machine/peripheral/vd0=disk0",
                "del qmpbackup-abcd1234-c0", "del qmpbackup-abcd1234-t0", "del qmpbackup-abcd1234-f0", "fd 10");
        assertThat(objects.graphClean()).isTrue();
    }
}
