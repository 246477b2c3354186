package io.qmpbackup.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Set;

/**
 * Finds the method and constructor bodies of one Java source file by matching braces, for
 * {@link SourceLimitsTest}. Not a parser: comments, string, text-block and char literals are blanked
 * first (so their braces do not count), then every '{' is classified by the text before it.
 *
 * <p>A member is measured from its declaration line (the first token after its annotations) to the
 * line of its closing brace, inclusive. Whatever sits inside a body (blocks, lambdas, anonymous and
 * local classes) counts toward that body; methods of member classes, of anonymous classes in field
 * initializers and of enum constant bodies are measured on their own. Initializer blocks are not
 * reported. Source the scanner cannot classify makes it throw, rather than guess.
 */
final class JavaMethodScanner {

    /** A method or constructor: {@code name} is "Type.method" (nested types "Outer.Inner.method"). */
    record Member(String name, boolean constructor, int firstLine, int lastLine) {
        int lines() {
            return lastLine - firstLine + 1;
        }
    }

    private static final Set<String> MODIFIERS = Set.of("public", "protected", "private", "static",
            "final", "abstract", "synchronized", "native", "strictfp", "default", "transient",
            "volatile", "sealed");

    private enum Kind { FILE, CLASS, INTERFACE, ENUM, RECORD, ANNOTATION, ANONYMOUS, METHOD, INITIALIZER, BLOCK, EXPRESSION }

    /** One open '{' (the root FILE frame has none). */
    private static final class Frame {
        final Kind kind;
        final String name;
        /** After this frame's '}' the enclosing type's next member starts (false inside a field's expression). */
        final boolean endsMember;
        /** Method frames: where the declaration starts, and whether it declares a constructor. */
        int firstLine;
        boolean constructor;
        /** Type frames: where the header of the member being read starts, and its '(' depth. */
        int headerStart;
        int parenDepth;
        /** Enum frames: still in the constant list (before its first ';'). */
        boolean inEnumConstants;

        Frame(Kind kind, String name, boolean endsMember) {
            this.kind = kind;
            this.name = name;
            this.endsMember = endsMember;
            this.inEnumConstants = kind == Kind.ENUM;
        }

        boolean isType() {
            return switch (kind) {
                case FILE, CLASS, INTERFACE, ENUM, RECORD, ANNOTATION, ANONYMOUS -> true;
                default -> false;
            };
        }
    }

    private record Token(String text, int pos) {
        boolean is(String s) {
            return text.equals(s);
        }

        boolean isIdentifier() {
            return Character.isJavaIdentifierStart(text.charAt(0));
        }
    }

    private final String code;
    private final int[] lineStarts;
    private final Deque<Frame> stack = new ArrayDeque<>();
    private final List<Member> members = new ArrayList<>();

    private JavaMethodScanner(String source) {
        this.code = codeOnly(source);
        this.lineStarts = lineStarts(source);
    }

    /** The methods and constructors of {@code source}, in the order their bodies close. */
    static List<Member> scan(String source) {
        JavaMethodScanner s = new JavaMethodScanner(source);
        s.run();
        return s.members;
    }

    private void run() {
        stack.push(new Frame(Kind.FILE, null, true));
        for (int i = 0; i < code.length(); i++) {
            char c = code.charAt(i);
            Frame top = stack.peek();
            if (c == '{') {
                open(i, top);
            } else if (c == '}') {
                close(i);
            } else if (top.isType()) {
                if (c == '(') {
                    top.parenDepth++;
                } else if (c == ')') {
                    top.parenDepth--;
                } else if (c == ';' && top.parenDepth == 0) {
                    top.headerStart = i + 1;
                    top.inEnumConstants = false;
                }
            }
        }
        if (stack.size() != 1) {
            throw new IllegalStateException("unbalanced braces: " + (stack.size() - 1) + " '{' never closed");
        }
    }

    private void open(int brace, Frame top) {
        Frame f = switch (top.kind) {
            case METHOD, INITIALIZER, BLOCK -> new Frame(Kind.BLOCK, null, false);
            case EXPRESSION -> inExpression(brace);
            default -> inTypeBody(brace, top);
        };
        f.headerStart = brace + 1;
        stack.push(f);
    }

    private void close(int brace) {
        if (stack.size() == 1) {
            throw new IllegalStateException("'}' without '{' at line " + lineOf(brace));
        }
        Frame done = stack.pop();
        if (done.kind == Kind.METHOD) {
            members.add(new Member(qualified(done.name), done.constructor, done.firstLine, lineOf(brace)));
        }
        Frame top = stack.peek();
        if (top.isType() && done.endsMember) {
            top.headerStart = brace + 1;
            top.parenDepth = 0;
        }
    }

    /** A '{' inside a field initializer: an anonymous class body, or some other expression brace. */
    private Frame inExpression(int brace) {
        return anonymousClassBody(brace)
                ? new Frame(Kind.ANONYMOUS, null, false)
                : new Frame(Kind.EXPRESSION, null, false);
    }

