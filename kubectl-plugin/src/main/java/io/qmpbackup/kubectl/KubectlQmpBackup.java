package io.qmpbackup.kubectl;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * {@code kubectl qmpbackup}: the plugin's root command. Cluster access is fabric8's default
 * configuration (KUBECONFIG or ~/.kube/config, its current context and namespace, in-cluster
 * service account), which {@code --kubeconfig}, {@code --context} and {@code -n} override as
 * they do for kubectl itself.
 */
@Command(name = "kubectl qmpbackup", mixinStandardHelpOptions = true, version = "kubectl-qmpbackup 0.1.0",
        description = "Backups, restores and restore points of QEMU VMs managed by the QMPBackup operator.",
        subcommands = {BackupCommand.class, RestoreCommand.class, PointsCommand.class, DescribeCommand.class,
            ScheduleCommand.class, CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:done; with --wait: the run Succeeded", "1:the run Failed or was Cancelled, or an error",
            "2:wrong usage"})
public class KubectlQmpBackup {
    /** Exit code of a run that did not succeed, and of errors talking to the cluster. */
    static final int FAILED = 1;

    // INHERIT: "-n vms" works before or after the subcommand, as with kubectl
    @Option(names = {"-n", "--namespace"}, scope = ScopeType.INHERIT,
            description = "Namespace (default: the kubeconfig context's, else default).")
    String namespace;

    @Option(names = "--kubeconfig", scope = ScopeType.INHERIT, paramLabel = "FILE",
            description = "Kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).")
    Path kubeconfig;

    @Option(names = "--context", scope = ScopeType.INHERIT, description = "Kubeconfig context to use.")
    String context;

    private KubernetesClient client;

    public static void main(String[] args) {
        CommandLine cli = commandLine();
        int code = cli.execute(args);
        // picocli's writers flush on println only: a table printed with print() would be lost at exit
        cli.getOut().flush();
        cli.getErr().flush();
        System.exit(code);
    }

    /** The command line with the error handling of the plugin: one line per error, exit code 1. */
    static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new KubectlQmpBackup());
        cli.setExecutionExceptionHandler((e, line, parsed) -> {
            PrintWriter err = line.getErr();
            err.println("kubectl-qmpbackup: error: " + message(e));
            err.flush();
            return FAILED;
        });
        return cli;
    }

    private static String message(Exception e) {
        if (e instanceof KubernetesClientException k && k.getStatus() != null && k.getStatus().getMessage() != null) {
            return k.getStatus().getMessage();
        }
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }

    /** The client for the chosen kubeconfig and context, made once. */
    KubernetesClient client() throws IOException {
        if (client == null) {
            client = new KubernetesClientBuilder().withConfig(config()).build();
        }
        return client;
    }

    private Config config() throws IOException {
        if (kubeconfig != null) {
            if (!Files.isReadable(kubeconfig)) {
                throw new IOException("kubeconfig " + kubeconfig + " cannot be read");
            }
            return Config.fromKubeconfig(context, kubeconfig.toFile());
        }
        return Config.autoConfigure(context);
    }

    /** -n, else the kubeconfig context's namespace, else default (as kubectl). */
    String namespace() throws IOException {
        if (namespace != null) {
            return namespace;
        }
        String ns = client().getConfiguration().getNamespace();
        return ns == null || ns.isBlank() ? "default" : ns;
    }
}
