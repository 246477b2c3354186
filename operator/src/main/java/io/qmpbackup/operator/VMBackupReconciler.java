package io.qmpbackup.operator;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupStatus;

/** VMBackup: resolve the VM's node and hand the backup to that node's agent. */
// status changes made by the node agent must reach the operator (Events, metrics)
@ControllerConfiguration(generationAwareEventProcessing = false)
public class VMBackupReconciler implements Reconciler<VMBackup>, Cleaner<VMBackup>,
        WorkDispatch.Work<VMBackup, VMBackupStatus> {
    private final KubernetesClient client;
    private final WorkDispatch dispatch;

    public VMBackupReconciler(KubernetesClient client, WorkDispatch dispatch) {
        this.client = client;
        this.dispatch = dispatch;
    }

    @Override
    public UpdateControl<VMBackup> reconcile(VMBackup r, Context<VMBackup> context) {
        return dispatch.reconcile(r, this);
    }

    @Override
    public DeleteControl cleanup(VMBackup r, Context<VMBackup> context) {
        return dispatch.cleanup(r, this);
    }

    @Override
    public WorkDispatch.Target target(VMBackup r) {
        var vm = r.getSpec().vm;
        if (vm.node == null) {
            return WorkDispatch.Target.fail("QemuVMNotSupported", "vm.name " + vm.name + " names a QemuVM, which"
                    + " needs VM discovery (not available yet): give vm.node and vm.qmpSocket instead");
        }
        Node node = client.nodes().withName(vm.node).get();
        if (node == null) {
            return WorkDispatch.Target.fail("NodeNotFound", "node " + vm.node + " does not exist: set vm.node to the"
                    + " node that runs the VM (kubectl get nodes)");
        }
        return WorkDispatch.Target.node(vm.node);
    }

    @Override
    public VMBackupStatus newStatus() {
        return new VMBackupStatus();
    }

    @Override
    public String vm(VMBackup r) {
        var vm = r.getSpec().vm;
        return vm.name != null ? vm.name : vm.node + ":" + vm.qmpSocket;
    }

    @Override
    public long bytes(VMBackup r) {
        if (r.getStatus() == null || r.getStatus().disks == null) {
            return 0;
        }
        return r.getStatus().disks.stream().mapToLong(d -> d.bytesWritten == null ? 0 : d.bytesWritten).sum();
    }

}
