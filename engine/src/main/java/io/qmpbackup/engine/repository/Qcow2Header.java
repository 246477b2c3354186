package io.qmpbackup.engine.repository;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The two facts of a qcow2 header the engine reads without running qemu-img: is it qcow2, and
 * the backing file it names. Read straight from the file, so it costs one small read and works
 * while a VM has the image open.
 */
public final class Qcow2Header {
    private static final int MAGIC = 0x514649fb;
    /** qcow2's limit on the backing file name (the spec's backing_file_size). */
    public static final int MAX_BACKING_NAME = 1023;

    private Qcow2Header() {
    }

    /** The backing file name (offset 8: its offset, 16: its length), or null when it names none. */
    public static String backingFile(Path image) throws IOException {
        try (FileChannel ch = FileChannel.open(image)) {
            ByteBuffer h = ByteBuffer.allocate(20);
            ch.read(h, 0);
            if (h.position() < 20 || h.getInt(0) != MAGIC) {
                throw new IOException("no qcow2 header");
            }
            long offset = h.getLong(8);
            int length = h.getInt(16);
            if (offset == 0 || length == 0) {
                return null;
            }
            if (length > MAX_BACKING_NAME || offset + length > ch.size()) {
                throw new IOException("backing file name out of bounds");
            }
            ByteBuffer name = ByteBuffer.allocate(length);
            ch.read(name, offset);
            return new String(name.array(), 0, name.position(), StandardCharsets.UTF_8);
        }
    }

    /** The virtual size (offset 24). */
    public static long virtualSize(Path image) throws IOException {
        try (FileChannel ch = FileChannel.open(image)) {
            ByteBuffer h = ByteBuffer.allocate(32);
            ch.read(h, 0);
            if (h.position() < 32 || h.getInt(0) != MAGIC) {
                throw new IOException("no qcow2 header");
            }
            return h.getLong(24);
        }
    }
}
