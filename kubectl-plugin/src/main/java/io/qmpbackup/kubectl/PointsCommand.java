package io.qmpbackup.kubectl;

import io.qmpbackup.api.v1alpha1.VMBackup;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code points VM}: the VM's restore points from its VMBackups. */
@Command(name = "points", mixinStandardHelpOptions = true,
        description = "List the restore points of VM (its VMBackups: name, time, level, phase, chain, node),"
                + " newest last.")
class PointsCommand implements Callable<Integer> {
    @ParentCommand
    KubectlQmpBackup root;

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "VM", description = "Name of a QemuVM (spec.vm.name of its VMBackups).")
    String vm;

    @Override
    public Integer call() throws Exception {
        String ns = root.namespace();
        List<VMBackup> all = root.client().resources(VMBackup.class).inNamespace(ns).list().getItems();
        List<VMBackup> points = PointsTable.ofVm(all, vm);
        PrintWriter out = spec.commandLine().getOut();
        if (points.isEmpty()) {
            out.println("No VMBackups of " + vm + " in namespace " + ns + ".");
            return 0;
        }
        out.print(PointsTable.render(points));
        return 0;
    }
}
