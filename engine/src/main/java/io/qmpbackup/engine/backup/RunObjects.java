package io.qmpbackup.engine.backup;

import io.qmpbackup.engine.qmp.BlockGraph;
import io.qmpbackup.engine.qmp.QmpException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Consumer;

/**
 * What one run has in a VM, and the one order it is taken away in. A backup registers each
 * object as it makes it; the leftover cleaner rebuilds the same set from QEMU for a dead run.
 * Both then call {@link #teardown}, so there is a single removal order to get right:
 * jobs first (they hold every node), then each device's snapshot-access node (while it sits on
 * the filter the device cannot take its disk back), the device's own disk back, the filter,
 * the target and fleece images, the fdsets of files handed over, and temporary bitmaps last.
 */
public final class RunObjects {
    /** Kinds in removal order. */
    public enum Kind { JOB, SNAPSHOT, DRIVE, FILTER, TARGET, FLEECE, FDSET, BITMAP }

    /**
     * One object.
     *
     * @param disk   the run's disk number; -1 for objects of no disk
     * @param name   job id, node name, device (qdev) for DRIVE, fdset tag, bitmap name
     * @param detail DRIVE: the node to give the device back; FDSET: the fdset id; BITMAP: its node
     */
    public record Item(Kind kind, int disk, String name, String detail) {
        boolean holdsGraph() {
            return kind.compareTo(Kind.FDSET) < 0;
        }

        String describe() {
            return switch (kind) {
                case JOB -> "job " + name;
                case DRIVE -> "device " + name + " back on node " + detail;
                case FDSET -> "fdset " + detail + " (" + name + ")";
                case BITMAP -> "bitmap " + name + " on node " + detail;
                default -> "node " + name;
            };
        }
    }

    private final List<Item> items = new ArrayList<>();

    public synchronized void add(Kind kind, int disk, String name, String detail) {
        items.add(new Item(kind, disk, name, detail));
    }

    public synchronized List<Item> items() {
        return List.copyOf(items);
    }

    /**
     * Removes everything, in the order above. Goes on past a failed step so that as little as
     * possible stays behind, but never removes an object while one of the same disk that must go
     * before it is still there (QEMU would refuse it anyway). Idempotent: removed objects are
     * forgotten, so a second call retries only what is left.
     *
     * @return how many objects were removed
     */
    public int teardown(BlockGraph graph, Consumer<String> warn) {
        List<Item> ordered;
        synchronized (this) {
            ordered = items.stream().sorted(Comparator.comparing(Item::kind)).toList();
        }
        List<Item> stuck = new ArrayList<>();
        int removed = 0;
        for (Item i : ordered) {
            boolean blocked = i.disk() >= 0 && stuck.stream().anyMatch(s -> s.disk() == i.disk());
            if (!blocked && remove(graph, i, warn)) {
                removed++;
                synchronized (this) {
                    items.remove(i);
                }
            } else {
                stuck.add(i);
            }
        }
        return removed;
    }

    /** Nothing that holds a node or a job is left (fdsets and bitmaps do not keep the graph changed). */
    public synchronized boolean graphClean() {
        return items.stream().noneMatch(Item::holdsGraph);
    }

    private static boolean remove(BlockGraph graph, Item i, Consumer<String> warn) {
        try {
            switch (i.kind()) {
                case JOB -> {
                    if (!graph.cancelAndDismiss(i.name(), BlockGraph.JOB_CANCEL_WAIT)) {
                        warn.accept("job " + i.name() + " did not end within " + BlockGraph.JOB_CANCEL_WAIT.toSeconds()
                                + "s of being cancelled");
                        return false;
                    }
                }
                case SNAPSHOT, FILTER, TARGET, FLEECE -> graph.deleteNode(i.name());
                case DRIVE -> graph.setDrive(i.name(), i.detail());
                case FDSET -> graph.removeFdset(Long.parseLong(i.detail()));
                case BITMAP -> graph.removeBitmap(i.detail(), i.name());
                default -> throw new IllegalStateException(i.kind().toString());
            }
            return true;
        } catch (QmpException e) {
            warn.accept("cleanup step: removing " + i.describe() + " failed: " + e.getMessage());
            return false;
        }
    }
}
