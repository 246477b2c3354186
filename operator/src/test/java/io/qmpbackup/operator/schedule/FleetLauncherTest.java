package io.qmpbackup.operator.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.qmpbackup.api.v1alpha1.VMBackup;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FleetLauncherTest {
    private final FleetLauncher launcher = new FleetLauncher(3);

    @AfterEach
    void stop() {
        launcher.stop();
    }

    private static List<VMBackup> fleet(int n) {
        return IntStream.range(0, n).mapToObj(i -> {
            VMBackup b = new VMBackup();
            b.setMetadata(new ObjectMetaBuilder().withName(String.format("vm-%03d", i)).withNamespace("ns").build());
            return b;
        }).toList();
    }

    @Test
    void createsTheWholeFleetOnTheSharedThreadsSkippingThoseThatExist() {
        Set<String> threads = ConcurrentHashMap.newKeySet();
        AtomicInteger calls = new AtomicInteger();
        List<VMBackup> created = launcher.createAll(fleet(200), b -> {
            calls.incrementAndGet();
            threads.add(Thread.currentThread().getName());
            if (b.getMetadata().getName().endsWith("7")) {
                throw new KubernetesClientException("exists", 409, null);
            }
            return b;
        });
        assertThat(calls).hasValue(200);
        assertThat(created).hasSize(180).extracting(b -> b.getMetadata().getName()).isSorted()
                .noneMatch(n -> n.endsWith("7"));
        assertThat(threads).isNotEmpty().hasSizeLessThanOrEqualTo(3).allMatch(t -> t.startsWith("schedule-create-"));
        // the pool outlives a firing: the next one adds no threads
        launcher.createAll(fleet(50), b -> {
            threads.add(Thread.currentThread().getName());
            return b;
        });
        assertThat(threads).hasSizeLessThanOrEqualTo(3);
    }

    @Test
    void aFailureIsThrownAfterTheRestOfTheFleetWasCreated() {
        AtomicInteger done = new AtomicInteger();
        assertThatThrownBy(() -> launcher.createAll(fleet(30), b -> {
            if (b.getMetadata().getName().equals("vm-005")) {
                throw new KubernetesClientException("forbidden", 403, null);
            }
            done.incrementAndGet();
            return b;
        })).isInstanceOf(KubernetesClientException.class).hasMessageContaining("forbidden");
        assertThat(done).hasValue(29);
    }

    @Test
    void nothingToCreateCreatesNothing() {
        assertThat(launcher.createAll(List.of(), b -> {
            throw new AssertionError("no create expected");
        })).isEmpty();
    }
}
