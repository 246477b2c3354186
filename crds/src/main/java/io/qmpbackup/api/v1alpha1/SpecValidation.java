package io.qmpbackup.api.v1alpha1;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * What the CRD schema and its CEL rules promise about a run's spec, checked in code: a server
 * that checks no schema (the in-process test server, or objects stored under an older schema)
 * delivers specs that break them, and fields {@link LenientSpecReading} could not read arrive as
 * null. The operator checks before it dispatches, the node agent again before it runs; both fail
 * the run with reason {@link #REASON} and {@link #message}.
 */
public final class SpecValidation {
    /** The reason a run with a spec that breaks the schema fails with. */
    public static final String REASON = "InvalidSpec";

    private static final Pattern LOCATION = Pattern.compile("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$");
    private static final Pattern DOT_DOT = Pattern.compile("(^|/)[.][.](/|$)");

    private SpecValidation() {
    }

    /** A VMBackup's or a VMRestore's problems; none for other kinds. */
    public static List<SpecProblem> problems(io.fabric8.kubernetes.api.model.HasMetadata r) {
        if (r instanceof VMBackup b) {
            return problems(b);
        }
        return r instanceof VMRestore v ? problems(v) : List.of();
    }

    /** Everything wrong with a VMBackup's spec, unreadable fields first; empty when it is valid. */
    public static List<SpecProblem> problems(VMBackup r) {
        List<SpecProblem> out = new ArrayList<>(unreadableSpec(r));
        if (r.getSpec() == null) {
            add(out, new SpecProblem("spec", "missing: give vm, level and storage"));
        } else {
            problems(r.getSpec()).forEach(p -> add(out, p));
        }
        return out;
    }

    /** Everything wrong with a VMRestore's spec, unreadable fields first; empty when it is valid. */
    public static List<SpecProblem> problems(VMRestore r) {
        List<SpecProblem> out = new ArrayList<>(unreadableSpec(r));
        if (r.getSpec() == null) {
            add(out, new SpecProblem("spec", "missing: give source and mode"));
        } else {
            problems(r.getSpec()).forEach(p -> add(out, p));
        }
        return out;
    }

    /**
     * Everything wrong with a schedule's spec, unreadable fields first; empty when it is valid. A
     * schedule with problems does not fire (its Ready condition says why), so no VMBackup is made
     * from a template that is not what its author wrote.
     */
    public static List<SpecProblem> problems(VMBackupSchedule r) {
        List<SpecProblem> out = new ArrayList<>(unreadableSpec(r));
        VMBackupScheduleSpec spec = r.getSpec();
        if (spec == null) {
            add(out, new SpecProblem("spec", "missing: give schedule, vmSelector and template"));
            return out;
        }
        if (spec.schedule == null) {
            add(out, new SpecProblem("spec.schedule", "missing: give a cron expression, for example \"0 2 * * *\""));
        }
        if (spec.vmSelector == null) {
            add(out, new SpecProblem("spec.vmSelector", "missing: give the labels of the QemuVMs to back up ({} for"
                    + " all of the namespace)"));
        }
        atLeast(spec.fullEvery, 1, "spec.fullEvery", out);
        atLeast(spec.successfulRunsHistoryLimit, 0, "spec.successfulRunsHistoryLimit", out);
        atLeast(spec.failedRunsHistoryLimit, 0, "spec.failedRunsHistoryLimit", out);
        if (spec.startingDeadlineSeconds != null && spec.startingDeadlineSeconds < 0) {
            add(out, new SpecProblem("spec.startingDeadlineSeconds", "is " + spec.startingDeadlineSeconds + ": give 0"
                    + " or more"));
        }
        if (spec.template == null) {
            add(out, new SpecProblem("spec.template", "missing: give at least storage"));
        } else {
            List<SpecProblem> template = new ArrayList<>();
            storage(spec.template.storage, "spec.template.storage", template);
            template.addAll(settingsProblems(spec.template, "spec.template"));
            template.forEach(p -> add(out, p));
        }
        return out;
    }

    /** What is wrong with a QemuVM's spec (read from a server that checks no schema); empty when it is valid. */
    public static List<SpecProblem> problems(QemuVM r) {
        List<SpecProblem> out = new ArrayList<>(unreadableSpec(r));
        if (r.getSpec() == null) {
            add(out, new SpecProblem("spec", "missing: give node and qmpSocket"));
            return out;
        }
        if (r.getSpec().node == null) {
            add(out, new SpecProblem("spec.node", "missing: give the node that runs the VM"));
        }
        if (r.getSpec().qmpSocket == null) {
            add(out, new SpecProblem("spec.qmpSocket", "missing: give the VM's QMP socket"));
        }
        List<SpecProblem> paths = new ArrayList<>();
        absolute(r.getSpec().qmpSocket, "spec.qmpSocket", paths);
        absolute(r.getSpec().agentSocket, "spec.agentSocket", paths);
        paths.forEach(p -> add(out, p));
        return out;
    }

    public static List<SpecProblem> problems(VMBackupSpec spec) {
        List<SpecProblem> out = new ArrayList<>();
        vm(spec.vm, out);
        if (spec.level == null) {
            out.add(new SpecProblem("spec.level", "missing or not one of "
                    + LenientSpecReading.allowed(BackupLevel.class)));
        }
        storage(spec.storage, "spec.storage", out);
        out.addAll(settingsProblems(spec, "spec"));
        return out;
    }

    public static List<SpecProblem> problems(VMRestoreSpec spec) {
        List<SpecProblem> out = new ArrayList<>();
        RestoreSource source = spec.source;
        if (source == null) {
            out.add(new SpecProblem("spec.source", "missing: give backup (a VMBackup) or storage"));
        } else if (source.backup == null && source.storage == null) {
            out.add(new SpecProblem("spec.source", "give either backup or storage"));
        } else if (source.storage != null) {
            storage(source.storage, "spec.source.storage", out);
        }
        if (spec.mode == null) {
            out.add(new SpecProblem("spec.mode", "missing or not one of "
                    + LenientSpecReading.allowed(RestoreMode.class)));
        } else if ((spec.mode == RestoreMode.MERGE || spec.mode == RestoreMode.INSTANT) && spec.targetFile == null) {
            out.add(new SpecProblem("spec.targetFile", "mode " + spec.mode.value() + " needs targetFile"));
        }
        absolute(spec.targetFile, "spec.targetFile", out);
        export(spec, out);
        if (source != null && source.backup == null && spec.node == null) {
            out.add(new SpecProblem("spec.node", "a restore from a storage folder needs node (where the storage is"
                    + " mounted)"));
        }
        return out;
    }

    private static void export(VMRestoreSpec spec, List<SpecProblem> out) {
        RestoreExport x = spec.export;
        if (x == null) {
            return;
        }
        if (spec.mode != null && spec.mode != RestoreMode.EXPORT) {
            out.add(new SpecProblem("spec.export", "is for mode export only (mode is " + spec.mode.value() + ")"));
        }
        if (x.ttl != null && !x.ttl.matches(RestoreExport.TTL_PATTERN)) {
            out.add(new SpecProblem("spec.export.ttl", "\"" + x.ttl + "\" is not a duration: write it like 90s, 30m,"
                    + " 1h30m or 2d"));
        }
        absolute(x.socket, "spec.export.socket", out);
        if (x.port != null && (x.port < 1 || x.port > 65535)) {
            out.add(new SpecProblem("spec.export.port", "is " + x.port + ": give a TCP port from 1 to 65535"));
        }
        if (x.port != null && x.socket != null) {
            out.add(new SpecProblem("spec.export", "give either socket or port, not both"));
        }
    }

    /** The options a VMBackup shares with a schedule's template; {@code at} is where they are (spec). */
    public static List<SpecProblem> settingsProblems(BackupSettings s, String at) {
        List<SpecProblem> out = new ArrayList<>();
        if (s.include != null && s.exclude != null) {
            out.add(new SpecProblem(at + ".include", "give either include or exclude, not both"));
        }
        if (s.speedLimit != null && s.speedLimit < 0) {
            out.add(new SpecProblem(at + ".speedLimit", "is " + s.speedLimit + ": give 0 (unlimited) or more bytes"
                    + " per second"));
        }
        atLeast(s.cbwTimeout, 0, at + ".cbwTimeout", out);
        Retention r = s.retention;
        if (r != null) {
            String rat = at + ".retention";
            if (r.keepLast == null && r.keepDaily == null && r.keepWeekly == null && r.keepMonthly == null) {
                out.add(new SpecProblem(rat, "give at least one of keepLast, keepDaily, keepWeekly, keepMonthly"));
            }
            atLeast(r.keepLast, 1, rat + ".keepLast", out);
            atLeast(r.keepDaily, 0, rat + ".keepDaily", out);
            atLeast(r.keepWeekly, 0, rat + ".keepWeekly", out);
            atLeast(r.keepMonthly, 0, rat + ".keepMonthly", out);
        }
        return out;
    }

    /** The problems in one line, for a status message and an Event: "spec.level: ...; spec.storage: ...". */
    public static String message(List<SpecProblem> problems) {
        return "invalid spec: " + describe(problems) + " (a failed run is not retried: fix the spec and create it"
                + " again)";
    }

    /** The problems in one line, nothing added: "spec.level: ...; spec.storage: ...". */
    public static String describe(List<SpecProblem> problems) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < problems.size(); i++) {
            b.append(i == 0 ? "" : "; ").append(problems.get(i));
        }
        return b.toString();
    }

    private static void vm(VmRef vm, List<SpecProblem> out) {
        if (vm == null) {
            out.add(new SpecProblem("spec.vm", "missing: give name (a QemuVM) or node and qmpSocket"));
            return;
        }
        if (vm.name == null && (vm.node == null || vm.qmpSocket == null)) {
            out.add(new SpecProblem("spec.vm", "give either name (a QemuVM) or node and qmpSocket"));
        }
        absolute(vm.qmpSocket, "spec.vm.qmpSocket", out);
        absolute(vm.agentSocket, "spec.vm.agentSocket", out);
        absolute(vm.tpmState, "spec.vm.tpmState", out);
    }

    private static void storage(StorageRef s, String at, List<SpecProblem> out) {
        if (s == null) {
            out.add(new SpecProblem(at, "missing: give location and path"));
            return;
        }
        if (s.location == null) {
            out.add(new SpecProblem(at + ".location", "missing: give the name of a storage location of the node"
                    + " agent"));
        } else if (!LOCATION.matcher(s.location).matches()) {
            out.add(new SpecProblem(at + ".location", "\"" + s.location + "\" is not a storage location name: lower"
                    + " case letters, digits and '-', starting and ending with a letter or digit"));
        }
        if (s.path == null) {
            out.add(new SpecProblem(at + ".path", "missing: give a folder relative to the storage location"));
        } else if (s.path.startsWith("/") || DOT_DOT.matcher(s.path).find()) {
            out.add(new SpecProblem(at + ".path", "\"" + s.path + "\": path must be relative and must not contain"
                    + " '..'"));
        }
    }

    private static void absolute(String path, String at, List<SpecProblem> out) {
        if (path != null && !path.startsWith("/")) {
            out.add(new SpecProblem(at, "\"" + path + "\" is not an absolute path (it must start with /)"));
        }
    }

    private static void atLeast(Integer value, int min, String at, List<SpecProblem> out) {
        if (value != null && value < min) {
            add(out, new SpecProblem(at, "is " + value + ": give " + min + " or more"));
        }
    }

    private static List<SpecProblem> unreadableSpec(io.fabric8.kubernetes.api.model.HasMetadata r) {
        return LenientSpecReading.unreadable(r).stream().filter(p -> p.field().startsWith("spec")).toList();
    }

    /** A field already reported as unreadable is not reported again as missing. */
    private static void add(List<SpecProblem> out, SpecProblem p) {
        boolean said = out.stream().anyMatch(o -> p.field().equals(o.field()) || p.field().startsWith(o.field() + "."));
        if (!said) {
            out.add(p);
        }
    }
}
