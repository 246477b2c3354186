package io.qmpbackup.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import io.qmpbackup.engine.JavaMethodScanner.Member;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The brace-matching scanner behind {@link SourceLimitsTest}, on small sources. */
class JavaMethodScannerTest {

    private static List<Member> scan(String source) {
        return JavaMethodScanner.scan(source);
    }

    @Test
    void methodsAndConstructorsFromDeclarationLineToClosingBrace() {
        String src = """
                package p;

                import java.util.List;

                /** Doc { with a brace. */
                public final class A {
                    private final int x;

                    A(int x) {
                        this.x = x;
                    }

                    int twice() {
                        int y = x;
                        return y * 2;
                    }

                    void empty() {}
                }
                """;
        assertThat(scan(src)).extracting(Member::name, Member::constructor, Member::firstLine, Member::lastLine)
                .containsExactly(
                        tuple("A.A", true, 9, 11),
                        tuple("A.twice", false, 13, 16),
                        tuple("A.empty", false, 18, 18));
        assertThat(scan(src).get(1).lines()).isEqualTo(4);
    }

    @Test
    void annotationsAreNotPartOfTheDeclarationAndTheirArrayValuesAreNoBodies() {
        String src = """
                @SuppressWarnings({"unchecked", "rawtypes"})
                class A {
                    @Override
                    @SuppressWarnings(value = {"a", "b"})
                    public String toString() {
                        return "x";
                    }

                    @Deprecated(since = "1", forRemoval = true) public @Nullable Object
                            get(@Named({"k"}) String key) {
                        return null;
                    }
                }
                """;
        assertThat(scan(src)).extracting(Member::name, Member::firstLine, Member::lines)
                .containsExactly(tuple("A.toString", 5, 3), tuple("A.get", 9, 4));
    }

    @Test
    void genericMethodsConstructorsAndThrowsClauses() {
        String src = """
                class Box<T extends Comparable<? super T>> {
                    <U> Box(U seed, java.util.function.Function<U, T> f) {
                    }

                    public static <K, V extends java.util.List<? extends K>> java.util.Map<K, java.util.List<V>> group(
                            java.util.List<? extends V> values,
                            int... sizes)
                            throws java.io.IOException, InterruptedException {
                        return null;
                    }

                    T[] all() throws Exception {
                        return null;
                    }
                }
                """;
        assertThat(scan(src)).extracting(Member::name, Member::constructor, Member::firstLine, Member::lines)
                .containsExactly(
                        tuple("Box.Box", true, 2, 2),
                        tuple("Box.group", false, 5, 6),
                        tuple("Box.all", false, 12, 3));
    }

    @Test
    void bracesInStringsCharsTextBlocksAndCommentsAreIgnored() {
        String src = """
                class A {
                    String m() {
                        String a = "{ {{ \\" {";
                        char b = '{';
                        char c = '\\'';
                        char d = '"';
                        // } a closing brace in a line comment
                        /* } and { in a block comment */
                        /** } in doc */
                        String e = \"""
                            } "{ " \\\""" }
                            \""";
                        return a + "}" + e;
                    }

                    int n() { return 1; }
                }
                """;
        assertThat(scan(src)).extracting(Member::name, Member::firstLine, Member::lastLine)
                .containsExactly(tuple("A.m", 2, 14), tuple("A.n", 16, 16));
    }

    @Test
    void lambdasAnonymousAndLocalClassesCountTowardTheEnclosingMethod() {
        String src = """
                class A {
                    Runnable make(java.util.List<String> xs) {
                        xs.forEach(x -> {
                            System.out.println(x);
                        });
                        class Local {
                            void inLocal() {
                            }
                        }
                        record Pair(int a, int b) {
                            Pair {
                            }
                        }
                        return new Runnable() {
                            @Override
                            public void run() {
                                if (xs.isEmpty()) {
                                    switch (xs.size()) {
                                        default -> { }
                                    }
                                }
                            }
                        };
                    }

                    void after() {
                    }
                }
                """;
        assertThat(scan(src)).extracting(Member::name, Member::firstLine, Member::lines)
                .containsExactly(tuple("A.make", 2, 23), tuple("A.after", 26, 2));
    }

    @Test
    void memberClassesAreMeasuredOnTheirOwn() {
        String src = """
                public class Outer {
                    void before() {
                    }

                    static final class Inner<T> extends java.util.ArrayList<T> implements Runnable {
                        public void run() {
                        }

                        private class Deeper {
                            Deeper() {
                            }
                        }
                    }

                    sealed interface Shape permits Sq {
                        default int sides() {
                            return 4;
                        }

                        int area();

                        static Shape unit() {
                            return null;
                        }
                    }

                    non-sealed static class Sq implements Shape {
                        public int area() { return 1; }
                    }

                    void after() {
                    }
                }
                """;
        assertThat(scan(src)).extracting(Member::name, Member::firstLine)
                .containsExactly(
                        tuple("Outer.before", 2),
                        tuple("Outer.Inner.run", 6),
                        tuple("Outer.Inner.Deeper.Deeper", 10),
                        tuple("Outer.Shape.sides", 16),
                        tuple("Outer.Shape.unit", 22),
                        tuple("Outer.Sq.area", 28),
                        tuple("Outer.after", 31));
    }

