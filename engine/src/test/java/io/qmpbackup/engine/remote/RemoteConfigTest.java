package io.qmpbackup.engine.remote;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The remote config file: secrets from the environment or files, never from the config, never shown. */
class RemoteConfigTest {
    @TempDir
    Path tmp;

    @Test
    void secretsComeFromTheEnvironmentOrFilesAndNeverShow() throws Exception {
        Files.writeString(tmp.resolve("secret"), "s3cr3t-value\n");
        Files.writeString(tmp.resolve("key"), Base64.getEncoder().encodeToString(new byte[32]));
        Path f = tmp.resolve("remote.properties");
        Files.writeString(f, "endpoint=http://127.0.0.1:9000\nbucket=backups\nprefix=/node1/\naccess-key-id=AKID\n"
                + "secret-access-key-file=secret\nencryption-key-file=key\npart-size=8M\nbandwidth-limit=10M\n"
                + "keep-last=7\npart-checksum=md5\n");
        RemoteConfig c = RemoteConfig.load(f, Map.of());
        assertThat(c.secretAccessKey().value()).isEqualTo("s3cr3t-value");
        assertThat(c.prefix()).isEqualTo("node1");
        assertThat(c.key("disk1.qcow2/uuid")).isEqualTo("node1/disk1.qcow2/uuid");
        assertThat(c.partSize()).isEqualTo(8L << 20);
        assertThat(c.bandwidthLimit()).isEqualTo(10L << 20);
        assertThat(c.hasOwnRetention()).isTrue();
        assertThat(c.partChecksum()).isEqualTo(PartChecksum.MD5);
        assertThat(c.encryptionKey()).hasSize(32);
        assertThat(c.toString()).doesNotContain("s3cr3t").doesNotContain("AKID").contains("encrypted");
        assertThat(c.secretAccessKey().toString()).doesNotContain("s3cr3t");

        Path env = tmp.resolve("env.properties");
        Files.writeString(env, "bucket=backups\n");
        RemoteConfig e = RemoteConfig.load(env, Map.of(RemoteConfig.ENV_ACCESS_KEY, "id",
                RemoteConfig.ENV_SECRET_KEY, "from-env"));
        assertThat(e.secretAccessKey().value()).isEqualTo("from-env");
        assertThat(e.encryptionKey()).isNull();
        assertThat(e.partChecksum()).isEqualTo(PartChecksum.CRC32C);
        Files.writeString(env, "bucket=backups\npart-checksum=crc32\n");
        assertThatThrownBy(() -> RemoteConfig.load(env, Map.of(RemoteConfig.ENV_ACCESS_KEY, "id",
                RemoteConfig.ENV_SECRET_KEY, "s"))).hasMessageContaining("part-checksum is crc32c, sha256 or md5");
        assertThatThrownBy(() -> RemoteConfig.load(env, Map.of())).hasMessageContaining("no credentials");
    }

    @Test
    void aSecretWrittenIntoTheConfigOrAShortKeyIsRefused() throws Exception {
        Path f = tmp.resolve("remote.properties");
        Files.writeString(f, "bucket=backups\nsecret-access-key=plain\n");
        assertThatThrownBy(() -> RemoteConfig.load(f, Map.of())).hasMessageContaining("secret-access-key-file")
                .hasMessageNotContaining("plain");
        Files.writeString(f, "bucket=backups\nencryption-key-env=K\n");
        assertThatThrownBy(() -> RemoteConfig.load(f, Map.of("K", Base64.getEncoder().encodeToString(new byte[16]),
                RemoteConfig.ENV_ACCESS_KEY, "a", RemoteConfig.ENV_SECRET_KEY, "b")))
                .hasMessageContaining("must be 32 bytes");
    }

    @Test
    void aNarrowedRemoteKeepsItsKeysUnderThePartItWasGiven() throws Exception {
        Path f = tmp.resolve("remote.properties");
        Files.writeString(f, "bucket=backups\nprefix=cluster-a\naccess-key-id=a\nsecret-access-key-env=S\n");
        RemoteConfig c = RemoteConfig.load(f, Map.of("S", "s"));
        RemoteConfig ns = c.under("team-a/web1/");
        assertThat(ns.key("disk1.qcow2/uuid")).isEqualTo("cluster-a/team-a/web1/disk1.qcow2/uuid");
        assertThat(ns.relative("cluster-a/team-a/web1/uuid")).isEqualTo("uuid");
        assertThat(ns.secretAccessKey().value()).isEqualTo("s");
        assertThat(c.under("").prefix()).isEqualTo("cluster-a");
        assertThatThrownBy(() -> c.under("team-a/../team-b")).hasMessageContaining("'..'");
    }
}
