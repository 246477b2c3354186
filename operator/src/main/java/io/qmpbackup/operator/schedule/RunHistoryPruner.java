package io.qmpbackup.operator.schedule;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.qmpbackup.api.v1alpha1.Phase;
import io.qmpbackup.api.v1alpha1.VMBackupSchedule;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jboss.logging.Logger;

/**
 * A schedule's history limits: keeps the newest failedRunsHistoryLimit failed VMBackups per VM
 * and, without retention, the newest successfulRunsHistoryLimit succeeded ones plus those of the
 * VM's current chain (fullEvery counts them); deletes the older ones, never their backup files.
 * With retention the agent prunes chains and the operator deletes their VMBackups
 * (PrunedBackups), so succeeded VMBackups live as long as their files.
 */
@ApplicationScoped
public class RunHistoryPruner {
    private static final Logger LOG = Logger.getLogger(RunHistoryPruner.class);

    private final KubernetesClient client;

    public RunHistoryPruner(KubernetesClient client) {
        this.client = client;
    }

    /** Deletes the runs beyond the limits; returns them. */
    public List<ScheduledRun> prune(VMBackupSchedule s, ScheduleSettings settings, List<ScheduledRun> runs) {
        List<ScheduledRun> old = beyondLimits(settings, runs);
        for (ScheduledRun r : old) {
            client.resource(r.backup()).delete();
        }
        if (!old.isEmpty()) {
            LOG.debugf("VMBackupSchedule(%s/%s): deleted %d VMBackup(s) beyond the history limits: %s",
                    s.getMetadata().getNamespace(), s.getMetadata().getName(), old.size(),
                    old.stream().map(ScheduledRun::name).toList());
        }
        return old;
    }

    /** The runs the limits do not keep, VM by VM. */
    static List<ScheduledRun> beyondLimits(ScheduleSettings settings, List<ScheduledRun> runs) {
        Map<String, List<ScheduledRun>> byVm = new TreeMap<>();
        for (ScheduledRun r : runs) {
            byVm.computeIfAbsent(r.vm(), k -> new ArrayList<>()).add(r);
        }
        List<ScheduledRun> old = new ArrayList<>();
        for (List<ScheduledRun> ofVm : byVm.values()) {
            if (!settings.hasRetention()) {
                Instant chainStart = ofVm.stream().filter(ScheduledRun::succeededFull).map(ScheduledRun::finishedAt)
                        .max(Comparator.naturalOrder()).orElse(null);
                old.addAll(beyond(ofVm, Phase.SUCCEEDED, settings.successfulRunsHistoryLimit(), chainStart));
            }
            old.addAll(beyond(ofVm, Phase.FAILED, settings.failedRunsHistoryLimit(), null));
        }
        return old;
    }

    /**
     * All but the newest {@code keep} runs that ended in {@code phase}, never one finished at or
     * after {@code keepFrom}.
     */
    private static List<ScheduledRun> beyond(List<ScheduledRun> ofVm, Phase phase, int keep, Instant keepFrom) {
        List<ScheduledRun> done = ofVm.stream().filter(r -> r.finishedAs(phase))
                .sorted(ScheduledRun.byFinish().reversed()).toList();
        return done.subList(Math.min(keep, done.size()), done.size()).stream()
                .filter(r -> keepFrom == null || r.finishedAt().isBefore(keepFrom)).toList();
    }
}
