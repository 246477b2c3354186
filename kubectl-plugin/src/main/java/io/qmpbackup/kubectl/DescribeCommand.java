package io.qmpbackup.kubectl;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMRestore;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code describe RUN}: a VMBackup or VMRestore with its conditions and Events. */
@Command(name = "describe", mixinStandardHelpOptions = true,
        description = "Show a run's status, conditions and Events in one view. RUN is a VMBackup name, or"
                + " vmbackup/NAME or vmrestore/NAME; a bare name is looked up as a VMBackup, then a VMRestore.")
class DescribeCommand implements Callable<Integer> {
    @ParentCommand
    KubectlQmpBackup root;

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "RUN", description = "The run.")
    String run;

    @Override
    public Integer call() throws Exception {
        KubernetesClient client = root.client();
        String ns = root.namespace();
        HasMetadata found = find(client, ns);
        // every Event of the namespace, matched here: a field selector on involvedObject is not served by
        // every API server the plugin meets (the in-process test server ignores it)
        List<Event> events = client.v1().events().inNamespace(ns).list().getItems().stream()
                .filter(e -> e.getInvolvedObject() != null
                        && found.getKind().equals(e.getInvolvedObject().getKind())
                        && found.getMetadata().getName().equals(e.getInvolvedObject().getName()))
                .toList();
        spec.commandLine().getOut().print(DescribeView.render(found, events, Instant.now()));
        return 0;
    }

    private HasMetadata find(KubernetesClient client, String ns) {
        String kind = "";
        String name = run;
        int slash = run.indexOf('/');
        if (slash > 0) {
            kind = run.substring(0, slash).toLowerCase(java.util.Locale.ROOT);
            name = run.substring(slash + 1);
        }
        boolean backups = kind.isEmpty() || List.of("vmbackup", "vmbackups", "vmb").contains(kind);
        boolean restores = kind.isEmpty() || List.of("vmrestore", "vmrestores", "vmr").contains(kind);
        if (!backups && !restores) {
            throw new IllegalArgumentException("'" + kind + "' is not a run kind: use vmbackup/NAME or vmrestore/NAME");
        }
        HasMetadata r = backups ? client.resources(VMBackup.class).inNamespace(ns).withName(name).get() : null;
        if (r == null && restores) {
            r = client.resources(VMRestore.class).inNamespace(ns).withName(name).get();
        }
        if (r == null) {
            throw new IllegalArgumentException((backups && restores ? "no VMBackup or VMRestore " : backups
                    ? "no VMBackup " : "no VMRestore ") + name + " in namespace " + ns);
        }
        return r;
    }
}
