package io.qmpbackup.agent.controller;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Where the agent may look: VM sockets under the allowed folders, backups inside storage locations. */
final class Paths {
    private Paths() {
    }

    /** The socket, resolved through symlinks, when it lies under one of the folders; else null. */
    static Path allowedSocket(String socket, List<Path> dirs) {
        if (socket == null) {
            return null;
        }
        Path p = Path.of(socket).normalize();
        Path real = p;
        try {
            if (Files.exists(p)) {
                real = p.toRealPath();
            }
        } catch (IOException e) {
            return null;
        }
        for (Path d : dirs) {
            Path dir = d.normalize();
            try {
                if (Files.exists(dir)) {
                    dir = dir.toRealPath();
                }
            } catch (IOException e) {
                continue;
            }
            if (real.startsWith(dir) && !real.equals(dir)) {
                return p;
            }
        }
        return null;
    }

    /** {@code location/relative}, refused when it would leave the location. */
    static Path inside(Path location, String relative) {
        Path p = location.resolve(relative).normalize();
        return p.startsWith(location.normalize()) ? p : null;
    }
}
