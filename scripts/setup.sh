#!/usr/bin/env bash
# Installs what the engine and its tests need on Debian (QEMU, qemu-img, qemu-storage-daemon, qemu-ga,
# e2fsprogs, cpio, swtpm, openssl) when missing, and builds the project (bin/qmpbackup runs the packaged jar).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null && command -v qemu-nbd >/dev/null || need+=(qemu-utils)
# qemu-storage-daemon serves restore-point exports (qmprestore export, VMRestore mode export)
command -v qemu-storage-daemon >/dev/null || need+=(qemu-system-common)
command -v setpriv >/dev/null || need+=(util-linux)
[ -x /usr/sbin/qemu-ga ] || need+=(qemu-guest-agent)
command -v mkfs.ext4 >/dev/null && command -v dumpe2fs >/dev/null || need+=(e2fsprogs)
command -v cpio >/dev/null || need+=(cpio)
command -v swtpm >/dev/null || need+=(swtpm)
command -v swtpm_setup >/dev/null || need+=(swtpm-tools)
command -v python3 >/dev/null || need+=(python3)
# the README's faster check of a folder's chunk record (and its test) runs openssl dgst
command -v openssl >/dev/null || need+=(openssl)
command -v java >/dev/null || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || need+=(maven)

if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root to install ${need[*]}: run as root, or install them" >&2; exit 1; }
    sudo=sudo
  fi
  echo "setup: installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

qemu-system-x86_64 --version | head -n1
cd "$top"
mvn -q -B -DskipTests package
bash "$top/scripts/cds.sh"
echo "setup: built $top/engine/target/engine.jar (bin/qmpbackup, bin/qmprestore) and the agent and operator"
