package io.qmpbackup.operator;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.RestoreMode;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMRestore;
import io.qmpbackup.api.v1alpha1.VMRestoreStatus;

/** VMRestore: runs on the node of its source VMBackup (or the node it names). */
// status changes made by the node agent must reach the operator (Events, metrics)
@ControllerConfiguration(generationAwareEventProcessing = false)
public class VMRestoreReconciler implements Reconciler<VMRestore>, Cleaner<VMRestore>,
        WorkDispatch.Work<VMRestore, VMRestoreStatus> {
    private final KubernetesClient client;
    private final Grants grants;
    private final WorkDispatch dispatch;

    public VMRestoreReconciler(KubernetesClient client, WorkDispatch dispatch, Grants grants) {
        this.client = client;
        this.dispatch = dispatch;
        this.grants = grants;
    }

    @Override
    public UpdateControl<VMRestore> reconcile(VMRestore r, Context<VMRestore> context) {
        return dispatch.reconcile(r, this);
    }

    @Override
    public DeleteControl cleanup(VMRestore r, Context<VMRestore> context) {
        return dispatch.cleanup(r, this);
    }


    @Override
    public WorkDispatch.Target target(VMRestore r) {
        // merge writes a new image, instant a new overlay: both inside the namespace's own storage area
        if (r.getSpec().mode == RestoreMode.MERGE || r.getSpec().mode == RestoreMode.INSTANT) {
            var denied = grants.mergeTarget(r.getSpec().targetFile, r.getMetadata().getNamespace());
            if (denied.isPresent()) {
                return WorkDispatch.Target.fail(denied.get().reason(), denied.get().message());
            }
        }
        String node = r.getSpec().node;
        String backupName = r.getSpec().source.backup;
        if (backupName != null) {
            VMBackup b = client.resources(VMBackup.class).inNamespace(r.getMetadata().getNamespace())
                    .withName(backupName).get();
            if (b == null) {
                return WorkDispatch.Target.fail("BackupNotFound", "source.backup " + backupName + " does not exist in"
                        + " namespace " + r.getMetadata().getNamespace());
            }
            if (b.getStatus() == null || b.getStatus().phase != Phase.SUCCEEDED) {
                return WorkDispatch.Target.fail("BackupNotSucceeded", "source.backup " + backupName + " is "
                        + (b.getStatus() == null || b.getStatus().phase == null ? "not run yet"
                                : b.getStatus().phase.value()) + ": only a succeeded backup can be restored");
            }
            if (node == null) {
                node = b.getStatus().node;
            }
        }
        if (client.nodes().withName(node).get() == null) {
            return WorkDispatch.Target.fail("NodeNotFound", "node " + node + " does not exist (kubectl get nodes)");
        }
        return WorkDispatch.Target.node(node);
    }

    @Override
    public VMRestoreStatus newStatus() {
        return new VMRestoreStatus();
    }

    @Override
    public String vm(VMRestore r) {
        return r.getSpec() == null || r.getSpec().source == null ? null : r.getSpec().source.backup;
    }

    @Override
    public long bytes(VMRestore r) {
        return 0;
    }
}
