#!/usr/bin/env bash
# The main job, end to end: sets up, starts a throwaway VM (QEMU in prelaunch mode with a
# 256 MiB qcow2 disk), writes data through the guest device, takes a full and an incremental
# backup with bin/qmpbackup, restores the chain with bin/qmprestore merge into a new image and
# checks it byte for byte against the live disk.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/scripts/setup.sh"

work=$(mktemp -d /tmp/qmpbackup-demo.XXXXXX)
qemu_pid=""
cleanup() {
  [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n==> %s\n' "$*"; }

step "throwaway VM in $work"
qemu-img create -q -f qcow2 "$work/disk1.qcow2" 256M
qemu-system-x86_64 -S -machine q35 -accel tcg -display none -nodefaults -m 64 -name demo-vm \
  -qmp "unix:$work/qmp.sock,server=on,wait=off" -qmp "unix:$work/ctl.sock,server=on,wait=off" \
  -blockdev "driver=file,filename=$work/disk1.qcow2,node-name=disk1-file" \
  -blockdev "driver=qcow2,file=disk1-file,node-name=disk1" \
  -device virtio-blk-pci,drive=disk1,id=vda &
qemu_pid=$!
for _ in $(seq 100); do [ -S "$work/ctl.sock" ] && break; sleep 0.1; done

# guest writes go through the device, as a guest's would (HMP qemu-io over a second QMP socket)
guest_write() {
  python3 "$top/scripts/hmp.py" "$work/ctl.sock" \
    "qemu-io -d /machine/peripheral/vda/virtio-backend \"$1\"" \
    'qemu-io -d /machine/peripheral/vda/virtio-backend "flush"'
}

step "guest writes 32 MiB"
guest_write "write -P 0x11 0 32M"
step "full backup"
"$top/bin/qmpbackup" --socket "$work/qmp.sock" backup --level full --target "$work/backup"
step "guest writes 4 MiB more"
guest_write "write -P 0x22 64M 4M"
step "incremental backup"
"$top/bin/qmpbackup" --socket "$work/qmp.sock" backup --level inc --target "$work/backup"

step "verify the chain, restore it with qmprestore merge, compare with the live disk"
ls -l "$work/backup/disk1.qcow2"
"$top/bin/qmprestore" verify --dir "$work/backup/disk1.qcow2"
"$top/bin/qmprestore" merge --dir "$work/backup/disk1.qcow2" --targetfile "$work/restored.qcow2"
qemu-img compare -U "$work/disk1.qcow2" "$work/restored.qcow2"
qemu-io -f qcow2 -r -c "read -P 0x22 64M 4M" "$work/restored.qcow2" | tail -n1
echo
echo "demo: OK - full + incremental backup of a live VM restored byte for byte"
