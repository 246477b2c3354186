#!/usr/bin/env bash
# Builds a tiny Linux guest for tests that need a real QEMU guest agent:
#   OUTDIR/kernel      Debian's kernel (uncompressed ELF with PVH entry when it
#                      can be extracted, otherwise the bzImage itself)
#   OUTDIR/initrd.img  gzip'ed newc cpio: busybox, virtio/ext4 modules, the host's
#                      qemu-ga with its libraries, and an /init that mounts
#                      /dev/vda at /data, runs a writer loop on /data/ticks and
#                      then qemu-ga on /dev/virtio-ports/org.qemu.guest_agent.0
#   OUTDIR/stamp       what the files were built from; a matching stamp skips work
#
# Boot with: -kernel OUTDIR/kernel -initrd OUTDIR/initrd.img
#            -append "console=ttyS0 panic=-1 quiet"
#
# Packages are fetched with `apt-get download` (nothing is installed). Safe to run
# concurrently: a lock serialises builders, files are built in a temporary folder
# and renamed into place. Prints OUTDIR on success; fails with a message otherwise.
set -euo pipefail

die() { echo "build-test-guest: ERROR: $*" >&2; exit 1; }
log() { echo "build-test-guest: $*" >&2; }

[ $# -eq 1 ] && [ -n "$1" ] || die "usage: $0 OUTDIR"

# Kernel modules the guest loads, in load order (each one's dependencies first).
# crc32c_generic is only a soft dependency of ext4/jbd2, so it is listed explicitly.
MODULES="virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio virtio_pci
virtio_blk virtio_console crc32c_generic jbd2 mbcache crc16 ext4"
MODULES=$(echo $MODULES)
QGA=/usr/sbin/qemu-ga

for tool in apt-get apt-cache dpkg-deb cpio gzip ldd find sha256sum od; do
    command -v "$tool" >/dev/null 2>&1 || die "required tool '$tool' not found on PATH"
done
[ -x "$QGA" ] || die "$QGA not found: install the host package qemu-guest-agent"

mkdir -p "$1" || die "cannot create $1"
OUTDIR=$(cd "$1" && pwd -P)

if command -v flock >/dev/null 2>&1; then
    exec 9>"$OUTDIR/.lock"
    flock -w 900 9 || die "timed out waiting for the lock on $OUTDIR/.lock"
fi

# --- which packages ------------------------------------------------------------

pkg_version() { # candidate version of a package, empty when apt-cache does not know it
    apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n1
}

resolve() {
    KPKG=$(apt-cache show --no-all-versions linux-image-amd64 2>/dev/null \
        | sed -n 's/^Depends: //p' | head -n1 | tr ',|' '\n\n' \
        | sed -e 's/^ *//' -e 's/ .*//' | grep -E '^linux-image-[0-9]' | head -n1 || true)
    KVER=""; BBVER=""
    [ -n "$KPKG" ] && KVER=$(pkg_version "$KPKG")
    BBVER=$(pkg_version busybox-static)
    [ -n "$KPKG" ] && [ -n "$KVER" ] && [ -n "$BBVER" ]
}

apt_update() {
    [ "$(id -u)" -eq 0 ] || die "apt-cache lacks $1 and only root can run 'apt-get update'; run it once as root"
    log "apt-cache lacks $1: running apt-get update"
    apt-get update -qq >&2 || die "apt-get update failed"
}

if ! resolve; then
    apt_update "linux-image-amd64 / its kernel package / busybox-static"
    resolve || die "cannot resolve packages after apt-get update (linux-image-amd64 -> '${KPKG:-?}' '${KVER:-?}', busybox-static '${BBVER:-?}')"
fi

SCRIPT_SUM=$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)
QGA_SUM=$(sha256sum "$QGA" | cut -d' ' -f1)
make_stamp() {
    STAMP="kernel-package=$KPKG $KVER
busybox-static=$BBVER
qemu-ga=$QGA_SUM
script=$SCRIPT_SUM"
}
make_stamp

if [ -s "$OUTDIR/kernel" ] && [ -s "$OUTDIR/initrd.img" ] && [ -f "$OUTDIR/stamp" ] \
        && [ "$(cat "$OUTDIR/stamp")" = "$STAMP" ]; then
    echo "$OUTDIR"
    exit 0
fi

