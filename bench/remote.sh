#!/usr/bin/env bash
# Off-site copy benchmark, one run, numbers from this machine and this invocation, against S3Proxy
# (its filesystem blob store on /dev/shm, else WORKDIR/s3; or -Dstore=memory) started in the benchmark's JVM on
# 127.0.0.1:
#   upload   qmpbackup's replication of a FULL of SIZE MiB (a real qcow2 written by qemu-io): each
#            part's checksum sent (CRC32C), the whole file hashed against its integrity record, the object
#            read back; against the SDK's own multipart upload of the same file (S3AsyncClient,
#            multipart on, same 16 MiB parts, no checksums). Best of 3 each, alternating, after a
#            warm-up of both. Prints the ratio plain/ours (goal >= 0.9).
#   restore  qmprestore --remote merge's work (download, check against the integrity record,
#            merge) against a plain SDK download of the same objects plus a local merge.
# Usage: bench/remote.sh [SIZE_MIB] [WORKDIR]   (default 1024 MiB, /var/tmp/qmpbackup-remote)
# JAVA_OPTS: -Dparts=N (parallel parts, default 4), -Dchecksum=crc32c|sha256|md5 (each request's
#   checksum, default crc32c as the remote's default).
# CLASSPATH: use this one instead of asking Maven (engine main + test classes + dependencies).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
size=${1:-1024}
work=${2:-/var/tmp/qmpbackup-remote}
if [ -z "${CLASSPATH:-}" ]; then
  cp_file=$top/engine/target/bench-classpath.txt
  (cd "$top" && flock /tmp/mvn.lock mvn -q -B -o -pl engine -DskipTests test-compile dependency:build-classpath \
    -Dmdep.outputFile="$cp_file" -Dmdep.includeScope=test)
  CLASSPATH=$top/engine/target/classes:$top/engine/target/test-classes:$(cat "$cp_file")
fi
rm -rf "$work"; mkdir -p "$work"
# the store's objects on tmpfs when there is one: a real store's disks are another machine's, and
# its writes here would compete with the upload's reads for this disk (and swing the ratio)
store=$work/s3
[ -d /dev/shm ] && [ -w /dev/shm ] && store=/dev/shm/qmpbackup-remote-bench-$$
trap 'rm -rf "$store"; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
# shellcheck disable=SC2086
java -Xmx4g -Dstore.dir="$store" ${JAVA_OPTS:-} -cp "$CLASSPATH" io.qmpbackup.engine.remote.RemoteBench "$work" "$size"
