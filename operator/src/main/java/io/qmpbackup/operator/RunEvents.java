package io.qmpbackup.operator;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Instant;
import java.util.UUID;
import org.jboss.logging.Logger;

/** Kubernetes Events on a run's transitions, as {@code kubectl describe} shows them. */
@ApplicationScoped
public class RunEvents {
    private static final Logger LOG = Logger.getLogger(RunEvents.class);
    private final KubernetesClient client;

    public RunEvents(KubernetesClient client) {
        this.client = client;
    }

    public void record(HasMetadata r, boolean warning, String reason, String message) {
        String now = Instant.now().toString();
        try {
            client.v1().events().inNamespace(r.getMetadata().getNamespace()).resource(new EventBuilder()
                    .withNewMetadata().withName(r.getMetadata().getName() + "." + UUID.randomUUID().toString()
                            .substring(0, 8)).withNamespace(r.getMetadata().getNamespace()).endMetadata()
                    .withInvolvedObject(new ObjectReferenceBuilder().withApiVersion(r.getApiVersion())
                            .withKind(r.getKind()).withName(r.getMetadata().getName())
                            .withNamespace(r.getMetadata().getNamespace()).withUid(r.getMetadata().getUid())
                            .withResourceVersion(r.getMetadata().getResourceVersion()).build())
                    .withType(warning ? "Warning" : "Normal").withReason(reason).withMessage(message)
                    .withFirstTimestamp(now).withLastTimestamp(now).withCount(1)
                    .withNewSource().withComponent("qmpbackup-operator").endSource().build()).create();
        } catch (KubernetesClientException e) {
            LOG.warnf("%s(%s/%s): cannot record event %s: %s", r.getKind(), r.getMetadata().getNamespace(),
                    r.getMetadata().getName(), reason, e.getMessage());
        }
    }
}
