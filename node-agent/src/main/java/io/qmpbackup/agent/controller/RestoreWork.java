package io.qmpbackup.agent.controller;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.qmpbackup.engine.backup.Cancellation;
import io.qmpbackup.engine.remote.ChainDownload;
import io.qmpbackup.engine.remote.RemoteConfig;
import io.qmpbackup.engine.repository.AtomicFiles;
import io.qmpbackup.engine.service.RemoteService;
import io.qmpbackup.engine.restore.InstantOverlay;
import io.qmpbackup.engine.restore.RestoreException;
import io.qmpbackup.engine.service.RestoreOutcome;
import io.qmpbackup.engine.service.RestoreRequest;
import io.qmpbackup.engine.service.RestoreService;
import io.qmpbackup.api.v1alpha1.DiskResult;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.RestoreMode;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMRestore;
import io.qmpbackup.api.v1alpha1.VMRestoreSpec;
import io.qmpbackup.api.v1alpha1.VMRestoreStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;
import org.jboss.logging.Logger;

/** A VMRestore on this node: finds the disk's chain folder and runs the restore engine on it. */
final class RestoreWork implements WorkRun {
    private static final Logger LOG = Logger.getLogger(RestoreWork.class);

    private final KubernetesClient client;
    private final AgentConfig config;
    private final VMRestore resource;
    private final StatusWriter<VMRestore, VMRestoreStatus> status;
    private final Cancellation cancel = new Cancellation();
    private final Clock clock;

    RestoreWork(KubernetesClient client, AgentConfig config, VMRestore resource, Clock clock, LongConsumer copied) {
        this.client = client;
        this.config = config;
        this.resource = resource;
        this.clock = clock;
        this.status = new StatusWriter<>(client, VMRestore.class, resource, config.progressInterval(), clock,
                copied);
    }

    @Override
    public void run() {
        if (status.failIfInvalid(resource)) {
            return;
        }
        VMRestoreSpec spec = resource.getSpec();
        Download download = null;
        try {
            Source source = source(spec);
            boolean remote = Boolean.TRUE.equals(spec.source.remote);
            // the source first (a missing chain or remote creates nothing), then the target (its
            // folders are made), then the download
            Path dir = remote ? null : source.localFolder();
            RemoteConfig from = remote ? remoteOf(source) : null;
            boolean newFile = spec.mode == RestoreMode.MERGE || spec.mode == RestoreMode.INSTANT;
            Path target = newFile ? StorageArea.mergeTarget(config.storage(), config.nodeName(),
                    resource.getMetadata().getNamespace(), spec.targetFile) : null;
            if (remote) {
                download = new Download(source.area().scratch(resource.getMetadata().getName()));
                dir = download.fetch(source, from);
            }
            if (spec.mode == RestoreMode.EXPORT) {
                new ExportWork(config, resource, status, cancel, clock).serve(dir);
                return;
            }
            if (spec.mode == RestoreMode.INSTANT) {
                instant(dir, target, download);
                return;
            }
            RestoreRequest request = new RestoreRequest(MODES.get(spec.mode), dir, spec.until, target, false, 0);
            RestoreOutcome out = RestoreService.standard().restore(request, status.log(), cancel);
            Download d = download;
            status.finish(Phase.SUCCEEDED, "Succeeded", spec.mode.value() + " of " + dir + " done: " + out.output()
                    + (d == null ? "" : "; " + d.summary())
                    + (out.warnings().isEmpty() ? "" : "; warnings: " + String.join("; ", out.warnings())), s -> {
                        s.outputFile = out.output().toString();
                        s.check = d == null ? out.check() : d.check() + "; " + out.check();
                    });
        } catch (Refusal r) {
            LOG.warnf("%s: refused: %s", status.id(), r.getMessage());
            status.finish(Phase.FAILED, r.reason(), r.getMessage(), s -> { });
        } catch (RestoreException e) {
            if (cancel.cancelled()) {
                status.finish(Phase.CANCELLED, "Cancelled", e.getMessage(), s -> { });
            } else {
                status.finish(Phase.FAILED, "RestoreFailed", e.getMessage(), s -> { });
            }
        } catch (RuntimeException e) {
            status.finish(Phase.FAILED, "InternalError", e.toString(), s -> { });
        } finally {
            if (download != null && (spec.mode == RestoreMode.MERGE || spec.mode == RestoreMode.EXPORT
                    || status.lastPhase() != Phase.SUCCEEDED)) {
                download.remove(); // only a kept chain's users (an overlay, an in-place result) need it
            }
        }
    }

