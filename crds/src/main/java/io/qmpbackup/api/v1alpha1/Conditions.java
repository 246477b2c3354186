package io.qmpbackup.api.v1alpha1;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/** Sets a status condition the Kubernetes way: lastTransitionTime moves only when the status flips. */
public final class Conditions {
    private Conditions() {
    }

    /** Returns true when the list changed. */
    public static boolean set(List<Condition> conditions, String type, boolean status, String reason, String message,
            Long generation, Instant now) {
        String value = status ? "True" : "False";
        Condition existing = conditions.stream().filter(c -> type.equals(c.getType())).findFirst().orElse(null);
        String why = reason == null ? "Unknown" : reason;
        String text = message == null ? "" : message;
        if (existing != null && value.equals(existing.getStatus()) && why.equals(existing.getReason())
                && text.equals(existing.getMessage() == null ? "" : existing.getMessage())
                && Objects.equals(generation, existing.getObservedGeneration())) {
            return false;
        }
        String transition = existing != null && value.equals(existing.getStatus()) ? existing.getLastTransitionTime()
                : now.toString();
        Condition c = new ConditionBuilder().withType(type).withStatus(value).withReason(why).withMessage(text)
                .withObservedGeneration(generation).withLastTransitionTime(transition).build();
        if (existing != null) {
            conditions.set(conditions.indexOf(existing), c);
        } else {
            conditions.add(c);
        }
        return true;
    }
}
