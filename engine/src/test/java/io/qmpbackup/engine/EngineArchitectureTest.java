package io.qmpbackup.engine;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/**
 * The engine's package rules (production classes only). The engine is a library that bin/qmpbackup,
 * bin/qmprestore and the node agent's controller call; it never knows who calls it, and nothing of
 * Kubernetes or Quarkus. Layers, bottom up:
 *
 * <pre>
 *   cli        the command lines        (nothing in the engine may use it)
 *   service    the engine's one front   may use remote, restore, retention, backup, repository, qmp
 *   remote     off-site copies (S3)     may use restore, backup, repository, qmp
 *   restore    retention                each may use backup, repository, qmp, not each other
 *   backup                              may use sink, repository, qmp
 *   sink       the NBD checksum sink    may use repository
 *   repository                          may use qmp
 *   qmp        the bottom: QMP/QGA wire protocol, no other engine package
 * </pre>
 */
@AnalyzeClasses(packages = "io.qmpbackup.engine", importOptions = ImportOption.DoNotIncludeTests.class)
class EngineArchitectureTest {

    /** The engine proper: every package but the command lines. */
    private static final String[] ENGINE = {
        "io.qmpbackup.engine.qmp..",
        "io.qmpbackup.engine.backup..",
        "io.qmpbackup.engine.restore..",
        "io.qmpbackup.engine.repository..",
        "io.qmpbackup.engine.retention..",
        "io.qmpbackup.engine.service..",
        "io.qmpbackup.engine.remote..",
        "io.qmpbackup.engine.sink..",
    };

    /** What the engine proper must not use: Kubernetes, Quarkus, CDI/JAX-RS, the CRs, its callers. */
    private static final String[] FORBIDDEN_TO_ENGINE = {
        "io.fabric8..",
        "io.javaoperatorsdk..",
        "io.quarkus..",
        "org.jboss..",
        "jakarta..",
        "io.qmpbackup.api..",
        "io.qmpbackup.agent..",
        "io.qmpbackup.engine.cli..",
    };

    @ArchTest
    static final ArchRule engine_knows_no_kubernetes_quarkus_crs_or_callers = noClasses()
            .that().resideInAnyPackage(ENGINE)
            .should().dependOnClassesThat().resideInAnyPackage(FORBIDDEN_TO_ENGINE)
            .because("the engine runs inside bin/qmpbackup with no Kubernetes client, Quarkus or CR classes"
                    + " on its classpath, and it is called (by cli and the agent's controller), never calls up;"
                    + " map CRs to engine types in the agent, not in the engine");

    @ArchTest
    static final ArchRule qmp_is_the_bottom_layer = noClasses()
            .that().resideInAPackage("io.qmpbackup.engine.qmp..")
            .should().dependOnClassesThat(resideInAPackage("io.qmpbackup.engine..")
                    .and(not(resideInAPackage("io.qmpbackup.engine.qmp.."))))
            .because("qmp speaks the QMP/QGA wire protocol and knows nothing of backups, chains or files:"
                    + " everything else in the engine builds on it");

    @ArchTest
    static final ArchRule engine_layers = layeredArchitecture().consideringOnlyDependenciesInLayers()
            .layer("qmp").definedBy("io.qmpbackup.engine.qmp..")
            .layer("repository").definedBy("io.qmpbackup.engine.repository..")
            .layer("sink").definedBy("io.qmpbackup.engine.sink..")
            .layer("backup").definedBy("io.qmpbackup.engine.backup..")
            .layer("restore").definedBy("io.qmpbackup.engine.restore..")
            .layer("retention").definedBy("io.qmpbackup.engine.retention..")
            .layer("remote").definedBy("io.qmpbackup.engine.remote..")
            .layer("service").definedBy("io.qmpbackup.engine.service..")
            .layer("cli").definedBy("io.qmpbackup.engine.cli..")
            .whereLayer("qmp").mayNotAccessAnyLayer()
            .whereLayer("repository").mayOnlyAccessLayers("qmp")
            .whereLayer("sink").mayOnlyAccessLayers("repository")
            .whereLayer("backup").mayOnlyAccessLayers("sink", "repository", "qmp")
            .whereLayer("restore").mayOnlyAccessLayers("backup", "repository", "qmp")
            .whereLayer("retention").mayOnlyAccessLayers("backup", "repository", "qmp")
            .whereLayer("remote").mayOnlyAccessLayers("restore", "backup", "repository", "qmp")
            .whereLayer("service").mayOnlyAccessLayers("remote", "restore", "retention", "backup", "repository", "qmp")
            .whereLayer("cli").mayNotBeAccessedByAnyLayer()
            .ensureAllClassesAreContainedInArchitecture()
            .because("each layer builds only on those below it; a new engine package needs a place in"
                    + " these layers (add it here)");
}