    private Frame inTypeBody(int brace, Frame type) {
        if (type.parenDepth > 0) {
            return inExpression(brace); // an annotation's array value, or an argument of an enum constant
        }
        if (type.inEnumConstants) {
            return new Frame(Kind.ANONYMOUS, null, true); // an enum constant's body
        }
        List<Token> header = tokens(type.headerStart, brace);
        if (hasTopLevel(header, "=")) {
            return inExpression(brace); // a field initializer
        }
        Frame declared = typeDeclaration(header);
        if (declared != null) {
            return declared;
        }
        if (type.kind == Kind.FILE) {
            throw unclassified(brace, header, "expected a type declaration");
        }
        if (type.kind == Kind.ANNOTATION) {
            return new Frame(Kind.EXPRESSION, null, false); // an element's "default {...}"
        }
        return member(brace, type, withoutAnnotations(header));
    }

    /** The method, constructor or initializer whose header (annotations removed) is {@code h}. */
    private Frame member(int brace, Frame type, List<Token> h) {
        int first = 0;
        while (first < h.size() && MODIFIERS.contains(h.get(first).text)) {
            first++;
        }
        if (first == h.size()) {
            return new Frame(Kind.INITIALIZER, null, true);
        }
        int open = indexOf(h, "(", first);
        if (open < 0) {
            if (type.kind == Kind.RECORD && h.size() - first == 1 && h.get(first).is(type.name)) {
                return method(type.name, h.get(0), true); // a compact canonical constructor
            }
            throw unclassified(brace, h, "no parameter list");
        }
        Token name = open > 0 ? h.get(open - 1) : null;
        if (name == null || !name.isIdentifier()) {
            throw unclassified(brace, h, "no name before '('");
        }
        int close = matching(h, open, "(", ")");
        if (close < 0) {
            throw unclassified(brace, h, "unclosed parameter list");
        }
        if (close + 1 < h.size()) {
            Token after = h.get(close + 1);
            if (after.is("default")) {
                return new Frame(Kind.EXPRESSION, null, false);
            }
            if (!after.is("throws") && !after.is("[")) {
                throw unclassified(brace, h, "unexpected '" + after.text + "' after the parameters");
            }
        }
        int returnType = first;
        if (returnType < h.size() && h.get(returnType).is("<")) {
            returnType = matching(h, returnType, "<", ">") + 1;
        }
        boolean constructor = returnType == open - 1;
        if (constructor && !name.is(type.name)) {
            throw unclassified(brace, h, "'" + name.text + "(' is neither a method nor a constructor of " + type.name);
        }
        return method(name.text, h.get(0), constructor);
    }

    private Frame method(String name, Token firstToken, boolean constructor) {
        Frame f = new Frame(Kind.METHOD, name, true);
        f.firstLine = lineOf(firstToken.pos);
        f.constructor = constructor;
        return f;
    }

    /** A class, interface, enum, record or annotation type declared by {@code h}, or null. */
    private static Frame typeDeclaration(List<Token> h) {
        for (int i = 0; i + 1 < h.size(); i++) {
            Token t = h.get(i);
            Token next = h.get(i + 1);
            boolean afterDot = i > 0 && h.get(i - 1).is(".");
            if (afterDot || !next.isIdentifier()) {
                continue;
            }
            if (t.is("class")) {
                return new Frame(Kind.CLASS, next.text, true);
            }
            if (t.is("interface")) {
                boolean annotation = i > 0 && h.get(i - 1).is("@");
                return new Frame(annotation ? Kind.ANNOTATION : Kind.INTERFACE, next.text, true);
            }
            if (t.is("enum")) {
                return new Frame(Kind.ENUM, next.text, true);
            }
            if (t.is("record") && i + 2 < h.size() && (h.get(i + 2).is("(") || h.get(i + 2).is("<"))) {
                return new Frame(Kind.RECORD, next.text, true);
            }
        }
        return null;
    }

    /** {@code h} without its annotations ("@Name", "@a.b.Name", each with an optional "(...)"). */
    private static List<Token> withoutAnnotations(List<Token> h) {
        List<Token> out = new ArrayList<>();
        int i = 0;
        while (i < h.size()) {
            if (!h.get(i).is("@") || i + 1 >= h.size() || !h.get(i + 1).isIdentifier()) {
                out.add(h.get(i++));
                continue;
            }
            i += 2;
            while (i + 1 < h.size() && h.get(i).is(".") && h.get(i + 1).isIdentifier()) {
                i += 2;
            }
            if (i < h.size() && h.get(i).is("(")) {
                int close = matching(h, i, "(", ")");
                i = close < 0 ? h.size() : close + 1;
            }
        }
        return out;
    }

