package io.qmpbackup.engine.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real swtpm (TPM 2.0) for a test VM: its state folder manufactured with swtpm_setup, its
 * control socket for QEMU's tpm emulator backend. Fails loudly when swtpm is not installed.
 */
public final class Swtpm implements AutoCloseable {
    private final Path stateDir;
    private final Path ctrl;
    private final Process process;

    private Swtpm(Path stateDir, Path ctrl, Process process) {
        this.stateDir = stateDir;
        this.ctrl = ctrl;
        this.process = process;
    }

    /** Manufactures a TPM 2.0 in {@code stateDir} (created) and serves it on a socket beside it. */
    public static Swtpm start(Path stateDir) throws IOException, InterruptedException {
        for (String tool : List.of("swtpm", "swtpm_setup")) {
            QemuTools.Result r = QemuTools.exec("sh", "-c", "command -v " + tool);
            if (r.exit() != 0) {
                throw new IllegalStateException(tool + " is missing: install swtpm and swtpm-tools"
                        + " (scripts/setup.sh does)");
            }
        }
        Files.createDirectories(stateDir);
        QemuTools.Result setup = QemuTools.exec("swtpm_setup", "--tpm2", "--tpmstate", stateDir.toString(),
                "--createek", "--overwrite");
        if (setup.exit() != 0) {
            throw new IllegalStateException("swtpm_setup failed: " + setup.out());
        }
        Path ctrl = stateDir.resolveSibling(stateDir.getFileName() + ".sock");
        Process p = new ProcessBuilder("swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + stateDir, "--ctrl",
                "type=unixio,path=" + ctrl, "--flags", "startup-clear").redirectErrorStream(true)
                .redirectOutput(stateDir.resolveSibling(stateDir.getFileName() + ".log").toFile()).start();
        for (int i = 0; i < 100 && !Files.exists(ctrl); i++) {
            Thread.sleep(50);
        }
        if (!Files.exists(ctrl)) {
            p.destroyForcibly();
            throw new IllegalStateException("swtpm did not open " + ctrl);
        }
        return new Swtpm(stateDir, ctrl, p);
    }

    public Path stateDir() {
        return stateDir;
    }

    /** QEMU options attaching it as a TPM TIS device. */
    public List<String> qemuArgs() {
        return List.of("-chardev", "socket,id=chrtpm,path=" + ctrl, "-tpmdev", "emulator,id=tpm0,chardev=chrtpm",
                "-device", "tpm-tis,tpmdev=tpm0");
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
