package io.qmpbackup.tenancy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A host folder of VM sockets and the namespace its VMs belong to: discovery keeps their QemuVMs
 * there, and only backups of that namespace may name a socket inside it.
 */
public record SocketFolder(Path path, String namespace) {
    private static final String DNS_LABEL = "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?";

    public SocketFolder {
        if (!path.isAbsolute()) {
            throw new IllegalArgumentException("qmpbackup.agent.socket-dirs entry " + path + " is not an absolute path");
        }
        if (!namespace.matches(DNS_LABEL)) {
            throw new IllegalArgumentException("qmpbackup.agent.socket-dirs entry " + path + "=" + namespace
                    + ": '" + namespace + "' is not a namespace name (lower case letters, digits and '-')");
        }
        path = path.normalize();
    }

    /**
     * {@code qmpbackup.agent.socket-dirs} entries: {@code path} (the folder belongs to
     * {@code defaultNamespace}, the agent's discovery namespace) or {@code path=namespace}. A folder
     * whose own name holds '=' is given as {@code path=namespace}: the last '=' splits.
     */
    public static List<SocketFolder> parse(List<String> entries, String defaultNamespace) {
        List<SocketFolder> out = new ArrayList<>();
        for (String entry : entries) {
            String e = entry.trim();
            if (e.isEmpty()) {
                continue;
            }
            int eq = e.lastIndexOf('=');
            if (eq < 0) {
                out.add(new SocketFolder(Path.of(e), defaultNamespace));
            } else {
                out.add(new SocketFolder(Path.of(e.substring(0, eq).trim()), e.substring(eq + 1).trim()));
            }
            SocketFolder added = out.get(out.size() - 1);
            if (out.stream().filter(f -> f.path().equals(added.path())).count() > 1) {
                throw new IllegalArgumentException("qmpbackup.agent.socket-dirs names " + added.path() + " twice: a"
                        + " folder belongs to one namespace");
            }
        }
        return List.copyOf(out);
    }

    @Override
    public String toString() {
        return path + "=" + namespace;
    }
}
