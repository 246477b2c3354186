package io.qmpbackup.engine.testing;

import io.qmpbackup.engine.backup.BackupOptions;
import io.qmpbackup.engine.backup.BackupResult;
import io.qmpbackup.engine.backup.FleecingBackup;
import io.qmpbackup.engine.qmp.Json;
import io.qmpbackup.engine.qmp.QmpClient;
import io.qmpbackup.engine.repository.ChainManifest;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Test helpers: run a backup in-process, read a chain back, look into the VM. */
public final class Chains {
    private Chains() {
    }

    public static BackupResult backup(TestVm vm, BackupOptions options, RecordingLog log) throws Exception {
        try (QmpClient qmp = QmpClient.connect(vm.qmpSocket(), Duration.ofSeconds(10))) {
            return new FleecingBackup(qmp, options, log).run();
        }
    }

    /** The files of the current chain (newest FULL onwards) of a disk, from its manifest. */
    public static List<Path> currentChain(Path chainDir, String basename) throws Exception {
        ChainManifest m = ChainManifest.read(chainDir.resolve(basename + ".chain.json")).orElseThrow();
        List<Path> files = new ArrayList<>();
        for (ChainManifest.Entry e : m.currentChain()) {
            files.add(chainDir.resolve(m.folder).resolve(e.file));
        }
        return files;
    }

    /** Node names in the VM that a backup run made (must be none after a run). */
    public static List<String> qmpbackupNodes(QmpClient qmp) throws Exception {
        List<String> names = new ArrayList<>();
        for (JsonNode n : qmp.execute("query-named-block-nodes", Json.obj("flat", true))) {
            String name = n.path("node-name").asText();
            if (name.startsWith("qmpbackup-")) {
                names.add(name);
            }
        }
        return names;
    }

    /** Bitmap names on a node. */
    public static List<String> bitmaps(QmpClient qmp, String nodeName) throws Exception {
        List<String> names = new ArrayList<>();
        for (JsonNode n : qmp.execute("query-named-block-nodes", Json.obj("flat", true))) {
            if (n.path("node-name").asText().equals(nodeName)) {
                for (JsonNode b : n.path("dirty-bitmaps")) {
                    names.add(b.path("name").asText());
                }
            }
        }
        return names;
    }

    public static List<String> jobs(QmpClient qmp) throws Exception {
        List<String> ids = new ArrayList<>();
        for (JsonNode j : qmp.execute("query-jobs")) {
            ids.add(j.path("id").asText());
        }
        return ids;
    }

    /** The SHA-256 of every file in {@code dir}, by name: to show a restore left them all as they were. */
    public static java.util.Map<String, String> sha256s(Path dir) throws java.io.IOException {
        java.util.Map<String, String> sums = new java.util.TreeMap<>();
        try (java.util.stream.Stream<Path> s = java.nio.file.Files.list(dir)) {
            for (Path p : s.filter(java.nio.file.Files::isRegularFile).toList()) {
                sums.put(p.getFileName().toString(), io.qmpbackup.engine.repository.AtomicFiles.sha256(p));
            }
        }
        return sums;
    }

    /** A copy of a whole backup target (folders, manifests, records; not its lock file) at {@code to}. */
    public static Path copyTarget(Path target, Path to) throws java.io.IOException {
        try (java.util.stream.Stream<Path> s = java.nio.file.Files.walk(target)) {
            for (Path p : s.toList()) {
                Path c = to.resolve(target.relativize(p).toString());
                if (java.nio.file.Files.isDirectory(p)) {
                    java.nio.file.Files.createDirectories(c);
                } else if (!p.getFileName().toString().equals(".qmpbackup.lock")) {
                    java.nio.file.Files.copy(p, c, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
        return to;
    }
}
