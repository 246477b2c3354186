package io.qmpbackup.engine.sink;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * The server side of the NBD fixed-newstyle handshake (github.com/NetworkBlockDevice/nbd,
 * doc/proto.md), just what QEMU's client needs to reach transmission on one named export:
 * {@code NBD_OPT_GO}/{@code NBD_OPT_INFO} with {@code NBD_INFO_EXPORT} and
 * {@code NBD_INFO_BLOCK_SIZE}, the older {@code NBD_OPT_EXPORT_NAME}, {@code NBD_OPT_ABORT}.
 * Everything else, structured replies and meta contexts included, is answered
 * {@code NBD_REP_ERR_UNSUP}: the client then uses simple replies, which is all a write sink needs.
 */
final class NbdHandshake {
    static final long NBDMAGIC = 0x4e42444d41474943L;
    static final long IHAVEOPT = 0x49484156454f5054L;
    static final long REPLY_MAGIC = 0x3e889045565a9L;
    static final int FLAG_FIXED_NEWSTYLE = 1;
    static final int FLAG_NO_ZEROES = 2;

    static final int OPT_EXPORT_NAME = 1;
    static final int OPT_LIST = 3;
    static final int OPT_ABORT = 2;
    static final int OPT_INFO = 6;
    static final int OPT_GO = 7;

    static final int REP_ACK = 1;
    static final int REP_SERVER = 2;
    static final int REP_INFO = 3;
    static final int REP_ERR_UNSUP = 0x80000001;
    static final int REP_ERR_INVALID = 0x80000003;
    static final int REP_ERR_UNKNOWN = 0x80000006;

    static final int INFO_EXPORT = 0;
    static final int INFO_BLOCK_SIZE = 3;

    /**
     * Transmission flags: HAS_FLAGS, SEND_TRIM, SEND_WRITE_ZEROES. Not SEND_FLUSH nor SEND_FUA: the
     * file is worth nothing until the sink's finish makes it durable with one fdatasync, so QEMU
     * need not wait for a flush before each new L2 table or refcount block of the target (105
     * flushes in an INC of 256 MiB spread over 16 GiB, each holding the allocating writes behind
     * it); a client that sends FLUSH anyway is still answered.
     */
    static final short TRANSMISSION_FLAGS = 1 | 1 << 5 | 1 << 6;
    /** The largest request payload the sink takes (the protocol's customary 32 MiB). */
    static final int MAX_PAYLOAD = 32 << 20;
    private static final int MAX_OPTION = 64 << 10;

    private final SocketChannel ch;
    private final String export;
    private final long size;

    NbdHandshake(SocketChannel ch, String export, long size) {
        this.ch = ch;
        this.export = export;
        this.size = size;
    }

    /** Runs the handshake; true when transmission starts, false when the client gave up (abort, no export). */
    boolean run() throws IOException {
        ByteBuffer hello = ByteBuffer.allocate(18).putLong(NBDMAGIC).putLong(IHAVEOPT)
                .putShort((short) (FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES));
        write(hello.flip());
        int clientFlags = read(4).getInt();
        if ((clientFlags & FLAG_FIXED_NEWSTYLE) == 0) {
            throw new IOException("NBD client does not speak the fixed newstyle handshake (flags " + clientFlags + ")");
        }
        boolean noZeroes = (clientFlags & FLAG_NO_ZEROES) != 0;
        while (true) {
            ByteBuffer head = read(16);
            if (head.getLong() != IHAVEOPT) {
                throw new IOException("NBD client sent an option without the IHAVEOPT magic");
            }
            int option = head.getInt();
            int len = head.getInt();
            if (len < 0 || len > MAX_OPTION) {
                throw new IOException("NBD client sent an option of " + len + " bytes");
            }
            ByteBuffer data = read(len);
            switch (option) {
                case OPT_EXPORT_NAME -> {
                    if (!export.equals(string(data, len))) {
                        return false; // this option cannot be refused with a reply: the connection just ends
                    }
                    ByteBuffer b = ByteBuffer.allocate(noZeroes ? 10 : 134).putLong(size).putShort(TRANSMISSION_FLAGS);
                    write(b.position(b.capacity()).flip());
                    return true;
                }
                case OPT_ABORT -> {
                    reply(option, REP_ACK, ByteBuffer.allocate(0));
                    return false;
                }
                case OPT_GO, OPT_INFO -> {
                    if (goOrInfo(option, data, len) && option == OPT_GO) {
                        return true;
                    }
                }
                case OPT_LIST -> { // the one export, so that `qemu-nbd --list` shows what it offers
                    if (len != 0) { // LIST carries no data
                        reply(option, REP_ERR_INVALID, ByteBuffer.allocate(0));
                        continue;
                    }
                    byte[] name = export.getBytes(StandardCharsets.UTF_8);
                    reply(option, REP_SERVER, ByteBuffer.allocate(4 + name.length).putInt(name.length).put(name).flip());
                    reply(option, REP_ACK, ByteBuffer.allocate(0));
                }
                default -> reply(option, REP_ERR_UNSUP, ByteBuffer.allocate(0));
            }
        }
    }

    /** Answers GO/INFO; true when it was acknowledged (the export exists). */
    private boolean goOrInfo(int option, ByteBuffer data, int len) throws IOException {
        if (len < 6) {
            reply(option, REP_ERR_INVALID, ByteBuffer.allocate(0));
            return false;
        }
        int nameLen = data.getInt();
        if (nameLen < 0 || nameLen > len - 6) {
            reply(option, REP_ERR_INVALID, ByteBuffer.allocate(0));
            return false;
        }
        String name = string(data, nameLen);
        int requests = Short.toUnsignedInt(data.getShort());
        boolean blockSize = false;
        for (int i = 0; i < requests && data.remaining() >= 2; i++) {
            blockSize |= data.getShort() == INFO_BLOCK_SIZE;
        }
        if (!name.equals(export)) {
            reply(option, REP_ERR_UNKNOWN, ByteBuffer.allocate(0));
            return false;
        }
        reply(option, REP_INFO, ByteBuffer.allocate(12).putShort((short) INFO_EXPORT).putLong(size)
                .putShort(TRANSMISSION_FLAGS).flip());
        if (blockSize) {
            // any alignment; 4 KiB preferred; payloads up to MAX_PAYLOAD
            reply(option, REP_INFO, ByteBuffer.allocate(14).putShort((short) INFO_BLOCK_SIZE).putInt(1).putInt(4096)
                    .putInt(MAX_PAYLOAD).flip());
        }
        reply(option, REP_ACK, ByteBuffer.allocate(0));
        return true;
    }

    private void reply(int option, int type, ByteBuffer data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(20 + data.remaining()).putLong(REPLY_MAGIC).putInt(option).putInt(type)
                .putInt(data.remaining()).put(data);
        write(b.flip());
    }

    private static String string(ByteBuffer data, int len) {
        byte[] b = new byte[len];
        data.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private ByteBuffer read(int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        readFully(ch, b);
        return b.flip();
    }

    private void write(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    static void readFully(SocketChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                throw new EOFException("NBD client closed the connection");
            }
        }
    }
}
