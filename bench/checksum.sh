#!/usr/bin/env bash
# Issue 13, "no second read of the data": what the integrity record costs. The same full backup
# (16 GiB qcow2, 4 GiB of data, VM in prelaunch), whole process until durable (the backup files
# fsynced by qmpbackup, then `sync` on them inside the timing), with the two ways of taking the
# checksum, in alternating rounds (this disk is noisy), against an O_DIRECT dd of the same 4 GiB
# measured in the same rounds:
#   read-back  QEMU writes the file (O_DIRECT, aio threads); qmpbackup reads it back: SHA-256
#   sink       QEMU writes through qmpbackup's NBD sink, which writes the file (O_DIRECT for aligned
#              writes) and hashes it on the way: chunked SHA-256, only metadata chunks read back
# Usage: bench/checksum.sh [WORKDIR] [ROUNDS]   (default: /var/tmp/qmpbackup-bench-sum, 3; ~9 GiB free)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/var/tmp/qmpbackup-bench-sum}
rounds=${2:-3}
[ -f "$top/engine/target/engine.jar" ] || (cd "$top" && mvn -q -B -DskipTests package)

rm -rf "$work"; mkdir -p "$work"
qemu_pid=""
cleanup() { [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
# best and median of a space-separated list
stats() { tr -s ' ' '\n' <<< "$1" | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f %.2f", v[1], (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

echo "bench: preparing a 16 GiB qcow2 with 4 GiB of data in $work"
qemu-img create -q -f qcow2 "$work/disk.qcow2" 16G
qemu-io -f qcow2 -c "write -P 0x5c 0 1G" -c "write -P 0x5d 1G 1G" -c "write -P 0x5e 2G 1G" \
  -c "write -P 0x5f 3G 1G" "$work/disk.qcow2" >/dev/null
qemu-system-x86_64 -S -machine q35 -accel tcg -display none -nodefaults -m 64 -name bench \
  -qmp "unix:$work/qmp.sock,server=on,wait=off" \
  -blockdev "driver=file,filename=$work/disk.qcow2,node-name=f0" \
  -blockdev "driver=qcow2,file=f0,node-name=disk0" -device virtio-blk-pci,drive=disk0,id=vda &
qemu_pid=$!
for _ in $(seq 100); do [ -S "$work/qmp.sock" ] && break; sleep 0.1; done

echo "bench: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
modes=(read-back sink)
declare -A t
t_dd=""
for round in $(seq "$rounds"); do
  sync
  t0=$(now)
  dd if=/dev/zero of="$work/dd.out" bs=4M count=1024 oflag=direct conv=fsync status=none
  e=$(elapsed "$t0" "$(now)")
  t_dd="$t_dd $e"
  echo "round $round: dd: $e s"
  rm -f "$work/dd.out"
  # alternate which path goes first: the first write after a delete meets other block states
  order=("${modes[@]}")
  [ $((round % 2)) -eq 0 ] && order=(sink read-back)
  for m in "${order[@]}"; do
    rm -rf "$work/backup"; mkdir -p "$work/backup"
    sync
    t0=$(now)
    "$top/bin/qmpbackup" --debug --socket "$work/qmp.sock" backup --level full --checksum "$m" \
      --target "$work/backup" > "$work/run.log" 2>&1
    sync "$work"/backup/disk.qcow2/*
    e=$(elapsed "$t0" "$(now)")
    t[$m]="${t[$m]:-} $e"
    echo "round $round: $m: $e s ($(grep -oE '(block jobs|fsync, checksum and rename) took [0-9]+ ms|[0-9]+ of [0-9]+ chunks hashed on the way|at most [0-9]+ open' "$work/run.log" | paste -sd ';' -))"
    "$top/bin/qmpbackup" --socket "$work/qmp.sock" cleanup > /dev/null 2>&1 || true
  done
done
echo "bench: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
read -r dd_best dd_med <<< "$(stats "$t_dd")"
printf '\n%-26s %8s %8s %10s %10s\n' "path" "best s" "median s" "best x dd" "median x dd"
printf '%-26s %8.2f %8.2f %10s %10s\n' "dd 4 GiB O_DIRECT" "$dd_best" "$dd_med" "1.000" "1.000"
for m in "${modes[@]}"; do
  read -r b md <<< "$(stats "${t[$m]}")"
  printf '%-26s %8.2f %8.2f %10s %10s\n' "$m" "$b" "$md" "$(ratio "$b" "$dd_best")" "$(ratio "$md" "$dd_med")"
done
