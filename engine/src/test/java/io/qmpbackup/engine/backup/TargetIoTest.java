package io.qmpbackup.engine.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TargetIoTest {
    @Test
    void directWithThreadsIsTheDefaultAndNativeFallsBackToThreadsWithoutODirect() {
        assertThat(TargetIo.DEFAULT.cache()).isEqualTo(TargetIo.Cache.DIRECT);
        assertThat(TargetIo.DEFAULT.aioFor(true)).isEqualTo("threads");
        TargetIo nat = new TargetIo(TargetIo.Cache.DIRECT, "native");
        assertThat(nat.aioFor(true)).isEqualTo("native");
        assertThat(nat.aioFor(false)).as("a target O_DIRECT was refused for").isEqualTo("threads");
        assertThat(new TargetIo(TargetIo.Cache.BUFFERED, "io_uring").aioFor(false)).isEqualTo("io_uring");
    }

    @Test
    void badValuesNameTheAllowedOnes() {
        assertThatThrownBy(() -> TargetIo.Cache.parse("auto")).hasMessageContaining("not one of direct, buffered");
        assertThatThrownBy(() -> new TargetIo(TargetIo.Cache.DIRECT, "posix"))
                .hasMessageContaining("not one of threads, native, io_uring");
        assertThatThrownBy(() -> new TargetIo(TargetIo.Cache.BUFFERED, "native")).hasMessageContaining("needs O_DIRECT");
    }
}
