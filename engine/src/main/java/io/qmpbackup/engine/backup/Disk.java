package io.qmpbackup.engine.backup;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * A disk of the VM as discovered from query-block.
 *
 * @param device    the BlockBackend name ({@code -drive id=}); empty for {@code -blockdev} disks
 * @param nodeName  the disk's format node: the device's node, or the one under its filters
 *                  (a throttle group, copy-on-read); auto-generated ({@code #block123}) when the
 *                  {@code -drive} has no node-name. Change tracking and the backup read it.
 * @param qdev      the device's QOM path or id, used to swap its drive for the fleecing filter
 * @param format    qcow2 or raw
 * @param filename  the image file of the top node
 * @param virtualSize guest-visible size in bytes
 * @param readOnly  a read-only drive (the guest cannot change it: no fleecing needed)
 * @param pflash    a UEFI/BIOS pflash device: always backed up
 * @param hasBacking the image is an overlay over a backing file
 * @param bitmaps   dirty bitmaps on the format node
 * @param rootNode  the node the device is attached to: the format node, or the top filter above it.
 *                  The copy-before-write filter goes above it, so the guest's writes still pass the
 *                  filters, and the device is given it back afterwards.
 */
public record Disk(String device, String nodeName, String qdev, String format, String filename, long virtualSize,
        boolean readOnly, boolean pflash, boolean hasBacking, List<Bitmap> bitmaps, String rootNode) {

    /** A disk attached straight to its format node. */
    public Disk(String device, String nodeName, String qdev, String format, String filename, long virtualSize,
            boolean readOnly, boolean pflash, boolean hasBacking, List<Bitmap> bitmaps) {
        this(device, nodeName, qdev, format, filename, virtualSize, readOnly, pflash, hasBacking, bitmaps, nodeName);
    }

    /** The name users pass to --include/--exclude and see in messages. */
    public String name() {
        return device.isEmpty() ? nodeName : device;
    }

    public boolean matches(String userName) {
        return userName.equals(device) || userName.equals(nodeName) || userName.equals(rootNode);
    }

    public boolean isRaw() {
        return "raw".equals(format);
    }

    /** File name of the image: names the backup folder and the backup files. */
    public String basename() {
        String n = Path.of(filename).getFileName().toString();
        return n.isEmpty() ? name() : n;
    }

    public Optional<Bitmap> bitmap(String bitmapName) {
        return bitmaps.stream().filter(b -> b.name().equals(bitmapName)).findFirst();
    }

    /** "disk virtio0 (node drive0, /vm/disk.qcow2)" for messages. */
    public String describe() {
        StringBuilder s = new StringBuilder("disk ").append(name());
        if (!device.isEmpty() && !nodeName.startsWith("#")) {
            s.append(" (node ").append(nodeName).append(')');
        }
        return s.append(" [").append(filename).append(']').toString();
    }
}
