package io.qmpbackup.agent;

import static com.tngtech.archunit.base.DescribedPredicate.describe;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.belongTo;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import java.util.ArrayList;
import java.util.List;

/**
 * The agent's controller uses the engine through its front, io.qmpbackup.engine.service, not by
 * composing its internals itself (the same rule as the engine's CliUsesEngineFrontTest for the CLI).
 */
@AnalyzeClasses(packages = "io.qmpbackup.agent.controller", importOptions = ImportOption.DoNotIncludeTests.class)
class ControllerUsesEngineFrontTest {

    /** The engine's internals: what only io.qmpbackup.engine.service may put together. Adjust here. */
    static final List<String> ENGINE_INTERNALS = List.of(
            "io.qmpbackup.engine.backup.FleecingBackup",
            "io.qmpbackup.engine.backup.LeftoverCleaner",
            "io.qmpbackup.engine.backup.BitmapCleanup",
            "io.qmpbackup.engine.backup.DiskDiscovery",
            "io.qmpbackup.engine.backup.RunLock",
            "io.qmpbackup.engine.retention.ChainPruner",
            "io.qmpbackup.engine.restore.ChainRestore",
            "io.qmpbackup.engine.restore.BackupChain",
            "io.qmpbackup.engine.restore.ChainVerifier",
            "io.qmpbackup.engine.repository.QemuImg",
            "io.qmpbackup.engine.repository.TargetLock",
            "io.qmpbackup.engine.qmp.QmpClient",
            "io.qmpbackup.engine.qmp.JsonLineChannel",
            "io.qmpbackup.engine.remote.RemoteStore",
            "io.qmpbackup.engine.remote.Replicator",
            "io.qmpbackup.engine.remote.RemoteShadow");

    @ArchTest
    static final ArchRule controller_uses_the_engine_only_through_its_service_front = noClasses()
            .that().resideInAPackage("io.qmpbackup.agent.controller..")
            .should().dependOnClassesThat(belongTo(describe("are engine internals " + ENGINE_INTERNALS,
                    (JavaClass c) -> ENGINE_INTERNALS.contains(c.getName()))))
            .because("the controller maps CRs to engine requests and results to status; running a backup,"
                    + " restore or prune is io.qmpbackup.engine.service's job, so the agent and the CLI"
                    + " cannot drift apart");

    /** A misspelt or removed name in the list would guard nothing: each must name a real class. */
    @ArchTest
    static void every_listed_internal_exists(JavaClasses ignored) {
        List<String> missing = new ArrayList<>();
        for (String name : ENGINE_INTERNALS) {
            try {
                Class.forName(name, false, ControllerUsesEngineFrontTest.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                missing.add(name);
            }
        }
        assertThat(missing).as("ENGINE_INTERNALS names classes that do not exist: fix or remove them").isEmpty();
    }
}
