package io.qmpbackup.helm;

import static org.assertj.core.api.Assertions.assertThat;

import com.marcnuri.helm.Helm;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Renders a chart with Helm's own engine (helm-java) and reads the output as Kubernetes objects,
 * without an API server: the tests of single values need no more than the parsed objects.
 */
final class Charts {
    static final Path CHART = Path.of("qmpbackup-operator");
    static final String RELEASE = "qmpbackup";
    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    private Charts() {
    }

    /** The chart as release "qmpbackup" in namespace "qmpbackup", with {@code values} (YAML) if not null. */
    static List<HasMetadata> render(Path tmp, String values) {
        return render(CHART, RELEASE, tmp, values);
    }

    static List<HasMetadata> render(Path chart, String release, Path tmp, String values) {
        var t = new Helm(chart).template().withName(release).withNamespace("qmpbackup");
        if (values != null) {
            t = t.withValuesFile(write(tmp, values));
        }
        return parse(t.call());
    }

    static List<HasMetadata> parse(String yaml) {
        Object parsed = SERIALIZATION.unmarshal(yaml);
        // one document comes back as the object itself, several as a list
        List<?> items = parsed instanceof List<?> l ? l : List.of(parsed);
        return items.stream().filter(HasMetadata.class::isInstance).map(HasMetadata.class::cast).toList();
    }

    static Path write(Path tmp, String values) {
        try {
            return Files.writeString(Files.createTempFile(tmp, "values", ".yaml"), values);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static <T extends HasMetadata> List<T> all(List<HasMetadata> objects, Class<T> type) {
        return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    static <T extends HasMetadata> T only(List<HasMetadata> objects, Class<T> type) {
        List<T> found = all(objects, type);
        assertThat(found).as("rendered %s", type.getSimpleName()).hasSize(1);
        return found.get(0);
    }

    static PodSpec operatorPod(List<HasMetadata> objects) {
        return only(objects, Deployment.class).getSpec().getTemplate().getSpec();
    }

    static PodSpec agentPod(List<HasMetadata> objects) {
        return only(objects, DaemonSet.class).getSpec().getTemplate().getSpec();
    }
}
