package io.qmpbackup.engine.restore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpbackup.engine.testing.QemuTools;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * --filter on a --no-subdir folder of several disks: a whole image name picks that disk even when
 * another disk's name holds it, and a part that still fits several says which they are.
 */
class ChainFilterIT {
    @TempDir
    Path tmp;

    @Test
    void aWholeImageNamePicksItsDiskAndAnAmbiguousPartNamesTheDisks() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("flat"));
        for (String image : new String[] {"disk1.qcow2", "olddisk1.qcow2"}) {
            QemuTools.createQcow2(dir.resolve("FULL-1700000000-" + image), "1M");
            QemuTools.createQcow2(dir.resolve("INC-1700000100-" + image), "1M");
        }
        BackupChain chain = BackupChain.load(dir, "disk1.qcow2");
        assertThat(chain.disk()).isEqualTo("disk1.qcow2");
        assertThat(chain.files()).extracting(f -> f.path().getFileName().toString())
                .containsExactly("FULL-1700000000-disk1.qcow2", "INC-1700000100-disk1.qcow2");
        assertThat(BackupChain.load(dir, "olddisk1").disk()).isEqualTo("olddisk1.qcow2");
        assertThatThrownBy(() -> BackupChain.load(dir, "disk1"))
                .hasMessageContaining("several disks whose names hold 'disk1'")
                .hasMessageContaining("give --filter one whole image name");
    }
}
