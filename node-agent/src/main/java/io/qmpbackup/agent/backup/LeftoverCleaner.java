package io.qmpbackup.agent.backup;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpbackup.agent.qmp.Json;
import io.qmpbackup.agent.qmp.QmpClient;
import io.qmpbackup.agent.qmp.QmpException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Removes what a dead run left in a VM (after SIGKILL of the tool, or a crash of the node
 * agent): its block jobs, its fleecing filters (giving each device its own disk back
 * first), its snapshot, target and fleece nodes, its temporary bitmaps and its fleece files.
 * Objects of runs that are still alive are never touched.
 */
public final class LeftoverCleaner {
    private final QmpClient qmp;
    private final Path lockDir;
    private final BackupLog log;

    public LeftoverCleaner(QmpClient qmp, Path lockDir, BackupLog log) {
        this.qmp = qmp;
        this.lockDir = lockDir;
        this.log = log;
    }

    /** Tokens of runs that have objects in this VM and are still alive. */
    public Set<String> liveRuns(String ownToken) throws QmpException {
        Set<String> live = new LinkedHashSet<>();
        for (String t : tokensInVm()) {
            if (!t.equals(ownToken) && RunLock.isAlive(lockDir, t)) {
                live.add(t);
            }
        }
        return live;
    }

    /** Cleans every dead run's objects; returns how many objects were removed. */
    public int clean(String ownToken) throws QmpException {
        int removed = 0;
        for (String t : tokensInVm()) {
            if (t.equals(ownToken) || RunLock.isAlive(lockDir, t)) {
                continue;
            }
            log.warn("found objects of an interrupted backup run " + t + " in the VM; removing them");
            removed += cleanRun(t);
            // fdsets are not counted: a paused QEMU closes removed fdsets only once it runs again
            if (tokensInVm(false).contains(t)) {
                throw new QmpException("objects of the interrupted backup run " + t + " could not all be removed from"
                        + " the VM (see the warnings above); remove the qmpbackup-" + t + "-* nodes, jobs and bitmaps"
                        + " by hand or restart the VM");
            }
        }
        return removed;
    }

