package io.qmpbackup.agent.controller;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.qmpbackup.agent.restore.BackupChain;
import io.qmpbackup.agent.restore.ChainRestore;
import io.qmpbackup.agent.restore.RestoreException;
import io.qmpbackup.api.v1alpha1.DiskResult;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.RestoreMode;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMRestore;
import io.qmpbackup.api.v1alpha1.VMRestoreSpec;
import io.qmpbackup.api.v1alpha1.VMRestoreStatus;
import java.nio.file.Path;
import java.time.ZoneId;
import java.util.List;
import org.jboss.logging.Logger;

/** A VMRestore on this node: finds the disk's chain folder and runs the restore engine on it. */
final class RestoreWork implements WorkRun {
    private static final Logger LOG = Logger.getLogger(RestoreWork.class);

    private final KubernetesClient client;
    private final AgentConfig config;
    private final VMRestore resource;
    private final StatusWriter<VMRestore, VMRestoreStatus> status;

    RestoreWork(KubernetesClient client, AgentConfig config, VMRestore resource) {
        this.client = client;
        this.config = config;
        this.resource = resource;
        this.status = new StatusWriter<>(client, VMRestore.class, resource, config.progressInterval());
    }

    @Override
    public void run() {
        VMRestoreSpec spec = resource.getSpec();
        try {
            Path dir = folder(spec);
            BackupChain chain = BackupChain.load(dir);
            ChainRestore restore = new ChainRestore(chain, false, ZoneId.systemDefault(), status.log());
            String output;
            List<ChainRestore.Step> steps;
            switch (spec.mode) {
                case MERGE -> {
                    steps = restore.planMerge(Path.of(spec.targetFile), spec.until);
                    output = spec.targetFile;
                }
                case REBASE -> {
                    steps = restore.planRebase(spec.until);
                    output = dir.resolve("image").toString();
                }
                case COMMIT -> {
                    steps = restore.planCommit(spec.until, 0);
                    output = chain.pointUpTo(spec.until).get(0).path().toString();
                }
                default -> {
                    steps = restore.planSnapshotRebase(spec.until, 0);
                    output = chain.pointUpTo(spec.until).get(0).path().toString();
                }
            }
            restore.run(steps);
            String out = output;
            status.finish(Phase.SUCCEEDED, "Succeeded", spec.mode.value() + " of " + dir + " done: " + out, s -> {
                s.outputFile = out;
                s.check = spec.mode == RestoreMode.MERGE ? "qemu-img check: no errors" : "chain checked before changes";
            });
        } catch (RestoreException e) {
            status.finish(Phase.FAILED, "RestoreFailed", e.getMessage(), s -> { });
        } catch (RuntimeException e) {
            status.finish(Phase.FAILED, "InternalError", e.toString(), s -> { });
        }
    }

    /** The disk's chain folder on this node. */
    private Path folder(VMRestoreSpec spec) throws RestoreException {
        String locationName;
        String chainPath;
        String disk = spec.source.disk;
        if (spec.source.backup != null) {
            VMBackup b = client.resources(VMBackup.class).inNamespace(resource.getMetadata().getNamespace())
                    .withName(spec.source.backup).get();
            if (b == null || b.getStatus() == null || b.getStatus().chainPath == null) {
                throw new RestoreException("source.backup " + spec.source.backup + " is gone or has no chain recorded");
            }
            locationName = b.getSpec().storage.location;
            chainPath = b.getStatus().chainPath;
            if (disk == null) {
                List<DiskResult> disks = b.getStatus().disks == null ? List.of() : b.getStatus().disks;
                if (disks.size() != 1) {
                    throw new RestoreException("source.backup " + spec.source.backup + " holds " + disks.size()
                            + " disks: name one with source.disk (" + disks.stream().map(d -> Path.of(d.file)
                                    .getParent().getFileName().toString()).toList() + ")");
                }
                disk = Path.of(disks.get(0).file).getParent().getFileName().toString();
            }
        } else {
            locationName = spec.source.storage.location;
            chainPath = spec.source.storage.path;
            if (disk == null) {
                throw new RestoreException("source.disk is needed with source.storage: the disk's image file name");
            }
        }
        Path location = config.storage().get(locationName);
        if (location == null) {
            throw new RestoreException("storage location " + locationName + " is not configured on node "
                    + config.nodeName() + " (configured: " + config.storage().keySet() + ")");
        }
        Path dir = Paths.inside(location, chainPath + "/" + disk);
        if (dir == null) {
            throw new RestoreException("the restore source leaves storage location " + locationName);
        }
        return dir;
    }

    @Override
    public String exclusive() {
        return "restore:" + resource.getMetadata().getNamespace() + "/" + resource.getMetadata().getName();
    }

    @Override
    public void cancel(String reason) {
        // qemu-img steps are short or must finish; the next step is not started once deleted
        LOG.infof("%s: cancel requested (%s); the running step finishes", status.id(), reason);
    }
}
