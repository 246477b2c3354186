package io.qmpbackup.operator;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/** The operator talks to node agents only through the Kubernetes API (CRs, Leases), never in code. */
@AnalyzeClasses(packages = "io.qmpbackup.operator", importOptions = ImportOption.DoNotIncludeTests.class)
class OperatorArchitectureTest {

    @ArchTest
    static final ArchRule operator_uses_neither_the_agent_nor_the_engine = noClasses()
            .that().resideInAPackage("io.qmpbackup.operator..")
            .should().dependOnClassesThat().resideInAnyPackage("io.qmpbackup.agent..", "io.qmpbackup.engine..")
            .because("the operator runs in its own Deployment without the engine or the agent; it dispatches"
                    + " work through CRs, and the node agents run it");
}
