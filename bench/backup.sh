#!/usr/bin/env bash
# Backup benchmark, one run, all numbers from this machine and this invocation:
#   baseline  a 4 GiB O_DIRECT dd write on the filesystem of the target
#   full      bin/qmpbackup --level full of a 16 GiB qcow2 holding 4 GiB of just-written data
#             (whole process, JVM start included), VM in prelaunch with QEMU's default cache
#   inc       bin/qmpbackup --level inc after 256 MiB more were written through the guest device
#   full-cold the same full after the page cache was dropped (root only): the source is read
#             from the same device the target is written to
#   merge     bin/qmprestore merge of the FULL + 3 INC chain (whole process) against
#             qemu-img convert of the FULL file alone with the same options, in the same run
#   warm      the same full and inc through the engine in one long-lived JVM, as the node agent
#             runs them (bench/WarmEngine.java), then ROUNDS alternating copies of bin/qmpbackup and
#             of that JVM (information: the goals are the CLI's)
#   0.67      with QMPBACKUP_067 set: qmpbackup 0.67's full and our copy, each first in a QEMU of
#             its own (fresh: see docs/internals.md, "Speed and the guest"; QEMU's CPU seconds are
#             printed), then ROUNDS (default 3) alternating rounds of both in one warm QEMU: the
#             median of each, so that the disk's drift within the run meets both alike
#   cpu       the CPU seconds the full and the inc used (the JVM's and QEMU's) over the cores: the
#             least wall time that work can take here; and the engine's SHA-256 of 4 GiB on one
#             thread (bench/HashRate.java), what the integrity record alone costs
# Prints the times, the engine's own split (block jobs / read-back checksum) and the ratios
# full/dd (goal <= 1.25), inc/full (goal <= 0.15) and merge/convert (goal <= 1.1), and the guest's
# write throughput during a full against idle (goal >= 0.5; with QMPBACKUP_067 also during its full).
# Dirty pages are synced before each step.
# CHECKSUM=read-back (default: sink) runs every backup of ours with that --checksum, to compare.
# Each step is announced on stderr as it starts.
# Usage: bench/backup.sh [WORKDIR]   (default: /var/tmp/qmpbackup-bench; needs ~26 GiB free)
set -euo pipefail
shopt -s inherit_errexit   # a failed backup inside $(...) stops the run instead of being timed
top=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/var/tmp/qmpbackup-bench}
[ -f "$top/engine/target/engine.jar" ] || (cd "$top" && mvn -q -B -DskipTests package)
# the class-data archive setup.sh makes, again if the jar is newer (bin/qmpbackup ignores a stale one)
jsa=$top/engine/target/engine.jsa
[ "$jsa" -nt "$top/engine/target/engine.jar" ] && [ "$jsa" -nt "$top/engine/target/lib" ] || bash "$top/scripts/cds.sh"

