package io.qmpbackup.kubectl;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.qmpbackup.api.v1alpha1.BackupLevel;
import io.qmpbackup.api.v1alpha1.QemuVM;
import io.qmpbackup.api.v1alpha1.StorageRef;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMBackupSpec;
import io.qmpbackup.api.v1alpha1.VMBackupStatus;
import io.qmpbackup.api.v1alpha1.VmRef;
import java.io.PrintWriter;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code backup VM}: a VMBackup of a QemuVM, and with --wait its progress and result. */
@Command(name = "backup", mixinStandardHelpOptions = true,
        description = "Create a VMBackup of the QemuVM VM (and with --wait, follow it to its end).")
class BackupCommand implements Callable<Integer> {
    static final DateTimeFormatter RUN_ID = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT);

    @ParentCommand
    KubectlQmpBackup root;

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "VM", description = "Name of a QemuVM in the namespace.")
    String vm;

    @Option(names = "--level", defaultValue = "auto", paramLabel = "LEVEL", converter = Levels.class,
            description = "full, inc, auto or copy (default: ${DEFAULT-VALUE}).")
    BackupLevel level;

    @Option(names = "--storage", paramLabel = "LOCATION/PATH",
            description = "Storage location of the node agent and a folder in it (default: default/<VM>).")
    String storage;

    @Option(names = "--name", description = "Name of the VMBackup (default: <VM>-<level>-<yyyyMMdd-HHmmss>).")
    String name;

    @Option(names = "--speed-limit", paramLabel = "SIZE", converter = SizeConverter.class,
            description = "Bytes per second per disk, for example 200M (K, M, G, T: powers of 1024). QEMU counts"
                    + " the disk's whole size against it, allocated or not.")
    Long speedLimit;

    @Option(names = "--quiesce", description = "Freeze guest filesystems through the guest agent at the snapshot.")
    boolean quiesce;

    @Option(names = "--wait", description = "Follow the run until it ends; exit 0 when it Succeeded, 1 otherwise."
            + " Interrupting the wait leaves the run going.")
    boolean await;

    @Override
    public Integer call() throws Exception {
        KubernetesClient client = root.client();
        String ns = root.namespace();
        PrintWriter out = spec.commandLine().getOut();
        if (client.resources(QemuVM.class).inNamespace(ns).withName(vm).get() == null) {
            throw new IllegalArgumentException("QemuVM " + ns + "/" + vm + " not found (kubectl get qemuvms -n " + ns
                    + " lists them)");
        }
        VMBackup b = client.resource(backup(ns, ZonedDateTime.now(ZoneOffset.UTC))).create();
        String created = b.getMetadata().getName();
        RunWatch.created(out, "vmbackup", created);
        if (!await) {
            return 0;
        }
        var status = RunWatch.forTerminal(out).await(created,
                RunWatch.statusOf(client, VMBackup.class, ns, created, VMBackupStatus::new), RunWatch::terminal);
        return RunWatch.outcome(out, "VMBackup", created, status);
    }

    VMBackup backup(String ns, ZonedDateTime now) {
        VMBackup b = new VMBackup();
        b.setMetadata(new ObjectMetaBuilder().withNamespace(ns)
                .withName(name != null ? name : runName(vm + "-" + level.value(), RUN_ID.format(now))).build());
        VMBackupSpec s = new VMBackupSpec();
        s.vm = new VmRef();
        s.vm.name = vm;
        s.level = level;
        s.storage = storageRef(storage == null ? "default/" + vm : storage);
        s.speedLimit = speedLimit;
        s.quiesce = quiesce ? Boolean.TRUE : null;
        b.setSpec(s);
        return b;
    }

    /** {@code prefix-suffix}, the prefix cut so the name stays within the 253 characters of an object name. */
    static String runName(String prefix, String suffix) {
        int room = 253 - suffix.length() - 1;
        String p = prefix.length() <= room ? prefix : prefix.substring(0, room).replaceAll("[-.]+$", "");
        return p + "-" + suffix;
    }

    static StorageRef storageRef(String value) {
        int slash = value.indexOf('/');
        if (slash <= 0 || slash == value.length() - 1) {
            throw new IllegalArgumentException("--storage '" + value + "': give LOCATION/PATH, for example"
                    + " default/web1 (a storage location of the node agent, then a folder in it)");
        }
        StorageRef r = new StorageRef();
        r.location = value.substring(0, slash);
        r.path = value.substring(slash + 1);
        return r;
    }

    /** Sizes with units; a wrong one is a usage error (exit 2) that says what a size looks like. */
    static final class SizeConverter implements picocli.CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            try {
                return Sizes.parse(value);
            } catch (IllegalArgumentException | ArithmeticException e) {
                throw new picocli.CommandLine.TypeConversionException("'" + value + "' is not a size: use a number"
                        + " with an optional unit K, M, G or T (for example 200M)");
            }
        }
    }

    /** --level values as the CRD spells them (lower case), listed in the error when wrong. */
    static final class Levels implements picocli.CommandLine.ITypeConverter<BackupLevel> {
        @Override
        public BackupLevel convert(String value) {
            for (BackupLevel l : BackupLevel.values()) {
                if (l.value().equals(value)) {
                    return l;
                }
            }
            throw new picocli.CommandLine.TypeConversionException("'" + value + "' is not a level: use full, inc,"
                    + " auto or copy");
        }
    }
}
