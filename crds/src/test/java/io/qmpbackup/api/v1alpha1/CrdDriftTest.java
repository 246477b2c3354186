package io.qmpbackup.api.v1alpha1;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The CRD YAML committed under crds/yaml is what the types generate: a change to the API types
 * without the regenerated YAML fails the build. To update: mvn -pl crds process-classes, then
 * cp crds/target/classes/META-INF/fabric8/*.yml crds/yaml/
 */
class CrdDriftTest {
    private static final Path GENERATED = Path.of("target/classes/META-INF/fabric8");
    private static final Path COMMITTED = Path.of("yaml");

    @Test
    void committedCrdsMatchTheGeneratedOnes() throws Exception {
        List<String> generated = names(GENERATED);
        assertThat(generated).containsExactlyInAnyOrder("qemuvms.qmpbackup.io-v1.yml", "vmbackups.qmpbackup.io-v1.yml",
                "vmbackupschedules.qmpbackup.io-v1.yml",
                "vmrestores.qmpbackup.io-v1.yml");
        assertThat(names(COMMITTED)).containsExactlyInAnyOrderElementsOf(generated);
        for (String n : generated) {
            assertThat(Files.readString(COMMITTED.resolve(n)))
                    .as("crds/yaml/%s is out of date: cp crds/target/classes/META-INF/fabric8/*.yml crds/yaml/", n)
                    .isEqualTo(Files.readString(GENERATED.resolve(n)));
        }
    }

    private static List<String> names(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".yml")).sorted().toList();
        }
    }
}