rm -rf "$work"; mkdir -p "$work"
qemu_pid=""
cleanup() { [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT

drop_caches() { sync; if [ "$(id -u)" -eq 0 ]; then echo 3 > /proc/sys/vm/drop_caches; fi; }
split() { grep -oE '(block jobs|fsync, checksum and rename) took [0-9]+ ms' "$1" | sed 's/ took / /' | paste -sd ';' -; }
now() { date +%s.%N; }
step() { echo "bench: $(date +%T) $*" >&2; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
# guest_writes PATTERN MIB...: a 1 MiB write of byte 0xPATTERN at each MiB offset through the guest
# device (HMP qemu-io, one command each), then a flush
guest_writes() {
  local pattern=$1 cmds=() m
  shift
  for m in "$@"; do
    cmds+=("qemu-io -d /machine/peripheral/vda/virtio-backend \"write -P 0x$pattern ${m}M 1M\"")
  done
  cmds+=('qemu-io -d /machine/peripheral/vda/virtio-backend "flush"')
  python3 "$top/scripts/hmp.py" "$work/ctl.sock" "${cmds[@]}"
}

echo "bench: preparing a 16 GiB qcow2 with 4 GiB of data in $work"
qemu-img create -q -f qcow2 "$work/disk.qcow2" 16G
qemu-io -f qcow2 -c "write -P 0x5c 0 1G" -c "write -P 0x5d 1G 1G" -c "write -P 0x5e 2G 1G" \
  -c "write -P 0x5f 3G 1G" "$work/disk.qcow2" >/dev/null

# (again) a fresh QEMU process: its first backup meets a malloc that has not yet served a copy job
start_qemu() {
  if [ -n "$qemu_pid" ]; then kill "$qemu_pid" 2>/dev/null || true; wait "$qemu_pid" 2>/dev/null || true; fi
  rm -f "$work/qmp.sock" "$work/ctl.sock"
  qemu-system-x86_64 -S -machine q35 -accel tcg -display none -nodefaults -m 64 -name bench \
    -qmp "unix:$work/qmp.sock,server=on,wait=off" -qmp "unix:$work/ctl.sock,server=on,wait=off" \
    -blockdev "driver=file,filename=$work/disk.qcow2,node-name=f0" \
    -blockdev "driver=qcow2,file=f0,node-name=disk0" -device virtio-blk-pci,drive=disk0,id=vda &
  qemu_pid=$!
  for _ in $(seq 100); do [ -S "$work/ctl.sock" ] && break; sleep 0.1; done
}
# CPU seconds QEMU has used so far (user + system)
qemu_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$qemu_pid/stat"; }
start_qemu

step "dd baseline"
sync
t0=$(now)
dd if=/dev/zero of="$work/dd.out" bs=4M count=1024 oflag=direct conv=fsync status=none
t_dd=$(elapsed "$t0" "$(now)")
# dd.out stays until the end: this filesystem is mounted with discard, and deleting 4 GiB made the
# next 4 GiB written 0.3-0.9 s slower here (dd after dd, 2 rounds each), which the full would pay

step "full backup"
sync
c0=$(qemu_cpu); t0=$(now)
# bash's time: the JVM's own CPU seconds (user and system) into full.cpu, the backup's stderr as it was
TIMEFORMAT='%U %S'
{ time "$top/bin/qmpbackup" --debug --socket "$work/qmp.sock" backup --checksum "${CHECKSUM:-sink}" --level full \
  --target "$work/backup" > "$work/full.log" 2>&3; } 3>&2 2> "$work/full.cpu"
t_full=$(elapsed "$t0" "$(now)"); c_full=$(elapsed "$c0" "$(qemu_cpu)")
j_full=$(awk '{ printf "%.2f", $1 + $2 }' "$work/full.cpu")

# 256 MiB more, 1 MiB at a time spread over the disk, through the guest device
dirty_256() { guest_writes "$1" $(seq 0 63 $((255 * 63))); }
dirty_256 7d

step "inc backup (256 MiB changed)"
sync
c0=$(qemu_cpu); t0=$(now)
{ time "$top/bin/qmpbackup" --debug --socket "$work/qmp.sock" backup --checksum "${CHECKSUM:-sink}" --level inc \
  --target "$work/backup" > "$work/inc.log" 2>&3; } 3>&2 2> "$work/inc.cpu"
t_inc=$(elapsed "$t0" "$(now)"); c_inc=$(elapsed "$c0" "$(qemu_cpu)")
j_inc=$(awk '{ printf "%.2f", $1 + $2 }' "$work/inc.cpu")
inc_file=$(ls "$work"/backup/disk.qcow2/INC-*)

# two more incrementals (64 MiB each) for a FULL + 3 INC chain
step "two more incs for the merge"
for pass in 1 2; do
  guest_writes "$((7 + pass))e" $(for i in $(seq 0 63); do echo $(( (i * 251 + pass * 7) % 16000 )); done)
  "$top/bin/qmpbackup" --socket "$work/qmp.sock" backup --checksum "${CHECKSUM:-sink}" --level inc --target "$work/backup" > /dev/null
done

# three alternating rounds, the best of each: this machine's disk is noisy (one run varies ~1.5x)
t_convert=999999; t_merge=999999
direct=(-T none -t none)
for round in 1 2 3; do
  step "convert and merge, round $round of 3"
  drop_caches
  t0=$(now)
  qemu-img convert -W -m 16 "${direct[@]}" -O qcow2 "$work"/backup/disk.qcow2/FULL-* "$work/convert.qcow2"
  sync -f "$work/convert.qcow2"
  t_convert=$(awk -v a="$t_convert" -v b="$(elapsed "$t0" "$(now)")" 'BEGIN { print (b < a ? b : a) }')
  rm -f "$work/convert.qcow2"

  drop_caches
  t0=$(now)
  "$top/bin/qmprestore" merge --dir "$work/backup/disk.qcow2" --targetfile "$work/merged.qcow2" > "$work/merge.log"
  t_merge=$(awk -v a="$t_merge" -v b="$(elapsed "$t0" "$(now)")" 'BEGIN { print (b < a ? b : a) }')
  rm -f "$work/merged.qcow2"
done

step "cold copy (page cache dropped)"
drop_caches
t0=$(now)
"$top/bin/qmpbackup" --debug --socket "$work/qmp.sock" backup --checksum "${CHECKSUM:-sink}" --level copy --target "$work/cold" > "$work/cold.log"
t_cold=$(elapsed "$t0" "$(now)")

# qmpbackup 0.67 itself, side by side (never part of this repository: QMPBACKUP_067 names a checkout
# of it, QEMU_QMP_PYTHONPATH the folder holding QEMU's python/qemu; see ../shared/QMPBACKUP-REFERENCE.md).
# Each tool runs twice in a QEMU process of its own: its first backup there (fresh) and a second
# one (warm), so both meet the same state; ours copies (--level copy: the same job, no bitmap).
theirs() {
  rm -rf "$work/theirs"; sync
  local t0; t0=$(now)
  PYTHONPATH="${QEMU_QMP_PYTHONPATH:-}" /usr/bin/python3 "$QMPBACKUP_067/qmpbackup" --socket "$work/qmp.sock" \
    backup --level full --target "$work/theirs" > "$work/theirs.log" 2>&1
  sync -f "$work/theirs"
  elapsed "$t0" "$(now)"
}
# its chain bitmap goes, so that each of its fulls starts alike (outside the timing and the CPU count)
theirs_cleanup() {
  "$top/bin/qmpbackup" --socket "$work/qmp.sock" cleanup --remove-bitmap --uuid "$(cat "$work/theirs/uuid")" \
    > /dev/null 2>&1 || true
}
ours_copy() {
  rm -rf "$work/ours"; sync
  local t0; t0=$(now)
  "$top/bin/qmpbackup" --socket "$work/qmp.sock" backup --checksum "${CHECKSUM:-sink}" --level copy \
    --target "$work/ours" > /dev/null
  elapsed "$t0" "$(now)"
}
t_theirs=""
if [ -n "${QMPBACKUP_067:-}" ] && [ -x "${QMPBACKUP_067}/qmpbackup" ]; then
  step "qmpbackup 0.67 full in a fresh QEMU"
  start_qemu; c0=$(qemu_cpu); t_theirs=$(theirs); c_theirs=$(elapsed "$c0" "$(qemu_cpu)"); theirs_cleanup
  step "our copy in a fresh QEMU"
  start_qemu; c0=$(qemu_cpu); t_ours_fresh=$(ours_copy); c_ours_fresh=$(elapsed "$c0" "$(qemu_cpu)")
  # this QEMU has run ours once; one untimed full of theirs warms it for theirs as well
  theirs > /dev/null; theirs_cleanup
  warm_theirs=(); warm_ours=()
  for round in $(seq "${ROUNDS:-3}"); do
    step "warm round $round of ${ROUNDS:-3}: qmpbackup 0.67, then ours"
    warm_theirs+=("$(theirs)"); theirs_cleanup
    warm_ours+=("$(ours_copy)")
  done
  t_theirs_warm=$(median "${warm_theirs[@]}"); t_ours_warm=$(median "${warm_ours[@]}")
  rm -rf "$work/theirs" "$work/ours"
fi

# guest cost: a fixed batch of 64 x 1 MiB guest writes through the device (over data the backup
# has not read yet, so each one waits for copy-before-write), idle and during a full copy
guest_batch() { guest_writes "$1" $(seq 3072 16 $((3072 + 63 * 16))); }
# waits (up to 15 s) until QEMU runs a block job
await_job() {
  for _ in $(seq 300); do
    python3 - "$work/ctl.sock" <<'PY' && return 0
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw"); f.readline()
for cmd in ({"execute": "qmp_capabilities"}, {"execute": "query-jobs"}):
    f.write(json.dumps(cmd) + "\n"); f.flush()
    r = json.loads(f.readline())
    while "event" in r:
        r = json.loads(f.readline())
sys.exit(0 if r.get("return") else 1)
PY
    sleep 0.05
  done
}
step "guest writes, idle and during a copy"
sync
t0=$(now); guest_batch 6a; t_idle=$(elapsed "$t0" "$(now)")
"$top/bin/qmpbackup" --socket "$work/qmp.sock" backup --checksum "${CHECKSUM:-sink}" --level copy --target "$work/during" > "$work/during.log" &
backup_pid=$!
await_job
t0=$(now); guest_batch 6b; t_busy=$(elapsed "$t0" "$(now)")
wait "$backup_pid"
# the same batch during qmpbackup 0.67's full, for comparison (its copy-before-write costs the guest too)
if [ -n "$t_theirs" ]; then
  step "guest writes, idle and during qmpbackup 0.67's full"
  sync
  t0=$(now); guest_batch 6e; t_idle_theirs=$(elapsed "$t0" "$(now)")
  theirs > /dev/null &
  backup_pid=$!
  await_job
  t0=$(now); guest_batch 6f; t_busy_theirs=$(elapsed "$t0" "$(now)")
  wait "$backup_pid"
  theirs_cleanup
fi

# the engine in one long-lived JVM, as the node agent runs it (bench/WarmEngine.java): no JVM start,
# the JIT warm from one untimed copy first; information beside the CLI's numbers, which the goals are
step "the engine in a warm JVM (the node agent's way): a copy to warm it, then a full and an inc"
coproc WARM { java -XX:+UseSerialGC -cp "$top/engine/target/engine.jar:$top/engine/target/lib/*" \
  "$top/bench/WarmEngine.java" "$work/qmp.sock" 2>&1; }
warm() {
  local ans
  echo "$1 $2" >&"${WARM[1]}"
  read -r ans <&"${WARM[0]}"
  case $ans in
    [0-9]*) awk -v ms="$ans" 'BEGIN { printf "%.3f", ms / 1000 }' ;;
    *) echo "bench: warm engine $1 $2: $ans" >&2; return 1 ;;
  esac
}
warm copy "$work/warm0" > /dev/null; sync   # kept: deleting it would slow the next writes (see dd.out)
t_wfull=$(warm full "$work/warm")
dirty_256 7c; sync
t_winc=$(warm inc "$work/warm")
# what the CLI's own start and cold JIT cost: alternating copies of the CLI and the warm engine
cli_copies=(); engine_copies=()
for round in $(seq "${ROUNDS:-3}"); do
  step "copy round $round of ${ROUNDS:-3}: bin/qmpbackup, then the warm engine"
  cli_copies+=("$(ours_copy)")
  rm -rf "$work/wcopy"; sync
  engine_copies+=("$(warm copy "$work/wcopy")")
done
t_cli_copy=$(median "${cli_copies[@]}"); t_engine_copy=$(median "${engine_copies[@]}")
eval "exec ${WARM[1]}>&-"
wait "$WARM_PID" 2>/dev/null || true

# the integrity record's own cost: the engine's chunked SHA-256 of the full's 4 GiB on one thread
step "SHA-256 of 4 GiB on one core (the record's floor)"
t_hash=$(java -cp "$top/engine/target/engine.jar:$top/engine/target/lib/*" "$top/bench/HashRate.java" 4096 \
  | awk '{ printf "%.3f", $1 / 1000 }')
cores=$(nproc)

full_file=$(ls "$work"/backup/disk.qcow2/FULL-*)
printf '\n%-34s %8s\n' "step" "seconds"
printf '%-34s %8.2f\n' "dd 4 GiB O_DIRECT (baseline)" "$t_dd"
printf '%-34s %8.2f   (%s bytes; %s; QEMU CPU %s s)\n' "qmpbackup full (4 GiB data)" "$t_full" "$(stat -c %s "$full_file")" "$(split "$work/full.log")" "$c_full"
printf '%-34s %8.2f   (%s bytes; %s)\n' "qmpbackup inc (256 MiB changed)" "$t_inc" "$(stat -c %s "$inc_file")" "$(split "$work/inc.log")"
printf '%-34s %8.2f   (%s)\n' "qmpbackup full-cold (cache dropped)" "$t_cold" "$(split "$work/cold.log")"
printf '%-34s %8.2f   (best of 3; same -W -m 16 -T none -t none as merge)\n' "qemu-img convert FULL alone" "$t_convert"
printf '%-34s %8.2f   (best of 3; FULL + %s INC, whole process)\n' "qmprestore merge" "$t_merge" "$(ls "$work"/backup/disk.qcow2/INC-* | wc -l)"
if [ -n "$t_theirs" ]; then
  printf '%-34s %8.2f   (its first full in a fresh QEMU, until synced; QEMU CPU %s s)\n' "qmpbackup 0.67 full, fresh" "$t_theirs" "$c_theirs"
  printf '%-34s %8.2f   (median of %s alternating rounds in one warm QEMU: %s)\n' "qmpbackup 0.67 full, warm" \
    "$t_theirs_warm" "${ROUNDS:-3}" "${warm_theirs[*]}"
  printf '%-34s %8.2f   (ours, first in another fresh QEMU; QEMU CPU %s s)\n' "qmpbackup copy, fresh" "$t_ours_fresh" "$c_ours_fresh"
  printf '%-34s %8.2f   (ours, median of the same rounds: %s)\n' "qmpbackup copy, warm" "$t_ours_warm" \
    "${warm_ours[*]}"
fi
printf '\nratio full/dd  = %s  (goal <= 1.25)\n' "$(ratio "$t_full" "$t_dd")"
if [ -n "$t_theirs" ]; then
  printf 'ratio ours/qmpbackup-0.67 fresh = %s, warm = %s  (goal <= 0.9)\n' "$(ratio "$t_ours_fresh" "$t_theirs")" \
    "$(ratio "$t_ours_warm" "$t_theirs_warm")"
fi
printf 'ratio inc/full = %s  (goal <= 0.15)\n' "$(ratio "$t_inc" "$t_full")"
printf 'ratio merge/convert = %s  (goal <= 1.10)\n' "$(ratio "$t_merge" "$t_convert")"
printf 'ratio full-cold/dd = %s  (information: source and target share one device)\n' "$(ratio "$t_cold" "$t_dd")"
# CPU seconds over cores: no run doing the same work can take less wall time on this machine
printf 'CPU of the full: JVM %s s + QEMU %s s on %s cores = at least %.2f s of wall time; the full took %.2f s\n' \
  "$j_full" "$c_full" "$cores" "$(awk -v a="$j_full" -v b="$c_full" -v n="$cores" 'BEGIN { print (a + b) / n }')" "$t_full"
printf 'CPU of the inc:  JVM %s s + QEMU %s s on %s cores = at least %.2f s of wall time; the inc took %.2f s\n' \
  "$j_inc" "$c_inc" "$cores" "$(awk -v a="$j_inc" -v b="$c_inc" -v n="$cores" 'BEGIN { print (a + b) / n }')" "$t_inc"
printf 'SHA-256 of 4 GiB on one core        %.2f s   (bench/HashRate.java: the record alone, steady JIT)\n' "$t_hash"
printf 'ratio CPU floor/dd = %s, SHA-256 alone/dd = %s  (information: the full/dd goal is out of reach of this\n' \
  "$(awk -v a="$j_full" -v b="$c_full" -v n="$cores" -v d="$t_dd" 'BEGIN { printf "%.3f", (a + b) / n / d }')" \
  "$(ratio "$t_hash" "$t_dd")"
printf '  work on this machine when the first is over 1.25)\n'
# full <= 1.25 dd and inc <= 0.15 full together ask for inc <= 0.1875 dd
printf 'ratio inc CPU floor/dd = %s  (information: both goals at once need an inc <= 0.1875 x dd, %.2f s here)\n' \
  "$(awk -v a="$j_inc" -v b="$c_inc" -v n="$cores" -v d="$t_dd" 'BEGIN { printf "%.3f", (a + b) / n / d }')" \
  "$(awk -v d="$t_dd" 'BEGIN { print 0.1875 * d }')"
printf '%-34s %8.2f   (64 x 1 MiB through the device, idle)\n' "guest writes idle" "$t_idle"
printf '%-34s %8.2f   (the same batch during a full copy)\n' "guest writes during a backup" "$t_busy"
printf 'ratio guest throughput during/idle = %s  (goal >= 0.5)\n' "$(ratio "$t_idle" "$t_busy")"
if [ -n "$t_theirs" ]; then
  printf 'ratio guest throughput during/idle with qmpbackup 0.67 = %s  (information: %.2f s idle, %.2f s during)\n' \
    "$(ratio "$t_idle_theirs" "$t_busy_theirs")" "$t_idle_theirs" "$t_busy_theirs"
fi
printf '%-34s %8.2f   (bench/WarmEngine.java: one JVM, after an untimed copy)\n' "engine in a warm JVM: full" "$t_wfull"
printf '%-34s %8.2f   (256 MiB changed, the same JVM)\n' "engine in a warm JVM: inc" "$t_winc"
printf 'ratio warm engine full/dd = %s, inc/full = %s  (information: the node agent'"'"'s way)\n' \
  "$(ratio "$t_wfull" "$t_dd")" "$(ratio "$t_winc" "$t_wfull")"
printf '%-34s %8.2f   (median of %s alternating rounds: %s; bin/qmpbackup %s)\n' "engine in a warm JVM: copy" \
  "$t_engine_copy" "${ROUNDS:-3}" "${engine_copies[*]}" "${cli_copies[*]}"
printf 'ratio warm engine copy/bin/qmpbackup copy = %s  (information: what the JVM start and a cold JIT cost)\n' \
  "$(ratio "$t_engine_copy" "$t_cli_copy")"
