package io.qmpbackup.operator;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.qmpbackup.tenancy.SocketFolder;
import io.qmpbackup.tenancy.Tenancy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a namespace was given, as far as the operator can tell without a node's files: the agents'
 * socket folders and storage locations as configured (the chart gives the operator the same
 * values as the agents). Paths are compared as written; the agent checks them again through
 * their symlinks, so this is a first line that keeps plainly foreign work off the nodes, never
 * the only one.
 */
@ApplicationScoped
public class Grants {
    private final Optional<List<SocketFolder>> folders;
    private final Optional<Map<String, Path>> locations;

    @Inject
    public Grants(OperatorConfig config, KubernetesClient client) {
        this(config.socketDirs(), config.storageLocations(), config.agentNamespace().orElse(client.getNamespace()));
    }

    /** {@code releaseNamespace}: whose the plainly given folders are (the agents' discovery namespace). */
    Grants(Optional<List<String>> socketDirs, Optional<String> storageLocations, String releaseNamespace) {
        this.folders = socketDirs.map(d -> SocketFolder.parse(d, releaseNamespace));
        this.locations = storageLocations.map(l -> Tenancy.locations(l, "qmpbackup.operator.storage-locations"));
    }

    /** Why {@code namespace} may not use {@code socket} ("QMP socket", "guest agent socket"); empty when it may. */
    public Optional<Tenancy.Denial> socket(String socket, String what, String namespace) {
        if (socket == null || folders.isEmpty()) {
            return Optional.empty();
        }
        Path asWritten = Path.of(socket).toAbsolutePath().normalize();
        return Tenancy.socketDenial(asWritten, socket, what, namespace, folders.get(), Tenancy.Resolver.AS_WRITTEN);
    }

    /** Why a merge of {@code namespace} may not write {@code targetFile}; empty when it may. */
    public Optional<Tenancy.Denial> mergeTarget(String targetFile, String namespace) {
        if (locations.isEmpty()) {
            return Optional.empty();
        }
        Optional<Tenancy.Denial> form = Tenancy.targetFileForm(targetFile, namespace);
        if (form.isPresent()) {
            return form;
        }
        try {
            Path asWritten = Path.of(targetFile).normalize();
            return Tenancy.areaHolding(asWritten, namespace, locations.get(), Tenancy.Resolver.AS_WRITTEN).isPresent()
                    ? Optional.empty()
                    : Optional.of(Tenancy.outsideAreas(targetFile, namespace, locations.get(), ""));
        } catch (IOException e) {
            // AS_WRITTEN reads no file
            throw new UncheckedIOException(e);
        }
    }
}
