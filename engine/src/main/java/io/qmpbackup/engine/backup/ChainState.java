package io.qmpbackup.engine.backup;

import io.qmpbackup.engine.repository.ChainDirectory;
import io.qmpbackup.engine.repository.ChainManifest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** What the planner needs to know of the target's chain, read from disk before planning. */
public interface ChainState {
    /** The chain folder (for messages). */
    Path path();

    /** The chain id the folder holds (its uuid file), if any. */
    Optional<String> uuid();

    /** The run starts a new monthly folder. */
    boolean newMonth();

    /** What the folder holds of one disk (by image file name). */
    DiskChain disk(String basename) throws IOException;

    /**
     * A disk's part of the chain.
     *
     * @param folder      the disk's folder
     * @param manifest    its chain manifest, if it has one
     * @param hasFull     a FULL backup file lies in the folder
     * @param partials    unfinished files of interrupted runs
     * @param missingLast the manifest's newest file when it is missing from the folder
     */
    record DiskChain(Path folder, Optional<ChainManifest> manifest, boolean hasFull, List<Path> partials,
            Optional<Path> missingLast) {
    }

    /** The state of a chain folder on disk. */
    static ChainState of(ChainDirectory chain, boolean newMonth) throws IOException {
        Optional<String> uuid = chain.readUuid();
        return new ChainState() {
            @Override
            public Path path() {
                return chain.path();
            }

            @Override
            public Optional<String> uuid() {
                return uuid;
            }

            @Override
            public boolean newMonth() {
                return newMonth;
            }

            @Override
            public DiskChain disk(String basename) throws IOException {
                Optional<ChainManifest> m = chain.manifest(basename);
                Path folder = chain.diskFolder(basename);
                Optional<Path> missing = m.flatMap(ChainManifest::last).map(e -> folder.resolve(e.file))
                        .filter(p -> !Files.exists(p));
                return new DiskChain(folder, m, chain.hasFull(basename), chain.partialFiles(basename), missing);
            }
        };
    }
}
