package io.qmpbackup.engine.remote;

import java.nio.ByteBuffer;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Locale;
import java.util.zip.CRC32C;
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.Part;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.UploadPartRequest;

/**
 * The checksum each upload request carries, which the store checks on receipt (a part that
 * arrived different is refused). It guards the transfer only: what the object must hold is
 * decided by the integrity record's SHA-256, checked on every byte read for the upload whichever
 * of these is chosen. CRC32C is S3's own default and costs next to nothing (the CPU computes it),
 * so the default leaves the CPU to that SHA-256 and to the store; MD5 (Content-MD5) is for stores
 * without S3's newer checksum headers. Each kind also says how its value goes on each request and
 * how a part of an interrupted upload is recognised as the same bytes, so the upload itself has
 * no per-kind branches.
 */
public enum PartChecksum {
    CRC32C(ChecksumAlgorithm.CRC32_C), SHA256(ChecksumAlgorithm.SHA256), MD5(null);

    private final ChecksumAlgorithm algorithm;

    PartChecksum(ChecksumAlgorithm algorithm) {
        this.algorithm = algorithm;
    }

    /** The multipart upload's checksum algorithm; null for Content-MD5, which is per request only. */
    ChecksumAlgorithm algorithm() {
        return algorithm;
    }

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

    /** A single-request upload carries {@code sum} (from {@link #of}). */
    void onPut(PutObjectRequest.Builder p, String sum) {
        switch (this) {
            case MD5 -> p.contentMD5(sum);
            case SHA256 -> p.checksumAlgorithm(algorithm).checksumSHA256(sum);
            case CRC32C -> p.checksumAlgorithm(algorithm).checksumCRC32C(sum);
        }
    }

    /** A part carries {@code sum}; the SDK's part and put builders share no checksum setter. */
    void onPart(UploadPartRequest.Builder u, String sum) {
        switch (this) {
            case MD5 -> u.contentMD5(sum);
            case SHA256 -> u.checksumAlgorithm(algorithm).checksumSHA256(sum);
            case CRC32C -> u.checksumAlgorithm(algorithm).checksumCRC32C(sum);
        }
    }

    /** Whether a part the store already holds has the checksum {@code sum} (an MD5 part: its ETag is the MD5). */
    boolean matches(Part earlier, String sum) {
        return switch (this) {
            case MD5 -> earlier.eTag() != null && earlier.eTag().replace("\"", "")
                    .equals(HexFormat.of().formatHex(Base64.getDecoder().decode(sum)));
            case SHA256 -> sum.equals(earlier.checksumSHA256());
            case CRC32C -> sum.equals(earlier.checksumCRC32C());
        };
    }

    /** The part as the completion request lists it. */
    CompletedPart completed(int number, String etag, String sum) {
        CompletedPart.Builder b = CompletedPart.builder().partNumber(number).eTag(etag);
        return switch (this) {
            case MD5 -> b.build();
            case SHA256 -> b.checksumSHA256(sum).build();
            case CRC32C -> b.checksumCRC32C(sum).build();
        };
    }
}
