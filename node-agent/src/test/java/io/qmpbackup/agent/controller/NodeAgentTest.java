package io.qmpbackup.agent.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.qmpbackup.api.v1alpha1.BackupLevel;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.QemuVM;
import io.qmpbackup.api.v1alpha1.QemuVMSpec;
import io.qmpbackup.api.v1alpha1.RunTransitions;
import io.qmpbackup.api.v1alpha1.StorageRef;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSpec;
import io.qmpbackup.api.v1alpha1.VMBackupStatus;
import io.qmpbackup.api.v1alpha1.VmRef;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's work loop against fabric8's in-process API server, without QEMU: each VM is a
 * QMP socket that greets and then never answers, which holds a run until the test hangs it up
 * (the run then fails as unreachable). The test plays the operator: it writes the VMBackups
 * Scheduled.
 */
class NodeAgentTest {
    private static final String NS = "vms";
    /** The agent's fixed clock, and the other one the test writes the operator's times with. */
    private static final Instant AGENT_NOW = Instant.parse("2030-01-02T03:04:05Z");
    private static final Instant OPERATOR_NOW = Instant.parse("2029-06-07T08:09:10Z");

    @TempDir
    Path dir;
    private KubernetesMockServer server;
    private KubernetesClient client;
    private final List<String> requests = new CopyOnWriteArrayList<>();
    private final List<StalledQmp> vms = new ArrayList<>();
    private NodeAgent agent;
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

