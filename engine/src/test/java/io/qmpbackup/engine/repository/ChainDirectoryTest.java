package io.qmpbackup.engine.repository;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpbackup.engine.backup.Names;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.YearMonth;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChainDirectoryTest {
    @TempDir
    Path tmp;

    @Test
    void layoutMatchesQmpbackup() {
        ChainDirectory c = new ChainDirectory(tmp, false);
        assertThat(c.diskFolder("disk1.qcow2")).isEqualTo(tmp.resolve("disk1.qcow2"));
        assertThat(c.configFile("disk1.qcow2")).isEqualTo(tmp.resolve("disk1.qcow2.config"));
        assertThat(c.manifestFile("disk1.qcow2")).isEqualTo(tmp.resolve("disk1.qcow2.chain.json"));
        assertThat(new ChainDirectory(tmp, true).diskFolder("disk1.qcow2")).isEqualTo(tmp);
        assertThat(ChainDirectory.resolve(tmp, true, YearMonth.of(2021, 11))).isEqualTo(tmp.resolve("2021-11"));
        assertThat(ChainDirectory.resolve(tmp, false, YearMonth.of(2021, 11))).isEqualTo(tmp);
    }

    @Test
    void backupsInTheSameSecondGetDistinctOrderedNames() throws Exception {
        ChainDirectory c = new ChainDirectory(tmp, false);
        Files.createDirectories(c.diskFolder("d.qcow2"));
        assertThat(c.nextEpoch("d.qcow2", 1000)).isEqualTo(1000);
        Files.createFile(c.diskFolder("d.qcow2").resolve("FULL-1000-d.qcow2"));
        assertThat(c.nextEpoch("d.qcow2", 1000)).isEqualTo(1001);
        Files.createFile(c.diskFolder("d.qcow2").resolve("INC-1001-d.qcow2.partial"));
        assertThat(c.nextEpoch("d.qcow2", 1000)).isEqualTo(1002);
        assertThat(c.nextEpoch("d.qcow2", 5000)).isEqualTo(5000);
        assertThat(c.hasFull("d.qcow2")).isTrue();
        assertThat(c.partialFiles("d.qcow2")).hasSize(1);
        assertThat(c.backupFiles("d.qcow2")).extracting(p -> p.getFileName().toString())
                .containsExactly("FULL-1000-d.qcow2");
    }

    @Test
    void manifestRoundTripsAndKnowsTheCurrentChain() throws Exception {
        ChainManifest m = new ChainManifest();
        m.chain = "abc";
        for (String level : new String[] {"full", "inc", "full", "inc", "inc"}) {
            ChainManifest.Entry e = new ChainManifest.Entry();
            e.level = level;
            e.file = level.toUpperCase() + "-" + (m.entries.size() + 1) + "-d.qcow2";
            e.sequence = m.entries.size() + 1;
            m.entries.add(e);
        }
        Path f = tmp.resolve("d.qcow2.chain.json");
        m.write(f);
        ChainManifest back = ChainManifest.read(f).orElseThrow();
        assertThat(back.chain).isEqualTo("abc");
        assertThat(back.currentChain()).extracting(e -> e.sequence).containsExactly(3, 4, 5);
        assertThat(tmp.resolve(".d.qcow2.chain.json.tmp")).doesNotExist();
    }

    @Test
    void runObjectNamesCarryTheirTokenAndFitQemusLimit() {
        String node = Names.node("0a1b2c3d", "c", 12);
        assertThat(node.length()).isLessThanOrEqualTo(31);
        assertThat(Names.tokenOf(node)).isEqualTo("0a1b2c3d");
        assertThat(Names.roleOf(node)).isEqualTo("c");
        assertThat(Names.tokenOf(Names.nextBitmap("0a1b2c3d"))).isEqualTo("0a1b2c3d");
        assertThat(Names.tokenOf(Names.job("0a1b2c3d", 3))).isEqualTo("0a1b2c3d");
        assertThat(Names.tokenOf(Names.chainBitmap("testme"))).isNull();
        assertThat(Names.tokenOf(Names.chainBitmap("9f1c2e4a-1111-2222-3333-444455556666"))).isNull();
    }
}
