package io.qmpbackup.engine.remote;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

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
}
