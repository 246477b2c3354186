package io.qmpbackup.agent.controller;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.qmpbackup.api.v1alpha1.LenientSpecReading;
import io.quarkus.kubernetes.client.KubernetesClientObjectMapperCustomizer;
import jakarta.inject.Singleton;

/**
 * The Kubernetes client's ObjectMapper reads our resources leniently: one object a server
 * checking no schema let through must not fail the watch of every object of its kind; the
 * reconcilers fail that one with InvalidSpec instead.
 */
@Singleton
public class LenientSpecReadingCustomizer implements KubernetesClientObjectMapperCustomizer {
    @Override
    public void customize(ObjectMapper mapper) {
        LenientSpecReading.install(mapper);
    }
}
