package io.qmpbackup.engine.backup;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class UndoStackTest {
    @Test
    void unwindRunsEveryInverseNewestFirstAndGoesOnPastAFailure() {
        List<String> warnings = new ArrayList<>();
        List<String> ran = new ArrayList<>();
        UndoStack undo = new UndoStack(warnings::add);
        undo.push("delete file", () -> ran.add("file"));
        undo.push("remove node", () -> {
            ran.add("node");
            throw new IllegalStateException("node is in use");
        });
        undo.push("remove bitmap", () -> ran.add("bitmap"));

        assertThat(undo.unwind()).containsExactly("remove node");
        assertThat(ran).containsExactly("bitmap", "node", "file");
        assertThat(warnings).singleElement().asString().contains("remove node").contains("node is in use");
        assertThat(undo.isEmpty()).isTrue();
        assertThat(undo.unwind()).as("each inverse runs once").isEmpty();
        assertThat(ran).hasSize(3);
    }

    @Test
    void aReleasedStepIsKeptAndACommittedRunUndoesNothing() {
        List<String> ran = new ArrayList<>();
        UndoStack undo = new UndoStack(w -> { });
        undo.push("a", () -> ran.add("a"));
        UndoStack.Entry kept = undo.push("b", () -> ran.add("b"));
        undo.push("c", () -> ran.add("c"));
        kept.release();
        assertThat(undo.pending()).containsExactly("c", "a");
        undo.unwind();
        assertThat(ran).containsExactly("c", "a");

        undo.push("d", () -> ran.add("d"));
        undo.commit();
        assertThat(undo.unwind()).isEmpty();
        assertThat(ran).containsExactly("c", "a");
    }

    @Test
    void anInterruptedRunStillUnwindsEverythingAndKeepsItsInterrupt() {
        List<Boolean> interruptedDuring = new ArrayList<>();
        UndoStack undo = new UndoStack(w -> { });
        undo.push("first", () -> interruptedDuring.add(Thread.currentThread().isInterrupted()));
        undo.push("second", () -> {
            interruptedDuring.add(Thread.currentThread().isInterrupted());
            Thread.currentThread().interrupt();
        });
        Thread.currentThread().interrupt();
        try {
            assertThat(undo.unwind()).isEmpty();
            assertThat(interruptedDuring).containsExactly(false, false);
            assertThat(Thread.currentThread().isInterrupted()).isTrue();
        } finally {
            Thread.interrupted();
        }
    }
}
