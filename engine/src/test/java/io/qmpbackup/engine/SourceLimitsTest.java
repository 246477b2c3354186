package io.qmpbackup.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.qmpbackup.engine.JavaMethodScanner.Member;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Size limits for the production sources of every module (each {@code <module>/src/main/java}):
 * no file over {@value #MAX_FILE_LINES} lines, no method or constructor over
 * {@value #MAX_METHOD_LINES} lines (declaration line to closing brace, inclusive; lambdas and
 * anonymous classes count toward the method around them). See {@link JavaMethodScanner}.
 */
class SourceLimitsTest {
    static final int MAX_FILE_LINES = 400;
    static final int MAX_METHOD_LINES = 60;

    private static final String FIX = "Fix: split by responsibility. Move a cohesive part (one job, its state and"
            + " its helpers) into a class of its own, or a long method's steps into well-named methods;"
            + " do not squeeze lines or raise the limit.";

    @Test
    void noSourceFileIsOverTheLimit() {
        List<String> offenders = oversizedFiles(repositoryRoot(Path.of("")));
        assertThat(offenders)
                .as("%d source file(s) over %d lines:%n  %s%n%s", offenders.size(), MAX_FILE_LINES,
                        String.join(System.lineSeparator() + "  ", offenders), FIX)
                .isEmpty();
    }

    @Test
    void noMethodOrConstructorIsOverTheLimit() {
        List<String> offenders = oversizedMembers(repositoryRoot(Path.of("")));
        assertThat(offenders)
                .as("%d method(s)/constructor(s) over %d lines:%n  %s%n%s", offenders.size(), MAX_METHOD_LINES,
                        String.join(System.lineSeparator() + "  ", offenders), FIX)
                .isEmpty();
    }

    /** Guards against a vacuous pass: the walk must find the modules' sources, and methods in them. */
    @Test
    void theCheckSeesEveryModulesSources() {
        Path root = repositoryRoot(Path.of(""));
        List<Path> sources = sources(root);
        assertThat(sources).extracting(f -> relative(root, f))
                .anyMatch(p -> p.startsWith("engine/src/main/java/io/qmpbackup/engine/"))
                .anyMatch(p -> p.startsWith("operator/src/main/java/"))
                .anyMatch(p -> p.startsWith("node-agent/src/main/java/"))
                .anyMatch(p -> p.startsWith("crds/src/main/java/"));
        assertThat(sources.stream().mapToInt(f -> members(root, f).size()).sum()).isGreaterThan(100);
    }

    /** The check itself, on a made-up repository: each limit is allowed, one line more is not. */
    @Test
    void reportsEveryOffenderAtOneLineOverTheLimit(@TempDir Path tmp) throws IOException {
        Files.writeString(tmp.resolve("pom.xml"), "<project><modules><module>engine</module></modules></project>");
        Path engine = Files.createDirectories(tmp.resolve("engine/src/main/java/p"));
        Path other = Files.createDirectories(tmp.resolve("other/src/main/java/q"));
        Path tests = Files.createDirectories(tmp.resolve("engine/src/test/java/p"));
        Files.writeString(engine.resolve("AtLimit.java"), javaFile("AtLimit", MAX_FILE_LINES, MAX_METHOD_LINES));
        Files.writeString(other.resolve("OverFile.java"), javaFile("OverFile", MAX_FILE_LINES + 1, 3));
        Files.writeString(engine.resolve("OverMethod.java"), javaFile("OverMethod", 100, MAX_METHOD_LINES + 1));
        Files.writeString(tests.resolve("TestsAreNotChecked.java"), javaFile("TestsAreNotChecked", 900, 800));

        Path root = repositoryRoot(Files.createDirectories(tmp.resolve("engine/target/surefire")));
        assertThat(root).isEqualTo(tmp.toAbsolutePath());
        assertThat(oversizedFiles(root)).containsExactly("other/src/main/java/q/OverFile.java:1 401 lines");
        assertThat(oversizedMembers(root)).containsExactly("engine/src/main/java/p/OverMethod.java:2 OverMethod.big() 61 lines");
    }

    /** A class of {@code lines} lines whose method big() is {@code methodLines} lines long. */
    private static String javaFile(String name, int lines, int methodLines) {
        List<String> out = new ArrayList<>();
        out.add("class " + name + " {");
        out.add("    void big() {");
        for (int i = 0; i < methodLines - 2; i++) {
            out.add("        Runnable r" + i + " = () -> { }; // {");
        }
        out.add("    }");
        while (out.size() < lines - 1) {
            out.add("    // filler");
        }
        out.add("}");
        return String.join("\n", out) + "\n";
    }

    static List<String> oversizedFiles(Path root) {
        List<String> offenders = new ArrayList<>();
        for (Path file : sources(root)) {
            int lines = read(file).size();
            if (lines > MAX_FILE_LINES) {
                offenders.add(relative(root, file) + ":1 " + lines + " lines");
            }
        }
        return offenders;
    }

    static List<String> oversizedMembers(Path root) {
        List<String> offenders = new ArrayList<>();
        for (Path file : sources(root)) {
            for (Member m : members(root, file)) {
                if (m.lines() > MAX_METHOD_LINES) {
                    offenders.add(relative(root, file) + ":" + m.firstLine() + " " + m.name()
                            + (m.constructor() ? " (constructor)" : "()") + " " + m.lines() + " lines");
                }
            }
        }
        return offenders;
    }

    private static List<Member> members(Path root, Path file) {
        try {
            return JavaMethodScanner.scan(String.join("\n", read(file)) + "\n");
        } catch (IllegalStateException e) {
            throw new AssertionError(relative(root, file) + ": " + e.getMessage(), e);
        }
    }

    /** Every .java file under {@code <module>/src/main/java}, for each folder beside the parent pom. */
    static List<Path> sources(Path root) {
        try (Stream<Path> modules = Files.list(root)) {
            List<Path> mains = modules.map(m -> m.resolve("src/main/java")).filter(Files::isDirectory).sorted()
                    .collect(Collectors.toList());
            List<Path> files = new ArrayList<>();
            for (Path main : mains) {
                try (Stream<Path> walk = Files.walk(main)) {
                    walk.filter(f -> f.toString().endsWith(".java") && Files.isRegularFile(f))
                            .filter(f -> !f.getFileName().toString().equals("module-info.java"))
                            .sorted()
                            .forEach(files::add);
                }
            }
            return files;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The folder holding the parent pom.xml (the one listing {@code <module>engine</module>}), from {@code start} up. */
    static Path repositoryRoot(Path start) {
        for (Path dir = start.toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path pom = dir.resolve("pom.xml");
            try {
                if (Files.isRegularFile(pom) && Files.readString(pom).contains("<module>engine</module>")) {
                    return dir;
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        throw new AssertionError("no parent pom.xml with <module>engine</module> in or above " + start.toAbsolutePath());
    }

    private static String relative(Path root, Path file) {
        return root.relativize(file).toString().replace('\\', '/');
    }

    private static List<String> read(Path file) {
        try {
            return Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