    /** An overlay on the point, made at once; the hold keeps retention off its backing files. */
    private void instant(Path dir, Path overlay, Download download) throws RestoreException {
        InstantOverlay.Result r = RestoreService.standard().instant(dir, null, resource.getSpec().until, overlay,
                false, status.log());
        String point = r.point().get(r.point().size() - 1).name();
        status.finish(Phase.SUCCEEDED, "OverlayReady", "overlay " + r.overlay() + " made on " + point + " of " + dir
                + ": start the VM on it, then make it stand alone with qmpbackup --socket <its QMP socket> stream"
                + " --device <disk>; until then retention keeps the point's backups"
                + (download == null ? "" : "; " + download.summary() + " (kept: the overlay's backing; delete "
                        + download.folder() + " after the stream)"), s -> {
                    s.outputFile = r.overlay().toString();
                    s.hold = r.hold() == null ? null : r.hold().record().toString();
                    s.check = "backup files checked (qemu-img check) before the overlay was made";
                });
    }

    private static final Map<RestoreMode, RestoreRequest.Mode> MODES = Map.of(RestoreMode.MERGE,
            RestoreRequest.Mode.MERGE, RestoreMode.REBASE, RestoreRequest.Mode.REBASE, RestoreMode.COMMIT,
            RestoreRequest.Mode.COMMIT, RestoreMode.SNAPSHOTREBASE, RestoreRequest.Mode.SNAPSHOTREBASE);

    /** Where the chain is: a storage location (its namespace area), a folder in it, the disk. */
    private record Source(StorageArea area, String location, String chainPath, String disk, String namespace,
            String node) {
        /** The disk's chain folder on this node, inside the area. */
        Path localFolder() throws Refusal, RestoreException {
            Path dir = area.resolve(chainPath + "/" + disk, "the restore source " + chainPath + " + disk");
            if (!Files.isDirectory(dir)) {
                throw new RestoreException("no backup folder " + chainPath + "/" + disk + " in storage location "
                        + location + " for namespace " + namespace + " on node " + node + " (" + area.root()
                        + "); if this node never held it, restore from the remote: source.remote: true");
            }
            return dir;
        }
    }

    /**
     * The disk's chain: a VMBackup's chainPath is relative to the namespace's storage area, and so
     * is source.storage.path (and the remote's keys, under the namespace's prefix).
     */
    private Source source(VMRestoreSpec spec) throws RestoreException, Refusal {
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
        String ns = resource.getMetadata().getNamespace();
        StorageArea area = StorageArea.of(config.storage(), config.nodeName(), locationName, ns);
        return new Source(area, locationName, chainPath, disk, ns, config.nodeName());
    }

    /** The source location's remote, narrowed to the namespace; RemoteNotConfigured when it has none. */
    private RemoteConfig remoteOf(Source source) throws Refusal {
        return Remotes.of(config).area(source.location(), source.namespace()).orElseThrow(() ->
                new Refusal("RemoteNotConfigured", "storage location " + source.location() + " has no remote on"
                        + " node " + config.nodeName() + ": configure agent.remotes." + source.location()
                        + " in the chart, or restore from the node's storage (source.remote: false)"));
    }

    /** A chain downloaded from the remote into a scratch folder of the area, each file checked. */
    private final class Download {
        private final Path root;
        private ChainDownload.Result result;
        private String remote;

        Download(Path root) {
            this.root = root;
        }

        Path fetch(Source source, RemoteConfig r) throws RestoreException {
            remote = r.toString();
            remove(); // what an earlier, interrupted run of this restore left
            try {
                result = RemoteService.standard().download(r, source.chainPath() + "/" + source.disk(), root,
                        status.log());
            } catch (IOException | RuntimeException e) {
                remove();
                throw new RestoreException("download of " + source.chainPath() + "/" + source.disk() + " from "
                        + remote + " failed, nothing was restored: " + e.getMessage(), e);
            }
            return result.folder();
        }

        Path folder() {
            return root;
        }

        String summary() {
            return result.files() + " file(s), " + result.bytes() + " bytes downloaded from " + remote + " into "
                    + root;
        }

        String check() {
            return "every downloaded file checked against the folder's integrity record";
        }

        void remove() {
            try {
                AtomicFiles.deleteTree(root);
            } catch (IOException e) {
                LOG.warnf("%s: cannot remove the download folder %s: %s", status.id(), root, e.getMessage());
            }
        }
    }

    /** What a restore holds while it runs: its own name only, so it takes a slot but waits for no other run. */
    static String exclusive(VMRestore r) {
        return "restore:" + r.getMetadata().getNamespace() + "/" + r.getMetadata().getName();
    }

    @Override
    public void cancel(String reason) {
        // the running qemu-img step finishes; the engine starts no further step unless the chain is
        // already being changed in place (then it finishes the plan, so the chain stays whole)
        LOG.infof("%s: cancel requested (%s)", status.id(), reason);
        cancel.cancel(reason);
    }
}