log "building test guest in $OUTDIR ($KPKG $KVER, busybox-static $BBVER)"
WORK=$(mktemp -d "$OUTDIR/.build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# --- download and extract --------------------------------------------------------

mkdir -p "$WORK/debs"
APT_OPTS=()
[ "$(id -u)" -eq 0 ] && APT_OPTS+=(-o APT::Sandbox::User=root)
download() {
    (cd "$WORK/debs" && apt-get download -q "${APT_OPTS[@]}" "$KPKG=$KVER" "busybox-static=$BBVER" >&2)
}
if ! download; then
    # The package lists may name versions the mirror no longer has.
    apt_update "a downloadable $KPKG"
    resolve || die "cannot resolve packages after apt-get update"
    make_stamp
    rm -f "$WORK"/debs/*.deb
    download || die "apt-get download of $KPKG=$KVER busybox-static=$BBVER failed"
fi
KDEB=$(ls "$WORK"/debs/"${KPKG}"_*.deb 2>/dev/null | head -n1 || true)
BBDEB=$(ls "$WORK"/debs/busybox-static_*.deb 2>/dev/null | head -n1 || true)
[ -n "$KDEB" ] || die "apt-get download produced no $KPKG .deb"
[ -n "$BBDEB" ] || die "apt-get download produced no busybox-static .deb"

dpkg-deb -x "$KDEB" "$WORK/k" || die "dpkg-deb -x $KDEB failed"
dpkg-deb -x "$BBDEB" "$WORK/bb" || die "dpkg-deb -x $BBDEB failed"

BZIMAGE=$(ls "$WORK"/k/boot/vmlinuz-* 2>/dev/null | head -n1 || true)
[ -n "$BZIMAGE" ] || die "$KPKG contains no boot/vmlinuz-*"
KREL=${BZIMAGE##*/vmlinuz-}
MODDIR="$WORK/k/lib/modules/$KREL"
[ -d "$MODDIR" ] || die "$KPKG contains no lib/modules/$KREL"
BUSYBOX="$WORK/bb/bin/busybox"
[ -x "$BUSYBOX" ] || die "busybox-static contains no executable bin/busybox"

# --- kernel: uncompressed ELF from the bzImage payload when possible ---------------

u32() { od -An -t u4 -j "$2" -N 4 "$1" | tr -d ' '; }
u8() { od -An -t u1 -j "$2" -N 1 "$1" | tr -d ' '; }

# Extracts the ELF vmlinux from a bzImage (boot protocol >= 2.08: payload_offset at
# 0x248 and payload_length at 0x24c, relative to the protected-mode code, which
# starts after (setup_sects + 1) sectors). Returns non-zero if anything is odd.
extract_vmlinux() {
    local img=$1 out=$2 ss po pl off magic size
    [ "$(od -An -c -j $((0x202)) -N 4 "$img" | tr -d ' ')" = "HdrS" ] || return 1
    ss=$(u8 "$img" $((0x1f1))); [ "$ss" -eq 0 ] && ss=4
    po=$(u32 "$img" $((0x248))); pl=$(u32 "$img" $((0x24c)))
    off=$(( (ss + 1) * 512 + po ))
    [ "$pl" -gt 0 ] && [ $((off + pl)) -le "$(stat -c %s "$img")" ] || return 1
    magic=$(od -An -t x1 -j "$off" -N 6 "$img" | tr -d ' \n')
    local -a dec
    case "$magic" in
        fd377a585a00*) dec=(xz -dc --single-stream) ;;
        1f8b*)         dec=(gzip -dc) ;;
        28b52ffd*)     dec=(zstd -dcq) ;;
        5d0000*)       dec=(xz -dc --format=lzma) ;;
        425a68*)       dec=(bzip2 -dc) ;;
        02214c18*)     dec=(lz4 -dc) ;;
        *) return 1 ;;
    esac
    command -v "${dec[0]}" >/dev/null 2>&1 || return 1
    # The payload ends with the uncompressed size (32-bit little endian).
    size=$(u32 "$img" $((off + pl - 4)))
    tail -c +$((off + 1)) "$img" | head -c "$pl" | "${dec[@]}" > "$out" 2>/dev/null || true
    [ "$(stat -c %s "$out")" -eq "$size" ] || return 1
    [ "$(od -An -c -N 4 "$out" | tr -d ' ')" = "177ELF" ] || return 1
}

if extract_vmlinux "$BZIMAGE" "$WORK/kernel"; then
    KERNEL_KIND="ELF vmlinux (PVH entry) from $KPKG $KVER"
