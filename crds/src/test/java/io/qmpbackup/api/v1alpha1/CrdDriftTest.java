package io.qmpbackup.api.v1alpha1;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The CRD YAML committed under crds/yaml (and the chart's copy) is what the types generate,
 * polished by {@link CrdPolish}: a change to the API types without the regenerated YAML fails the
 * build. To update both: mvn -o -pl crds test -Dtest=CrdDriftTest -Dcrds.update=true
 */
class CrdDriftTest {
    private static final Path GENERATED = Path.of("target/classes/META-INF/fabric8");
    private static final Path COMMITTED = Path.of("yaml");
    private static final Path CHART = Path.of("../helm/qmpbackup-operator/crds");

    @Test
    void committedCrdsMatchTheGeneratedOnes() throws Exception {
        List<String> generated = names(GENERATED);
        assertThat(generated).containsExactlyInAnyOrder("qemuvms.qmpbackup.io-v1.yml", "vmbackups.qmpbackup.io-v1.yml",
                "vmbackupschedules.qmpbackup.io-v1.yml",
                "vmrestores.qmpbackup.io-v1.yml");
        assertThat(names(COMMITTED)).containsExactlyInAnyOrderElementsOf(generated);
        boolean update = Boolean.getBoolean("crds.update");
        for (String n : generated) {
            String want = CrdPolish.polish(Files.readString(GENERATED.resolve(n)));
            if (update) {
                Files.writeString(COMMITTED.resolve(n), want);
                Files.writeString(CHART.resolve(n), want);
            }
            assertThat(Files.readString(COMMITTED.resolve(n)))
                    .as("crds/yaml/%s is out of date: mvn -o -pl crds test -Dtest=CrdDriftTest -Dcrds.update=true", n)
                    .isEqualTo(want);
        }
    }

    @Test
    void columnsComeInDeclaredOrderAndEveryKindIsInTheCategory() throws Exception {
        String backups = Files.readString(COMMITTED.resolve("vmbackups.qmpbackup.io-v1.yml"));
        assertThat(backups).containsSubsequence("name: Level", "name: Ran", "name: Phase", "name: Progress",
                "name: Node", "name: Age", "name: Reason");
        assertThat(backups).contains("x-kubernetes-list-type: map").contains("format: date-time")
                .contains("- \"True\"").contains("- Unknown");
        for (String n : names(COMMITTED)) {
            assertThat(Files.readString(COMMITTED.resolve(n))).as(n).contains("categories:\n    - qmpbackup");
        }
        assertThat(Files.readString(COMMITTED.resolve("qemuvms.qmpbackup.io-v1.yml"))).contains("name: QEMU-Name")
                .doesNotContain("name: Name\n");
    }

    private static List<String> names(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".yml")).sorted().toList();
        }
    }
}
