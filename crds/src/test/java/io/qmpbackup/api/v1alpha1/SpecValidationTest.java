package io.qmpbackup.api.v1alpha1;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** The schema's promises about a run's spec, as the operator and the agent check them. */
class SpecValidationTest {
    private static VMBackup backup(Consumer<VMBackupSpec> change) {
        VMBackupSpec spec = new VMBackupSpec();
        spec.vm = new VmRef();
        spec.vm.name = "web1";
        spec.level = BackupLevel.AUTO;
        spec.storage = new StorageRef();
        spec.storage.location = "default";
        spec.storage.path = "web1/daily";
        change.accept(spec);
        VMBackup b = new VMBackup();
        b.setMetadata(new ObjectMetaBuilder().withName("b").withNamespace("vms").build());
        b.setSpec(spec);
        return b;
    }

    private static VMRestore restore(Consumer<VMRestoreSpec> change) {
        VMRestoreSpec spec = new VMRestoreSpec();
        spec.source = new RestoreSource();
        spec.source.backup = "web1-full";
        spec.mode = RestoreMode.REBASE;
        change.accept(spec);
        VMRestore r = new VMRestore();
        r.setMetadata(new ObjectMetaBuilder().withName("r").withNamespace("vms").build());
        r.setSpec(spec);
        return r;
    }

    private static List<String> problems(VMBackup b) {
        return SpecValidation.problems(b).stream().map(SpecProblem::toString).toList();
    }

    private static List<String> problems(VMRestore r) {
        return SpecValidation.problems(r).stream().map(SpecProblem::toString).toList();
    }

    @Test
    void aValidBackupHasNoProblems() {
        assertThat(problems(backup(s -> { }))).isEmpty();
        assertThat(problems(backup(s -> {
            s.vm = new VmRef();
            s.vm.node = "node-a";
            s.vm.qmpSocket = "/run/qemu/web1.qmp";
            s.speedLimit = 0L;
            s.include = List.of("vda");
            s.retention = new Retention();
            s.retention.keepDaily = 0;
            s.storage.path = "web1..old/x";
        }))).isEmpty();
    }

    @Test
    void requiredFieldsMissingOrUnreadableNameTheAllowedValues() {
        assertThat(problems(backup(s -> s.level = null)))
                .containsExactly("spec.level: missing or not one of full, inc, auto, copy");
        assertThat(problems(backup(s -> s.vm = null))).singleElement().asString().startsWith("spec.vm: missing");
        assertThat(problems(backup(s -> s.storage = null))).containsExactly("spec.storage: missing: give location and"
                + " path");
        assertThat(problems(backup(s -> s.storage.location = null))).singleElement().asString()
                .startsWith("spec.storage.location: missing");
        VMBackup noSpec = backup(s -> { });
        noSpec.setSpec(null);
        assertThat(problems(noSpec)).singleElement().asString().startsWith("spec: missing");
    }

    @Test
    void theCelRulesAreCheckedToo() {
        assertThat(problems(backup(s -> s.storage.path = "../other-tenant"))).containsExactly(
                "spec.storage.path: \"../other-tenant\": path must be relative and must not contain '..'");
        assertThat(problems(backup(s -> s.storage.path = "web1/.."))).hasSize(1);
        assertThat(problems(backup(s -> s.storage.path = "/etc"))).hasSize(1);
        assertThat(problems(backup(s -> s.storage.location = "Not_A_Name"))).singleElement().asString()
                .startsWith("spec.storage.location: \"Not_A_Name\" is not a storage location name");
        assertThat(problems(backup(s -> {
            s.include = List.of("vda");
            s.exclude = List.of("vdb");
        }))).containsExactly("spec.include: give either include or exclude, not both");
        assertThat(problems(backup(s -> {
            s.vm.name = null;
            s.vm.node = "node-a";
        }))).containsExactly("spec.vm: give either name (a QemuVM) or node and qmpSocket");
        assertThat(problems(backup(s -> s.vm.agentSocket = "run/qga.sock"))).singleElement().asString()
                .startsWith("spec.vm.agentSocket: \"run/qga.sock\" is not an absolute path");
    }

    @Test
    void numbersOutOfTheirRange() {
        assertThat(problems(backup(s -> s.speedLimit = -1L))).singleElement().asString()
                .startsWith("spec.speedLimit: is -1");
        assertThat(problems(backup(s -> {
            s.retention = new Retention();
            s.retention.keepLast = 0;
            s.retention.keepWeekly = -2;
        }))).containsExactly("spec.retention.keepLast: is 0: give 1 or more",
                "spec.retention.keepWeekly: is -2: give 0 or more");
        assertThat(problems(backup(s -> s.retention = new Retention()))).containsExactly(
                "spec.retention: give at least one of keepLast, keepDaily, keepWeekly, keepMonthly");
    }

