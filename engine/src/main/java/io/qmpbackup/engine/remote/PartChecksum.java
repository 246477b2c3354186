package io.qmpbackup.engine.remote;

import java.nio.ByteBuffer;
import java.util.Base64;
import java.util.Locale;
import java.util.zip.CRC32C;

/**
 * The checksum each upload request carries, which the store checks on receipt (a part that
 * arrived different is refused). It guards the transfer only: what the object must hold is
 * decided by the integrity record's SHA-256, checked on every byte read for the upload whichever
 * of these is chosen. CRC32C is S3's own default and costs next to nothing (the CPU computes it),
 * so the default leaves the CPU to that SHA-256 and to the store; MD5 (Content-MD5) is for stores
 * without S3's newer checksum headers.
 */
public enum PartChecksum {
    CRC32C, SHA256, MD5;

    /** crc32c, sha256 or md5, as the remote config and the chart spell them. */
    public static PartChecksum parse(String v) {
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "crc32c" -> CRC32C;
            case "sha256" -> SHA256;
            case "md5" -> MD5;
            default -> throw new IllegalArgumentException("remote config: part-checksum is crc32c, sha256 or md5,"
                    + " not " + v);
        };
    }

    /** The checksum of a request body as S3 wants it in its header: base64 of the big-endian bytes. */
    public String of(byte[] body) {
        byte[] sum = switch (this) {
            case CRC32C -> {
                CRC32C c = new CRC32C();
                c.update(body, 0, body.length);
                yield ByteBuffer.allocate(4).putInt((int) c.getValue()).array();
            }
            case SHA256 -> ObjectUpload.sha("SHA-256").digest(body);
            case MD5 -> ObjectUpload.sha("MD5").digest(body);
        };
        return Base64.getEncoder().encodeToString(sum);
    }
}
