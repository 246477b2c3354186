package io.qmpbackup.agent.controller;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.qmpbackup.engine.backup.BackupCancelledException;
import io.qmpbackup.engine.backup.BackupException;
import io.qmpbackup.engine.backup.BackupLevel;
import io.qmpbackup.engine.backup.BackupLog;
import io.qmpbackup.engine.backup.BackupOptions;
import io.qmpbackup.tenancy.Tenancy;
import io.qmpbackup.engine.backup.BackupResult;
import io.qmpbackup.engine.backup.Cancellation;
import io.qmpbackup.engine.qmp.QmpException;
import io.qmpbackup.engine.remote.RemoteConfig;
import io.qmpbackup.engine.retention.RetentionPolicy;
import io.qmpbackup.engine.service.BackupOutcome;
import io.qmpbackup.engine.service.BackupRequest;
import io.qmpbackup.engine.service.BackupService;
import io.qmpbackup.engine.service.PruneOutcome;
import io.qmpbackup.api.v1alpha1.DiskResult;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.Retention;
import io.qmpbackup.api.v1alpha1.RetentionResult;
import io.qmpbackup.api.v1alpha1.QemuVM;
import io.qmpbackup.api.v1alpha1.VmRef;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSpec;
import io.qmpbackup.api.v1alpha1.VMBackupStatus;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.jboss.logging.Logger;

/** A VMBackup on this node: the spec turned into engine options, the engine's result into status. */
final class BackupWork implements WorkRun {
    private static final Logger LOG = Logger.getLogger(BackupWork.class);

    private final AgentConfig config;
    private final VMBackup resource;
    /** The VM: spec.vm, with a named QemuVM's node and sockets filled in. */
    private final VmRef vm;
    private final StatusWriter<VMBackup, VMBackupStatus> status;
    private final BackupService service;
    private final Cancellation cancel = new Cancellation();
    private final Clock clock;
    private final Remotes remotes;

    /** {@code vm} is {@link #resolve}'s answer: building the work reads nothing from the API server. */
    BackupWork(KubernetesClient client, AgentConfig config, VMBackup resource, VmRef vm, Clock clock,
            LongConsumer copied) {
        this.config = config;
        this.resource = resource;
        this.status = new StatusWriter<>(client, VMBackup.class, resource, config.progressInterval(), clock,
                copied);
        this.vm = vm;
        this.service = new BackupService(clock, BackupService.LOCK_WAIT);
        this.clock = clock;
        this.remotes = Remotes.of(config);
    }

    /**
     * The VM a backup is of: spec.vm as given, or the QemuVM it names (in the backup's namespace)
     * with its node and sockets filled in. {@code qemuVms} finds a QemuVM by namespace and name
     * (the agent's informer cache); a QemuVM it does not find leaves the sockets empty, which the
     * run refuses as QemuVMNotFound.
     */
    static VmRef resolve(VMBackup r, BiFunction<String, String, QemuVM> qemuVms) {
        VmRef given = r.getSpec().vm;
        if (given.name == null) {
            return given;
        }
        QemuVM q = qemuVms.apply(r.getMetadata().getNamespace(), given.name);
        VmRef v = new VmRef();
        v.name = given.name;
        if (q != null && q.getSpec() != null) {
            v.node = q.getSpec().node;
            v.qmpSocket = q.getSpec().qmpSocket;
            v.agentSocket = given.agentSocket != null ? given.agentSocket : q.getSpec().agentSocket;
            v.tpmState = given.tpmState != null ? given.tpmState : q.getSpec().tpmState;
        }
        return v;
    }

    /**
     * What the run may reach, all checked before the first QMP command: its VM's sockets under a
     * socket folder of the backup's namespace (whether given as node + socket or through a
     * QemuVM), its target inside the namespace's storage area.
     */
    private record Reach(Path socket, Path agentSocket, Path tpmState, Path realArea, Path target) {
    }