    @Test
    void recordsWithCompactAndCanonicalConstructors() {
        String src = """
                public record Point<T>(int x, int y, @Deprecated T tag) implements Comparable<Point<T>> {
                    public Point {
                        if (x < 0) {
                            throw new IllegalArgumentException("x{");
                        }
                    }

                    Point(int x) {
                        this(x, 0, null);
                    }

                    @Override
                    public int compareTo(Point<T> o) {
                        return Integer.compare(x, o.x);
                    }

                    static Point<String> origin() { return new Point<>(0, 0, "o"); }
                }
                """;
        assertThat(scan(src)).extracting(Member::name, Member::constructor, Member::firstLine, Member::lines)
                .containsExactly(
                        tuple("Point.Point", true, 2, 5),
                        tuple("Point.Point", true, 8, 3),
                        tuple("Point.compareTo", false, 13, 3),
                        tuple("Point.origin", false, 17, 1));
    }

    @Test
    void enumConstantBodiesConstructorsAndMethods() {
        String src = """
                enum Op {
                    PLUS("+") {
                        int apply(int a, int b) {
                            return a + b;
                        }
                    },
                    @Deprecated MINUS("-", new Runnable() {
                        public void run() {
                        }
                    }),
                    TIMES("*");

                    private final String sign;

                    Op(String sign) {
                        this.sign = sign;
                    }

                    Op(String sign, Runnable r) {
                        this(sign);
                    }

                    int apply(int a, int b) {
                        throw new UnsupportedOperationException();
                    }
                }
                """;
        assertThat(scan(src)).extracting(Member::name, Member::constructor, Member::firstLine, Member::lines)
                .containsExactly(
                        tuple("Op.<anonymous>.apply", false, 3, 3),
                        tuple("Op.<anonymous>.run", false, 8, 2),
                        tuple("Op.Op", true, 15, 3),
                        tuple("Op.Op", true, 19, 3),
                        tuple("Op.apply", false, 23, 3));
    }

    @Test
    void fieldInitializersAndInitializerBlocksAreNoMethods() {
        String src = """
                class A {
                    static final java.util.Comparator<String> BY_LENGTH = new java.util.Comparator<>() {
                        @Override
                        public int compare(String a, String b) {
                            return a.length() - b.length();
                        }
                    };
                    int[] xs = {1, 2, 3};
                    Runnable r = () -> {
                        System.out.println("{");
                    }, s = () -> { };
                    java.util.Map<String, Integer> m = new java.util.HashMap<>() {{
                        put("a", 1);
                    }};
                    int k = switch (xs.length) {
                        case 0 -> 1;
                        default -> { yield 2; }
                    };

                    static {
                        System.out.println("static");
                    }

                    {
                        xs[0] = 0;
                    }

                    void after() {
                    }
                }
                """;
        assertThat(scan(src)).extracting(Member::name, Member::firstLine, Member::lines)
                .containsExactly(tuple("A.<anonymous>.compare", 4, 3), tuple("A.after", 28, 2));
    }

    @Test
    void interfacesAbstractMethodsAndAnnotationTypes() {
        String src = """
                interface Api {
                    int size();

                    <T> T get(Class<T> type) throws Exception;

                    default boolean isEmpty() {
                        return size() == 0;
                    }
                }

                abstract class Base implements Api {
                    abstract void hook();

                    public final int size() { return 0; }
                }

                @interface Tags {
                    String[] value() default {};

                    String[] more() default {"a", "{"};

                    Class<?> type() default Object.class;

                    enum Level { LOW, HIGH }
                }
                """;
        assertThat(scan(src)).extracting(Member::name, Member::firstLine)
                .containsExactly(tuple("Api.isEmpty", 6), tuple("Base.size", 14));
    }

    @Test
    void sourceItCannotReadIsAnErrorNotAGuess() {
        assertThatThrownBy(() -> scan("class A {\n    void m() {\n    }\n"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("never closed");
        assertThatThrownBy(() -> scan("class A {\n}\n}\n"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("line 3");
        assertThatThrownBy(() -> scan("class A {\n    Other() {\n    }\n}\n"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("line 2")
                .hasMessageContaining("neither a method nor a constructor of A");
    }

    @Test
    void codeOnlyKeepsLineBreaksAndPositions() {
        String src = "int a = 1; // c {\n/* x\n } */ String s = \"{\";\n";
        String code = JavaMethodScanner.codeOnly(src);
        assertThat(code).hasSameSizeAs(src);
        assertThat(code.lines()).hasSize(3);
        assertThat(code).doesNotContain("{", "}", "c", "x", "\"");
        assertThat(code).contains("int a = 1;", "String s =", ";");
    }
}
