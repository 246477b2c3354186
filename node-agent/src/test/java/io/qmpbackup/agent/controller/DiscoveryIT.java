package io.qmpbackup.agent.controller;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.qmpbackup.engine.qmp.QmpClient;
import io.qmpbackup.engine.testing.QemuTools;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.Attach;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import io.qmpbackup.api.v1alpha1.QemuVM;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Discovery against real QEMU processes and the in-process API server. */
class DiscoveryIT {
    @TempDir
    Path tmp;

    private KubernetesMockServer server;
    private KubernetesClient client;

    @BeforeEach
    void apiServer() {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(List.of()), false);
        server.init();
        client = server.createClient();
    }

    @AfterEach
    void stop() {
        client.close();
        server.destroy();
    }

    private AgentConfig config(Path sockets, Duration staleAfter) {
        return config(List.of(sockets.toString()), staleAfter);
    }

    private AgentConfig config(List<String> socketDirs, Duration staleAfter) {
        return new AgentConfig() {
            @Override public String nodeName() { return "node-a"; }
            @Override public List<String> socketDirs() { return socketDirs; }
            @Override public java.util.Optional<List<String>> tpmStateDirs() { return java.util.Optional.empty(); }
            @Override public String storageLocations() { return "default=" + tmp; }
            @Override public int maxConcurrent() { return 1; }
            @Override public Duration progressInterval() { return Duration.ofSeconds(2); }
            @Override public Duration discoveryInterval() { return Duration.ofSeconds(30); }
            @Override public String discoveryPattern() { return "*.qmp"; }
            @Override public String discoveryNamespace() { return "qmpbackup"; }
            @Override public Duration staleAfter() { return staleAfter; }
            @Override public Duration heartbeatInterval() { return Duration.ofSeconds(10); }
            @Override public boolean passFds() { return false; }
            @Override public String exportDir() { return "/nonexistent/exports"; }
            @Override public boolean exportTcp() { return false; }
            @Override public String exportAddress() { return "127.0.0.1"; }
            @Override public String remoteDir() { return "/nonexistent"; }
            @Override public int remoteAttempts() { return 1; }
            @Override public Duration remoteRetryDelay() { return Duration.ZERO; }
        };
    }

    private TestVm vm(String name, Path sockets) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve(name));
        DiskSpec disk = new DiskSpec("vda", QemuTools.createQcow2(dir.resolve(name + ".qcow2"), "16M"), "qcow2",
                Attach.BLOCKDEV_VIRTIO, null);
        TestVm vm = new TestVm(dir, List.of(disk), true, List.of("-qmp", "unix:" + sockets.resolve(name + ".qmp")
                + ",server=on,wait=off", "-name", name, "-uuid", "8d6c2a2e-1f0b-4a55-9a7e-00000000000" + name.length()));
        vm.start();
        return vm;
    }

    private QemuVM get(String name) {
        return client.resources(QemuVM.class).inNamespace("qmpbackup").withName(name).get();
    }

    @Test
    void keepsAQemuVmPerSocketWithoutHoldingItAndNeverTouchesUserLabels() throws Exception {
        Path sockets = Files.createDirectories(tmp.resolve("s"));
        Files.createFile(sockets.resolve("web1.qga"));
        try (TestVm web1 = vm("web1", sockets); TestVm db1 = vm("db1", sockets)) {
            Discovery d = new Discovery(client, config(sockets, Duration.ofMinutes(10)), Clock.systemUTC());
            assertThat(d.scanOnce()).containsExactlyInAnyOrder("qmpbackup/node-a-web1", "qmpbackup/node-a-db1");
            QemuVM w = get("node-a-web1");
            assertThat(w.getSpec().node).isEqualTo("node-a");
            assertThat(w.getSpec().qmpSocket).isEqualTo(sockets.resolve("web1.qmp").toString());
            assertThat(w.getSpec().agentSocket).isEqualTo(sockets.resolve("web1.qga").toString());
            assertThat(get("node-a-db1").getSpec().agentSocket).isNull();
            assertThat(w.getStatus().qemuName).isEqualTo("web1");
            assertThat(w.getStatus().runState).isEqualTo("prelaunch");
            assertThat(w.getStatus().conditions).singleElement().satisfies(c -> {
                assertThat(c.getType()).isEqualTo("Ready");
                assertThat(c.getStatus()).isEqualTo("True");
                assertThat(c.getReason()).isEqualTo("Seen");
            });
            assertThat(w.getStatus().qemuVersion).startsWith("7.");
            assertThat(w.getStatus().disks).singleElement().satisfies(disk -> {
                assertThat(disk.format).isEqualTo("qcow2");
                assertThat(disk.virtualSize).isEqualTo(16L << 20);
            });
            // the probe let go of the socket: another client connects at once
            try (QmpClient c = QmpClient.connect(sockets.resolve("web1.qmp"), Duration.ofSeconds(2))) {
                assertThat(c.execute("query-status").path("status").asText()).isEqualTo("prelaunch");
            }

            // users label QemuVMs (schedules select on labels); discovery never overwrites them
            QemuVM labelled = get("node-a-web1");
            labelled.getMetadata().setLabels(new HashMap<>(Map.of("backup", "nightly")));
            client.resource(labelled).update();
            // a socket busy with another client: the VM is there, the scan does not wait for it
            try (QmpClient holder = QmpClient.connect(sockets.resolve("db1.qmp"), Duration.ofSeconds(2))) {
                assertThat(d.scanOnce()).contains("qmpbackup/node-a-db1");
                assertThat(get("node-a-db1").getStatus().message).contains("busy");
                assertThat(holder.isConnected()).isTrue();
            }
            assertThat(get("node-a-web1").getMetadata().getLabels()).containsEntry("backup", "nightly");
            web1.kill();
            Discovery quick = new Discovery(client, config(sockets, Duration.ZERO), Clock.systemUTC());
            assertThat(quick.scanOnce()).containsExactly("qmpbackup/node-a-db1");
            QemuVM gone = get("node-a-web1");
            assertThat(gone).as("a VM that went away is kept").isNotNull();
            assertThat(gone.getStatus().stale).isTrue();
            assertThat(gone.getStatus().conditions).filteredOn(c -> c.getType().equals("Ready")).singleElement()
                    .satisfies(c -> assertThat(c.getStatus()).isEqualTo("False"));
            assertThat(gone.getMetadata().getLabels()).containsEntry("backup", "nightly");
            assertThat(get("node-a-db1").getStatus().stale).isFalse();
        }
    }

    @Test
    void aFolderAssignedToANamespaceKeepsItsVmsThere() throws Exception {
        Path shared = Files.createDirectories(tmp.resolve("shared"));
        Path tenant = Files.createDirectories(tmp.resolve("tenant"));
        try (TestVm app = vm("app1", shared); TestVm t = vm("t1", tenant)) {
            Discovery d = new Discovery(client, config(List.of(shared.toString(), tenant + "=team-a"),
                    Duration.ofMinutes(10)), Clock.systemUTC());
            assertThat(d.scanOnce()).containsExactlyInAnyOrder("qmpbackup/node-a-app1", "team-a/node-a-t1");
            assertThat(get("node-a-t1")).as("not in the discovery namespace").isNull();
            QemuVM inTenant = client.resources(QemuVM.class).inNamespace("team-a").withName("node-a-t1").get();
            assertThat(inTenant.getSpec().qmpSocket).isEqualTo(tenant.resolve("t1.qmp").toString());
            assertThat(inTenant.getStatus().qemuName).isEqualTo("t1");
        }
    }
}
