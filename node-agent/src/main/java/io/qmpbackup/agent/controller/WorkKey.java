package io.qmpbackup.agent.controller;

import io.fabric8.kubernetes.api.model.HasMetadata;

/**
 * Which object a queued look is about: {@code Kind/namespace/name}. The key, not the object, is
 * queued, so the dispatcher always decides on the newest state the informer cache holds.
 */
record WorkKey(String kind, String namespace, String name) {
    static WorkKey of(HasMetadata r) {
        return new WorkKey(r.getKind(), r.getMetadata().getNamespace(), r.getMetadata().getName());
    }

    /** The key of the object in its informer's store. */
    String cacheKey() {
        return namespace + "/" + name;
    }

    /** For log lines: {@code Kind(namespace/name)}, as the work's own lines write it. */
    String id() {
        return kind + "(" + namespace + "/" + name + ")";
    }

    @Override
    public String toString() {
        return kind + "/" + namespace + "/" + name;
    }
}
