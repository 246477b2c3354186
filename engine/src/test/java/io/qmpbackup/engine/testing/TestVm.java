package io.qmpbackup.engine.testing;

import io.qmpbackup.engine.qmp.QmpClient;
import io.qmpbackup.engine.qmp.QmpException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real QEMU (TCG, prelaunch {@code -S} unless asked otherwise) with disks described by
 * {@link DiskSpec}s and two QMP sockets: {@link #qmpSocket()} for the code under test and
 * {@link #qmpSocket2()} for the test's own guest writes and checks. Guest writes go through
 * the guest device (HMP {@code qemu-io -d <qdev>}), so they pass any filter a backup inserts.
 */
public final class TestVm implements AutoCloseable {
    private final Path dir;
    private final List<DiskSpec> disks;
    private final List<String> extraArgs;
    private final boolean prelaunch;
    private Process process;
    private QmpClient control;

    /** How a disk is attached. */
    public enum Attach { BLOCKDEV_VIRTIO, DRIVE_VIRTIO, DRIVE_IDE, DRIVE_SCSI, PFLASH }

    /**
     * @param id     device id (qdev id) and, for -drive, the drive id "drive-<id>"
     * @param image  the image file
     * @param format qcow2 or raw
     * @param attach bus and option style
     * @param nodeName node name to give (null: none for -drive, "node-<id>" for -blockdev)
     */
    public record DiskSpec(String id, Path image, String format, Attach attach, String nodeName) {
        /** The QOM path HMP qemu-io -d and qom-set take for this disk's device. */
        public String qdevPath() {
            return attach == Attach.BLOCKDEV_VIRTIO || attach == Attach.DRIVE_VIRTIO
                    ? "/machine/peripheral/" + id + "/virtio-backend" : id;
        }

        public String nodeOrDrive() {
            return attach == Attach.BLOCKDEV_VIRTIO ? (nodeName != null ? nodeName : "node-" + id) : "drive-" + id;
        }
    }

    public TestVm(Path dir, List<DiskSpec> disks, boolean prelaunch, List<String> extraArgs) {
        this.dir = dir;
        this.disks = List.copyOf(disks);
        this.prelaunch = prelaunch;
        this.extraArgs = List.copyOf(extraArgs);
    }

    public static TestVm start(Path dir, List<DiskSpec> disks) throws IOException {
        TestVm vm = new TestVm(dir, disks, true, List.of());
        vm.start();
        return vm;
    }

    /** A VM whose CPUs run (firmware looping without a boot disk), not in prelaunch. */
    public static TestVm startRunning(Path dir, List<DiskSpec> disks) throws IOException {
        TestVm vm = new TestVm(dir, disks, false, List.of());
        vm.start();
        return vm;
    }

    public void start() throws IOException {
        QemuTools.requireQemu();
        Files.deleteIfExists(qmpSocket());
        Files.deleteIfExists(qmpSocket2());
        Files.deleteIfExists(qmpSocket3());
        List<String> cmd = new ArrayList<>(List.of(QemuTools.QEMU, "-machine", "q35", "-accel", "tcg",
                "-display", "none", "-nodefaults", "-m", "64", "-name", "testvm-" + dir.getFileName(),
                "-qmp", "unix:" + qmpSocket() + ",server=on,wait=off",
                "-qmp", "unix:" + qmpSocket2() + ",server=on,wait=off",
                "-qmp", "unix:" + qmpSocket3() + ",server=on,wait=off"));
        if (prelaunch) {
            cmd.add("-S");
        }
        boolean scsi = false;
        for (DiskSpec d : disks) {
            String img = d.image().toAbsolutePath().toString();
            switch (d.attach()) {
                case BLOCKDEV_VIRTIO -> {
                    String node = d.nodeOrDrive();
                    cmd.addAll(List.of("-blockdev", "driver=file,filename=" + img + ",node-name=" + node + "-file",
                            "-blockdev", "driver=" + d.format() + ",file=" + node + "-file,node-name=" + node,
                            "-device", "virtio-blk-pci,drive=" + node + ",id=" + d.id()));
                }
                case DRIVE_VIRTIO -> cmd.addAll(List.of("-drive", drive(d, img),
                        "-device", "virtio-blk-pci,drive=drive-" + d.id() + ",id=" + d.id()));
                case DRIVE_IDE -> cmd.addAll(List.of("-drive", drive(d, img),
                        "-device", "ide-hd,drive=drive-" + d.id() + ",bus=ide.0,id=" + d.id()));
                case DRIVE_SCSI -> {
                    if (!scsi) {
                        cmd.addAll(List.of("-device", "virtio-scsi-pci,id=scsi0"));
                        scsi = true;
                    }
                    cmd.addAll(List.of("-drive", drive(d, img), "-device",
                            "scsi-hd,drive=drive-" + d.id() + ",bus=scsi0.0,id=" + d.id()));
                }
                case PFLASH -> cmd.addAll(List.of("-drive", "if=pflash,format=" + d.format() + ",unit=0,file=" + img));
            }
        }
        cmd.addAll(extraArgs);
        process = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve("qemu.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!(Files.exists(qmpSocket()) && Files.exists(qmpSocket2()) && Files.exists(qmpSocket3()))) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                throw new IOException("QEMU did not start: " + String.join(" ", cmd) + "\n"
                        + Files.readString(dir.resolve("qemu.log"), StandardCharsets.UTF_8));
            }
            sleep(20);
        }
        control = QmpClient.connect(qmpSocket2(), Duration.ofSeconds(10));
    }

    private static String drive(DiskSpec d, String img) {
        return "file=" + img + ",format=" + d.format() + ",if=none,id=drive-" + d.id()
                + (d.nodeName() != null ? ",node-name=" + d.nodeName() : "");
    }

    public Path dir() {
        return dir;
    }

    public Path qmpSocket() {
        return dir.resolve("qmp.sock");
    }

    public Path qmpSocket2() {
        return dir.resolve("qmp2.sock");
    }

    /** A third QMP socket, free for a test's own extra client (a guest writer, a saboteur). */
    public Path qmpSocket3() {
        return dir.resolve("qmp3.sock");
    }

    public List<DiskSpec> disks() {
        return disks;
    }

    /** The test's own QMP connection (second socket). */
    public QmpClient control() {
        return control;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** Writes a byte pattern through the guest device, as the guest would. */
    public void guestWrite(DiskSpec disk, long offset, long length, int pattern) throws QmpException {
        String out = control.hmp("qemu-io -d " + disk.qdevPath() + " \"write -P " + pattern + " " + offset + " "
                + length + "\"");
        if (out.toLowerCase().contains("error") || out.contains("failed")) {
            throw new IllegalStateException("guest write failed on " + disk.id() + ": " + out);
        }
    }

    /** Flushes the device's disk so that qemu-img sees every write in the image file. */
    public void flush(DiskSpec disk) throws QmpException {
        control.hmp("qemu-io -d " + disk.qdevPath() + " \"flush\"");
    }

    /** Kills QEMU with SIGKILL (a crash: persistent bitmaps in use are left marked in-use). */
    public void kill() throws InterruptedException {
        if (process != null) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        if (control != null) {
            control.close();
        }
    }

    /** Quits QEMU cleanly (persistent bitmaps are stored in the images). */
    public void quit() throws InterruptedException {
        try {
            control.execute("quit");
        } catch (QmpException ignored) {
            // the connection may close before the reply
        }
        process.waitFor(20, TimeUnit.SECONDS);
        control.close();
    }

    @Override
    public void close() {
        if (control != null) {
            control.close();
        }
        if (process != null && process.isAlive()) {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
