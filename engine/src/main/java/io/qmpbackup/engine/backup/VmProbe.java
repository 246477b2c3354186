package io.qmpbackup.engine.backup;

import io.qmpbackup.engine.qmp.QmpClient;
import io.qmpbackup.engine.qmp.QmpException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A short look at a VM through its QMP socket: name, UUID, run state, QEMU version, disks. The
 * connection is closed at once, since a QMP socket serves one client at a time.
 */
public final class VmProbe {
    /** What a probe saw. */
    public record Facts(String name, String uuid, String runState, String qemuVersion, List<Disk> disks) {
    }

    private VmProbe() {
    }

    public static Facts probe(Path socket, Duration timeout) throws QmpException {
        try (QmpClient qmp = QmpClient.connect(socket, timeout)) {
            qmp.setCommandTimeout(timeout.multipliedBy(5));
            int[] v = qmp.version();
            return new Facts(qmp.execute("query-name").path("name").asText(""),
                    qmp.execute("query-uuid").path("UUID").asText(""),
                    qmp.execute("query-status").path("status").asText(""), v[0] + "." + v[1] + "." + v[2],
                    DiskDiscovery.discover(qmp));
        }
    }
}
