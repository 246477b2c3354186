package io.qmpbackup.agent.controller;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.qmpbackup.agent.backup.BackupCancelledException;
import io.qmpbackup.agent.backup.BackupException;
import io.qmpbackup.agent.backup.BackupLevel;
import io.qmpbackup.agent.backup.BackupLog;
import io.qmpbackup.agent.backup.BackupOptions;
import io.qmpbackup.agent.backup.BackupResult;
import io.qmpbackup.agent.backup.FleecingBackup;
import io.qmpbackup.agent.backup.LeftoverCleaner;
import io.qmpbackup.agent.backup.RunLock;
import io.qmpbackup.agent.qmp.QmpClient;
import io.qmpbackup.agent.qmp.QmpException;
import io.qmpbackup.agent.retention.ChainPruner;
import io.qmpbackup.agent.retention.RetentionPolicy;
import io.qmpbackup.api.v1alpha1.DiskResult;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.Retention;
import io.qmpbackup.api.v1alpha1.RetentionResult;
import io.qmpbackup.api.v1alpha1.QemuVM;
import io.qmpbackup.api.v1alpha1.VmRef;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSpec;
import io.qmpbackup.api.v1alpha1.VMBackupStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/** A VMBackup on this node: the spec turned into engine options, the engine's result into status. */
final class BackupWork implements WorkRun {
    private static final Logger LOG = Logger.getLogger(BackupWork.class);

    private final AgentConfig config;
    private final VMBackup resource;
    /** The VM: spec.vm, with a named QemuVM's node and sockets filled in. */
    private final VmRef vm;
    private final StatusWriter<VMBackup, VMBackupStatus> status;
    private volatile FleecingBackup backup;
    private volatile String cancelled;

    BackupWork(KubernetesClient client, AgentConfig config, VMBackup resource) {
        this.config = config;
        this.resource = resource;
        this.status = new StatusWriter<>(client, VMBackup.class, resource, config.progressInterval());
        this.vm = resolve(client, resource);
    }

    private static VmRef resolve(KubernetesClient client, VMBackup r) {
        VmRef given = r.getSpec().vm;
        if (given.name == null) {
            return given;
        }
        QemuVM q = client.resources(QemuVM.class).inNamespace(r.getMetadata().getNamespace()).withName(given.name).get();
        VmRef v = new VmRef();
        v.name = given.name;
        if (q != null && q.getSpec() != null) {
            v.node = q.getSpec().node;
            v.qmpSocket = q.getSpec().qmpSocket;
            v.agentSocket = given.agentSocket != null ? given.agentSocket : q.getSpec().agentSocket;
        }
        return v;
    }

    /** Problem with the spec on this node (reason, message), or null. */
    private String[] refuse(Path socket, Path location, Path target) {
        VMBackupSpec spec = resource.getSpec();
        if (vm.qmpSocket == null) {
            return new String[] {"QemuVMNotFound", "QemuVM " + vm.name + " is gone or has no QMP socket"};
        }
        if (socket == null) {
            return new String[] {"SocketOutsideAllowedDirs", "QMP socket " + vm.qmpSocket + " is not under the"
                    + " agent's socket folders " + config.socketDirs() + " (qmpbackup.agent.socket-dirs): move the"
                    + " socket there or add its folder to the agent's configuration"};
        }
        if (vm.agentSocket != null && Paths.allowedSocket(vm.agentSocket, config.socketDirs()) == null) {
            return new String[] {"SocketOutsideAllowedDirs", "guest agent socket " + vm.agentSocket
                    + " is not under the agent's socket folders " + config.socketDirs()};
        }
        if (location == null) {
            return new String[] {"StorageNotFound", "storage location " + spec.storage.location + " is not configured"
                    + " on node " + config.nodeName() + " (configured: " + config.storage().keySet() + ")"};
        }
        if (target == null) {
            return new String[] {"InvalidStoragePath", "storage.path " + spec.storage.path + " leaves the storage"
                    + " location: give a relative path without '..'"};
        }
        return null;
    }

