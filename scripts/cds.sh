#!/usr/bin/env bash
# Builds engine/target/engine.jsa, a class-data-sharing archive of the classes bin/qmpbackup and
# bin/qmprestore load, from training runs on throwaway data: qmprestore instant of a tiny chain,
# and (where QEMU is installed) qmpbackup full and inc backups of a tiny VM started here in
# prelaunch. Each run lists the classes it loaded; one static archive holds them all, so both
# tools start from it (a backup's start was 0.1 s slower with an archive of the restore alone).
# The scripts use it only while it is newer than the jar and its lib folder; a failure here
# only means no archive.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd -P)   # as bin/qmpbackup resolves it: the archive records the classpath
target=$top/engine/target
jsa=$target/engine.jsa
cp="$target/engine.jar:$target/lib/*"
work=$(mktemp -d) || exit 0
qemu_pid=""
trap '[ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null; rm -rf "$work"' EXIT
rm -f "$jsa"
jvm=(java -XX:+UseSerialGC -Xss512k -XX:-UsePerfData)
train() { # train LIST MAIN ARGS...: one run of a tool, its loaded classes listed in LIST
  local list=$1
  shift
  timeout 120 "${jvm[@]}" -Xshare:off -XX:DumpLoadedClassList="$list" -cp "$cp" "$@" > /dev/null 2>&1
}

mkdir -p "$work/t/d.qcow2"
qemu-img create -q -f qcow2 "$work/t/d.qcow2/FULL-1700000000-d.qcow2" 16M || exit 0
printf '{"format":1,"disk":"d.qcow2","folder":"d.qcow2","entries":[{"sequence":1,"file":"FULL-1700000000-d.qcow2","level":"full","epoch":1700000000}]}' \
  > "$work/t/d.qcow2.chain.json"
train "$work/restore.lst" io.qmpbackup.engine.cli.QmpRestoreCommand \
  instant --dir "$work/t/d.qcow2" --targetfile "$work/o.qcow2" || exit 0

if command -v qemu-system-x86_64 > /dev/null; then
  qemu-img create -q -f qcow2 "$work/vm.qcow2" 16M
  qemu-system-x86_64 -S -machine q35 -accel tcg -display none -nodefaults -m 32 -name cds \
    -qmp "unix:$work/qmp.sock,server=on,wait=off" \
    -blockdev "driver=file,filename=$work/vm.qcow2,node-name=f0" \
    -blockdev "driver=qcow2,file=f0,node-name=disk0" -device virtio-blk-pci,drive=disk0,id=vda \
    > /dev/null 2>&1 &
  qemu_pid=$!
  for _ in $(seq 100); do [ -S "$work/qmp.sock" ] && break; kill -0 "$qemu_pid" 2> /dev/null || break; sleep 0.1; done
  for level in full inc; do
    train "$work/backup-$level.lst" io.qmpbackup.engine.cli.QmpBackupCommand --socket "$work/qmp.sock" \
      backup --level "$level" --target "$work/b" || true
  done
fi

# every class any run loaded, once, in the order first seen; JDK 18+ numbers each run's lines
# ("name id: N"), and ids of different runs would clash, so they go (a list without them is valid)
cat "$work"/*.lst | awk '/^#/ { next } / source: / { next } { sub(/ id: [0-9]+$/, "") } !seen[$0]++' > "$work/all.lst"
"${jvm[@]}" -Xshare:dump -XX:SharedClassListFile="$work/all.lst" -XX:SharedArchiveFile="$jsa.tmp" \
  -cp "$cp" > /dev/null 2>&1 && [ -s "$jsa.tmp" ] && mv "$jsa.tmp" "$jsa"
rm -f "$jsa.tmp"
exit 0
