package io.qmpbackup.engine.backup;

import io.qmpbackup.engine.qmp.GuestAgentClient;
import io.qmpbackup.engine.qmp.QmpException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Guest filesystem freeze around the snapshot point. Never fails the backup: when the agent
 * is absent, silent or refuses, the backup goes on crash-consistent and {@link #problem()}
 * says why. Once a freeze was sent, {@link #thaw()} always tries to undo it, even when the
 * freeze itself timed out (the agent may still carry it out).
 */
final class GuestFreeze {
    private static final Duration FREEZE_TIMEOUT = Duration.ofSeconds(60);

    private final String vm;
    private final BackupLog log;
    private final Duration timeout;
    private GuestAgentClient agent;
    private boolean freezeSent;
    private boolean frozen;
    private String problem;

    private GuestFreeze(String vm, BackupLog log, Duration timeout) {
        this.vm = vm;
        this.log = log;
        this.timeout = timeout;
    }

    static GuestFreeze freeze(Path agentSocket, Duration timeout, String vm, BackupLog log) {
        GuestFreeze f = new GuestFreeze(vm, log, timeout);
        if (agentSocket == null) {
            f.problem = vm + ": --quiesce was given without --agent-socket: filesystems were NOT frozen, this backup is"
                    + " crash-consistent; pass the guest agent socket to freeze them";
            return f;
        }
        try {
            f.agent = GuestAgentClient.connect(agentSocket, timeout);
            f.agent.ping(timeout);
            f.freezeSent = true;
            int n = f.agent.fsfreezeFreeze(timeout.compareTo(FREEZE_TIMEOUT) > 0 ? timeout : FREEZE_TIMEOUT);
            f.frozen = true;
            log.info(vm + ": froze " + n + " guest filesystem(s) through the guest agent");
        } catch (QmpException e) {
            f.problem = vm + ": guest agent on " + agentSocket + " could not freeze the filesystems (" + e.getMessage()
                    + "): this backup is crash-consistent, not filesystem-consistent";
        }
        return f;
    }

    boolean frozen() {
        return frozen;
    }

    String problem() {
        return problem;
    }

    void thaw() {
        if (agent == null) {
            return;
        }
        try {
            if (freezeSent) {
                int n = agent.fsfreezeThaw(timeout);
                if (frozen) {
                    log.info(vm + ": thawed " + n + " guest filesystem(s)");
                }
            }
        } catch (QmpException e) {
            String msg = vm + ": could not thaw the guest filesystems (" + e.getMessage()
                    + "): they may still be frozen; run guest-fsfreeze-thaw through the guest agent now";
            problem = problem == null ? msg : problem + "; " + msg;
        } finally {
            agent.close();
            agent = null;
        }
    }
}