    /** Removes fleece files of dead runs from a fleece folder. */
    public void cleanFleeceFiles(Path fleeceDir, String ownToken) {
        if (!Files.isDirectory(fleeceDir)) {
            return;
        }
        try (Stream<Path> s = Files.list(fleeceDir)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (!n.startsWith(".qmpbackup-") || !n.endsWith(".fleece.qcow2")) {
                    continue;
                }
                String token = n.substring(".qmpbackup-".length(), Math.min(n.length(), ".qmpbackup-".length() + 8));
                if (!token.equals(ownToken) && !RunLock.isAlive(lockDir, token)) {
                    Files.deleteIfExists(p);
                    log.warn("removed fleece file of an interrupted run: " + p);
                }
            }
        } catch (IOException e) {
            log.warn("cannot scan fleece folder " + fleeceDir + " for leftovers: " + e.getMessage());
        }
    }

    private Set<String> tokensInVm() throws QmpException {
        return tokensInVm(true);
    }

    private Set<String> tokensInVm(boolean withFdsets) throws QmpException {
        Set<String> tokens = new LinkedHashSet<>();
        for (JsonNode j : qmp.execute("query-jobs")) {
            addToken(tokens, j.path("id").asText());
        }
        for (JsonNode n : qmp.execute("query-named-block-nodes", Json.obj("flat", true))) {
            addToken(tokens, n.path("node-name").asText());
            for (JsonNode b : n.path("dirty-bitmaps")) {
                addToken(tokens, b.path("name").asText());
            }
        }
        if (withFdsets) {
            for (JsonNode set : qmp.execute("query-fdsets")) {
                for (JsonNode fd : set.path("fds")) {
                    addToken(tokens, fd.path("opaque").asText());
                }
            }
        }
        return tokens;
    }

    private static void addToken(Set<String> tokens, String name) {
        if (name.startsWith("qmpbackup-")) {
            String t = Names.tokenOf(name);
            if (t != null) {
                tokens.add(t);
            }
        }
    }

    private int cleanRun(String token) throws QmpException {
        int removed = 0;
        String prefix = "qmpbackup-" + token + "-";
        // 1. jobs: cancel, wait until they conclude, dismiss
        List<String> jobs = new ArrayList<>();
        for (JsonNode j : qmp.execute("query-jobs")) {
            String id = j.path("id").asText();
            if (id.startsWith(prefix)) {
                jobs.add(id);
                String status = j.path("status").asText();
                if (!status.equals("concluded") && !status.equals("null")) {
                    tryRun("job-cancel", Json.obj("id", id));
                }
            }
        }
        long deadline = System.nanoTime() + 60_000_000_000L;
        for (String id : jobs) {
            while (System.nanoTime() < deadline && !"concluded".equals(jobStatus(id))) {
                sleep(100);
            }
            tryRun("job-dismiss", Json.obj("id", id));
            removed++;
        }
        // 2. snapshot-access nodes go first: while one sits on a filter, the device cannot take its disk back
        List<String> nodes = new ArrayList<>();
        for (JsonNode n : qmp.execute("query-named-block-nodes", Json.obj("flat", true))) {
            String name = n.path("node-name").asText();
            if (name.startsWith(prefix)) {
                nodes.add(name);
            }
        }
        removed += deleteNodes(nodes, "s");
        // 3. give every device whose drive is one of our filters its own node back
        Map<String, String> filterChild = filterChildren(prefix);
        for (JsonNode b : qmp.execute("query-block")) {
            String node = b.path("inserted").path("node-name").asText();
            if (filterChild.containsKey(node) && !b.path("qdev").asText().isEmpty()) {
                tryRun("qom-set", Json.obj("path", b.path("qdev").asText(), "property", "drive", "value",
                        filterChild.get(node)));
            }
        }
        // then the filters, targets and fleece images
        removed += deleteNodes(nodes, "c") + deleteNodes(nodes, "t") + deleteNodes(nodes, "f");
        // 4. the files it handed to QEMU (--pass-fds): their fdsets, tagged with the node names
        for (JsonNode set : qmp.execute("query-fdsets")) {
            boolean ours = false;
            for (JsonNode fd : set.path("fds")) {
                ours |= fd.path("opaque").asText().startsWith(prefix);
            }
            if (ours && tryRun("remove-fd", Json.obj("fdset-id", set.path("fdset-id").asLong()))) {
                removed++;
            }
        }
        // 5. temporary bitmaps (the chain's own bitmap still holds every change: it was never cleared)
        for (JsonNode n : qmp.execute("query-named-block-nodes", Json.obj("flat", true))) {
            for (JsonNode b : n.path("dirty-bitmaps")) {
                String bm = b.path("name").asText();
                if (token.equals(Names.tokenOf(bm)) && bm.startsWith("qmpbackup-run-")) {
                    if (tryRun("block-dirty-bitmap-remove", Json.obj("node", n.path("node-name").asText(), "name", bm))) {
                        removed++;
                    }
                }
            }
        }
        return removed;
    }

    private int deleteNodes(List<String> nodes, String role) {
        int removed = 0;
        for (String name : nodes) {
            if (role.equals(Names.roleOf(name)) && tryRun("blockdev-del", Json.obj("node-name", name))) {
                removed++;
            }
        }
        return removed;
    }

    /** Filter node name to the node below it, from QEMU's block graph. */
    private Map<String, String> filterChildren(String prefix) throws QmpException {
        JsonNode graph = qmp.execute("x-debug-query-block-graph");
        Map<Long, String> names = new HashMap<>();
        for (JsonNode n : graph.path("nodes")) {
            names.put(n.path("id").asLong(), n.path("name").asText());
        }
        Map<String, String> result = new HashMap<>();
        for (JsonNode e : graph.path("edges")) {
            String parent = names.get(e.path("parent").asLong());
            if (parent != null && parent.startsWith(prefix) && "c".equals(Names.roleOf(parent))
                    && "file".equals(e.path("name").asText())) {
                result.put(parent, names.get(e.path("child").asLong()));
            }
        }
        return result;
    }

    private String jobStatus(String id) throws QmpException {
        for (JsonNode j : qmp.execute("query-jobs")) {
            if (id.equals(j.path("id").asText())) {
                return j.path("status").asText();
            }
        }
        return "concluded";
    }

    private boolean tryRun(String command, com.fasterxml.jackson.databind.node.ObjectNode args) {
        try {
            qmp.execute(command, args);
            return true;
        } catch (QmpException e) {
            log.warn("cleanup step " + command + " " + args + " failed: " + e.getMessage());
            return false;
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