    /**
     * Whether the '{' at {@code brace} opens an anonymous class body: it follows
     * "new Type(...)" or "new Type<...>(...)".
     */
    private boolean anonymousClassBody(int brace) {
        int j = skipSpaceBack(brace - 1);
        if (j < 0 || code.charAt(j) != ')') {
            return false;
        }
        j = skipSpaceBack(matchBack(j, '(', ')') - 1);
        if (j >= 0 && code.charAt(j) == '>') {
            j = skipSpaceBack(matchBack(j, '<', '>') - 1);
        }
        int end = j;
        while (j >= 0 && (Character.isJavaIdentifierPart(code.charAt(j)) || code.charAt(j) == '.')) {
            j--;
        }
        if (j == end) {
            return false;
        }
        j = skipSpaceBack(j);
        return j >= 2 && code.startsWith("new", j - 2)
                && (j < 3 || !Character.isJavaIdentifierPart(code.charAt(j - 3)));
    }

    private int skipSpaceBack(int j) {
        while (j >= 0 && Character.isWhitespace(code.charAt(j))) {
            j--;
        }
        return j;
    }

    /** Index of the {@code open} that matches the {@code close} at {@code j}, or -1. */
    private int matchBack(int j, char open, char close) {
        int depth = 0;
        for (; j >= 0; j--) {
            char c = code.charAt(j);
            if (c == close) {
                depth++;
            } else if (c == open && --depth == 0) {
                return j;
            }
        }
        return -1;
    }

    private List<Token> tokens(int from, int to) {
        List<Token> out = new ArrayList<>();
        int i = from;
        while (i < to) {
            char c = code.charAt(i);
            if (Character.isWhitespace(c)) {
                i++;
            } else if (Character.isJavaIdentifierPart(c)) {
                int start = i;
                while (i < to && Character.isJavaIdentifierPart(code.charAt(i))) {
                    i++;
                }
                out.add(new Token(code.substring(start, i), start));
            } else {
                out.add(new Token(String.valueOf(c), i++));
            }
        }
        return out;
    }

    private static boolean hasTopLevel(List<Token> h, String text) {
        int depth = 0;
        for (Token t : h) {
            if (t.is("(")) {
                depth++;
            } else if (t.is(")")) {
                depth--;
            } else if (depth == 0 && t.is(text)) {
                return true;
            }
        }
        return false;
    }

    private static int indexOf(List<Token> h, String text, int from) {
        for (int i = from; i < h.size(); i++) {
            if (h.get(i).is(text)) {
                return i;
            }
        }
        return -1;
    }

    private static int matching(List<Token> h, int open, String o, String c) {
        int depth = 0;
        for (int i = open; i < h.size(); i++) {
            if (h.get(i).is(o)) {
                depth++;
            } else if (h.get(i).is(c) && --depth == 0) {
                return i;
            }
        }
        return -1;
    }

    private String qualified(String member) {
        StringBuilder sb = new StringBuilder(member);
        for (Frame f : stack) { // innermost first
            if (f.isType() && f.kind != Kind.FILE) {
                sb.insert(0, (f.name != null ? f.name : "<anonymous>") + ".");
            }
        }
        return sb.toString();
    }

    private IllegalStateException unclassified(int brace, List<Token> header, String why) {
        StringBuilder text = new StringBuilder();
        for (Token t : header) {
            text.append(t.text).append(' ');
        }
        return new IllegalStateException("cannot classify the '{' at line " + lineOf(brace) + " (" + why
                + "): " + text.toString().trim());
    }

    private int lineOf(int pos) {
        int lo = 0;
        int hi = lineStarts.length - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (lineStarts[mid] <= pos) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo + 1;
    }

    private static int[] lineStarts(String s) {
        List<Integer> starts = new ArrayList<>();
        starts.add(0);
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == '\n') {
                starts.add(i + 1);
            }
        }
        return starts.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * {@code s} with every comment, string literal, text block and char literal replaced by spaces
     * (line breaks kept, so positions and line numbers stay those of the source).
     */
    static String codeOnly(String s) {
        char[] out = s.toCharArray();
        int n = s.length();
        int i = 0;
        while (i < n) {
            int end = literalOrCommentEnd(s, i);
            if (end > i) {
                for (int k = i; k < end; k++) {
                    if (out[k] != '\n') {
                        out[k] = ' ';
                    }
                }
                i = end;
            } else {
                i++;
            }
        }
        return new String(out);
    }

    /** The end of the comment or literal that starts at {@code i}, or {@code i} if none does. */
    private static int literalOrCommentEnd(String s, int i) {
        int n = s.length();
        char c = s.charAt(i);
        char next = i + 1 < n ? s.charAt(i + 1) : 0;
        if (c == '/' && next == '/') {
            int end = s.indexOf('\n', i);
            return end < 0 ? n : end;
        }
        if (c == '/' && next == '*') {
            int end = s.indexOf("*/", i + 2);
            return end < 0 ? n : end + 2;
        }
        if (s.startsWith("\"\"\"", i)) {
            int j = i + 3;
            while (j < n && !s.startsWith("\"\"\"", j)) {
                j += s.charAt(j) == '\\' ? 2 : 1;
            }
            return Math.min(n, j + 3);
        }
        if (c == '"' || c == '\'') {
            int j = i + 1;
            while (j < n && s.charAt(j) != c && s.charAt(j) != '\n') {
                j += s.charAt(j) == '\\' ? 2 : 1;
            }
            return Math.min(n, j + 1);
        }
        return i;
    }
}
