package io.qmpbackup.engine.restore;

import com.fasterxml.jackson.databind.JsonNode;
import io.qmpbackup.engine.backup.VmDescription;
import io.qmpbackup.engine.qmp.Json;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A QEMU command line skeleton from a chain's {@code vm.json}: the machine, memory, CPUs, name
 * and UUID, each backed-up disk as -blockdev + -device on its restored image (named
 * {@value #RESTORED}{@code <image>}: replace it with where the merge wrote it), the other
 * peripherals by type and id. A starting point to bring the machine back, not its whole
 * configuration: device properties, NICs' backends, firmware paths are not in QMP's answers.
 */
public final class VmSkeleton {
    public static final String RESTORED = "/path/to/restored/";

    private VmSkeleton() {
    }

    /** The skeleton's arguments, one option and its value per line (a shell line continued with '\'). */
    public static List<String> of(Path description) throws RestoreException {
        JsonNode d;
        try {
            d = Json.MAPPER.readTree(description.toFile());
        } catch (IOException e) {
            throw new RestoreException("cannot read the VM description " + description + ": " + e.getMessage(), e);
        }
        List<String> lines = new ArrayList<>();
        lines.add("qemu-system-x86_64");
        if (d.hasNonNull("name")) {
            lines.add("-name " + d.get("name").asText());
        }
        if (d.hasNonNull("uuid")) {
            lines.add("-uuid " + d.get("uuid").asText());
        }
        if (d.hasNonNull("machine")) {
            lines.add("-machine " + d.get("machine").asText());
        }
        if (d.hasNonNull("memory")) {
            lines.add("-m " + (d.get("memory").asLong() >> 20) + "M");
        }
        if (d.hasNonNull("cpus")) {
            lines.add("-smp " + d.get("cpus").asInt());
        }
        Map<String, JsonNode> diskByQdev = new HashMap<>();
        for (JsonNode k : d.path("disks")) {
            String qdev = k.path("qdev").asText();
            diskByQdev.put(qdev.replaceFirst("^/machine/peripheral/", "").replaceFirst("/virtio-backend$", ""), k);
        }
        for (JsonNode k : d.path("disks")) {
            String node = k.path("node").asText().replace("#", "");
            String image = RESTORED + k.path("backupFolder").asText();
            if (k.path("pflash").asBoolean()) {
                lines.add("-drive if=pflash,format=" + k.path("format").asText() + ",file=" + image);
                continue;
            }
            lines.add("-blockdev driver=file,filename=" + image + ",node-name=" + node + "-file");
            lines.add("-blockdev driver=" + k.path("format").asText() + ",file=" + node + "-file,node-name=" + node
                    + (k.path("readOnly").asBoolean() ? ",read-only=on" : ""));
        }
        for (JsonNode dev : d.path("devices")) {
            String id = dev.path("id").asText();
            JsonNode disk = diskByQdev.get(id);
            lines.add("-device " + dev.path("type").asText() + (disk != null ? ",drive="
                    + disk.path("node").asText().replace("#", "") : "") + ",id=" + id);
        }
        return lines;
    }

    /** Where a chain's or disk folder's description is, or why there is none. */
    public static Path descriptionOf(Path dir) throws RestoreException {
        Path p = VmDescription.find(dir);
        if (p == null) {
            throw new RestoreException("no " + VmDescription.FILE + " in " + dir + " or beside it: only backups"
                    + " taken by this version record what the VM was; pass the chain folder (the one holding uuid)");
        }
        return p;
    }
}