    @Override
    public void run() {
        VMBackupSpec spec = resource.getSpec();
        Path socket = Paths.allowedSocket(vm.qmpSocket, config.socketDirs());
        Path location = config.storage().get(spec.storage.location);
        Path target = location == null ? null : Paths.inside(location, spec.storage.path);
        String[] refusal = refuse(socket, location, target);
        if (refusal != null) {
            status.finish(Phase.FAILED, refusal[0], refusal[1], s -> { });
            return;
        }
        BackupOptions options = BackupOptions.builder(BackupLevel.parse(spec.level.value()), target).uuid(spec.uuid)
                .monthly(Boolean.TRUE.equals(spec.monthly)).include(spec.include).exclude(spec.exclude)
                .includeRaw(Boolean.TRUE.equals(spec.includeRaw)).compress(Boolean.TRUE.equals(spec.compress))
                .speedLimit(spec.speedLimit == null ? 0 : spec.speedLimit).quiesce(Boolean.TRUE.equals(spec.quiesce))
                .agentSocket(vm.agentSocket == null ? null : Path.of(vm.agentSocket)).passFds(config.passFds()).build();
        List<String> warnings = new ArrayList<>();
        try (QmpClient qmp = QmpClient.connect(socket, Duration.ofSeconds(10), config.passFds())) {
            backup = new FleecingBackup(qmp, options, new BackupLog() {
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
            });
            if (cancelled != null) {
                backup.cancel(cancelled);
            }
            BackupResult result = backup.run();
            RetentionResult retention = spec.retention == null ? null : prune(spec.retention, location, target);
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
                if (s.progress != null) {
                    s.progress.bytesDone = s.progress.bytesTotal;
                    s.progress.percent = 100;
                }
            });
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
     * Retention after a successful backup. The backup stands whatever happens here: a prune that
     * cannot run says why in status.retention.message and leaves every file in place.
     */
    private RetentionResult prune(Retention spec, Path location, Path target) {
        RetentionResult out = new RetentionResult();
        try {
            RetentionPolicy policy = new RetentionPolicy(orZero(spec.keepLast), orZero(spec.keepDaily),
                    orZero(spec.keepWeekly), orZero(spec.keepMonthly), RetentionPolicy.zone(spec.timeZone));
            ChainPruner.Result r = new ChainPruner(target, policy, status.log(), java.time.Clock.systemUTC(),
                    Duration.ofSeconds(60)).prune(false);
            out.chainsKept = r.chainsKept();
            out.chainsPruned = r.chainsPruned();
            out.bytesFreed = r.bytesFreed();
            out.prunedFiles = r.deleted().stream().map(f -> location.relativize(f).toString()).sorted().toList();
            out.message = r.warnings().isEmpty() ? null : String.join("; ", r.warnings());
        } catch (IllegalArgumentException | IOException e) {
            out.message = e.getMessage();
            LOG.warnf("%s: retention did not run: %s", status.id(), e.getMessage());
        }
        return out;
    }

    private static int orZero(Integer i) {
        return i == null ? 0 : i;
    }

    @Override
    public String exclusive() {
        return "vm:" + vm.node + ":" + vm.qmpSocket;
    }

    @Override
    public void cancel(String reason) {
        cancelled = reason;
        FleecingBackup b = backup;
        if (b != null) {
            b.cancel(reason);
        }
    }

    /**
     * After a restart: removes what the dead run left in the VM (nodes, jobs, temporary bitmaps,
     * fleece files) and its unfinished files. Returns what was done, for the status message.
     */
    String cleanAfterRestart() {
        VMBackupSpec spec = resource.getSpec();
        Path socket = Paths.allowedSocket(vm.qmpSocket, config.socketDirs());
        Path location = config.storage().get(spec.storage.location);
        Path target = location == null ? null : Paths.inside(location, spec.storage.path);
        StringBuilder done = new StringBuilder();
        if (socket != null) {
            try (QmpClient qmp = QmpClient.connect(socket, Duration.ofSeconds(10))) {
                LeftoverCleaner cleaner = new LeftoverCleaner(qmp, RunLock.defaultDirectory(), BackupLog.SILENT);
                int n = cleaner.clean("");
                done.append("the VM was cleaned (").append(n).append(" leftover objects removed)");
                if (target != null) {
                    cleaner.cleanFleeceFiles(target, "");
                }
            } catch (QmpException e) {
                done.append("the VM could not be reached to clean it (").append(e.getMessage())
                        .append("); the next backup removes the leftovers first");
            }
        }
        if (target != null && Files.isDirectory(target)) {
            try (Stream<Path> s = Files.walk(target, 3)) {
                for (Path p : s.filter(p -> p.getFileName().toString().endsWith(".partial")).toList()) {
                    Files.deleteIfExists(p);
                }
                done.append(", unfinished files removed");
            } catch (IOException e) {
                done.append(", unfinished files could not be removed: ").append(e.getMessage());
            }
        }
        return done.toString();
    }
}
