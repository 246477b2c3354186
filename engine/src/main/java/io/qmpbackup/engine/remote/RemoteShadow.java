package io.qmpbackup.engine.remote;

import io.qmpbackup.engine.remote.TargetFiles.LocalFile;
import io.qmpbackup.engine.repository.ChainManifest;
import io.qmpbackup.engine.repository.ChecksumRecord;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * What the remote will hold, laid out as a backup target in a scratch folder, so that retention
 * runs on the remote with the same code and rules as on a local target. Every object (remote
 * now, or local and to be uploaded) is a file here: empty placeholders for backup data, the real
 * records. Each chain manifest is the local one merged with the remote one: entries the remote
 * still has and the local target pruned stay when the remote keeps longer (its own keep-*
 * values), and go otherwise. After retention ran here, what is gone is deleted remotely, what
 * is left is what to upload.
 */
public final class RemoteShadow {
    private final Path root;
    private final Map<String, Long> remote;
    private final Map<String, LocalFile> local = new LinkedHashMap<>();
    private final Set<String> written = new HashSet<>();

    private RemoteShadow(Path root, Map<String, Long> remote) {
        this.root = root;
        this.remote = remote;
    }

    /**
     * @param keepPrunedLocally true when the remote keeps what the local target pruned (own keep-*
     *     values decide instead); false to follow local prunes
     */
    public static RemoteShadow build(RemoteStore store, List<LocalFile> files, Path root, boolean keepPrunedLocally)
            throws IOException {
        Map<String, Long> remote = new LinkedHashMap<>();
        String prefix = store.config().key("");
        store.list(prefix).forEach((k, size) -> remote.put(store.config().relative(k), size));
        RemoteShadow s = new RemoteShadow(root, remote);
        files.forEach(f -> s.local.put(f.relative(), f));
        ObjectDownload down = new ObjectDownload(store);
        Set<String> manifests = new HashSet<>();
        for (String rel : remote.keySet()) {
            if (TargetFiles.isManifest(rel)) {
                down.download(store.config().key(rel), s.file(rel), null);
                manifests.add(rel);
            } else if (!TargetFiles.isChecksumRecord(rel) || !s.local.containsKey(rel)) {
                s.placeholder(rel);
            }
        }
        for (LocalFile f : files) {
            if (TargetFiles.isManifest(f.relative())) {
                manifests.add(f.relative());
            } else if (f.record() && !TargetFiles.isChecksumRecord(f.relative())) {
                Files.createDirectories(s.file(f.relative()).getParent());
                Files.copy(f.path(), s.file(f.relative()), StandardCopyOption.REPLACE_EXISTING);
                s.written.add(f.relative());
            } else if (!f.record()) {
                s.placeholder(f.relative());
            }
        }
        for (String rel : manifests) {
            s.merge(rel, keepPrunedLocally);
        }
        return s;
    }

    public Path root() {
        return root;
    }

    private Path file(String relative) {
        return root.resolve(relative);
    }

    private void placeholder(String rel) throws IOException {
        Path p = file(rel);
        Files.createDirectories(p.getParent());
        if (!Files.exists(p)) {
            Files.createFile(p);
        }
    }

    private void merge(String rel, boolean keepPrunedLocally) throws IOException {
        Path shadowFile = file(rel);
        ChainManifest there = ChainManifest.read(shadowFile).orElse(null);
        LocalFile lf = local.get(rel);
        ChainManifest here = lf == null ? null : ChainManifest.read(lf.path()).orElseThrow();
        ChainManifest m = here != null ? here : there;
        if (here != null && there != null) {
            Set<String> pruned = new HashSet<>();
            here.pruned.forEach(p -> pruned.add(p.file + "@" + p.epoch));
            Set<String> have = new HashSet<>();
            here.entries.forEach(e -> have.add(e.file + "@" + e.epoch));
            List<ChainManifest.Entry> all = new ArrayList<>(here.entries);
            for (ChainManifest.Entry e : there.entries) {
                String id = e.file + "@" + e.epoch;
                if (!have.contains(id) && (keepPrunedLocally || !pruned.contains(id))) {
                    all.add(e);
                    have.add(id);
                }
            }
            all.sort(Comparator.comparingLong(e -> e.epoch));
            m.entries = all;
            m.pruned.removeIf(p -> have.contains(p.file + "@" + p.epoch));
            m.renumber();
        }
        Path folder = shadowFile.getParent().resolve(m.folder == null ? "." : m.folder).normalize();
        Files.createDirectories(folder);
        m.write(shadowFile);
        written.add(rel);
        if (m.disk != null) {
            written.add(root.relativize(ChecksumRecord.of(folder, m.disk)).toString().replace('\\', '/'));
            written.add(root.relativize(ChecksumRecord.chunksOf(folder, m.disk)).toString().replace('\\', '/'));
        }
    }

    /**
     * Without a retention policy: removes what the merged manifests list as pruned and no longer
     * list as entries (the local target's prunes), as the pruner's own clean-up would.
     */
    public void dropPruned() throws IOException {
        for (String rel : written.stream().filter(TargetFiles::isManifest).toList()) {
            Path mf = file(rel);
            ChainManifest m = ChainManifest.read(mf).orElseThrow();
            Set<String> listed = new HashSet<>();
            m.entries.forEach(e -> listed.add(e.file));
            Path folder = mf.getParent().resolve(m.folder == null ? "." : m.folder).normalize();
            for (ChainManifest.Pruned p : m.pruned) {
                if (!listed.contains(p.file) && !p.file.contains("/")) {
                    Files.deleteIfExists(folder.resolve(p.file));
                }
            }
        }
    }

    /** Local data files the remote keeps: to upload (or skip when already there). */
    public List<LocalFile> dataToUpload() {
        return local.values().stream().filter(f -> !f.record() && Files.exists(file(f.relative()))).toList();
    }

    /** The records the remote gets: merged manifests, their integrity records, the local uuid, configs and vm.json. */
    public List<LocalFile> recordsToUpload() throws IOException {
        List<LocalFile> out = new ArrayList<>();
        for (String rel : written.stream().sorted(Comparator.comparing(TargetFiles::isManifest)).toList()) {
            Path p = file(rel);
            if (Files.exists(p)) {
                out.add(new LocalFile(p, rel, Files.size(p), TargetFiles.sha256(p), true));
            }
        }
        return out;
    }

    /** Objects now on the remote that the remote no longer keeps. */
    public List<String> toDelete() {
        return remote.keySet().stream().filter(rel -> !Files.exists(file(rel))).toList();
    }

    /** Removes the scratch folder. */
    public void delete() throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
