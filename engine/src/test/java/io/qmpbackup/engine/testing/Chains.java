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
}