    private Reach reach() throws Refusal {
        VMBackupSpec spec = resource.getSpec();
        String ns = resource.getMetadata().getNamespace();
        if (vm.qmpSocket == null) {
            throw new Refusal("QemuVMNotFound", "QemuVM " + vm.name + " is gone or has no QMP socket");
        }
        Path socket = Paths.socket(vm.qmpSocket, "QMP socket", ns, config.socketFolders());
        Path agentSocket = vm.agentSocket == null ? null
                : Paths.socket(vm.agentSocket, "guest agent socket", ns, config.socketFolders());
        if (spec.storage == null) {
            throw new Refusal("InvalidStoragePath", "spec.storage is missing: give a location and a path");
        }
        StorageArea area = StorageArea.of(config.storage(), config.nodeName(), spec.storage.location, ns);
        Path target = area.resolve(spec.storage.path, "storage.path");
        Path tpmState = vm.tpmState == null ? null
                : Paths.owned(vm.tpmState, "TPM state folder", ns, config.tpmFolders(), Tenancy.TPM_FOLDERS);
        return new Reach(socket, agentSocket, tpmState, area.realRoot(), target);
    }

    @Override
    public void run() {
        if (status.failIfInvalid(resource)) {
            return;
        }
        VMBackupSpec spec = resource.getSpec();
        Reach reach;
        try {
            reach = reach();
        } catch (Refusal r) {
            LOG.warnf("%s: refused: %s", status.id(), r.getMessage());
            status.finish(Phase.FAILED, r.reason(), r.getMessage(), s -> { });
            return;
        }
        RetentionPolicy policy;
        try {
            policy = policy(spec.retention);
        } catch (IllegalArgumentException e) {
            status.finish(Phase.FAILED, "InvalidRetention", "spec.retention: " + e.getMessage(), s -> { });
            return;
        }
        List<String> warnings = new ArrayList<>();
        try {
            BackupOutcome outcome = service.backup(new BackupRequest(reach.socket(), Duration.ofSeconds(10),
                    options(spec, reach), policy), engineLog(warnings), cancel);
            Offsite offsite = offsite(reach);
            succeeded(outcome, reach, warnings, offsite.statusNow());
            if (offsite.remote() != null) {
                new OffsiteCopy(status, cancel, clock, config.remoteAttempts(), config.remoteRetryDelay())
                        .run(offsite.remote(), reach.target(), policy);
            }
        } catch (BackupCancelledException e) {
            status.finish(Phase.CANCELLED, "Cancelled", e.getMessage(), s -> { });
        } catch (BackupException e) {
            status.finish(Phase.FAILED, "BackupFailed", e.getMessage(), s -> { });
        } catch (QmpException e) {
            status.finish(Phase.FAILED, "VMUnreachable", "cannot talk to the VM: " + e.getMessage(), s -> { });
        } catch (RuntimeException e) {
            status.finish(Phase.FAILED, "InternalError", e.toString(), s -> { });
        }
    }

    /**
     * The target's remote (its location's, narrowed to the namespace and the target's path), and
     * what status.offsite says as the backup succeeds: pending, or failed at once when the remote's
     * config cannot be read (the backup itself stands either way).
     */
    private record Offsite(RemoteConfig remote, Consumer<VMBackupStatus> statusNow) {
    }

    private Offsite offsite(Reach reach) {
        String ns = resource.getMetadata().getNamespace();
        try {
            RemoteConfig r = remotes.area(resource.getSpec().storage.location, ns).orElse(null);
            if (r == null) {
                return new Offsite(null, s -> { });
            }
            RemoteConfig target = r.under(reach.realArea().relativize(reach.target()).toString());
            return new Offsite(target, OffsiteCopy.pending(target, clock.instant()));
        } catch (Refusal e) {
            return new Offsite(null, OffsiteCopy.refused(e.reason(), e.getMessage(), clock.instant()));
        }
    }

    private BackupOptions options(VMBackupSpec spec, Reach reach) {
        return BackupOptions.builder(BackupLevel.parse(spec.level.value()), reach.target()).uuid(spec.uuid)
                .monthly(Boolean.TRUE.equals(spec.monthly)).include(spec.include).exclude(spec.exclude)
                .includeRaw(Boolean.TRUE.equals(spec.includeRaw)).compress(Boolean.TRUE.equals(spec.compress))
                .speedLimit(spec.speedLimit == null ? 0 : spec.speedLimit)
                .cbwTimeout(spec.cbwTimeout == null ? BackupOptions.DEFAULT_CBW_TIMEOUT : spec.cbwTimeout)
                .quiesce(Boolean.TRUE.equals(spec.quiesce)).pause(Boolean.TRUE.equals(spec.pause))
                .agentSocket(reach.agentSocket()).tpmState(reach.tpmState()).passFds(config.passFds()).build();
    }

