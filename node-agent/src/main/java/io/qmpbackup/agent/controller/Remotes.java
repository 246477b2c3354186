package io.qmpbackup.agent.controller;

import io.qmpbackup.engine.remote.RemoteConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * The storage locations' remotes: {@code <remote-dir>/<location>.properties} (the chart's
 * ConfigMap; the secrets it names are files of a Kubernetes Secret mounted beside it). Every
 * namespace gets its own part of the bucket, {@code <prefix>/<namespace>/}, the remote twin of
 * its storage area: a run of one namespace never names a key of another.
 */
final class Remotes {
    private final Path dir;
    private final Map<String, String> env;

    Remotes(Path dir, Map<String, String> env) {
        this.dir = dir;
        this.env = env;
    }

    static Remotes of(AgentConfig config) {
        return new Remotes(Path.of(config.remoteDir()), System.getenv());
    }

    /** The remote of {@code location}, narrowed to {@code namespace}'s part; empty when it has none. */
    Optional<RemoteConfig> area(String location, String namespace) throws Refusal {
        Path file = dir.resolve(location + ".properties");
        if (!location.matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?") || !Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(RemoteConfig.load(file, env).under(namespace));
        } catch (IOException | IllegalArgumentException e) {
            throw new Refusal("RemoteMisconfigured", "the remote of storage location " + location + " (" + file
                    + ") cannot be read: " + e.getMessage() + " (check the chart's agent.remotes." + location
                    + " and its Secret)", e);
        }
    }
}