else
    log "could not extract the ELF vmlinux; using the bzImage (boots ~3 s slower)"
    cp "$BZIMAGE" "$WORK/kernel"
    KERNEL_KIND="bzImage from $KPKG $KVER"
fi

# --- initramfs tree ----------------------------------------------------------------

R="$WORK/root"
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,lib/modules,lib64,etc,proc,sys,dev,run,tmp,data,root,var}
ln -s ../run "$R/var/run"
chmod 1777 "$R/tmp"

cp "$BUSYBOX" "$R/bin/busybox"
"$BUSYBOX" --list-full > "$WORK/applets" || die "busybox --list-full failed"
# The links are relative to the tree's root: an absolute /bin/busybox link would, when tested
# on the host, follow the host's own /bin/busybox, which a fresh machine does not have. Every
# test below looks at the tree only (-L, the applet list, the tree's own busybox), never the host.
while read -r applet; do
    [ -n "$applet" ] && [ ! -e "$R/$applet" ] && [ ! -L "$R/$applet" ] || continue
    up=$(dirname "$applet" | sed -e 's|^/||' -e 's|[^/][^/]*|..|g')
    ln -s "$up/bin/busybox" "$R/$applet"
done < "$WORK/applets"
for applet in /bin/sh /sbin/insmod /bin/mount; do
    grep -qx "${applet#/}" "$WORK/applets" && [ -L "$R$applet" ] \
        || die "busybox-static $BBVER has no $applet applet: the guest cannot boot without it"
    [ "$(cd "$(dirname "$R$applet")" && readlink -f "$(basename "$applet")")" = "$(readlink -f "$R/bin/busybox")" ] \
        || die "$R$applet does not resolve to the tree's own busybox"
done
"$R/bin/busybox" sh -c true || die "the busybox from busybox-static does not run on this host"

# qemu-ga's guest-shutdown runs "/sbin/shutdown -P|-H|-r +0 message".
rm -f "$R/sbin/shutdown"
cat > "$R/sbin/shutdown" <<'EOF'
#!/bin/sh
sync
case "$1" in
    -r) exec /bin/busybox reboot -f ;;
    -H) exec /bin/busybox halt -f ;;
    *)  exec /bin/busybox poweroff -f ;;
esac
EOF
chmod 755 "$R/sbin/shutdown"

printf 'root:x:0:0:root:/root:/bin/sh\n' > "$R/etc/passwd"
printf 'root:x:0:\n' > "$R/etc/group"

# Modules: flat in /lib/modules/NAME.ko; check each one's dependencies come first.
loaded=" "
for m in $MODULES; do
    f=$(find "$MODDIR" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" -o -name "$m.ko.gz" | head -n1)
    [ -n "$f" ] || die "module $m not found in $KPKG ($MODDIR)"
    case "$f" in
        *.ko)     cp "$f" "$R/lib/modules/$m.ko" ;;
        *.ko.xz)  xz -dc "$f" > "$R/lib/modules/$m.ko" ;;
        *.ko.zst) zstd -dcq "$f" > "$R/lib/modules/$m.ko" ;;
        *.ko.gz)  gzip -dc "$f" > "$R/lib/modules/$m.ko" ;;
    esac || die "cannot copy/decompress module $f"
    deps=$(tr '\0' '\n' < "$R/lib/modules/$m.ko" | sed -n 's/^depends=//p' | head -n1 | tr ',' ' ')
    for d in $deps; do
        case "$loaded" in *" $d "*) ;; *) die "module $m depends on $d, which is not loaded before it; update MODULES in $0" ;; esac
    done
    loaded="$loaded$m "
done

# qemu-ga, its libraries and the dynamic loader, at their host paths.
copy_host_file() {
    mkdir -p "$R$(dirname "$1")"
    cp -L "$1" "$R$1" || die "cannot copy $1"
}
copy_host_file "$QGA"
LDD_OUT=$(ldd "$QGA") || die "ldd $QGA failed"
if echo "$LDD_OUT" | grep -q 'not found'; then
    die "ldd $QGA reports missing libraries: $(echo "$LDD_OUT" | grep 'not found' | tr '\n' ' ')"
fi
nlibs=0
while read -r lib; do
    [ -n "$lib" ] || continue
    copy_host_file "$lib"
    nlibs=$((nlibs + 1))
