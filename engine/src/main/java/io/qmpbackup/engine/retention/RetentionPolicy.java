package io.qmpbackup.engine.retention;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Which chains to keep. A chain is a full backup and the incrementals built on it (a copy is a
 * chain of its own); a restore point is one backup run, known by the instant it started, which
 * every disk of that run shares.
 *
 * <ol>
 * <li>Each disk's newest chain is kept: it holds the newest restore point. So is each chain the
 * caller pins (the chain change tracking continues, when a copy came after it).</li>
 * <li>keepLast keeps each disk's newest N chains.</li>
 * <li>GFS: keepDaily / keepWeekly / keepMonthly pick, over all restore points of the target, the
 * newest one of each of the last N days / ISO weeks / months that have one.</li>
 * <li>A restore point kept for one disk is kept for every disk; a chain is kept whole when it
 * holds a kept restore point, so no kept incremental loses the full or incremental it builds
 * on. Everything else goes.</li>
 * </ol>
 * Failed runs leave no files and no restore points, so they never push a good chain out.
 */
public record RetentionPolicy(int keepLast, int keepDaily, int keepWeekly, int keepMonthly, ZoneId zone) {

    public RetentionPolicy {
        if (keepLast < 0 || keepDaily < 0 || keepWeekly < 0 || keepMonthly < 0) {
            throw new IllegalArgumentException("retention counts cannot be negative (keepLast " + keepLast
                    + ", keepDaily " + keepDaily + ", keepWeekly " + keepWeekly + ", keepMonthly " + keepMonthly + ")");
        }
        if (keepLast + keepDaily + keepWeekly + keepMonthly == 0) {
            throw new IllegalArgumentException("retention keeps nothing but the newest chain: give keepLast (--keep-last)"
                    + " or a GFS count (--keep-daily, --keep-weekly, --keep-monthly) of at least 1");
        }
        zone = zone == null ? ZoneOffset.UTC : zone;
    }

    /** Parses a time zone name for error messages that say what to give. */
    public static ZoneId zone(String name) {
        if (name == null || name.isBlank()) {
            return ZoneOffset.UTC;
        }
        try {
            return ZoneId.of(name);
        } catch (DateTimeException e) {
            throw new IllegalArgumentException("unknown time zone '" + name + "': give an IANA name such as"
                    + " Europe/Berlin or UTC");
        }
    }

    /**
     * The chains to keep, each with why.
     *
     * @param chainsByDisk per disk, its chains oldest first
     * @param points the restore points of a chain
     */
    public <C> Map<C, String> keep(Map<String, List<C>> chainsByDisk, Function<C, List<Instant>> points) {
        return keep(chainsByDisk, points, c -> false);
    }

    /**
     * As {@link #keep(Map, Function)}, and {@code pinned} chains are kept like the newest one.
     */
    public <C> Map<C, String> keep(Map<String, List<C>> chainsByDisk, Function<C, List<Instant>> points,
            java.util.function.Predicate<C> pinned) {
        Map<Instant, String> keptPoints = new LinkedHashMap<>();
        TreeSet<Instant> all = new TreeSet<>(Comparator.reverseOrder());
        for (List<C> chains : chainsByDisk.values()) {
            for (int i = 0; i < chains.size(); i++) {
                List<Instant> p = points.apply(chains.get(i));
                all.addAll(p);
                int fromNewest = chains.size() - 1 - i;
                if (fromNewest == 0) {
                    p.forEach(t -> keptPoints.putIfAbsent(t, "newest chain"));
                } else if (pinned.test(chains.get(i))) {
                    p.forEach(t -> keptPoints.putIfAbsent(t, "change tracking continues it"));
                } else if (fromNewest < keepLast) {
                    p.forEach(t -> keptPoints.putIfAbsent(t, "keepLast " + keepLast));
                }
            }
        }
        gfs(all, keepDaily, t -> t.toLocalDate().toString(), "daily", keptPoints);
        gfs(all, keepWeekly, t -> t.get(IsoFields.WEEK_BASED_YEAR) + "-W" + t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR),
                "weekly", keptPoints);
        gfs(all, keepMonthly, t -> t.getYear() + "-" + String.format("%02d", t.getMonthValue()), "monthly",
                keptPoints);

        Map<C, String> kept = new LinkedHashMap<>();
        for (List<C> chains : chainsByDisk.values()) {
            for (C c : chains) {
                List<String> why = new ArrayList<>();
                for (Instant t : points.apply(c)) {
                    String reason = keptPoints.get(t);
                    if (reason != null && !why.contains(reason)) {
                        why.add(reason);
                    }
                }
                if (!why.isEmpty()) {
                    kept.put(c, String.join(", ", why));
                }
            }
        }
        return kept;
    }

    private void gfs(TreeSet<Instant> newestFirst, int count, Function<ZonedDateTime, String> period, String name,
            Map<Instant, String> keptPoints) {
        if (count == 0) {
            return;
        }
        Set<String> seen = new HashSet<>();
        for (Instant t : newestFirst) {
            String key = period.apply(t.atZone(zone));
            if (seen.add(key)) {
                keptPoints.merge(t, name + " " + key, (a, b) -> a + ", " + b);
                if (seen.size() == count) {
                    return;
                }
            }
        }
    }

    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        if (keepLast > 0) {
            parts.add("keepLast " + keepLast);
        }
        if (keepDaily > 0) {
            parts.add("keepDaily " + keepDaily);
        }
        if (keepWeekly > 0) {
            parts.add("keepWeekly " + keepWeekly);
        }
        if (keepMonthly > 0) {
            parts.add("keepMonthly " + keepMonthly);
        }
        return String.join(", ", parts) + " (" + zone + ")";
    }
}
