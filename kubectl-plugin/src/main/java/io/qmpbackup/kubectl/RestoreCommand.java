package io.qmpbackup.kubectl;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.qmpbackup.api.v1alpha1.RestoreExport;
import io.qmpbackup.api.v1alpha1.RestoreMode;
import io.qmpbackup.api.v1alpha1.RestoreSource;
import io.qmpbackup.api.v1alpha1.RunStatus;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMRestore;
import io.qmpbackup.api.v1alpha1.VMRestoreSpec;
import io.qmpbackup.api.v1alpha1.VMRestoreStatus;
import java.io.PrintWriter;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code restore RUN --mode ...}: a VMRestore of the chain VMBackup RUN wrote. */
@Command(name = "restore", mixinStandardHelpOptions = true,
        description = "Create a VMRestore from the chain of VMBackup RUN (and with --wait, follow it).")
class RestoreCommand implements Callable<Integer> {
    @ParentCommand
    KubectlQmpBackup root;

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "RUN", description = "Name of a VMBackup in the namespace.")
    String run;

    @Option(names = "--mode", required = true, converter = Modes.class, paramLabel = "MODE",
            description = "merge (a new image), instant (an overlay backed by the point), export (read-only NBD),"
                    + " or in place: rebase, commit, snapshotrebase.")
    RestoreMode mode;

    @Option(names = "--target", paramLabel = "FILE",
            description = "merge: the new image; instant: the overlay (an absolute path on the node).")
    String target;

    @Option(names = "--until", description = "Restore up to this backup file (its name or INC-<epoch> prefix).")
    String until;

    @Option(names = "--disk", description = "The disk's image file name, for example disk1.qcow2.")
    String disk;

    @Option(names = "--ttl", description = "export: how long it is served (90s, 30m, 1h30m, 2d; default 1h).")
    String ttl;

    @Option(names = "--remote", description = "Restore from the storage location's remote (its off-site copy),"
            + " downloaded to the node and checked: for a node that never held the backup (give --node).")
    boolean remote;

    @Option(names = "--node", description = "Node to restore on (default: the backup's node).")
    String node;

    @Option(names = "--name", description = "Name of the VMRestore (default: <RUN>-<mode>-<yyyyMMdd-HHmmss>).")
    String name;

    @Option(names = "--wait", description = "Follow the restore until it ends (export: until it serves);"
            + " exit 0 when it Succeeded, 1 otherwise.")
    boolean await;

    @Override
    public Integer call() throws Exception {
        KubernetesClient client = root.client();
        String ns = root.namespace();
        PrintWriter out = spec.commandLine().getOut();
        if (client.resources(VMBackup.class).inNamespace(ns).withName(run).get() == null) {
            throw new IllegalArgumentException("VMBackup " + ns + "/" + run + " not found (kubectl qmpbackup points VM"
                    + " lists a VM's runs)");
        }
        if ((mode == RestoreMode.MERGE || mode == RestoreMode.INSTANT) && target == null) {
            throw new IllegalArgumentException("--mode " + mode.value() + " needs --target FILE (the new image)");
        }
        VMRestore r = client.resource(restore(ns, ZonedDateTime.now(ZoneOffset.UTC))).create();
        String created = r.getMetadata().getName();
        RunWatch.created(out, "vmrestore", created);
        if (!await) {
            return 0;
        }
        RunStatus s = RunWatch.forTerminal(out).await(created,
                RunWatch.statusOf(client, VMRestore.class, ns, created, VMRestoreStatus::new),
                st -> RunWatch.terminal(st) || ((VMRestoreStatus) st).exportUri != null);
        if (s instanceof VMRestoreStatus rs && rs.exportUri != null && !RunWatch.terminal(rs)) {
            out.println("VMRestore " + created + " serving " + rs.exportUri + " until " + rs.expiresAt
                    + " (kubectl delete vmrestore " + created + " ends it)");
            return 0;
        }
        int code = RunWatch.outcome(out, "VMRestore", created, s);
        if (s instanceof VMRestoreStatus rs && rs.outputFile != null) {
            out.println("output: " + rs.outputFile + (rs.check == null ? "" : " (check: " + rs.check + ")"));
        }
        return code;
    }

    VMRestore restore(String ns, ZonedDateTime now) {
        VMRestore r = new VMRestore();
        r.setMetadata(new ObjectMetaBuilder().withNamespace(ns)
                .withName(name != null ? name : BackupCommand.runName(run + "-" + mode.value(),
                        BackupCommand.RUN_ID.format(now)))
                .build());
        VMRestoreSpec s = new VMRestoreSpec();
        s.source = new RestoreSource();
        s.source.backup = run;
        s.source.disk = disk;
        s.source.remote = remote ? Boolean.TRUE : null;
        s.node = node;
        s.mode = mode;
        s.until = until;
        s.targetFile = target;
        if (ttl != null) {
            s.export = new RestoreExport();
            s.export.ttl = ttl;
        }
        r.setSpec(s);
        return r;
    }

    /** --mode values as the CRD spells them, listed in the error when wrong. */
    static final class Modes implements picocli.CommandLine.ITypeConverter<RestoreMode> {
        @Override
        public RestoreMode convert(String value) {
            for (RestoreMode m : RestoreMode.values()) {
                if (m.value().equals(value)) {
                    return m;
                }
            }
            throw new picocli.CommandLine.TypeConversionException("'" + value + "' is not a mode: use merge, instant,"
                    + " export, rebase, commit or snapshotrebase");
        }
    }
}