done < <(echo "$LDD_OUT" | sed -n -e 's/.*=> \(\/[^ ]*\) (0x.*/\1/p' -e 's/^[[:space:]]*\(\/[^ ]*\) (0x.*/\1/p' | sort -u)
[ "$nlibs" -gt 1 ] || die "found no libraries for $QGA in ldd output"
INTERP=$(echo "$LDD_OUT" | sed -n 's/^[[:space:]]*\(\/[^ ]*ld-linux[^ ]*\) (0x.*/\1/p' | head -n1)
[ -n "$INTERP" ] && [ -e "$R$INTERP" ] || die "dynamic loader of $QGA not found in ldd output"
if [ "$(id -u)" -eq 0 ] && command -v chroot >/dev/null 2>&1; then
    chroot "$R" /usr/sbin/qemu-ga -V >/dev/null 2>&1 \
        || die "qemu-ga does not run inside the initramfs tree (missing library?)"
    chroot "$R" /bin/sh -c 'test -x /sbin/insmod && test -x /bin/mount && /bin/true' >/dev/null 2>&1 \
        || die "busybox applets do not run inside the initramfs tree (broken links?)"
fi

cat > "$R/init" <<EOF
#!/bin/sh
MODULES="$MODULES"
EOF
cat >> "$R/init" <<'EOF'
# Test guest init: modules, /data on /dev/vda, a writer loop, then qemu-ga.
export PATH=/sbin:/bin:/usr/sbin:/usr/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /dev/pts /dev/shm /dev/virtio-ports /run/qga
exec </dev/console >/dev/console 2>&1
say() { echo "test-guest: $*"; }
fail() { echo "test-guest: ERROR: $*"; }

for m in $MODULES; do
    insmod "/lib/modules/$m.ko" || fail "insmod $m failed"
done

# No udev: link /dev/virtio-ports/NAME to the port devices (ports appear asynchronously).
AGENT=/dev/virtio-ports/org.qemu.guest_agent.0
i=0
while :; do
    for p in /sys/class/virtio-ports/vport*; do
        [ -f "$p/name" ] || continue
        name=$(cat "$p/name")
        [ -n "$name" ] && [ ! -e "/dev/virtio-ports/$name" ] && ln -s "../${p##*/}" "/dev/virtio-ports/$name"
    done
    [ -e "$AGENT" ] && break
    i=$((i + 1))
    [ $i -ge 100 ] && { fail "no virtio port org.qemu.guest_agent.0 after 10 s"; break; }
    sleep 0.1
done

if [ -e /sys/block/vda ]; then
    if mount -t ext4 /dev/vda /data; then
        say "mounted /dev/vda on /data"
        (
            n=0
            while :; do
                n=$((n + 1))
                read -r up _ < /proc/uptime
                echo "$n $(date +%s) $up" >> /data/ticks
                sync
                sleep 0.1
            done
        ) &
    else
        fail "mount -t ext4 /dev/vda /data failed"
    fi
else
    say "no /dev/vda: no /data"
fi

say "starting qemu-ga"
qemu-ga -m virtio-serial -p "$AGENT" -t /run/qga
fail "qemu-ga exited with status $?"
sync
poweroff -f
EOF
chmod 755 "$R/init"

(cd "$R" && find . -mindepth 1 -print0 | LC_ALL=C sort -z \
    | cpio --null -o -H newc -R 0:0 --quiet) | gzip -6 > "$WORK/initrd.img" \
    || die "cannot create the initramfs archive"
[ -s "$WORK/initrd.img" ] || die "initramfs archive is empty"

printf '%s\n' "$STAMP" > "$WORK/stamp"
{
    echo "kernel: $KERNEL_KIND ($KREL)"
    echo "busybox-static: $BBVER"
    echo "qemu-ga: $($QGA -V 2>/dev/null | head -n1)"
    echo "modules: $MODULES"
    echo "cmdline: console=ttyS0 panic=-1 quiet"
} > "$WORK/info"

# Publish: stamp goes last, so a half-replaced set never looks up to date.
rm -f "$OUTDIR/stamp"
mv -f "$WORK/kernel" "$OUTDIR/kernel"
mv -f "$WORK/initrd.img" "$OUTDIR/initrd.img"
mv -f "$WORK/info" "$OUTDIR/info"
mv -f "$WORK/stamp" "$OUTDIR/stamp"
log "done: $(head -n1 "$OUTDIR/info")"
echo "$OUTDIR"
