#!/usr/bin/env bash
# Off-site copy benchmark, one run, numbers from this machine and this invocation, against S3Proxy
# (in-memory blob store) started in the benchmark's JVM on 127.0.0.1:
#   upload   qmpbackup's replication of a FULL of SIZE MiB (a real qcow2 written by qemu-io): each
#            part's checksum sent, the whole file hashed against its integrity record, the object
#            read back; against the SDK's own multipart upload of the same file (S3AsyncClient,
#            multipart on, same 16 MiB parts, no checksums). Best of 3 each, alternating, after a
#            warm-up of both. Prints the ratio plain/ours (goal >= 0.9).
#   restore  qmprestore --remote merge's work (download, check against the integrity record,
#            merge) against a plain SDK download of the same objects plus a local merge.
# Usage: bench/remote.sh [SIZE_MIB] [WORKDIR]   (default 256 MiB, /var/tmp/qmpbackup-remote)
# JAVA_OPTS: -Dparts=N (parallel parts, default 4), -Dmd5=true (Content-MD5 instead of SHA-256).
# CLASSPATH: use this one instead of asking Maven (engine main + test classes + dependencies).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
size=${1:-256}
work=${2:-/var/tmp/qmpbackup-remote}
if [ -z "${CLASSPATH:-}" ]; then
  cp_file=$top/engine/target/bench-classpath.txt
  (cd "$top" && flock /tmp/mvn.lock mvn -q -B -o -pl engine -DskipTests test-compile dependency:build-classpath \
    -Dmdep.outputFile="$cp_file" -Dmdep.includeScope=test)
  CLASSPATH=$top/engine/target/classes:$top/engine/target/test-classes:$(cat "$cp_file")
fi
rm -rf "$work"; mkdir -p "$work"
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
# shellcheck disable=SC2086
java -Xmx4g ${JAVA_OPTS:-} -cp "$CLASSPATH" io.qmpbackup.engine.remote.RemoteBench "$work" "$size"
