package io.qmpbackup.agent.controller;

import io.qmpbackup.tenancy.SocketFolder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.qmpbackup.engine.backup.Bitmap;
import io.qmpbackup.engine.backup.Disk;
import io.qmpbackup.engine.backup.VmProbe;
import io.qmpbackup.engine.qmp.QmpException;
import io.qmpbackup.engine.qmp.QmpTimeoutException;
import io.qmpbackup.api.v1alpha1.QemuVM;
import io.qmpbackup.api.v1alpha1.QemuVMDisk;
import io.qmpbackup.api.v1alpha1.QemuVMSpec;
import io.qmpbackup.api.v1alpha1.QemuVMStatus;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * Keeps a QemuVM object per VM whose QMP socket lies in the agent's socket folders, in the
 * namespace the folder belongs to (the discovery namespace unless the admin assigned it): node,
 * sockets (a {@code <vm>.qga} beside {@code <vm>.qmp} is its guest agent), QEMU name and UUID,
 * run state, QEMU version, disks. Each socket is held only for the few commands of a probe.
 * Labels and annotations of QemuVM objects are the users' and are never written; a VM not seen
 * for longer than stale-after is marked stale, not deleted.
 */
public final class Discovery {
    private static final Logger LOG = Logger.getLogger(Discovery.class);
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(2);

    private final KubernetesClient client;
    private final AgentConfig config;
    private final Clock clock;

    public Discovery(KubernetesClient client, AgentConfig config, Clock clock) {
        this.client = client;
        this.config = config;
        this.clock = clock;
    }

