package io.qmpbackup.engine.backup;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Names the engine gives to things inside QEMU. Node names are limited to 31 characters.
 *
 * <ul>
 * <li>chain bitmap: {@code qmpbackup-<chain-uuid>} (as qmpbackup 0.67 names it, so chains
 * can move between the tools);</li>
 * <li>per-run nodes {@code qmpbackup-<token>-<role><disk>}, job {@code qmpbackup-<token>-job<disk>},
 * and bitmaps {@code qmpbackup-run-<token>-next} / {@code -job}.</li>
 * </ul>
 */
public final class Names {
    private static final Pattern RUN_OBJECT = Pattern.compile("^qmpbackup-(?:run-)?([0-9a-f]{8})-([a-z]+)(\\d*)$");

    private Names() {
    }

    public static String chainBitmap(String chainUuid) {
        return "qmpbackup-" + chainUuid;
    }

    public static String node(String token, String role, int disk) {
        return "qmpbackup-" + token + "-" + role + disk;
    }

    public static String job(String token, int disk) {
        return "qmpbackup-" + token + "-job" + disk;
    }

    /** Tracks changes from before the snapshot point on; folded into the chain bitmap on success. */
    public static String nextBitmap(String token) {
        return "qmpbackup-run-" + token + "-next";
    }

    public static String jobBitmap(String token) {
        return "qmpbackup-run-" + token + "-job";
    }

    /** The run token of a node, job or bitmap name, or null when the name is not a run's. */
    public static String tokenOf(String name) {
        Matcher m = RUN_OBJECT.matcher(name);
        return m.matches() ? m.group(1) : null;
    }

    public static String roleOf(String name) {
        Matcher m = RUN_OBJECT.matcher(name);
        return m.matches() ? m.group(2) : null;
    }

    /** The disk number of a run's node or job name, or -1 when it names no disk (a bitmap). */
    public static int diskOf(String name) {
        Matcher m = RUN_OBJECT.matcher(name);
        return m.matches() && !m.group(3).isEmpty() ? Integer.parseInt(m.group(3)) : -1;
    }
}
