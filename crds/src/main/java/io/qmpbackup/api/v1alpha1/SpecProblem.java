package io.qmpbackup.api.v1alpha1;

/**
 * One thing wrong with a run's spec: the field, as a path from the resource ({@code spec.level}),
 * and what is wrong with it, naming the allowed values or the fix.
 */
public record SpecProblem(String field, String message) {
    @Override
    public String toString() {
        return field + ": " + message;
    }
}
