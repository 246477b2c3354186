package io.qmpbackup.agent.controller;

import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.RestoreExport;
import io.qmpbackup.api.v1alpha1.VMRestore;
import io.qmpbackup.api.v1alpha1.VMRestoreStatus;
import io.qmpbackup.engine.backup.Cancellation;
import io.qmpbackup.engine.restore.PointExport;
import io.qmpbackup.engine.restore.RestoreException;
import io.qmpbackup.engine.service.Durations;
import io.qmpbackup.engine.service.RestoreService;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A VMRestore of mode export: the point served read-only over NBD until its ttl passes, the
 * VMRestore is deleted or the agent stops. It listens only where the admin allowed: a UNIX
 * socket in {@code <exportDir>/<namespace>/}, or a TCP port when TCP exports are enabled. It runs
 * on a thread of its own for its whole life (the NBD server ends with that thread) and takes no
 * work slot: an hour-long export must not hold back the node's backups.
 */
final class ExportWork {
    private final AgentConfig config;
    private final VMRestore resource;
    private final StatusWriter<VMRestore, VMRestoreStatus> status;
    private final Cancellation cancel;
    private final Clock clock;

    ExportWork(AgentConfig config, VMRestore resource, StatusWriter<VMRestore, VMRestoreStatus> status,
            Cancellation cancel, Clock clock) {
        this.config = config;
        this.resource = resource;
        this.status = status;
        this.cancel = cancel;
        this.clock = clock;
    }

    /** Serves {@code dir}'s point until the end; writes the Running status with the URI, then the result. */
    void serve(Path dir) throws Refusal, RestoreException {
        RestoreExport spec = resource.getSpec().export != null ? resource.getSpec().export : new RestoreExport();
        Duration ttl = ttl(spec);
        PointExport.Listen listen = listen(spec);
        CountDownLatch ended = new CountDownLatch(1);
        try (PointExport x = RestoreService.standard().export(dir, null, resource.getSpec().until, listen,
                status.log()); AutoCloseable wake = cancel.onCancel(ended::countDown)) {
            Instant expires = clock.instant().plus(ttl);
            String point = x.point().get(x.point().size() - 1).name();
            status.update("Exporting", "serving " + point + " of " + dir + " read-only at " + x.uri() + " until "
                    + expires + " (delete the VMRestore to end it sooner)", s -> {
                        s.exportUri = x.uri();
                        s.expiresAt = expires.toString();
                        s.outputFile = x.point().get(x.point().size() - 1).path().toString();
                        s.hold = "export by the node agent (pid " + x.pid() + ")";
                    });
            boolean early = ended.await(ttl.toMillis(), TimeUnit.MILLISECONDS) || !x.alive();
            if (!x.alive()) {
                throw new RestoreException("the export's qemu-storage-daemon ended by itself; create the VMRestore"
                        + " again to serve the point again");
            }
            if (early) {
                throw new RestoreException("export ended early: " + cancel.reason());
            }
            status.finish(Phase.SUCCEEDED, "ExportEnded", "the export of " + point + " at " + x.uri() + " ended at"
                    + " its ttl (" + spec.ttl + "); nothing is served any more", s -> s.hold = null);
        } catch (RestoreException | Refusal e) {
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RestoreException("interrupted while exporting", e);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static Duration ttl(RestoreExport spec) throws Refusal {
        try {
            return Durations.parse(spec.ttl == null ? "1h" : spec.ttl);
        } catch (IllegalArgumentException e) {
            throw new Refusal("InvalidSpec", "spec.export.ttl: " + e.getMessage());
        }
    }

    /** Where to listen, confined to what the admin allowed; refused before anything starts. */
    private PointExport.Listen listen(RestoreExport spec) throws Refusal {
        String ns = resource.getMetadata().getNamespace();
        if (spec.port != null) {
            if (!config.exportTcp()) {
                throw new Refusal("ExportNotPermitted", "TCP exports are off on node " + config.nodeName()
                        + ": leave export.port out to export on a UNIX socket, or have the admin enable them"
                        + " (chart agent.exports.tcp.enabled)");
            }
            return PointExport.Listen.tcp(config.exportAddress(), spec.port);
        }
        Path folder = Path.of(config.exportDir()).resolve(ns);
        Path realFolder;
        try {
            Files.createDirectories(folder);
            realFolder = Paths.real(folder);
        } catch (IOException e) {
            throw new Refusal("ExportNotPermitted", "the export folder " + folder + " of namespace " + ns
                    + " cannot be made (" + e.getMessage() + "); the admin sets it with agent.exports.dir", e);
        }
        String given = spec.socket != null ? spec.socket : folder.resolve(resource.getMetadata().getName()
                + ".sock").toString();
        Path socket = Path.of(given).normalize();
        Path parent;
        try {
            parent = socket.getParent() == null ? null : Paths.real(socket.getParent());
        } catch (IOException e) {
            parent = null;
        }
        if (!realFolder.equals(parent)) {
            throw new Refusal("ExportNotPermitted", "export.socket " + given + " is not in the export folder of"
                    + " namespace " + ns + " on node " + config.nodeName() + " (" + folder + "/): leave it out, or"
                    + " name a socket there");
        }
        Path inside = realFolder.resolve(socket.getFileName());
        if (Files.exists(inside, LinkOption.NOFOLLOW_LINKS)) {
            throw new Refusal("ExportSocketExists", "export socket " + inside + " already exists (another export, or"
                    + " one that did not end cleanly): delete it or name another export.socket");
        }
        return PointExport.Listen.unix(inside);
    }
}
