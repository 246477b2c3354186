package io.qmpbackup.engine.cli;

import io.qmpbackup.engine.backup.Cancellation;
import io.qmpbackup.engine.restore.InstantOverlay;
import io.qmpbackup.engine.restore.LiveStream;
import io.qmpbackup.engine.restore.PointExport;
import io.qmpbackup.engine.service.Durations;
import io.qmpbackup.engine.service.RestoreService;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * Instant recovery at the terminal: {@code qmprestore instant} and {@code qmprestore export}
 * over a backup folder, {@code qmpbackup stream} on the VM that runs from an overlay.
 */
final class LiveRestoreCommands {
    private LiveRestoreCommands() {
    }

    /** The restore point a command works on. */
    static final class Point {
        @Option(names = "--dir", required = true, description = "the disk's backup folder")
        Path dir;

        @Option(names = "--until", description = "this backup (file name or its INC-<epoch> prefix); default the"
                + " newest")
        String until;

        @Option(names = "--filter", description = "one disk of a --no-subdir folder (its image name)")
        String filter;

        String filter() {
            return filter == null || filter.isEmpty() ? null : filter;
        }
    }

    @Command(name = "instant", mixinStandardHelpOptions = true, description = "make a new qcow2 overlay whose"
            + " backing is the restore point, at once whatever the disk's size: start the VM on it, then make it"
            + " stand alone with qmpbackup stream")
    static final class Instant implements Callable<Integer> {
        @ParentCommand
        QmpRestoreCommand top;

        @CommandLine.Mixin
        Point point;

        @Option(names = "--targetfile", required = true, description = "the overlay to create (must not exist)")
        Path targetFile;

        @Override
        public Integer call() throws Exception {
            InstantOverlay.Result r = RestoreService.standard().instant(point.dir, point.filter(), point.until,
                    targetFile, top.skipCheck, top.log);
            top.log.info("overlay " + r.overlay() + " backed by " + r.point().get(r.point().size() - 1).name()
                    + (r.hold() == null ? " (no hold: no chain manifest beside the folder, retention leaves it alone)"
                            : "; hold " + r.hold().record()));
            System.out.println(r.overlay());
            return 0;
        }
    }

    @Command(name = "export", mixinStandardHelpOptions = true, description = "serve the restore point read-only"
            + " over NBD (qemu-storage-daemon) until --ttl passes or a signal ends it")
    static final class Export implements Callable<Integer> {
        @ParentCommand
        QmpRestoreCommand top;

        @CommandLine.Mixin
        Point point;

        @ArgGroup(exclusive = true, multiplicity = "1")
        Where where;

        static final class Where {
            @Option(names = "--socket", description = "listen on this UNIX socket (must not exist)")
            Path socket;

            @Option(names = "--port", description = "listen on this TCP port (of --bind)")
            Integer port;
        }

        @Option(names = "--bind", defaultValue = "127.0.0.1", description = "address for --port (default"
                + " 127.0.0.1; 0.0.0.0 for every interface)")
        String bind;

        @Option(names = "--ttl", converter = Ttl.class, description = "end the export after this long (90s, 30m, 1h30m, 2d); default"
                + " until a signal")
        String ttl;

        /** --ttl checked while parsing: a bad one is a usage error, like every other bad value. */
        static final class Ttl implements CommandLine.ITypeConverter<String> {
            @Override
            public String convert(String value) {
                return CliMain.asUsageError(() -> {
                    Durations.parse(value);
                    return value;
                });
            }
        }

        @Override
        public Integer call() throws Exception {
            Duration life = ttl == null ? null : Durations.parse(ttl);
            PointExport.Listen listen = where.socket != null ? PointExport.Listen.unix(where.socket)
                    : PointExport.Listen.tcp(bind, where.port);
            Cancellation cancel = new Cancellation();
            SignalGuard.watch(cancel);
            CountDownLatch ended = new CountDownLatch(1);
            try (PointExport x = RestoreService.standard().export(point.dir, point.filter(), point.until, listen,
                    top.log); AutoCloseable wake = cancel.onCancel(ended::countDown)) {
                System.out.println(x.uri());
                System.out.flush();
                top.log.info("export " + x.uri() + (life == null ? " runs until a signal" : " ends in " + ttl));
                waitForEnd(x, life, ended);
                top.log.info("export " + x.uri() + " ended" + (cancel.cancelled() ? " (" + cancel.reason() + ")" : ""));
            }
            return 0;
        }

        private static void waitForEnd(PointExport x, Duration life, CountDownLatch ended) throws Exception {
            long deadline = life == null ? Long.MAX_VALUE : System.nanoTime() + life.toNanos();
            while (x.alive() && System.nanoTime() < deadline) {
                long left = Math.min(1_000_000_000L, deadline - System.nanoTime());
                if (ended.await(Math.max(1, left), TimeUnit.NANOSECONDS)) {
                    return;
                }
            }
            if (!x.alive()) {
                throw new java.io.IOException("the export's qemu-storage-daemon (pid " + x.pid() + ") ended by itself");
            }
        }
    }

    @Command(name = "stream", mixinStandardHelpOptions = true, description = "copy the backing chain of a disk"
            + " running from an instant-restore overlay into the overlay (block-stream), so it no longer needs the"
            + " backups; resumable: run it again after an interruption")
    static final class Stream implements Callable<Integer> {
        @ParentCommand
        QmpBackupCommand top;

        @Option(names = "--device", required = true, description = "the disk: its drive id or node name")
        String device;

        @Option(names = "--speed-limit", defaultValue = "0", converter = Sizes.Converter.class,
                description = "bytes per second (200M, 1G, ...), 0 for unlimited; unlike a backup's, it counts"
                        + " only what is copied: the parts of the disk no backup holds pass free (a 4 GiB disk"
                        + " holding 512 MiB streamed at 256M in 2.5 s)")
        long speedLimit;

        @Override
        public Integer call() throws Exception {
            Cancellation cancel = new Cancellation();
            SignalGuard.watch(cancel);
            LiveStream.Result r = RestoreService.standard().stream(top.socket(), top.connectTimeout(), device,
                    speedLimit, top.log, cancel);
            top.log.info(r.disk() + ": " + r.overlay() + " stands alone (the job went over " + r.copied() + " bytes of the disk"
                    + (r.released().isEmpty() ? "" : ", " + r.released().size() + " hold(s) released") + ")");
            return 0;
        }
    }
}
