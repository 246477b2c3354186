package io.qmpbackup.agent.controller;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupStatus;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The agent's second check: work whose spec breaks the schema (here one an operator let through
 * unchecked) fails with InvalidSpec before anything runs, read by a client set up as the agent's.
 */
class InvalidWorkTest {
    private static final String NS = "vms";
    private KubernetesMockServer server;
    private KubernetesClient client;

    @BeforeEach
    void apiServer() {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(),
                new KubernetesCrudDispatcher(List.of()), false);
        server.init(InetAddress.getLoopbackAddress(), 0);
        ObjectMapper mapper = new ObjectMapper();
        new LenientSpecReadingCustomizer().customize(mapper);
        client = new KubernetesClientBuilder().withConfig(server.createClient().getConfiguration())
                .withKubernetesSerialization(new KubernetesSerialization(mapper, true)).build();
    }

    @AfterEach
    void tearDown() {
        client.close();
        server.destroy();
    }

    @Test
    void aScheduledBackupWithAnUnknownLevelFailsWithInvalidSpec() throws Exception {
        GenericKubernetesResource g = new GenericKubernetesResource();
        g.setApiVersion("qmpbackup.io/v1alpha1");
        g.setKind("VMBackup");
        g.setMetadata(new ObjectMetaBuilder().withName("weekly").withNamespace(NS)
                .withLabels(Map.of(VMBackup.NODE_LABEL, "node-a")).build());
        g.setAdditionalProperty("spec", new ObjectMapper().readValue("{\"vm\": {\"name\": \"web1\"}, \"level\":"
                + " \"weekly\", \"speedLimit\": \"fast\", \"storage\": {\"location\": \"default\", \"path\": \"p\"}}",
                Map.class));
        g.setAdditionalProperty("status", Map.of("phase", "Scheduled", "node", "node-a"));
        client.genericKubernetesResources(new ResourceDefinitionContext.Builder().withGroup("qmpbackup.io")
                .withVersion("v1alpha1").withKind("VMBackup").withPlural("vmbackups").withNamespaced(true).build())
                .inNamespace(NS).resource(g).create();

        VMBackup read = client.resources(VMBackup.class).inNamespace(NS).withName("weekly").get();
        assertThat(read.getSpec().level).isNull();
        StatusWriter<VMBackup, VMBackupStatus> status = new StatusWriter<>(client, VMBackup.class, read,
                Duration.ofSeconds(2), Clock.fixed(Instant.parse("2030-01-02T03:04:05Z"), ZoneOffset.UTC),
                AgentMetrics.NONE);
        assertThat(status.failIfInvalid(read)).isTrue();

        VMBackupStatus s = client.resources(VMBackup.class).inNamespace(NS).withName("weekly").get().getStatus();
        assertThat(s.phase).isEqualTo(Phase.FAILED);
        assertThat(s.reason).isEqualTo("InvalidSpec");
        assertThat(s.message).contains("spec.level: \"weekly\" is not one of full, inc, auto, copy")
                .contains("spec.speedLimit: \"fast\" is not an integer");
    }
}
