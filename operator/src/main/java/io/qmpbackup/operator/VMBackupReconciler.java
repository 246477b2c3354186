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
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupStatus;

/** VMBackup: resolve the VM's node and hand the backup to that node's agent. */
// status changes made by the node agent must reach the operator (Events, metrics)
@ControllerConfiguration(generationAwareEventProcessing = false)
public class VMBackupReconciler implements Reconciler<VMBackup>, Cleaner<VMBackup>,
        WorkDispatch.Work<VMBackup, VMBackupStatus> {
    private final KubernetesClient client;
    private final WorkDispatch dispatch;
    private final PrunedBackups pruned;

    public VMBackupReconciler(KubernetesClient client, WorkDispatch dispatch, PrunedBackups pruned) {
        this.client = client;
        this.dispatch = dispatch;
        this.pruned = pruned;
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
        String nodeName = vm.node;
        if (vm.name != null) {
            QemuVM q = client.resources(QemuVM.class).inNamespace(r.getMetadata().getNamespace()).withName(vm.name)
                    .get();
            if (q == null) {
                return WorkDispatch.Target.fail("QemuVMNotFound", "QemuVM " + vm.name + " does not exist in namespace "
                        + r.getMetadata().getNamespace() + " (kubectl get qemuvms; node agents create them for the VMs"
                        + " they find)");
            }
            if (q.getStatus() != null && Boolean.TRUE.equals(q.getStatus().stale)) {
                return WorkDispatch.Target.fail("VMStale", "QemuVM " + vm.name + " is stale: " + q.getStatus().message);
            }
            nodeName = q.getSpec().node;
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
