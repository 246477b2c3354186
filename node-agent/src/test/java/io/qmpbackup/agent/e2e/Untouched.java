package io.qmpbackup.agent.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpbackup.engine.qmp.Json;
import io.qmpbackup.engine.testing.TestVm;
import io.qmpbackup.engine.testing.TestVm.DiskSpec;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * What a refused run must leave as it was: every file under some folders (by content), and each
 * VM's block nodes with their bitmaps, as QEMU lists them. Two snapshots compare equal when
 * nothing changed.
 */
record Untouched(Map<String, String> files, List<List<String>> nodes) {
    /** The snapshot now; each VM's disks are flushed first, so their images show what the guest wrote. */
    static Untouched of(List<Path> folders, Map<TestVm, DiskSpec> vms) throws Exception {
        List<List<String>> nodes = new ArrayList<>();
        for (Map.Entry<TestVm, DiskSpec> vm : vms.entrySet()) {
            vm.getKey().flush(vm.getValue());
        }
        Map<String, String> files = new TreeMap<>();
        for (Path top : folders) {
            if (!Files.exists(top)) {
                continue;
            }
            try (Stream<Path> s = Files.walk(top)) {
                for (Path p : s.sorted().toList()) {
                    files.put(p.toString(), Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)
                            && !p.getFileName().toString().endsWith(".sock") ? sha256(p) : "");
                }
            }
        }
        for (TestVm vm : vms.keySet()) {
            nodes.add(nodes(vm));
        }
        nodes.sort((a, b) -> a.toString().compareTo(b.toString()));
        return new Untouched(files, nodes);
    }

    /** Every block node of the VM with its bitmaps, as QEMU lists them. */
    private static List<String> nodes(TestVm vm) throws Exception {
        List<String> out = new ArrayList<>();
        for (JsonNode n : vm.control().execute("query-named-block-nodes", Json.obj("flat", true))) {
            StringBuilder b = new StringBuilder(n.path("node-name").asText()).append(" ").append(n.path("file").asText());
            for (JsonNode bm : n.path("dirty-bitmaps")) {
                b.append(" bitmap:").append(bm.path("name").asText()).append("/").append(bm.path("count").asLong());
            }
            out.add(b.toString());
        }
        out.sort(null);
        return out;
    }

    private static String sha256(Path p) throws IOException {
        try (InputStream in = Files.newInputStream(p)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0;) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
