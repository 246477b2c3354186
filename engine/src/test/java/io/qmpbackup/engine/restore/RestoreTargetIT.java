package io.qmpbackup.engine.restore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.qmpbackup.engine.backup.Cancellation;
import io.qmpbackup.engine.service.RestoreRequest;
import io.qmpbackup.engine.service.RestoreService;
import io.qmpbackup.engine.testing.Chains;
import io.qmpbackup.engine.testing.RecordingLog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where a restore may write its new file (RestoreTarget): never inside the backup folder, the
 * disk's or the chain's, whether named directly or through a symlink, and a refusal changes
 * nothing. Against InstantRecoveryIT's real chain (FULL + 3 INC, then a second FULL).
 */
class RestoreTargetIT {
    @TempDir
    Path tmp;

    @BeforeAll
    static void chain() throws Exception {
        InstantRecoveryIT.takeChainsOnce();
    }

    @Test
    void aMergeOrAnOverlayInsideTheBackupFolderIsRefusedAndChangesNothing() throws Exception {
        Path t = InstantRecoveryIT.copyOfTarget(tmp.resolve("t"));
        Path folder = t.resolve("disk1.qcow2");
        Path link = Files.createSymbolicLink(tmp.resolve("link"), folder);
        Map<String, String> chainBefore = Chains.sha256s(t);
        Map<String, String> folderBefore = Chains.sha256s(folder);
        String point = InstantRecoveryIT.points.get(3);
        List<Path> inside = List.of(folder.resolve("m.qcow2"), t.resolve("m.qcow2"), link.resolve("m.qcow2"));
        for (Path file : inside) {
            assertThatThrownBy(() -> merge(folder, point, file)).as(file.toString())
                    .isInstanceOf(RestoreException.class)
                    .hasMessageContaining("would lie inside the backup folder")
                    .hasMessageContaining("put it elsewhere");
            assertThatThrownBy(() -> RestoreService.standard().instant(folder, null, point, file, false,
                    new RecordingLog())).as(file.toString()).hasMessageContaining("would lie inside the backup folder");
            assertThat(ChainRestore.partialOf(file)).doesNotExist();
        }
        assertThat(Chains.sha256s(t)).isEqualTo(chainBefore);
        assertThat(Chains.sha256s(folder)).isEqualTo(folderBefore);

        // the folder named through a symlink: the target around it is still the real one
        Path dirLink = Files.createSymbolicLink(tmp.resolve("dir-link"), folder);
        assertThatThrownBy(() -> merge(dirLink, point, t.resolve("m.qcow2")))
                .hasMessageContaining("would lie inside the backup folder");

        // beside the chain is fine, and the image is the point
        Path outside = tmp.resolve("m.qcow2");
        merge(folder, point, outside);
        InstantRecoveryIT.assertSame(outside, 3);
    }

    @Test
    void aMonthlyTargetIsOneBackupFolderForEveryMonthInIt() throws Exception {
        Path target = tmp.resolve("m");
        Path january = InstantRecoveryIT.copyOfTarget(target.resolve("2026-01")).resolve("disk1.qcow2");
        Path february = InstantRecoveryIT.copyOfTarget(target.resolve("2026-02")).resolve("disk1.qcow2");
        Map<String, String> before = Chains.sha256s(february);
        for (Path file : List.of(target.resolve("m.qcow2"), february.resolve("m.qcow2"))) {
            assertThatThrownBy(() -> merge(january, null, file)).as(file.toString())
                    .hasMessageContaining("would lie inside the backup folder " + target);
        }
        assertThat(Chains.sha256s(february)).isEqualTo(before);
        Path beside = tmp.resolve("m.qcow2");
        merge(january, InstantRecoveryIT.points.get(3), beside);
        InstantRecoveryIT.assertSame(beside, 3);
    }

    @Test
    void aMergeOverAnExistingFileOrIntoAMissingFolderIsRefused() throws Exception {
        Path folder = InstantRecoveryIT.copyOfTarget(tmp.resolve("t")).resolve("disk1.qcow2");
        Path exists = Files.writeString(tmp.resolve("exists.qcow2"), "mine");
        assertThatThrownBy(() -> merge(folder, null, exists)).hasMessageContaining("already exists")
                .hasMessageContaining("refusing to overwrite it");
        assertThat(Files.readString(exists)).isEqualTo("mine");
        Path nowhere = tmp.resolve("no-such-folder").resolve("m.qcow2");
        assertThatThrownBy(() -> merge(folder, null, nowhere)).hasMessageContaining("does not exist; create it first");
        assertThat(nowhere.getParent()).doesNotExist();
    }

    private static void merge(Path folder, String until, Path file) throws Exception {
        RestoreService.standard().restore(new RestoreRequest(RestoreRequest.Mode.MERGE, folder, until, file, false, 0),
                new RecordingLog(), new Cancellation());
    }
}