    @BeforeEach
    void apiServer() throws IOException {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(List.of()) {
                    @Override
                    public MockResponse dispatch(RecordedRequest request) {
                        requests.add(request.getMethod() + " " + request.getPath());
                        return super.dispatch(request);
                    }
                }, false);
        server.init(InetAddress.getLoopbackAddress(), 0);
        client = server.createClient();
        for (String crd : List.of("qemuvms.qmpbackup.io-v1.yml", "vmbackups.qmpbackup.io-v1.yml",
                "vmrestores.qmpbackup.io-v1.yml")) {
            try (InputStream in = Files.newInputStream(repo().resolve("crds/yaml").resolve(crd))) {
                client.resource(client.getKubernetesSerialization().unmarshal(in, CustomResourceDefinition.class))
                        .create();
            }
        }
    }

    @AfterEach
    void tearDown() {
        if (agent != null) {
            agent.onStop(null);
        }
        vms.forEach(StalledQmp::close);
        client.close();
        server.destroy();
    }

    @Test
    void workBeyondTheLimitIsQueuedThenRunsInTurnWithoutReadingItsQemuVmAgain() throws Exception {
        for (int i = 0; i < 4; i++) {
            qemuVm("vm-" + i, vm("vm-" + i).socket);
        }
        startAgent(2);
        for (int i = 0; i < 4; i++) {
            scheduled(backupNaming("b-" + i, "vm-" + i));
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> count(Phase.RUNNING) == 2 && connected() == 2
                && queued().size() == 2);
        for (VMBackup q : queued()) {
            assertThat(q.getStatus().agent).isEqualTo(agent.instance());
            assertThat(q.getStatus().message).isEqualTo("waiting for a free slot on node node-a (2 running, limit 2)");
        }
        assertThat(gauge(AgentMetrics.IN_FLIGHT)).isEqualTo(2.0);
        assertThat(gauge(AgentMetrics.QUEUED)).isEqualTo(2.0);
        for (VMBackup r : all()) {
            if (r.getStatus().phase == Phase.RUNNING) {
                assertThat(r.getStatus().startTime).isEqualTo(AGENT_NOW.toString());
                assertThat(r.getStatus().conditions).filteredOn(c -> c.getType().equals(RunTransitions.RUNNING))
                        .singleElement().satisfies(c -> assertThat(c.getLastTransitionTime())
                                .isEqualTo(AGENT_NOW.toString()));
            }
        }

        // each hang-up ends a run; the queued ones take the freed slots, never more than two at once
        for (int round = 0; round < 4; round++) {
            StalledQmp busy = vms.stream().filter(StalledQmp::connected).findFirst().orElseThrow();
            busy.hangUp();
            int done = round + 1;
            int running = Math.min(2, 4 - done);
            await().atMost(Duration.ofSeconds(20)).until(() -> terminal() == done && count(Phase.RUNNING) == running
                    && connected() == running);
        }
        for (VMBackup b : all()) {
            assertThat(b.getStatus().phase).as(b.getStatus().message).isEqualTo(Phase.FAILED);
            assertThat(b.getStatus().agent).isEqualTo(agent.instance());
            assertThat(b.getStatus().startTime).isEqualTo(AGENT_NOW.toString());
            assertThat(b.getStatus().completionTime).isEqualTo(AGENT_NOW.toString());
        }
        assertThat(gauge(AgentMetrics.IN_FLIGHT) + gauge(AgentMetrics.QUEUED)).isZero();
        assertThat(requests).as("named QemuVMs are read from the informer's cache")
                .noneMatch(r -> r.startsWith("GET ") && r.matches(".*/namespaces/" + NS + "/qemuvms/[^/?]+(\\?.*)?"));
    }

    @Test
    void twoBackupsOfOneVmRunOneAfterTheOther() throws Exception {
        StalledQmp vm = vm("web1");
        qemuVm("web1", vm.socket);
        startAgent(4);
        scheduled(backupNaming("by-name", "web1"));
        await().atMost(Duration.ofSeconds(20)).until(() -> count(Phase.RUNNING) == 1 && vm.connected());
        // the same VM given by its socket: the same exclusive claim as the QemuVM's
        VMBackup bySocket = backupNaming("by-socket", null);
        bySocket.getSpec().vm.node = "node-a";
        bySocket.getSpec().vm.qmpSocket = vm.socket.toString();
        scheduled(bySocket);
        await().atMost(Duration.ofSeconds(20)).until(() -> queued().size() == 1);
        assertThat(queued()).singleElement().satisfies(q -> {
            assertThat(q.getMetadata().getName()).isEqualTo("by-socket");
            assertThat(q.getStatus().message).isEqualTo("waiting: another backup of this VM is running");
        });
        vm.hangUp();
        await().atMost(Duration.ofSeconds(20)).until(() -> phase("by-socket") == Phase.RUNNING && vm.connected());
        assertThat(phase("by-name")).isEqualTo(Phase.FAILED);
        vm.hangUp();
        await().atMost(Duration.ofSeconds(20)).until(() -> terminal() == 2);
        VMBackupStatus first = get("by-name").getStatus();
        VMBackupStatus second = get("by-socket").getStatus();
        assertThat(second.startTime).isEqualTo(AGENT_NOW.toString());
        assertThat(first.completionTime).isEqualTo(AGENT_NOW.toString());
    }

    private void startAgent(int maxConcurrent) {
        agent = new NodeAgent(client, config(maxConcurrent), Clock.fixed(AGENT_NOW, ZoneOffset.UTC),
                new AgentMetrics(registry));
        agent.onStart(null);
    }

    private double gauge(String name) {
        return registry.get(name).tag("kind", "VMBackup").gauge().value();
    }

    private AgentConfig config(int maxConcurrent) {
        Path storage = dir.resolve("storage");
        return new AgentConfig() {
            @Override
            public String nodeName() {
                return "node-a";
            }

            @Override
            public List<String> socketDirs() {
                // the backups' namespace is not the discovery namespace: the folder is assigned to it
                return List.of(dir + "=" + NS);
            }

            @Override
            public java.util.Optional<List<String>> tpmStateDirs() {
                return java.util.Optional.empty();
            }

            @Override
            public String storageLocations() {
                return "default=" + storage;
            }

            @Override
            public int maxConcurrent() {
                return maxConcurrent;
            }

            @Override
            public boolean passFds() {
                return false;
            }

            @Override
            public Duration progressInterval() {
                return Duration.ofSeconds(2);
            }

            @Override
            public Duration discoveryInterval() {
                return Duration.ZERO;
            }

            @Override
            public String discoveryPattern() {
                return "*.qmp";
            }

            @Override
            public Duration heartbeatInterval() {
                return Duration.ofSeconds(10);
            }

            @Override
            public String discoveryNamespace() {
                return "qmpbackup";
            }

            @Override
            public Duration staleAfter() {
                return Duration.ofMinutes(10);
            }

            @Override
            public String exportDir() {
                return "/nonexistent/exports";
            }

            @Override
            public boolean exportTcp() {
                return false;
            }

            @Override
            public String exportAddress() {
                return "127.0.0.1";
            }

            @Override
            public String remoteDir() {
                return "/nonexistent";
            }

            @Override
            public int remoteAttempts() {
                return 1;
            }

            @Override
            public Duration remoteRetryDelay() {
                return Duration.ZERO;
            }
        };
    }

    private StalledQmp vm(String name) throws IOException {
        StalledQmp vm = new StalledQmp(dir.resolve(name + ".qmp"));
        vms.add(vm);
        return vm;
    }

    private void qemuVm(String name, Path socket) {
        QemuVM q = new QemuVM();
        q.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS).build());
        q.setSpec(new QemuVMSpec());
        q.getSpec().node = "node-a";
        q.getSpec().qmpSocket = socket.toString();
        client.resource(q).create();
    }

    private static VMBackup backupNaming(String name, String qemuVm) {
        VMBackup b = new VMBackup();
        b.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(NS)
                .withLabels(Map.of(VMBackup.NODE_LABEL, "node-a")).build());
        VMBackupSpec spec = new VMBackupSpec();
        spec.vm = new VmRef();
        spec.vm.name = qemuVm;
        spec.level = BackupLevel.FULL;
        spec.storage = new StorageRef();
        spec.storage.location = "default";
        spec.storage.path = "p";
        b.setSpec(spec);
        return b;
    }

    /** Creates the backup and moves it to Scheduled on node-a, as the operator does. */
    private void scheduled(VMBackup b) {
        VMBackup created = client.resource(b).create();
        created.setStatus(new VMBackupStatus());
        created.getStatus().node = "node-a";
        RunTransitions.move(created.getStatus(), Phase.SCHEDULED, "Scheduled", "waiting for the node agent on node-a",
                created.getMetadata().getGeneration(), OPERATOR_NOW);
        client.resource(created).updateStatus();
    }

    private List<VMBackup> all() {
        return client.resources(VMBackup.class).inNamespace(NS).list().getItems();
    }

    private VMBackup get(String name) {
        return client.resources(VMBackup.class).inNamespace(NS).withName(name).get();
    }

    private Phase phase(String name) {
        VMBackup b = get(name);
        return b == null || b.getStatus() == null ? null : b.getStatus().phase;
    }

    private long connected() {
        return vms.stream().filter(StalledQmp::connected).count();
    }

    private long count(Phase phase) {
        return all().stream().filter(b -> b.getStatus() != null && b.getStatus().phase == phase).count();
    }

    private long terminal() {
        return all().stream().filter(b -> b.getStatus() != null && b.getStatus().phase.terminal()).count();
    }

    private List<VMBackup> queued() {
        return all().stream().filter(b -> b.getStatus() != null && b.getStatus().phase == Phase.SCHEDULED
                && "Queued".equals(b.getStatus().reason)).toList();
    }

    private static Path repo() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("crds/yaml"))) {
                return p;
            }
        }
        throw new IllegalStateException("repository root not found above " + Path.of("").toAbsolutePath());
    }

    /** A QMP socket that greets and then answers nothing: a run on it waits (minutes) until hung up. */
    private static final class StalledQmp implements AutoCloseable {
        private static final String GREETING = "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2,"
                + " \"major\": 8}, \"package\": \"\"}, \"capabilities\": []}}\n";
        final Path socket;
        private final ServerSocketChannel listener;
        private final List<SocketChannel> connections = new CopyOnWriteArrayList<>();

        StalledQmp(Path socket) throws IOException {
            this.socket = socket;
            listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            listener.bind(UnixDomainSocketAddress.of(socket));
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        SocketChannel c = listener.accept();
                        c.write(ByteBuffer.wrap(GREETING.getBytes(StandardCharsets.UTF_8)));
                        connections.add(c);
                    }
                } catch (IOException e) {
                    // closed: the test is over
                }
            }, "silent-qmp-" + socket.getFileName());
            acceptor.setDaemon(true);
            acceptor.start();
        }

        boolean connected() {
            return connections.stream().anyMatch(SocketChannel::isOpen);
        }

        /** Ends every connection; the socket keeps listening for the next run. */
        void hangUp() throws IOException {
            for (SocketChannel c : connections) {
                c.close();
            }
            connections.clear();
        }

        @Override
        public void close() {
            try {
                hangUp();
                listener.close();
            } catch (IOException e) {
                // the temp dir goes anyway
            }
        }
    }
}
