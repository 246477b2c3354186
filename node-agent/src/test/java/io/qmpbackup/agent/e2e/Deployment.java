package io.qmpbackup.agent.e2e;

import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The operator and a node agent as they are deployed: their packaged jars as two processes,
 * configured through the environment, against an in-process API server (fabric8's mock server
 * in CRUD mode, over HTTP) that the test starts.
 */
final class Deployment implements AutoCloseable {
    private final KubernetesMockServer server;
    private final KubernetesClient client;
    private final Path logs;
    private final List<Process> processes = new ArrayList<>();

    Deployment(Path logs) throws IOException {
        this.logs = logs;
        Files.createDirectories(logs);
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new RbacAwareDispatcher(), false);
        server.init(InetAddress.getLoopbackAddress(), 0);
        client = server.createClient();
        for (String crd : List.of("qemuvms.qmpbackup.io-v1.yml", "vmbackups.qmpbackup.io-v1.yml",
                "vmbackupschedules.qmpbackup.io-v1.yml", "vmrestores.qmpbackup.io-v1.yml")) {
            try (InputStream in = Files.newInputStream(repo().resolve("crds/yaml").resolve(crd))) {
                client.resource(client.getKubernetesSerialization().unmarshal(in, CustomResourceDefinition.class))
                        .create();
            }
        }
    }

    /**
     * fabric8's CRUD dispatcher, plus an answer to SelfSubjectRulesReview (which the CRUD mode
     * cannot store and answers 422): the operator's leader election asks it first whether it may
     * use Leases. The answer grants what the chart's Role grants: get, create, update on leases.
     */
    private static final class RbacAwareDispatcher extends KubernetesCrudDispatcher {
        RbacAwareDispatcher() {
            super(List.of());
        }

        @Override
        public io.fabric8.mockwebserver.http.MockResponse handleCreate(
                io.fabric8.mockwebserver.http.RecordedRequest request) {
            if (!request.getPath().contains("/selfsubjectrulesreviews")) {
                return super.handleCreate(request);
            }
            var review = io.fabric8.kubernetes.client.utils.Serialization.unmarshal(request.getUtf8Body(),
                    io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectRulesReview.class);
            review.setStatus(new io.fabric8.kubernetes.api.model.authorization.v1.SubjectRulesReviewStatusBuilder()
                    .withIncomplete(false).addNewResourceRule().withApiGroups("coordination.k8s.io")
                    .withResources("leases").withVerbs("get", "create", "update").endResourceRule().build());
            return new io.fabric8.mockwebserver.http.MockResponse().setResponseCode(201)
                    .setBody(io.fabric8.kubernetes.client.utils.Serialization.asJson(review));
        }
    }

    static Path repo() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isDirectory(p.resolve("crds/yaml")) && Files.isDirectory(p.resolve("operator"))) {
                return p;
            }
        }
        throw new IllegalStateException("repository root not found above " + Path.of("").toAbsolutePath());
    }

    KubernetesClient client() {
        return client;
    }

    String apiServerUrl() {
        return server.url("/").replaceAll("/$", "");
    }

    void node(String name) {
        client.nodes().resource(new NodeBuilder().withNewMetadata().withName(name).endMetadata().build()).create();
    }

    Process startOperator(Map<String, String> env) throws IOException {
        return startOperator(env, List.of());
    }

    Process startOperator(Map<String, String> env, List<String> jvmOptions) throws IOException {
        return startOperator("operator", env, jvmOptions);
    }

    Process startOperator(String name, Map<String, String> env, List<String> jvmOptions) throws IOException {
        Path jar = repo().resolve("operator/target/quarkus-app/quarkus-run.jar");
        return start(name, jar, env, jvmOptions);
    }

    private Process agent;
    private final Map<String, Integer> ports = new HashMap<>();
    private final Map<String, Process> byName = new HashMap<>();

    /** The process started as {@code name}. */
    Process started(String name) {
        return byName.get(name);
    }

    Process startAgent(String name, Map<String, String> env) throws IOException {
        Path jar = repo().resolve("node-agent/target/quarkus-app/quarkus-run.jar");
        agent = start(name, jar, env, List.of());
        return agent;
    }

    Process agentProcess() {
        return agent;
    }

    private Process start(String name, Path jar, Map<String, String> env, List<String> jvmOptions)
            throws IOException {
        if (!Files.exists(jar)) {
            throw new IllegalStateException(jar + " is missing: build the project first (mvn -DskipTests package)");
        }
        int port = freePort();
        List<String> cmd = new ArrayList<>(List.of("java", "-XX:+UseSerialGC"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-jar", jar.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(
                        logs.resolve(name + ".log").toFile()));
        pb.environment().put("KUBECONFIG", "/nonexistent");
        pb.environment().put("QUARKUS_KUBERNETES_CLIENT_API_SERVER_URL", apiServerUrl());
        pb.environment().put("QUARKUS_KUBERNETES_CLIENT_NAMESPACE", "qmpbackup");
        pb.environment().put("QUARKUS_HTTP_PORT", Integer.toString(port));
        pb.environment().putAll(env);
        Process p = pb.start();
        processes.add(p);
        ports.put(name, port);
        byName.put(name, p);
        awaitReady(name, p, port);
        return p;
    }

    /** The HTTP status of a started process's health probe ({@code probe}: "ready" or "live"); -1 when it does not answer. */
    int health(String name, String probe) throws InterruptedException {
        try {
            return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://localhost:"
                    + ports.get(name) + "/q/health/" + probe)).build(), HttpResponse.BodyHandlers.discarding())
                    .statusCode();
        } catch (IOException e) {
            return -1;
        }
    }

    /** The Prometheus page (/q/metrics) a started process serves. */
    String metrics(String name) throws IOException, InterruptedException {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://localhost:"
                + ports.get(name) + "/q/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException(name + " answered " + r.statusCode() + " on /q/metrics: " + r.body());
        }
        return r.body();
    }

    private void awaitReady(String name, Process p, int port) throws IOException {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IllegalStateException(name + " exited at start-up:\n" + log(name));
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port
                        + "/q/health/ready")).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException e) {
                // not listening yet
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            sleep(100);
        }
        throw new IllegalStateException(name + " not ready within 60 s:\n" + log(name));
    }

    String log(String name) {
        try {
            return Files.readString(logs.resolve(name + ".log"), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        for (Process p : processes) {
            p.destroy();
        }
        for (Process p : processes) {
            try {
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        client.close();
        server.destroy();
    }
}
