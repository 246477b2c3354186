package io.qmpbackup.api.v1alpha1;

import com.fasterxml.jackson.annotation.JsonValue;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.databind.BeanDescription;
import com.fasterxml.jackson.databind.DeserializationConfig;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.Module;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.deser.BeanDeserializerBuilder;
import com.fasterxml.jackson.databind.deser.BeanDeserializerModifier;
import com.fasterxml.jackson.databind.deser.SettableBeanProperty;
import com.fasterxml.jackson.databind.deser.std.DelegatingDeserializer;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.module.SimpleModule;
import io.fabric8.kubernetes.api.model.HasMetadata;
import java.io.IOException;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Reads our resources as the API server holds them, not as this version's schema promises: a
 * server may check no schema, or hold objects stored under another version of it. A field of one
 * of our types that cannot be read (an enum value this version does not know, a string where a
 * number goes, an object where a list goes, a number out of range) is left null, and an unknown
 * field is ignored, so one such object does not fail the list or watch of every object of its
 * kind. What was dropped is remembered per object version ({@link #unreadable}), so that
 * {@link SpecValidation} fails that object with a message naming the field, instead of running it
 * without the field.
 *
 * <p>Only beans of this package are read leniently; Kubernetes' own types (metadata, conditions)
 * are read as strictly as before. Install it on the Kubernetes client's ObjectMapper
 * ({@link #install}) in every process that watches our resources.
 */
public final class LenientSpecReading {
    private static final String PACKAGE = LenientSpecReading.class.getPackageName();
    /** DeserializationContext attribute: the problems of the resource being read. */
    private static final Object PROBLEMS = new Object();
    /** Kept for the resources that watches and lists delivered lately; a clean read adds nothing. */
    private static final int REMEMBERED = 4096;
    private static final Set<String> STRICT = Set.of("metadata", "apiVersion", "kind");
    private static final Map<String, List<SpecProblem>> UNREADABLE = Collections.synchronizedMap(
            new LinkedHashMap<>(64, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, List<SpecProblem>> eldest) {
                    return size() > REMEMBERED;
                }
            });

    private LenientSpecReading() {
    }

    /** Registers the lenient reading of our types on {@code mapper}. */
    public static void install(ObjectMapper mapper) {
        mapper.registerModule(module());
    }

    public static Module module() {
        SimpleModule module = new SimpleModule("qmpbackup-lenient-spec-reading");
        module.setDeserializerModifier(new Modifier());
        return module;
    }

    /**
     * The fields the reader could not read in this version of {@code r} (its uid and
     * resourceVersion), with what was there and what is allowed; empty when it read them all.
     */
    public static List<SpecProblem> unreadable(HasMetadata r) {
        List<SpecProblem> problems = UNREADABLE.get(key(r));
        return problems == null ? List.of() : problems;
    }

    private static String key(HasMetadata r) {
        var m = r.getMetadata();
        if (m == null) {
            return r.getClass().getName() + "@" + System.identityHashCode(r);
        }
        String id = m.getUid() != null ? m.getUid() : m.getNamespace() + "/" + m.getName();
        return r.getKind() + ":" + id + "@" + m.getResourceVersion();
    }

    private static boolean ours(Class<?> c) {
        return c.getPackageName().equals(PACKAGE);
    }

    private static final class Modifier extends BeanDeserializerModifier {
        @Override
        public BeanDeserializerBuilder updateBuilder(DeserializationConfig config, BeanDescription beanDesc,
                BeanDeserializerBuilder builder) {
            if (!ours(beanDesc.getBeanClass())) {
                return builder;
            }
            // a field a newer schema added is no reason to drop the object
            builder.setIgnoreUnknownProperties(true);
            List<SettableBeanProperty> props = new ArrayList<>();
            builder.getProperties().forEachRemaining(props::add);
            for (SettableBeanProperty p : props) {
                if (!STRICT.contains(p.getName())) {
                    builder.addOrReplaceProperty(new NullWhenUnreadable(p), true);
                }
            }
            return builder;
        }

        @Override
        public JsonDeserializer<?> modifyDeserializer(DeserializationConfig config, BeanDescription beanDesc,
                JsonDeserializer<?> deserializer) {
            Class<?> c = beanDesc.getBeanClass();
            return ours(c) && HasMetadata.class.isAssignableFrom(c) ? new RecordsProblems(deserializer) : deserializer;
        }
    }

    /** Reads one of our resources, and remembers which of its fields could not be read. */
    private static final class RecordsProblems extends DelegatingDeserializer {
        RecordsProblems(JsonDeserializer<?> delegate) {
            super(delegate);
        }

        @Override
        protected JsonDeserializer<?> newDelegatingInstance(JsonDeserializer<?> newDelegatee) {
            return new RecordsProblems(newDelegatee);
        }

        @Override
        public Object deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
            Object outer = ctxt.getAttribute(PROBLEMS);
            List<SpecProblem> problems = new ArrayList<>();
            ctxt.setAttribute(PROBLEMS, problems);
            try {
                Object r = super.deserialize(p, ctxt);
                if (!problems.isEmpty() && r instanceof HasMetadata h) {
                    UNREADABLE.put(key(h), List.copyOf(problems));
                }
                return r;
            } finally {
                ctxt.setAttribute(PROBLEMS, outer);
            }
        }
    }

    /** A property of one of our beans: a value it cannot read is skipped and leaves the field null. */
    private static final class NullWhenUnreadable extends SettableBeanProperty.Delegating {
        NullWhenUnreadable(SettableBeanProperty delegate) {
            super(delegate);
        }

        @Override
        protected SettableBeanProperty withDelegate(SettableBeanProperty d) {
            return new NullWhenUnreadable(d);
        }

        @Override
        public void deserializeAndSet(JsonParser p, DeserializationContext ctxt, Object instance) throws IOException {
            read(p, ctxt, instance, false);
        }

        @Override
        public Object deserializeSetAndReturn(JsonParser p, DeserializationContext ctxt, Object instance)
                throws IOException {
            return read(p, ctxt, instance, true);
        }

        private Object read(JsonParser p, DeserializationContext ctxt, Object instance, boolean andReturn)
                throws IOException {
            JsonToken token = p.currentToken();
            JsonStreamContext owner = p.getParsingContext();
            if (token != null && token.isStructStart()) {
                owner = owner.getParent();
            }
            int depth = depth(owner);
            String seen = seen(p, token);
            // an enum is never a number in our schema: Jackson would take it as an index
            if (getType().isEnumType() && token != null && token.isNumeric()) {
                record(p, ctxt, seen);
                return instance;
            }
            try {
                return andReturn ? delegate.deserializeSetAndReturn(p, ctxt, instance) : deliver(p, ctxt, instance);
            } catch (MismatchedInputException | InputCoercionException e) {
                while (depth(p.getParsingContext()) > depth) {
                    if (p.nextToken() == null) {
                        throw e;
                    }
                }
                record(p, ctxt, seen);
                return instance;
            }
        }

        private Object deliver(JsonParser p, DeserializationContext ctxt, Object instance) throws IOException {
            delegate.deserializeAndSet(p, ctxt, instance);
            return instance;
        }

        @SuppressWarnings("unchecked")
        private void record(JsonParser p, DeserializationContext ctxt, String seen) {
            Object problems = ctxt.getAttribute(PROBLEMS);
            if (problems instanceof List<?> list) {
                ((List<SpecProblem>) list).add(new SpecProblem(path(p.getParsingContext()), seen + " is not "
                        + expected(getType())));
            }
        }
    }

    private static int depth(JsonStreamContext c) {
        int d = 0;
        for (JsonStreamContext x = c; x != null; x = x.getParent()) {
            d++;
        }
        return d;
    }

    /** spec.storage.path: from the resource being read down to the current field. */
    private static String path(JsonStreamContext c) {
        List<String> parts = new ArrayList<>();
        for (JsonStreamContext x = c; x != null && !x.inRoot(); x = x.getParent()) {
            if (x.inArray()) {
                parts.add("[" + Math.max(0, x.getCurrentIndex()) + "]");
            } else if (x.getCurrentName() != null) {
                parts.add("." + x.getCurrentName());
            }
            if (x.getCurrentValue() instanceof HasMetadata) {
                break;
            }
        }
        Collections.reverse(parts);
        String path = String.join("", parts);
        return path.startsWith(".") ? path.substring(1) : path;
    }

    private static String seen(JsonParser p, JsonToken token) throws IOException {
        if (token == null) {
            return "nothing";
        }
        return switch (token) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "a list";
            case VALUE_STRING -> "\"" + shorten(p.getText()) + "\"";
            default -> shorten(p.getText());
        };
    }

    private static String shorten(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    /** What the schema allows where the value was: "one of full, inc, auto, copy", "an integer". */
    static String expected(JavaType type) {
        Class<?> c = type.getRawClass();
        if (c.isEnum()) {
            return "one of " + allowed(c);
        }
        if (c == Integer.class || c == Long.class || c == Short.class || c == int.class || c == long.class) {
            return "an integer";
        }
        if (c == Boolean.class || c == boolean.class) {
            return "true or false";
        }
        if (c == String.class) {
            return "a string";
        }
        if (Collection.class.isAssignableFrom(c)) {
            return "a list";
        }
        return Map.class.isAssignableFrom(c) ? "a map" : "an object";
    }

    /** The values of one of our enums as they are written in a resource. */
    static String allowed(Class<?> enumType) {
        Method value = Arrays.stream(enumType.getMethods()).filter(m -> m.isAnnotationPresent(JsonValue.class))
                .findFirst().orElse(null);
        return Arrays.stream(enumType.getEnumConstants()).map(e -> {
            try {
                return value == null ? ((Enum<?>) e).name() : String.valueOf(value.invoke(e));
            } catch (ReflectiveOperationException ex) {
                return ((Enum<?>) e).name();
            }
        }).collect(Collectors.joining(", "));
    }
}
