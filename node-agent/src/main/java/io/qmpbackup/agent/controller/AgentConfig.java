package io.qmpbackup.agent.controller;

import io.qmpbackup.tenancy.SocketFolder;
import io.qmpbackup.tenancy.Tenancy;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Node agent settings ({@code qmpbackup.agent.*}; environment: QMPBACKUP_AGENT_*). */
@ConfigMapping(prefix = "qmpbackup.agent")
public interface AgentConfig {
    /** The node this agent serves (NODE_NAME). */
    String nodeName();

    /**
     * Host folders where VM sockets may live, each {@code path} (its VMs belong to the discovery
     * namespace) or {@code path=namespace} (they belong to that namespace).
     */
    List<String> socketDirs();

    /**
     * Host folders holding VMs' swtpm state folders, each {@code path} (the discovery namespace's)
     * or {@code path=namespace}: a backup may keep the TPM state of a folder inside one of its
     * namespace's. Empty: no TPM state is reachable.
     */
    java.util.Optional<List<String>> tpmStateDirs();

    /** {@link #tpmStateDirs()} with the namespace each folder belongs to. */
    default List<SocketFolder> tpmFolders() {
        return SocketFolder.parse(tpmStateDirs().orElse(List.of()), discoveryNamespace());
    }

    /** Storage locations, {@code name=path,name=path}. */
    String storageLocations();

    @WithDefault("2")
    int maxConcurrent();

    /**
     * Hand QEMU the backup and fleece files open (QMP add-fd) instead of by path: needed when the
     * storage is a volume mounted in the agent's pod only (a PVC), which QEMU on the host cannot see.
     */
    @WithDefault("false")
    boolean passFds();

    @WithDefault("2s")
    Duration progressInterval();

    /** How often the socket folders are scanned for VMs; 0 turns discovery off. */
    @WithDefault("30s")
    Duration discoveryInterval();

    /** File name pattern (glob) of QMP sockets discovery looks at; {@code <vm>.qga} beside one is its agent. */
    @WithDefault("*.qmp")
    String discoveryPattern();

    /** How often the agent renews its heartbeat Lease (qmpbackup-agent-<node>, in the discovery namespace). */
    @WithDefault("10s")
    Duration heartbeatInterval();

    /** Namespace of the QemuVM objects this agent keeps, and of its heartbeat Lease. */
    @WithDefault("qmpbackup")
    String discoveryNamespace();

    /** A VM not seen for this long is marked stale (never deleted). */
    @WithDefault("10m")
    Duration staleAfter();

    /**
     * Host folder of the UNIX sockets VMRestore exports listen on: {@code <folder>/<namespace>/},
     * mounted at the same path, so a user on the node reaches them.
     */
    @WithDefault("/run/qmpbackup/exports")
    String exportDir();

    /** VMRestore exports may listen on a TCP port (export.port), on {@link #exportAddress()}. */
    @WithDefault("false")
    boolean exportTcp();

    /** The address TCP exports listen on and their URI names (the pod's IP, from the downward API). */
    @WithDefault("0.0.0.0")
    String exportAddress();

    /**
     * Folder of the storage locations' remotes, {@code <location>.properties} each (the chart's
     * ConfigMap; see the engine's RemoteConfig for the keys). A location without one has no
     * off-site copy; a missing folder means none has.
     */
    @WithDefault("/etc/qmpbackup/remotes")
    String remoteDir();

    /** Upload attempts after each successful backup before its off-site copy is reported Failed. */
    @WithDefault("3")
    int remoteAttempts();

    /** Wait before the second attempt (then twice that, and so on). */
    @WithDefault("30s")
    Duration remoteRetryDelay();

    /** {@link #socketDirs()} with the namespace each folder belongs to. */
    default List<SocketFolder> socketFolders() {
        return SocketFolder.parse(socketDirs(), discoveryNamespace());
    }

    default Map<String, Path> storage() {
        return Tenancy.locations(storageLocations(), "qmpbackup.agent.storage-locations");
    }
}
