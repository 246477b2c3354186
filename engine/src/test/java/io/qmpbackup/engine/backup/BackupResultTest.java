package io.qmpbackup.engine.backup;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class BackupResultTest {
    private static BackupResult.DiskResult disk(BackupLevel level, boolean tracked) {
        return new BackupResult.DiskResult("d", "n", level, Path.of("f"), 1, 1, "x", tracked);
    }

    @Test
    void theLevelRunIsWhatTheTrackedDisksRan() {
        // a UEFI vars pflash is copied whole every run: it does not make an incremental run a full
        assertThat(new BackupResult("vm", Path.of("t"), "c", false,
                List.of(disk(BackupLevel.FULL, false), disk(BackupLevel.INC, true)), List.of()).level())
                .isEqualTo(BackupLevel.INC);
        assertThat(new BackupResult("vm", Path.of("t"), "c", false,
                List.of(disk(BackupLevel.INC, true), disk(BackupLevel.FULL, true)), List.of()).level())
                .isEqualTo(BackupLevel.FULL);
        assertThat(new BackupResult("vm", Path.of("t"), null, false, List.of(disk(BackupLevel.FULL, false)),
                List.of()).level()).isEqualTo(BackupLevel.FULL);
    }
}
