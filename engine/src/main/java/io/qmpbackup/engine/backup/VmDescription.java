package io.qmpbackup.engine.backup;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.qmpbackup.engine.qmp.Json;
import io.qmpbackup.engine.qmp.QmpClient;
import io.qmpbackup.engine.qmp.QmpException;
import io.qmpbackup.engine.repository.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/**
 * What the VM was when it was backed up, as QMP tells it: name, UUID, machine type, memory,
 * CPUs, the devices under /machine/peripheral, each disk's device and nodes and the folder its
 * backups are in, its TPM. A restored disk is of little use without the machine it belongs to:
 * {@code qmprestore vm} prints a QEMU command line skeleton from it. Kept beside the chain as
 * {@code vm.json} (with --no-subdir, where qmpbackup's restore reads every other file of that
 * folder as an image, as {@code vm.json.config}); each successful run writes it anew.
 */
public final class VmDescription {
    public static final String FILE = "vm.json";
    public static final String FLAT_FILE = "vm.json.config";
    public static final int FORMAT = 1;

    private VmDescription() {
    }

    /** The description now; a query this QEMU does not answer leaves its part out. */
    static ObjectNode capture(QmpClient qmp, BackupPlan plan, Instant now) {
        ObjectNode d = Json.MAPPER.createObjectNode();
        d.put("format", FORMAT);
        d.put("capturedAt", now.toString());
        put(d, "name", query(qmp, "query-name", null), "name");
        put(d, "uuid", query(qmp, "query-uuid", null), "UUID");
        JsonNode machine = query(qmp, "qom-get", Json.obj("path", "/machine", "property", "type"));
        if (machine != null && machine.isTextual()) {
            d.put("machine", machine.asText().replaceFirst("-machine$", ""));
        }
        put(d, "memory", query(qmp, "query-memory-size-summary", null), "base-memory");
        JsonNode cpus = query(qmp, "query-cpus-fast", null);
        if (cpus != null && cpus.isArray()) {
            d.put("cpus", cpus.size());
            d.put("cpuType", cpus.size() > 0 ? cpus.get(0).path("qom-type").asText().replaceFirst("-x86_64-cpu$", "")
                    .replaceFirst("-cpu$", "") : "");
        }
        JsonNode version = query(qmp, "query-version", null);
        if (version != null) {
            d.set("qemu", version);
        }
        ArrayNode devices = d.putArray("devices");
        JsonNode peripherals = query(qmp, "qom-list", Json.obj("path", "/machine/peripheral"));
        if (peripherals != null) {
            for (JsonNode p : peripherals) {
                String type = p.path("type").asText();
                if (type.startsWith("child<")) {
                    devices.addObject().put("id", p.path("name").asText())
                            .put("type", type.substring(6, type.length() - 1));
                }
            }
        }
        ArrayNode disks = d.putArray("disks");
        for (BackupPlan.DiskPlan p : plan.disks()) {
            Disk k = p.disk();
            disks.addObject().put("name", k.name()).put("device", k.device()).put("qdev", k.qdev())
                    .put("node", k.rootNode()).put("formatNode", k.nodeName()).put("format", k.format())
                    .put("file", k.filename()).put("virtualSize", k.virtualSize()).put("readOnly", k.readOnly())
                    .put("pflash", k.pflash()).put("backupFolder", k.basename());
        }
        JsonNode tpm = query(qmp, "query-tpm", null);
        if (tpm != null) {
            d.set("tpm", tpm);
        }
        return d;
    }

    /** Writes it beside the chain (atomically: a reader sees the old or the new one). */
    static void write(Path chainDir, boolean noSubdir, ObjectNode description) throws IOException {
        AtomicFiles.write(chainDir.resolve(noSubdir ? FLAT_FILE : FILE),
                Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(description));
    }

    /** The description kept for a chain folder or a disk folder in it, if any. */
    public static Path find(Path dir) {
        Path parent = dir.toAbsolutePath().getParent();
        for (Path p : parent == null ? List.of(dir.resolve(FILE), dir.resolve(FLAT_FILE))
                : List.of(dir.resolve(FILE), dir.resolve(FLAT_FILE), parent.resolve(FILE))) {
            if (java.nio.file.Files.isRegularFile(p)) {
                return p;
            }
        }
        return null;
    }

    /** QEMU's UUID when none was given (-uuid): it tells no VM from another. */
    private static final String NO_UUID = "00000000-0000-0000-0000-000000000000";

    /**
     * The VM the chain in {@code chainDir} was taken of, as its vm.json names it, when that is not
     * this VM (by UUID where both have one, else by name where both have one); null when it is, or
     * cannot be told. Two VMs in one target would share disk folders and chain manifests: an INC
     * of one would be recorded on top of the other's full.
     */
    static String otherVm(QmpClient qmp, Path chainDir, boolean noSubdir) throws IOException {
        Path file = chainDir.resolve(noSubdir ? FLAT_FILE : FILE);
        if (!Files.exists(file)) {
            return null;
        }
        JsonNode was = Json.MAPPER.readTree(file.toFile());
        String wasUuid = was.path("uuid").asText("");
        String wasName = was.path("name").asText("");
        JsonNode uuid = query(qmp, "query-uuid", null);
        JsonNode name = query(qmp, "query-name", null);
        String isUuid = uuid == null ? "" : uuid.path("UUID").asText("");
        String isName = name == null ? "" : name.path("name").asText("");
        boolean uuids = !wasUuid.isEmpty() && !isUuid.isEmpty() && !wasUuid.equals(NO_UUID) && !isUuid.equals(NO_UUID);
        if (uuids ? !wasUuid.equals(isUuid) : !wasName.isEmpty() && !isName.isEmpty() && !wasName.equals(isName)) {
            return (wasName.isEmpty() ? "" : "VM " + wasName + " ") + (uuids ? "(UUID " + wasUuid + ")" : "")
                    + " [" + file + "]";
        }
        return null;
    }

    private static JsonNode query(QmpClient qmp, String command, ObjectNode args) {
        try {
            return args == null ? qmp.execute(command) : qmp.execute(command, args);
        } catch (QmpException e) {
            return null;
        }
    }

    private static void put(ObjectNode d, String key, JsonNode from, String field) {
        if (from != null && from.has(field)) {
            d.set(key, from.get(field));
        }
    }
}
