package io.qmpbackup.agent.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SlotsTest {
    /** A run that only records what it was told. */
    private static final class Recorded implements WorkRun {
        final List<String> cancels = new ArrayList<>();

        @Override
        public void run() {
        }

        @Override
        public void cancel(String reason) {
            cancels.add(reason);
        }
    }

    private static WorkKey backup(String name) {
        return new WorkKey("VMBackup", "vms", name);
    }

    @Test
    void workBeyondTheLimitWaitsForAFreeSlot() {
        Slots slots = new Slots(2, "node-a");
        assertThat(slots.whyWait("vm:node-a:/run/qemu/a.qmp", true)).isNull();
        slots.start(backup("a"), "vm:node-a:/run/qemu/a.qmp", new Recorded(), true);
        slots.start(backup("b"), "vm:node-a:/run/qemu/b.qmp", new Recorded(), true);
        assertThat(slots.whyWait("vm:node-a:/run/qemu/c.qmp", true))
                .isEqualTo("waiting for a free slot on node node-a (2 running, limit 2)");
        slots.free(backup("a"));
        assertThat(slots.whyWait("vm:node-a:/run/qemu/c.qmp", true)).isNull();
        assertThat(slots.holds(backup("a"))).isFalse();
        assertThat(slots.holds(backup("b"))).isTrue();
    }

    @Test
    void oneRunPerVmEvenWithSlotsFree() {
        Slots slots = new Slots(4, "node-a");
        slots.start(backup("first"), "vm:node-a:/run/qemu/a.qmp", new Recorded(), true);
        assertThat(slots.whyWait("vm:node-a:/run/qemu/a.qmp", true)).isEqualTo("waiting: another backup of this VM is"
                + " running");
        assertThat(slots.whyWait("vm:node-a:/run/qemu/b.qmp", true)).isNull();
        slots.free(backup("first"));
        assertThat(slots.whyWait("vm:node-a:/run/qemu/a.qmp", true)).isNull();
    }

    @Test
    void aBusyVmIsSaidBeforeAFullNode() {
        Slots slots = new Slots(1, "node-a");
        slots.start(backup("first"), "vm:node-a:/run/qemu/a.qmp", new Recorded(), true);
        assertThat(slots.whyWait("vm:node-a:/run/qemu/a.qmp", true)).startsWith("waiting: another backup of this VM");
    }

    @Test
    void cancelReachesEveryRun() {
        Slots slots = new Slots(2, "node-a");
        Recorded a = new Recorded();
        Recorded b = new Recorded();
        slots.start(backup("a"), "vm:node-a:/run/qemu/a.qmp", a, true);
        slots.start(new WorkKey("VMRestore", "vms", "r"), "restore:vms/r", b, true);
        assertThat(slots.running(backup("a"))).isSameAs(a);
        assertThat(slots.running(backup("nope"))).isNull();
        slots.cancelAll("the node agent is shutting down");
        assertThat(a.cancels).containsExactly("the node agent is shutting down");
        assertThat(b.cancels).containsExactly("the node agent is shutting down");
    }

    @Test
    void aLimitBelowOneIsRefusedWithTheSettingToFix() {
        assertThatThrownBy(() -> new Slots(0, "node-a")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("qmpbackup.agent.max-concurrent");
    }

    @Test
    void anExportTakesNoSlotAndWaitsForNone() {
        Slots slots = new Slots(1, "node-a");
        slots.start(backup("a"), "vm:node-a:/run/qemu/a.qmp", new Recorded(), true);
        assertThat(slots.whyWait("restore:vms/x", false)).as("an export beside a full node").isNull();
        slots.start(new WorkKey("VMRestore", "vms", "x"), "restore:vms/x", new Recorded(), false);
        assertThat(slots.whyWait("vm:node-a:/run/qemu/b.qmp", true)).startsWith("waiting for a free slot")
                .contains("1 running");
        slots.free(backup("a"));
        assertThat(slots.whyWait("vm:node-a:/run/qemu/b.qmp", true)).as("the export does not count").isNull();
    }
}
