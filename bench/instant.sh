#!/usr/bin/env bash
# Instant-recovery benchmark, one run, all numbers from this machine and this invocation:
#   small   bin/qmprestore instant of a FULL + 1 INC chain holding 256 MiB (whole process, JVM
#           start and the qemu-img check of every file included)
#   large   the same of a chain holding 4 GiB (16 GiB disk)
#   merge   bin/qmprestore merge of the large chain (the restore it replaces), until durable
# Both chains are taken by bin/qmpbackup from a QEMU in prelaunch; their data is written with
# qemu-io before QEMU starts. Each instant is the best of three. Prints large/small (goal: about
# 1, the work does not grow with the data), large in seconds (goal < 1) and large/merge.
# Usage: bench/instant.sh [WORKDIR]   (default: /var/tmp/qmpbackup-instant; needs ~9 GiB free)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/var/tmp/qmpbackup-instant}
[ -f "$top/engine/target/engine.jar" ] || (cd "$top" && mvn -q -B -DskipTests package)
[ -f "$top/engine/target/engine.jsa" ] || bash "$top/scripts/cds.sh"   # the CLI start the README measures

rm -rf "$work"; mkdir -p "$work"
qemu_pid=""
cleanup() { [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (b < a ? b : a) }'; }

# chain NAME SIZE GIB_OF_DATA_BLOCKS...: a disk, a FULL of it, one more 64 MiB, an INC
chain() {
  local name=$1 size=$2; shift 2
  qemu-img create -q -f qcow2 "$work/$name.qcow2" "$size"
  local cmds=() off=0
  for pattern in "$@"; do
    cmds+=(-c "write -P $pattern ${off}M 256M"); off=$((off + 256))
  done
  qemu-io -f qcow2 "${cmds[@]}" "$work/$name.qcow2" >/dev/null
  qemu-system-x86_64 -S -machine q35 -accel tcg -display none -nodefaults -m 64 -name "$name" \
    -qmp "unix:$work/$name.sock,server=on,wait=off" -qmp "unix:$work/$name-ctl.sock,server=on,wait=off" \
    -blockdev "driver=file,filename=$work/$name.qcow2,node-name=f0" \
    -blockdev "driver=qcow2,file=f0,node-name=disk0" -device virtio-blk-pci,drive=disk0,id=vda &
  qemu_pid=$!
  for _ in $(seq 100); do [ -S "$work/$name-ctl.sock" ] && break; sleep 0.1; done
  "$top/bin/qmpbackup" --socket "$work/$name.sock" backup --level full --target "$work/$name-backup" > /dev/null
  python3 "$top/scripts/hmp.py" "$work/$name-ctl.sock" \
    'qemu-io -d /machine/peripheral/vda/virtio-backend "write -P 0x7e 100M 64M"' \
    'qemu-io -d /machine/peripheral/vda/virtio-backend "flush"'
  "$top/bin/qmpbackup" --socket "$work/$name.sock" backup --level inc --target "$work/$name-backup" > /dev/null
  kill "$qemu_pid"; wait "$qemu_pid" 2>/dev/null || true; qemu_pid=""
}

# instant NAME: the best of three runs of bin/qmprestore instant, each on a new overlay
instant() {
  local name=$1 t=999999
  for round in 1 2 3; do
    sync
    local t0; t0=$(now)
    "$top/bin/qmprestore" instant --dir "$work/$name-backup/$name.qcow2" \
      --targetfile "$work/$name-overlay-$round.qcow2" > /dev/null
    t=$(best "$t" "$(elapsed "$t0" "$(now)")")
  done
  echo "$t"
}

echo "bench: taking a 256 MiB chain and a 4 GiB chain in $work"
chain small 4G 0x21
chain large 16G 0x31 0x32 0x33 0x34 0x35 0x36 0x37 0x38 0x39 0x3a 0x3b 0x3c 0x3d 0x3e 0x3f 0x40

t_small=$(instant small)
t_large=$(instant large)
qemu-img compare -q "$work/large-overlay-1.qcow2" "$work/large.qcow2" \
  || { echo "bench: the large overlay differs from its disk" >&2; exit 1; }

sync
t0=$(now)
"$top/bin/qmprestore" merge --dir "$work/large-backup/large.qcow2" --targetfile "$work/merged.qcow2" > /dev/null
t_merge=$(elapsed "$t0" "$(now)")

echo "instant, 256 MiB chain : ${t_small} s"
echo "instant, 4 GiB chain   : ${t_large} s  (goal < 1 s)"
echo "merge, 4 GiB chain     : ${t_merge} s"
echo "ratio instant 4 GiB / 256 MiB : $(ratio "$t_large" "$t_small")  (goal: about 1)"
echo "ratio instant / merge (4 GiB) : $(ratio "$t_large" "$t_merge")"
