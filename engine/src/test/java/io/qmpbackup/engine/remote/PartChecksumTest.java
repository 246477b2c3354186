package io.qmpbackup.engine.remote;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.Part;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.UploadPartRequest;

class PartChecksumTest {
    private static final byte[] CHECK = "123456789".getBytes(StandardCharsets.US_ASCII);

    @Test
    void eachKindIsBase64OfItsBigEndianValueAsS3ComparesIt() {
        // CRC-32C's check value for "123456789" is 0xe3069283 (RFC 3720, appendix B.4)
        assertThat(PartChecksum.CRC32C.of(CHECK)).isEqualTo("4waSgw==");
        // echo -n 123456789 | sha256sum | xxd -r -p | base64 ; and the same with md5sum
        assertThat(PartChecksum.SHA256.of(CHECK)).isEqualTo("FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=");
        assertThat(PartChecksum.MD5.of(CHECK)).isEqualTo("JfnnlDI7RTiF9RgfG2JNCw==");
        assertThat(PartChecksum.CRC32C.of(new byte[0])).isEqualTo("AAAAAA==");
    }

    @Test
    void theConfigSpellingsParseAndAnyOtherIsRefusedNamingTheChoices() {
        assertThat(PartChecksum.parse(" CRC32C ")).isEqualTo(PartChecksum.CRC32C);
        assertThat(PartChecksum.parse("sha256")).isEqualTo(PartChecksum.SHA256);
        assertThat(PartChecksum.parse("md5")).isEqualTo(PartChecksum.MD5);
        assertThatThrownBy(() -> PartChecksum.parse("crc32")).hasMessageContaining("crc32c, sha256 or md5");
    }

    @Test
    void aStoredPartIsTheSameBytesWhenItsChecksumOfTheKindMatches() {
        String md5 = PartChecksum.MD5.of(CHECK);
        // S3's ETag of a part sent with Content-MD5 is that MD5 in hex, quoted
        assertThat(PartChecksum.MD5.matches(Part.builder().eTag("\"25f9e794323b453885f5181f1b624d0b\"").build(), md5))
                .isTrue();
        assertThat(PartChecksum.MD5.matches(Part.builder().eTag("\"00f9e794323b453885f5181f1b624d0b\"").build(), md5))
                .isFalse();
        assertThat(PartChecksum.MD5.matches(Part.builder().build(), md5)).isFalse();
        String sha = PartChecksum.SHA256.of(CHECK);
        assertThat(PartChecksum.SHA256.matches(Part.builder().checksumSHA256(sha).build(), sha)).isTrue();
        assertThat(PartChecksum.SHA256.matches(Part.builder().checksumCRC32C(sha).build(), sha)).isFalse();
        String crc = PartChecksum.CRC32C.of(CHECK);
        assertThat(PartChecksum.CRC32C.matches(Part.builder().checksumCRC32C(crc).build(), crc)).isTrue();
        assertThat(PartChecksum.CRC32C.matches(Part.builder().checksumCRC32C("AAAAAA==").build(), crc)).isFalse();
    }

    @Test
    void eachKindPutsItsValueWhereS3ReadsIt() {
        String sum = "4waSgw==";
        assertThat(PartChecksum.CRC32C.completed(3, "e", sum)).isEqualTo(CompletedPart.builder().partNumber(3).eTag("e")
                .checksumCRC32C(sum).build());
        assertThat(PartChecksum.SHA256.completed(3, "e", sum).checksumSHA256()).isEqualTo(sum);
        assertThat(PartChecksum.MD5.completed(3, "e", sum)).isEqualTo(CompletedPart.builder().partNumber(3).eTag("e")
                .build());
        UploadPartRequest.Builder u = UploadPartRequest.builder();
        PartChecksum.CRC32C.onPart(u, sum);
        assertThat(u.build().checksumAlgorithm()).isEqualTo(ChecksumAlgorithm.CRC32_C);
        assertThat(u.build().checksumCRC32C()).isEqualTo(sum);
        PutObjectRequest.Builder p = PutObjectRequest.builder();
        PartChecksum.MD5.onPut(p, sum);
        assertThat(p.build().contentMD5()).isEqualTo(sum);
        assertThat(p.build().checksumAlgorithm()).isNull();
        PutObjectRequest.Builder q = PutObjectRequest.builder();
        PartChecksum.SHA256.onPut(q, sum);
        assertThat(q.build().checksumAlgorithm()).isEqualTo(ChecksumAlgorithm.SHA256);
        assertThat(q.build().checksumSHA256()).isEqualTo(sum);
        assertThat(PartChecksum.MD5.algorithm()).isNull();
    }
}
