package io.qmpbackup.engine.cli;

import io.qmpbackup.engine.retention.RetentionPolicy;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** --keep-last / --keep-daily / --keep-weekly / --keep-monthly / --timezone: a retention policy. */
final class RetentionOptions {
    @Option(names = "--keep-last", defaultValue = "0", description = "keep the newest N chains (a full and its"
            + " incrementals)")
    int keepLast;

    @Option(names = "--keep-daily", defaultValue = "0", description = "GFS: keep the newest backup of each of the last"
            + " N days (with the chain it needs)")
    int keepDaily;

    @Option(names = "--keep-weekly", defaultValue = "0", description = "GFS: the same per ISO week")
    int keepWeekly;

    @Option(names = "--keep-monthly", defaultValue = "0", description = "GFS: the same per calendar month")
    int keepMonthly;

    @Option(names = "--timezone", description = "time zone days, weeks and months are counted in (default UTC)")
    String timeZone;

    boolean given() {
        return keepLast + keepDaily + keepWeekly + keepMonthly > 0 || timeZone != null;
    }

    /** The policy, or null when no --keep-* was given; bad values are a usage error of {@code command}. */
    RetentionPolicy policy(Object command) {
        if (!given()) {
            return null;
        }
        try {
            return new RetentionPolicy(keepLast, keepDaily, keepWeekly, keepMonthly, RetentionPolicy.zone(timeZone));
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(new CommandLine(command), e.getMessage());
        }
    }
}