    /** The engine's log: lines to the agent's log with the CR's name, warnings kept for the status. */
    private BackupLog engineLog(List<String> warnings) {
        return new BackupLog() {
            @Override
            public void info(String message) {
                LOG.infof("%s: %s", status.id(), message);
            }

            @Override
            public void warn(String message) {
                warnings.add(message);
                LOG.warnf("%s: %s", status.id(), message);
            }

            @Override
            public void progress(long done, long total) {
                status.progress(done, total);
            }
        };
    }

    private void succeeded(BackupOutcome outcome, Reach reach, List<String> warnings,
            Consumer<VMBackupStatus> offsite) {
        Path location = reach.realArea();
        BackupResult result = outcome.backup();
        RetentionResult retention = retentionStatus(outcome.retention(), location);
        long bytes = result.disks().stream().mapToLong(BackupResult.DiskResult::bytesCopied).sum();
        String message = "backup complete: " + result.disks().size() + " disk(s), " + bytes + " bytes copied"
                + (result.quiesced() ? ", filesystems frozen" : ", crash-consistent")
                + (warnings.isEmpty() ? "" : "; warnings: " + String.join("; ", warnings))
                + (retention == null ? "" : retention.chainsPruned != null ? "; retention pruned "
                        + retention.chainsPruned + " chain(s), kept " + retention.chainsKept
                        : "; retention did not run: " + retention.message);
        status.finish(Phase.SUCCEEDED, "Succeeded", message, s -> {
            s.level = result.level().lower();
            s.chainId = result.chainId();
            s.chainPath = location.relativize(result.chainDir()).toString();
            s.quiesced = result.quiesced();
            s.disks = new ArrayList<>();
            for (BackupResult.DiskResult d : result.disks()) {
                DiskResult r = new DiskResult();
                r.device = d.disk();
                r.nodeName = d.nodeName();
                r.level = d.level().lower();
                r.file = location.relativize(d.file()).toString();
                r.bytesWritten = d.bytesCopied();
                s.disks.add(r);
            }
            s.retention = retention;
            offsite.accept(s);
            if (s.progress != null) {
                s.progress.bytesDone = s.progress.bytesTotal;
                s.progress.percent = 100;
            }
        });
    }

    private static RetentionPolicy policy(Retention spec) {
        if (spec == null) {
            return null;
        }
        return new RetentionPolicy(orZero(spec.keepLast), orZero(spec.keepDaily), orZero(spec.keepWeekly),
                orZero(spec.keepMonthly), RetentionPolicy.zone(spec.timeZone));
    }

    /**
     * status.retention: what the prune after the backup did. The backup stands whatever happened
     * there: a prune that could not run says why in its message and left every file in place.
     */
    private static RetentionResult retentionStatus(PruneOutcome p, Path location) {
        if (p == null) {
            return null;
        }
        RetentionResult out = new RetentionResult();
        if (!p.ran()) {
            out.message = p.failure();
            return out;
        }
        out.chainsKept = p.chainsKept();
        out.chainsPruned = p.chainsPruned();
        out.bytesFreed = p.bytesFreed();
        out.prunedFiles = p.deleted().stream().map(f -> location.relativize(f).toString()).sorted().toList();
        out.message = p.warnings().isEmpty() ? null : String.join("; ", p.warnings());
        return out;
    }

    private static int orZero(Integer i) {
        return i == null ? 0 : i;
    }

    /** What a backup holds while it runs: its VM's QMP socket, which serves one client at a time. */
    static String exclusive(VmRef vm) {
        return "vm:" + vm.node + ":" + vm.qmpSocket;
    }

    @Override
    public void cancel(String reason) {
        cancel.cancel(reason);
    }

    /**
     * After a restart: removes what the dead run left in the VM (nodes, jobs, temporary bitmaps,
     * fleece files) and its unfinished files. Returns what was done, for the status message.
     */
    String cleanAfterRestart() {
        Reach reach;
        try {
            reach = reach();
        } catch (Refusal r) {
            return "nothing was cleaned (" + r.getMessage() + ")";
        }
        return service.cleanAfterCrash(reach.socket(), reach.target(), BackupLog.SILENT);
    }
}
