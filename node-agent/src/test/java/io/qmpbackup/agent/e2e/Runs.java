package io.qmpbackup.agent.e2e;

import static org.awaitility.Awaitility.await;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.qmpbackup.api.v1alpha1.BackupLevel;
import io.qmpbackup.api.v1alpha1.StorageRef;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSpec;
import io.qmpbackup.api.v1alpha1.VMBackupStatus;
import io.qmpbackup.api.v1alpha1.VmRef;
import java.nio.file.Path;
import java.time.Duration;

/** VMBackups as the end-to-end tests create them, and the wait for their end. */
final class Runs {
    private Runs() {
    }

    /** A VMBackup of the VM on node-a behind {@code qmpSocket}, into storage location default at {@code path}. */
    static VMBackup bySocket(String ns, String name, Path qmpSocket, BackupLevel level, String path) {
        VMBackup b = new VMBackup();
        b.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(ns).build());
        VMBackupSpec spec = new VMBackupSpec();
        spec.vm = new VmRef();
        spec.vm.node = "node-a";
        spec.vm.qmpSocket = qmpSocket.toString();
        spec.level = level;
        spec.storage = new StorageRef();
        spec.storage.location = "default";
        spec.storage.path = path;
        b.setSpec(spec);
        return b;
    }

    /** Creates it and returns it as it ended (Succeeded or Failed). */
    static VMBackup run(KubernetesClient client, VMBackup b) {
        client.resource(b).create();
        String ns = b.getMetadata().getNamespace();
        String name = b.getMetadata().getName();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).until(() -> {
            VMBackupStatus s = client.resources(VMBackup.class).inNamespace(ns).withName(name).get().getStatus();
            return s != null && s.phase != null && s.phase.terminal();
        });
        return client.resources(VMBackup.class).inNamespace(ns).withName(name).get();
    }
}
