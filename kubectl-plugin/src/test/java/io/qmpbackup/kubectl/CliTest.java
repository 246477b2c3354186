package io.qmpbackup.kubectl;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpbackup.api.v1alpha1.BackupLevel;
import io.qmpbackup.api.v1alpha1.RestoreMode;
import io.qmpbackup.api.v1alpha1.VMBackup;
import io.qmpbackup.api.v1alpha1.VMRestore;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

/** The command line without a cluster: options, usage errors, the objects the commands create. */
class CliTest {
    private static final ZonedDateTime NOW = ZonedDateTime.of(2026, 3, 1, 9, 5, 7, 0, ZoneOffset.UTC);

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine cli = KubectlQmpBackup.commandLine();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        return cli.execute(args);
    }

    @Test
    void theNamespaceIsTakenBeforeOrAfterTheSubcommand() {
        for (String[] args : new String[][] {{"-n", "vms", "points", "web1"}, {"points", "web1", "-n", "vms"},
            {"points", "--namespace=vms", "web1"}}) {
            CommandLine cli = KubectlQmpBackup.commandLine();
            ParseResult parsed = cli.parseArgs(args);
            KubectlQmpBackup root = cli.getCommand();
            assertThat(root.namespace).as(String.join(" ", args)).isEqualTo("vms");
            assertThat(parsed.subcommand().commandSpec().name()).isEqualTo("points");
        }
    }

    @Test
    void helpExitsZeroAndListsTheOptions() {
        assertThat(run("backup", "--help")).isZero();
        assertThat(out.toString()).contains("--level=LEVEL", "full, inc, auto or copy", "--storage=LOCATION/PATH",
                "--wait", "--namespace");
        assertThat(run("help", "restore")).isZero();
        assertThat(out.toString()).contains("--mode=MODE", "merge", "instant", "export");
    }

    @Test
    void wrongValuesAreUsageErrorsThatListTheAllowedOnes() {
        assertThat(run("backup", "web1", "--level", "weekly")).isEqualTo(2);
        assertThat(err.toString()).contains("'weekly' is not a level: use full, inc, auto or copy");
        assertThat(run("restore", "run1", "--mode", "copy")).isEqualTo(2);
        assertThat(err.toString()).contains("use merge, instant, export, rebase, commit or snapshotrebase");
        assertThat(run("backup", "web1", "--speed-limit", "fast")).isEqualTo(2);
        assertThat(err.toString()).contains("'fast' is not a size");
        assertThat(run("restore", "run1")).as("--mode is required").isEqualTo(2);
    }

    @Test
    void anUnreadableKubeconfigIsAOneLineError() {
        assertThat(run("points", "web1", "--kubeconfig", "/nonexistent/config")).isEqualTo(1);
        assertThat(err.toString().trim()).isEqualTo("kubectl-qmpbackup: error: kubeconfig /nonexistent/config"
                + " cannot be read");
    }

    @Test
    void backupCreatesAVmBackupOfTheQemuVm() {
        CommandLine cli = KubectlQmpBackup.commandLine();
        ParseResult parsed = cli.parseArgs("backup", "web1", "--level", "inc", "--storage", "nfs/vms/web1",
                "--speed-limit", "200M");
        BackupCommand backup = (BackupCommand) parsed.subcommand().commandSpec().userObject();
        VMBackup b = backup.backup("vms", NOW);
        assertThat(b.getMetadata().getName()).isEqualTo("web1-inc-20260301-090507");
        assertThat(b.getSpec().vm.name).isEqualTo("web1");
        assertThat(b.getSpec().level).isEqualTo(BackupLevel.INC);
        assertThat(b.getSpec().storage.location).isEqualTo("nfs");
        assertThat(b.getSpec().storage.path).isEqualTo("vms/web1");
        assertThat(b.getSpec().speedLimit).isEqualTo(200L << 20);
        ParseResult defaults = KubectlQmpBackup.commandLine().parseArgs("backup", "db1");
        VMBackup d = ((BackupCommand) defaults.subcommand().commandSpec().userObject()).backup("vms", NOW);
        assertThat(d.getSpec().level).isEqualTo(BackupLevel.AUTO);
        assertThat(d.getSpec().storage.location + "/" + d.getSpec().storage.path).isEqualTo("default/db1");
    }

    @Test
    void restoreCreatesAVmRestoreOfTheRunsChain() {
        ParseResult parsed = KubectlQmpBackup.commandLine().parseArgs("restore", "web1-inc", "--mode", "export",
                "--ttl", "30m", "--until", "INC-1700000000");
        VMRestore r = ((RestoreCommand) parsed.subcommand().commandSpec().userObject()).restore("vms", NOW);
        assertThat(r.getMetadata().getName()).isEqualTo("web1-inc-export-20260301-090507");
        assertThat(r.getSpec().source.backup).isEqualTo("web1-inc");
        assertThat(r.getSpec().mode).isEqualTo(RestoreMode.EXPORT);
        assertThat(r.getSpec().export.ttl).isEqualTo("30m");
        assertThat(r.getSpec().until).isEqualTo("INC-1700000000");
    }

    @Test
    void aRestoreFromTheRemoteOnAnotherNode() {
        ParseResult parsed = KubectlQmpBackup.commandLine().parseArgs("restore", "web1-inc", "--mode", "merge",
                "--target", "/var/lib/qmpbackup/vms/web1.qcow2", "--remote", "--node", "node-b");
        VMRestore r = ((RestoreCommand) parsed.subcommand().commandSpec().userObject()).restore("vms", NOW);
        assertThat(r.getSpec().source.remote).isTrue();
        assertThat(r.getSpec().node).isEqualTo("node-b");
        VMRestore local = ((RestoreCommand) KubectlQmpBackup.commandLine().parseArgs("restore", "web1-inc", "--mode",
                "rebase").subcommand().commandSpec().userObject()).restore("vms", NOW);
        assertThat(local.getSpec().source.remote).isNull();
        assertThat(local.getSpec().node).isNull();
    }

    @Test
    void aRestoreOfARunWithALongNameGetsANameTheApiServerTakes() {
        String run = "a".repeat(250);
        ParseResult parsed = KubectlQmpBackup.commandLine().parseArgs("restore", run, "--mode", "rebase");
        VMRestore r = ((RestoreCommand) parsed.subcommand().commandSpec().userObject()).restore("vms", NOW);
        assertThat(r.getMetadata().getName()).hasSize(253).endsWith("a-20260301-090507");
    }
}
