package io.qmpbackup.engine.qmp;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The one Jackson mapper the engine uses, and short builders for QMP arguments. */
public final class Json {
    public static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {
    }

    public static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    public static ArrayNode array() {
        return MAPPER.createArrayNode();
    }

    /** Builds an object from alternating keys and values (values: String, Number, Boolean, JsonNode). */
    public static ObjectNode obj(Object... keyValues) {
        if (keyValues.length % 2 != 0) {
            throw new IllegalArgumentException("obj() takes key/value pairs");
        }
        ObjectNode o = object();
        for (int i = 0; i < keyValues.length; i += 2) {
            o.set((String) keyValues[i], MAPPER.valueToTree(keyValues[i + 1]));
        }
        return o;
    }
}
