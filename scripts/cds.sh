#!/usr/bin/env bash
# Builds engine/target/engine.jsa, a class-data-sharing archive of the classes bin/qmpbackup and
# bin/qmprestore load, from one training run of qmprestore instant on a throwaway chain. It cuts
# a short command's start (JVM class loading, Jackson) by about 0.3 s. The scripts use it only
# while it is newer than the jar and its lib folder; a failure here only means no archive.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
target=$top/engine/target
jsa=$target/engine.jsa
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -f "$jsa"
mkdir -p "$work/t/d.qcow2"
qemu-img create -q -f qcow2 "$work/t/d.qcow2/FULL-1700000000-d.qcow2" 16M || exit 0
printf '{"format":1,"disk":"d.qcow2","folder":"d.qcow2","entries":[{"sequence":1,"file":"FULL-1700000000-d.qcow2","level":"full","epoch":1700000000}]}' \
  > "$work/t/d.qcow2.chain.json"
java -XX:+UseSerialGC -Xss512k -XX:-UsePerfData -XX:ArchiveClassesAtExit="$jsa.tmp" -Xlog:disable \
  -cp "$target/engine.jar:$target/lib/*" io.qmpbackup.engine.cli.QmpRestoreCommand \
  instant --dir "$work/t/d.qcow2" --targetfile "$work/o.qcow2" > /dev/null 2>&1 \
  && [ -s "$jsa.tmp" ] && mv "$jsa.tmp" "$jsa"
rm -f "$jsa.tmp"
exit 0
