package io.qmpbackup.engine.backup;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpbackup.engine.qmp.BlockGraph;
import io.qmpbackup.engine.qmp.BlockJob;
import io.qmpbackup.engine.qmp.QmpClient;
import io.qmpbackup.engine.qmp.QmpException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
    private final BlockGraph graph;
    private final Path lockDir;
    private final BackupLog log;

    public LeftoverCleaner(QmpClient qmp, Path lockDir, BackupLog log) {
        this.graph = new BlockGraph(qmp);
        this.lockDir = lockDir;
        this.log = log;
    }

    /** Tokens of runs that have objects in this VM and are still alive. */
    public Set<String> liveRuns(String ownToken) throws QmpException {
        Set<String> live = new LinkedHashSet<>();
        for (String t : scan().all()) {
            if (!t.equals(ownToken) && RunLock.isAlive(lockDir, t)) {
                live.add(t);
            }
        }
        return live;
    }

    /** Cleans every dead run's objects; returns how many objects were removed. */
    public int clean(String ownToken) throws QmpException {
        int removed = 0;
        Tokens found = scan();
        for (String t : found.all()) {
            if (t.equals(ownToken) || RunLock.isAlive(lockDir, t)) {
                continue;
            }
            if (found.graph().contains(t)) {
                log.warn("found objects of an interrupted backup run " + t + " in the VM; removing them");
            } else {
                // a paused VM lists the fdsets of finished runs until it runs again: nothing was interrupted
                log.debug("removing the fdsets of backup run " + t + " that a paused VM still lists");
            }
            removed += cleanRun(t);
            // fdsets are not counted: a paused QEMU closes removed fdsets only once it runs again
            if (scan().graph().contains(t)) {
                throw new QmpException("objects of the interrupted backup run " + t + " could not all be removed from"
                        + " the VM (see the warnings above); remove the qmpbackup-" + t + "-* nodes, jobs and bitmaps"
                        + " by hand or restart the VM");
            }
        }
        return removed;
    }

    /** Removes fleece files and checksum-sink sockets ({@link TargetSinks}) of dead runs from a fleece folder. */
    public void cleanFleeceFiles(Path fleeceDir, String ownToken) {
        if (!Files.isDirectory(fleeceDir)) {
            return;
        }
        try (Stream<Path> s = Files.list(fleeceDir)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (!n.startsWith(".qmpbackup-") || !n.endsWith(".fleece.qcow2") && !n.endsWith(".sink")) {
                    continue;
                }
                String token = n.substring(".qmpbackup-".length(), Math.min(n.length(), ".qmpbackup-".length() + 8));
                if (!token.equals(ownToken) && !RunLock.isAlive(lockDir, token)) {
                    Files.deleteIfExists(p);
                    log.warn("removed " + (n.endsWith(".sink") ? "checksum sink socket" : "fleece file")
                            + " of an interrupted run: " + p);
                }
            }
        } catch (IOException e) {
            log.warn("cannot scan fleece folder " + fleeceDir + " for leftovers: " + e.getMessage());
        }
    }

    /**
     * Run tokens in the VM: those of jobs, nodes and bitmaps, and those only an fdset still names
     * (a paused VM lists the fdsets of finished runs until it runs again). One read of each list.
     */
    private record Tokens(Set<String> graph, Set<String> fdsets) {
        Set<String> all() {
            Set<String> all = new LinkedHashSet<>(graph);
            all.addAll(fdsets);
            return all;
        }
    }

    private Tokens scan() throws QmpException {
        Set<String> inGraph = new LinkedHashSet<>();
        for (BlockJob j : graph.jobs()) {
            addToken(inGraph, j.id());
        }
        for (JsonNode n : graph.namedNodes()) {
            addToken(inGraph, n.path("node-name").asText());
            for (JsonNode b : n.path("dirty-bitmaps")) {
                addToken(inGraph, b.path("name").asText());
            }
        }
        Set<String> inFdsets = new LinkedHashSet<>();
        for (List<String> tags : graph.fdsets().values()) {
            tags.forEach(t -> addToken(inFdsets, t));
        }
        return new Tokens(inGraph, inFdsets);
    }

    private static void addToken(Set<String> tokens, String name) {
        if (name.startsWith("qmpbackup-")) {
            String t = Names.tokenOf(name);
            if (t != null) {
                tokens.add(t);
            }
        }
    }

    /** Removes a dead run's objects in the one teardown order ({@link RunObjects}). */
    private int cleanRun(String token) throws QmpException {
        return objectsOf(token).teardown(graph, log::warn);
    }

    /** What run {@code token} left in the VM, found from QEMU's own lists. */
    RunObjects objectsOf(String token) throws QmpException {
        String prefix = "qmpbackup-" + token + "-";
        RunObjects objects = new RunObjects();
        for (BlockJob j : graph.jobs()) {
            if (j.id().startsWith(prefix)) {
                objects.add(RunObjects.Kind.JOB, Names.diskOf(j.id()), j.id(), null);
            }
        }
        for (JsonNode n : graph.namedNodes()) {
            String name = n.path("node-name").asText();
            RunObjects.Kind kind = name.startsWith(prefix) ? NODE_KINDS.get(Names.roleOf(name)) : null;
            if (kind != null) {
                objects.add(kind, Names.diskOf(name), name, null);
            }
            for (JsonNode b : n.path("dirty-bitmaps")) {
                String bm = b.path("name").asText();
                // a bitmap on one of the run's own nodes goes with its node
                if (!name.startsWith(prefix) && bm.startsWith("qmpbackup-run-") && token.equals(Names.tokenOf(bm))) {
                    objects.add(RunObjects.Kind.BITMAP, -1, bm, name);
                }
            }
        }
        Map<String, String> filterChild = graph.filterChildren(prefix);
        for (JsonNode b : graph.devices()) {
            String node = b.path("inserted").path("node-name").asText();
            String qdev = b.path("qdev").asText();
            if (filterChild.containsKey(node) && !qdev.isEmpty()) {
                objects.add(RunObjects.Kind.DRIVE, Names.diskOf(node), qdev, filterChild.get(node));
            }
        }
        for (Map.Entry<Long, List<String>> set : graph.fdsets().entrySet()) {
            set.getValue().stream().filter(t -> t.startsWith(prefix)).findFirst().ifPresent(tag ->
                    objects.add(RunObjects.Kind.FDSET, Names.diskOf(tag), tag, Long.toString(set.getKey())));
        }
        return objects;
    }

    /** "p": the allocator primer's read-only open of a fleece image (RunGraph), removed like one. */
    private static final Map<String, RunObjects.Kind> NODE_KINDS = Map.of("s", RunObjects.Kind.SNAPSHOT,
            "c", RunObjects.Kind.FILTER, "t", RunObjects.Kind.TARGET, "f", RunObjects.Kind.FLEECE,
            "p", RunObjects.Kind.FLEECE);
}
