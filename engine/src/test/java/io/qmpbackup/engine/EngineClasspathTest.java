package io.qmpbackup.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The engine's test classpath (a superset of its runtime classpath, which is what bin/qmpbackup and
 * bin/qmprestore run with: engine/target/engine.jar + engine/target/lib/*) holds no Kubernetes
 * client, operator SDK, Quarkus or CR classes. The enforcer rule in engine/pom.xml keeps them out of
 * the dependency tree; this proves the result on the classpath itself.
 */
class EngineClasspathTest {

    @ParameterizedTest
    @ValueSource(strings = {
        "io.fabric8.kubernetes.client.KubernetesClient",
        "io.javaoperatorsdk.operator.Operator",
        "io.quarkus.runtime.Quarkus",
        "io.qmpbackup.api.v1alpha1.VMBackup",
    })
    void cannotBeLoaded(String className) {
        ClassLoader loader = EngineClasspathTest.class.getClassLoader();
        Throwable thrown = catchThrowable(() -> Class.forName(className, false, loader));
        assertThat(thrown)
                .as("%s must not be on the engine's classpath, but it loads: some dependency brings it in (see mvn -pl engine dependency:tree)", className)
                .isInstanceOf(ClassNotFoundException.class);
    }
}
