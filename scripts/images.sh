#!/usr/bin/env bash
# Builds both container images (needs a Docker engine, which the development machines here lack).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
version=${1:-0.1.0}
cd "$top"
mvn -q -B -DskipTests package
docker build -f operator/src/main/docker/Dockerfile -t "qmpbackup/operator:$version" .
docker build -f node-agent/src/main/docker/Dockerfile -t "qmpbackup/node-agent:$version" .
