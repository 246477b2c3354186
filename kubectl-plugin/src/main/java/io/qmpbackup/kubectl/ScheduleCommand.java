package io.qmpbackup.kubectl;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.qmpbackup.api.v1alpha1.QemuVM;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSchedule;
import java.io.PrintWriter;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code schedule run-now NAME}: what a VMBackupSchedule would start, started now. */
@Command(name = "schedule", mixinStandardHelpOptions = true, description = "Act on a VMBackupSchedule.",
        subcommands = ScheduleCommand.RunNow.class)
class ScheduleCommand {
    @ParentCommand
    KubectlQmpBackup root;

    @Command(name = "run-now", mixinStandardHelpOptions = true,
            description = "Create the VMBackups of schedule NAME now, one per QemuVM its vmSelector picks, from its"
                    + " template (labelled and owned as the schedule's own runs, so its history and limits count"
                    + " them). VMs with a run still active are skipped unless concurrencyPolicy is Allow.")
    static class RunNow implements Callable<Integer> {
        @ParentCommand
        ScheduleCommand schedule;

        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "NAME", description = "Name of a VMBackupSchedule in the namespace.")
        String name;

        @Option(names = "--vm", description = "Only this QemuVM of the schedule's fleet.")
        String vm;

        @Override
        public Integer call() throws Exception {
            KubectlQmpBackup root = schedule.root;
            KubernetesClient client = root.client();
            String ns = root.namespace();
            PrintWriter out = spec.commandLine().getOut();
            VMBackupSchedule s = client.resources(VMBackupSchedule.class).inNamespace(ns).withName(name).get();
            if (s == null) {
                throw new IllegalArgumentException("no VMBackupSchedule " + name + " in namespace " + ns);
            }
            if (s.getSpec() == null || s.getSpec().template == null || s.getSpec().template.storage == null
                    || s.getSpec().vmSelector == null) {
                throw new IllegalArgumentException("VMBackupSchedule " + name + " has no vmSelector or template.storage");
            }
            List<QemuVM> vms = client.resources(QemuVM.class).inNamespace(ns).withLabelSelector(s.getSpec().vmSelector)
                    .list().getItems().stream().filter(q -> vm == null || vm.equals(q.getMetadata().getName())).toList();
            if (vms.isEmpty()) {
                throw new IllegalArgumentException("the vmSelector of " + name + " picks no QemuVM"
                        + (vm == null ? "" : " named " + vm) + " in namespace " + ns);
            }
            List<VMBackup> runs = client.resources(VMBackup.class).inNamespace(ns)
                    .withLabel(VMBackupSchedule.SCHEDULE_LABEL, ScheduleRuns.labelValue(name)).list().getItems();
            ScheduleRuns.Plan plan = ScheduleRuns.plan(s, vms, runs, ZonedDateTime.now(ZoneOffset.UTC));
            for (VMBackup b : plan.backups()) {
                RunWatch.created(out, "vmbackup", client.resource(b).create().getMetadata().getName());
            }
            for (String skipped : plan.skipped()) {
                out.println(skipped + ": skipped, a run of it is still active (concurrencyPolicy Forbid)");
            }
            return plan.backups().isEmpty() ? KubectlQmpBackup.FAILED : 0;
        }
    }
}
