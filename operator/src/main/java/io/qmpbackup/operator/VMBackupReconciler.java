package io.qmpbackup.operator;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.qmpbackup.api.v1alpha1.QemuVM;
import io.qmpbackup.api.v1alpha1.SpecProblem;
import io.qmpbackup.api.v1alpha1.SpecValidation;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupStatus;
import io.qmpbackup.tenancy.Tenancy;
import java.util.List;
import java.util.Optional;

/** VMBackup: resolve the VM's node and hand the backup to that node's agent. */
// status changes made by the node agent must reach the operator (Events, metrics)
@ControllerConfiguration(generationAwareEventProcessing = false)
public class VMBackupReconciler implements Reconciler<VMBackup>, Cleaner<VMBackup>,
        WorkDispatch.Work<VMBackup, VMBackupStatus> {
    private final KubernetesClient client;
    private final WorkDispatch dispatch;
    private final PrunedBackups pruned;
    private final Grants grants;

    public VMBackupReconciler(KubernetesClient client, WorkDispatch dispatch, PrunedBackups pruned, Grants grants) {
        this.client = client;
        this.dispatch = dispatch;
        this.pruned = pruned;
        this.grants = grants;
    }

    @Override
    public UpdateControl<VMBackup> reconcile(VMBackup r, Context<VMBackup> context) {
        pruned.onFinished(r);
        return dispatch.reconcile(r, this);
    }

    @Override
    public DeleteControl cleanup(VMBackup r, Context<VMBackup> context) {
        pruned.forget(r);
        return dispatch.cleanup(r, this);
    }


    @Override
    public WorkDispatch.Target target(VMBackup r) {
        var vm = r.getSpec().vm;
        String ns = r.getMetadata().getNamespace();
        String nodeName = vm.node;
        String qmpSocket = vm.qmpSocket;
        String agentSocket = vm.agentSocket;
        if (vm.name != null) {
            QemuVM q = client.resources(QemuVM.class).inNamespace(ns).withName(vm.name).get();
            if (q == null) {
                return WorkDispatch.Target.fail("QemuVMNotFound", "QemuVM " + vm.name + " does not exist in namespace "
                        + ns + " (kubectl get qemuvms; node agents create them for the VMs they find)");
            }
            List<SpecProblem> problems = SpecValidation.problems(q);
            if (!problems.isEmpty()) {
                return WorkDispatch.Target.fail("InvalidQemuVM", "QemuVM " + vm.name + ": "
                        + SpecValidation.describe(problems) + " (fix it, or delete it and let discovery create it)");
            }
            if (q.getStatus() != null && Boolean.TRUE.equals(q.getStatus().stale)) {
                return WorkDispatch.Target.fail("VMStale", "QemuVM " + vm.name + " is stale: " + q.getStatus().message);
            }
            nodeName = q.getSpec().node;
            qmpSocket = q.getSpec().qmpSocket;
            agentSocket = agentSocket != null ? agentSocket : q.getSpec().agentSocket;
        }
        // a socket of another namespace's folder never reaches a node
        Optional<Tenancy.Denial> denied = grants.socket(qmpSocket, "QMP socket", ns);
        if (denied.isEmpty()) {
            denied = grants.socket(agentSocket, "guest agent socket", ns);
        }
        if (denied.isPresent()) {
            return WorkDispatch.Target.fail(denied.get().reason(), denied.get().message());
        }
        Node node = client.nodes().withName(nodeName).get();
        if (node == null) {
            return WorkDispatch.Target.fail("NodeNotFound", "node " + nodeName + " does not exist: set vm.node to the"
                    + " node that runs the VM (kubectl get nodes)");
        }
        return WorkDispatch.Target.node(nodeName);
    }

    @Override
    public VMBackupStatus newStatus() {
        return new VMBackupStatus();
    }

    @Override
    public String vm(VMBackup r) {
        var vm = r.getSpec() == null ? null : r.getSpec().vm;
        if (vm == null) {
            return null;
        }
        return vm.name != null ? vm.name : vm.node + ":" + vm.qmpSocket;
    }

    @Override
    public WorkDispatch.Pruned pruned(VMBackup r) {
        var rr = r.getStatus() == null ? null : r.getStatus().retention;
        return rr == null ? WorkDispatch.Pruned.NONE : new WorkDispatch.Pruned(
                rr.chainsPruned == null ? 0 : rr.chainsPruned, rr.bytesFreed == null ? 0 : rr.bytesFreed);
    }

    @Override
    public long bytes(VMBackup r) {
        if (r.getStatus() == null || r.getStatus().disks == null) {
            return 0;
        }
        return r.getStatus().disks.stream().mapToLong(d -> d.bytesWritten == null ? 0 : d.bytesWritten).sum();
    }

}