    @Test
    void restores() {
        assertThat(problems(restore(s -> { }))).isEmpty();
        assertThat(problems(restore(s -> s.mode = null)))
                .containsExactly("spec.mode: missing or not one of merge, rebase, commit, snapshotrebase, instant,"
                        + " export");
        assertThat(problems(restore(s -> s.mode = RestoreMode.MERGE)))
                .containsExactly("spec.targetFile: mode merge needs targetFile");
        assertThat(problems(restore(s -> {
            s.mode = RestoreMode.MERGE;
            s.targetFile = "out.qcow2";
        }))).singleElement().asString().startsWith("spec.targetFile: \"out.qcow2\" is not an absolute path");
        assertThat(problems(restore(s -> s.source = new RestoreSource())))
                .contains("spec.source: give either backup or storage");
        assertThat(problems(restore(s -> {
            s.source.backup = null;
            s.source.storage = new StorageRef();
            s.source.storage.location = "default";
            s.source.storage.path = "web1/../../x";
        }))).containsExactly("spec.source.storage.path: \"web1/../../x\": path must be relative and must not contain"
                + " '..'", "spec.node: a restore from a storage folder needs node (where the storage is mounted)");
    }

    @Test
    void instantAndExportRestores() {
        assertThat(problems(restore(s -> s.mode = RestoreMode.INSTANT)))
                .containsExactly("spec.targetFile: mode instant needs targetFile");
        assertThat(problems(restore(s -> s.mode = RestoreMode.EXPORT))).isEmpty();
        assertThat(problems(restore(s -> {
            s.mode = RestoreMode.EXPORT;
            s.export = new RestoreExport();
            s.export.ttl = "soon";
            s.export.socket = "x.sock";
            s.export.port = 70000;
        }))).containsExactly("spec.export.ttl: \"soon\" is not a duration: write it like 90s, 30m, 1h30m or 2d",
                "spec.export.socket: \"x.sock\" is not an absolute path (it must start with /)",
                "spec.export.port: is 70000: give a TCP port from 1 to 65535",
                "spec.export: give either socket or port, not both");
        assertThat(problems(restore(s -> {
            s.mode = RestoreMode.MERGE;
            s.targetFile = "/var/lib/qmpbackup/vms/out.qcow2";
            s.export = new RestoreExport();
        }))).containsExactly("spec.export: is for mode export only (mode is merge)");
    }

    @Test
    void theMessageListsEveryProblem() {
        String m = SpecValidation.message(SpecValidation.problems(backup(s -> {
            s.level = null;
            s.storage.path = "/abs";
        })));
        assertThat(m).contains("spec.level: missing or not one of full, inc, auto, copy")
                .contains("spec.storage.path");
    }

    private static List<String> problems(VMBackupSchedule s) {
        return SpecValidation.problems(s).stream().map(SpecProblem::toString).toList();
    }

    @Test
    void schedulesAreCheckedBeforeTheyFire() {
        VMBackupSchedule s = new VMBackupSchedule();
        s.setMetadata(new ObjectMetaBuilder().withName("s").withNamespace("vms").build());
        s.setSpec(new VMBackupScheduleSpec());
        assertThat(problems(s)).anyMatch(p -> p.startsWith("spec.schedule: missing"))
                .anyMatch(p -> p.startsWith("spec.vmSelector: missing")).anyMatch(p -> p.startsWith("spec.template:"));
        s.getSpec().schedule = "0 2 * * *";
        s.getSpec().vmSelector = new io.fabric8.kubernetes.api.model.LabelSelector();
        s.getSpec().template = new BackupTemplate();
        s.getSpec().template.storage = new StorageRef();
        s.getSpec().template.storage.location = "default";
        s.getSpec().template.storage.path = "fleet";
        assertThat(problems(s)).isEmpty();
        s.getSpec().fullEvery = 0;
        s.getSpec().template.storage.path = "../other";
        s.getSpec().template.retention = new Retention();
        assertThat(problems(s)).containsExactly("spec.fullEvery: is 0: give 1 or more",
                "spec.template.storage.path: \"../other\": path must be relative and must not contain '..'",
                "spec.template.retention: give at least one of keepLast, keepDaily, keepWeekly, keepMonthly");
    }

    @Test
    void qemuVmsNeedANodeAndAbsoluteSockets() {
        QemuVM q = new QemuVM();
        q.setMetadata(new ObjectMetaBuilder().withName("q").withNamespace("vms").build());
        q.setSpec(new QemuVMSpec());
        q.getSpec().agentSocket = "web1.qga";
        assertThat(SpecValidation.problems(q).stream().map(SpecProblem::toString).toList()).containsExactly(
                "spec.node: missing: give the node that runs the VM", "spec.qmpSocket: missing: give the VM's QMP socket",
                "spec.agentSocket: \"web1.qga\" is not an absolute path (it must start with /)");
    }
}
