package io.qmpbackup.operator;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.qmpbackup.api.v1alpha1.DiskResult;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupStatus;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jboss.logging.Logger;

/**
 * The agent deletes the files of the chains retention does not keep and lists them in the
 * status of the backup that pruned; this deletes the VMBackups that described those files, so
 * {@code kubectl get vmbackups} lists what can still be restored. A VMBackup goes when a file
 * it wrote was pruned on the same node and storage location: retention keeps or drops a restore
 * point for every disk alike, so one pruned file means its point is no longer kept (its other
 * disks' files may live on in a chain a kept point needs).
 */
@ApplicationScoped
public class PrunedBackups {
    private static final Logger LOG = Logger.getLogger(PrunedBackups.class);

    private final KubernetesClient client;
    private final RunEvents events;
    /** Pruning backups already handled (uid), so a resync does not list the namespace again. */
    private final Set<String> handled = ConcurrentHashMap.newKeySet();

    public PrunedBackups(KubernetesClient client, RunEvents events) {
        this.client = client;
        this.events = events;
    }

    public void onFinished(VMBackup r) {
        VMBackupStatus s = r.getStatus();
        if (s == null || s.phase != Phase.SUCCEEDED || s.node == null || s.retention == null
                || s.retention.prunedFiles == null || s.retention.prunedFiles.isEmpty()
                || !handled.add(r.getMetadata().getUid())) {
            return;
        }
        Set<String> pruned = new HashSet<>(s.retention.prunedFiles);
        List<String> deleted = new ArrayList<>();
        // only that node's backups can describe files on that node (the operator labels each one)
        for (VMBackup b : client.resources(VMBackup.class).inNamespace(r.getMetadata().getNamespace())
                .withLabel(VMBackup.NODE_LABEL, s.node).list().getItems()) {
            if (b.getMetadata().getUid().equals(r.getMetadata().getUid()) || !lostAFile(b, r, pruned)) {
                continue;
            }
            try {
                client.resource(b).delete();
                deleted.add(b.getMetadata().getName());
            } catch (KubernetesClientException e) {
                if (e.getCode() != 404) {
                    handled.remove(r.getMetadata().getUid()); // try again on the next event
                    LOG.warnf("VMBackup(%s/%s): cannot delete pruned VMBackup %s: %s", r.getMetadata().getNamespace(),
                            r.getMetadata().getName(), b.getMetadata().getName(), e.getMessage());
                }
            }
        }
        if (!deleted.isEmpty()) {
            LOG.infof("VMBackup(%s/%s): retention pruned the files of %s; deleted them", r.getMetadata().getNamespace(),
                    r.getMetadata().getName(), deleted);
            events.record(r, false, "PrunedBackupsDeleted", "retention deleted " + s.retention.prunedFiles.size()
                    + " file(s); deleted the VMBackups that described them: " + String.join(", ", deleted));
        }
    }

    public void forget(VMBackup r) {
        handled.remove(r.getMetadata().getUid());
    }

    /** True when a file {@code b} wrote is among the files {@code pruner} pruned on its node and location. */
    private static boolean lostAFile(VMBackup b, VMBackup pruner, Set<String> pruned) {
        VMBackupStatus s = b.getStatus();
        if (s == null || s.phase != Phase.SUCCEEDED || s.disks == null || s.disks.isEmpty()) {
            return false;
        }
        if (!Objects.equals(s.node, pruner.getStatus().node)
                || !Objects.equals(b.getSpec().storage.location, pruner.getSpec().storage.location)) {
            return false;
        }
        return s.disks.stream().map((DiskResult d) -> d.file).anyMatch(pruned::contains);
    }
}
