#!/usr/bin/env bash
# Which way of writing the backup target is fastest to a durable file on THIS machine's disk:
# the same full backup (16 GiB qcow2, 4 GiB of data, VM in prelaunch) with each target cache
# mode and aio, whole process until durable (fsync, checksum and rename included), two
# alternating rounds, best of each, against a 4 GiB O_DIRECT dd measured in the same rounds.
# Usage: bench/target-io.sh [WORKDIR]   (default: /var/tmp/qmpbackup-bench-io; needs ~9 GiB free)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/var/tmp/qmpbackup-bench-io}
[ -f "$top/engine/target/engine.jar" ] || (cd "$top" && mvn -q -B -DskipTests package)

rm -rf "$work"; mkdir -p "$work"
qemu_pid=""
cleanup() { [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (b < a ? b : a) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

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

modes=("direct native" "direct threads" "direct io_uring" "buffered threads" "buffered io_uring")
declare -A t
t_dd=999999
for round in 1 2; do
  sync
  t0=$(now)
  dd if=/dev/zero of="$work/dd.out" bs=4M count=1024 oflag=direct conv=fsync status=none
  t_dd=$(best "$t_dd" "$(elapsed "$t0" "$(now)")")
  rm -f "$work/dd.out"
  for m in "${modes[@]}"; do
    read -r cache aio <<< "$m"
    args=(--target-cache "$cache")
    args+=(--blockdev-aio "$aio")
    rm -rf "$work/backup"; mkdir -p "$work/backup"
    sync
    t0=$(now)
    "$top/bin/qmpbackup" --debug --socket "$work/qmp.sock" backup --level full "${args[@]}" \
      --target "$work/backup" > "$work/run.log" 2>&1
    e=$(elapsed "$t0" "$(now)")
    t[$m]=$(best "${t[$m]:-999999}" "$e")
    echo "round $round: $m: $e s ($(grep -oE '(block jobs|fsync, checksum and rename) took [0-9]+ ms' "$work/run.log" | paste -sd ';' -))"
    "$top/bin/qmpbackup" --socket "$work/qmp.sock" cleanup > /dev/null 2>&1 || true
  done
done
printf '\n%-22s %8s %8s\n' "target" "seconds" "x dd"
printf '%-22s %8.2f %8s\n' "dd 4 GiB O_DIRECT" "$t_dd" "1.000"
for m in "${modes[@]}"; do
  printf '%-22s %8.2f %8s\n' "$m" "${t[$m]}" "$(ratio "${t[$m]}" "$t_dd")"
done
