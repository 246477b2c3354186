import io.qmpbackup.engine.backup.BackupLevel;
import io.qmpbackup.engine.backup.BackupLog;
import io.qmpbackup.engine.backup.BackupOptions;
import io.qmpbackup.engine.backup.Cancellation;
import io.qmpbackup.engine.service.BackupRequest;
import io.qmpbackup.engine.service.BackupService;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Backups one after another in one long-lived JVM, as the node agent runs them: the engine's
 * front (BackupService) with the CLI's defaults, no JVM start and a JIT already warm after the
 * first. Run as a single source file (java -cp engine.jar:lib/* bench/WarmEngine.java SOCKET);
 * reads "LEVEL TARGET" lines on stdin, answers each with the milliseconds the backup took until
 * its files were durable and recorded, or "error: ..." (the driver goes on).
 */
public final class WarmEngine {
    private WarmEngine() {
    }

    public static void main(String[] args) throws Exception {
        Path socket = Path.of(args[0]);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            String[] w = line.trim().split("\\s+");
            BackupOptions o = BackupOptions.builder(BackupLevel.parse(w[0]), Path.of(w[1])).build();
            long t0 = System.nanoTime();
            try {
                BackupService.standard().backup(new BackupRequest(socket, Duration.ofSeconds(10), o, null),
                        BackupLog.SILENT, new Cancellation());
                System.out.println((System.nanoTime() - t0) / 1_000_000);
            } catch (Exception e) {
                System.out.println("error: " + String.valueOf(e.getMessage()).replace('\n', ' '));
            }
            System.out.flush();
        }
    }
}
