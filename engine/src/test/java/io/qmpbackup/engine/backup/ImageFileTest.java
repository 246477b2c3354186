package io.qmpbackup.engine.backup;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The image file of a disk whose format node sits over a filter (QEMU names it json:{...}). */
class ImageFileTest {
    @Test
    void theInnermostFileNamesTheDisk() {
        assertThat(DiskDiscovery.imageFile("/vm/disk1.qcow2")).isEqualTo("/vm/disk1.qcow2");
        assertThat(DiskDiscovery.imageFile("json:{\"driver\": \"qcow2\", \"file\": {\"throttle-group\": \"tg0\","
                + " \"driver\": \"throttle\", \"file\": {\"driver\": \"file\", \"filename\": \"/vm/disk1.qcow2\"}}}"))
                .isEqualTo("/vm/disk1.qcow2");
        assertThat(DiskDiscovery.imageFile("json:{\"driver\": \"raw\", \"file\": \"/dev/vg/lv1\"}"))
                .isEqualTo("/dev/vg/lv1");
        assertThat(DiskDiscovery.imageFile("json:{broken")).isEqualTo("json:{broken");
        assertThat(new Disk("", "n", "vda", "qcow2", DiskDiscovery.imageFile("json:{\"driver\": \"qcow2\", \"file\":"
                + " {\"driver\": \"throttle\", \"file\": {\"driver\": \"file\", \"filename\": \"/vm/web.qcow2\"}}}"), 1,
                false, false, false, java.util.List.of()).basename()).isEqualTo("web.qcow2");
    }
}