    /**
     * One scan of every socket folder; returns the QemuVM objects seen alive, as
     * {@code namespace/name}. Each folder's VMs are kept in the namespace the folder belongs to.
     */
    public Set<String> scanOnce() {
        PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + config.discoveryPattern());
        Set<String> seen = new HashSet<>();
        Map<String, Set<String>> sockets = new LinkedHashMap<>();
        sockets.put(config.discoveryNamespace(), new HashSet<>());
        for (SocketFolder folder : config.socketFolders()) {
            String ns = folder.namespace();
            Set<String> present = sockets.computeIfAbsent(ns, n -> new HashSet<>());
            Path dir = folder.path();
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (Stream<Path> s = Files.list(dir)) {
                for (Path socket : s.filter(p -> matcher.matches(p.getFileName())).sorted().toList()) {
                    present.add(socket.toString());
                    String name = objectName(socket);
                    if (observe(ns, name, socket)) {
                        seen.add(ns + "/" + name);
                    }
                }
            } catch (IOException e) {
                LOG.warnf("discovery: cannot list %s: %s", dir, e.getMessage());
            }
        }
        sockets.forEach(this::markStale);
        return seen;
    }

    /** Probes one socket and updates its QemuVM; true when the VM answered. */
    private boolean observe(String ns, String name, Path socket) {
        QemuVM vm = client.resources(QemuVM.class).inNamespace(ns).withName(name).get();
        if (vm == null) {
            vm = new QemuVM();
            vm.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns).build());
            QemuVMSpec spec = new QemuVMSpec();
            spec.node = config.nodeName();
            spec.qmpSocket = socket.toString();
            Path qga = socket.resolveSibling(socket.getFileName().toString().replaceAll("\\.qmp$", "") + ".qga");
            if (Files.exists(qga) && !qga.equals(socket)) {
                spec.agentSocket = qga.toString();
            }
            vm.setSpec(spec);
            try {
                vm = client.resource(vm).create();
                LOG.infof("QemuVM(%s/%s): discovered at %s", ns, name, socket);
            } catch (KubernetesClientException e) {
                LOG.warnf("QemuVM(%s/%s): cannot create: %s", ns, name, e.getMessage());
                return false;
            }
        }
        QemuVMStatus status = vm.getStatus() == null ? new QemuVMStatus() : vm.getStatus();
        boolean alive;
        try {
            VmProbe.Facts f = VmProbe.probe(socket, PROBE_TIMEOUT);
            status.node = config.nodeName();
            status.qemuName = f.name();
            status.uuid = f.uuid();
            status.runState = f.runState();
            status.qemuVersion = f.qemuVersion();
            status.disks = disks(f.disks());
            status.lastSeen = clock.instant().toString();
            status.stale = false;
            status.message = "seen by the node agent on " + config.nodeName();
            ready(status, true, "Seen");
            alive = true;
        } catch (QmpTimeoutException e) {
            // another client holds the socket (a backup, or the VM's manager): the VM is there
            status.lastSeen = clock.instant().toString();
            status.stale = false;
            status.message = "QMP socket busy with another client; details from the previous scan";
            ready(status, true, "SocketBusy");
            alive = true;
        } catch (QmpException e) {
            status.runState = "Unreachable";
            status.message = "QMP socket did not answer: " + e.getMessage();
            ready(status, false, "Unreachable");
            alive = false;
        }
        writeStatus(ns, name, status);
        return alive;
    }

    /** VMs of this node whose socket is gone or silent for longer than stale-after. */
    private void markStale(String ns, Set<String> socketsPresent) {
        Instant now = clock.instant();
        for (QemuVM vm : client.resources(QemuVM.class).inNamespace(ns).list().getItems()) {
            if (vm.getSpec() == null || !config.nodeName().equals(vm.getSpec().node)) {
                continue;
            }
            QemuVMStatus s = vm.getStatus() == null ? new QemuVMStatus() : vm.getStatus();
            boolean gone = !socketsPresent.contains(vm.getSpec().qmpSocket) || "Unreachable".equals(s.runState);
            if (!gone || Boolean.TRUE.equals(s.stale)) {
                continue;
            }
            Instant last = s.lastSeen == null ? Instant.EPOCH : Instant.parse(s.lastSeen);
            if (Duration.between(last, now).compareTo(config.staleAfter()) >= 0) {
                s.stale = true;
                s.runState = socketsPresent.contains(vm.getSpec().qmpSocket) ? "Unreachable" : "Gone";
                s.message = "not seen since " + (s.lastSeen == null ? "ever" : s.lastSeen) + " (stale after "
                        + config.staleAfter().toMinutes() + " min); kept, delete it by hand if the VM is gone for good";
                ready(s, false, "Gone".equals(s.runState) ? "Gone" : "Stale");
                writeStatus(ns, vm.getMetadata().getName(), s);
                LOG.infof("QemuVM(%s/%s): stale", ns, vm.getMetadata().getName());
            }
        }
    }

    /** The Ready condition, from what the scan found; its message is the status message. */
    private void ready(QemuVMStatus status, boolean ready, String reason) {
        if (status.conditions == null) {
            status.conditions = new java.util.ArrayList<>();
        }
        io.qmpbackup.api.v1alpha1.Conditions.set(status.conditions, "Ready", ready, reason, status.message, null,
                clock.instant());
    }

    private void writeStatus(String ns, String name, QemuVMStatus status) {
        try {
            client.resources(QemuVM.class).inNamespace(ns).withName(name).editStatus(v -> {
                v.setStatus(status);
                return v;
            });
        } catch (KubernetesClientException e) {
            LOG.warnf("QemuVM(%s/%s): cannot write status: %s", ns, name, e.getMessage());
        }
    }

    private static List<QemuVMDisk> disks(List<Disk> disks) {
        List<QemuVMDisk> out = new ArrayList<>();
        for (Disk d : disks) {
            QemuVMDisk q = new QemuVMDisk();
            q.device = d.name();
            q.nodeName = d.nodeName();
            q.format = d.format();
            q.virtualSize = d.virtualSize();
            q.file = d.filename();
            q.bitmaps = d.bitmaps().stream().map(Bitmap::name).toList();
            out.add(q);
        }
        return out;
    }

    /** {@code <node>-<socket name without .qmp>} as a DNS-1123 name. */
    String objectName(Path socket) {
        String base = socket.getFileName().toString().replaceAll("\\.qmp$", "").replaceAll("\\.sock$", "");
        String n = (config.nodeName() + "-" + base).toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]", "-")
                .replaceAll("-+", "-").replaceAll("^-|-$", "");
        return n.length() > 63 ? n.substring(0, 63).replaceAll("-$", "") : n;
    }
}
