#!/usr/bin/env bash
# tests/images/build-golden-debian.sh — build (or reuse) a small real Debian "golden image" for
# the deploy tests: what a volunteer would capture from a reference machine.
#
# usage: sudo tests/images/build-golden-debian.sh        # prints the cache directory
#
# The image is a 1 GiB sparse raw disk: a GPT with one partition (ext4 root) holding Debian 12
# (bookworm) installed by `mmdebstrap --variant=minbase` with systemd-sysv, udev, openssh-server,
# network-manager, linux-image-amd64 and e2fsprogs, plus the per-machine state a used system
# carries and a deployment must reset: a machine-id (and its D-Bus copy), SSH host keys (made by
# openssh-server's own postinst), a saved NetworkManager connection, persistent udev network
# rules, a random seed and a host name. The kernel and initramfs are copied next to the image
# for direct kernel boot (`qemu -kernel/-initrd`, `root=/dev/vda1`).
#
# Cache: $ATELIER_TEST_CACHE (default /var/cache/atelier-test)/golden-debian-<key>/, where <key>
# is the SHA-256 of this script (which holds the package list and every build step), so any
# change rebuilds and an unchanged script reuses the image across runs. The directory holds:
#   golden.img        the disk image (sparse)
#   golden.img.bmap   its block map (bmaptool create)
#   golden.img.sha256 `sha256sum` line of the image
#   vmlinuz, initrd.img  the image's own kernel and initramfs
#   info              key=value facts (kernel version, file system UUID, sizes, build time)
# A build runs under a lock (concurrent callers wait and reuse it) in a temporary directory that is
# renamed into place only when complete. Needs root, mmdebstrap, sgdisk, mkfs.ext4 (with -d),
# bmaptool; reaches only the Debian archive ($ATELIER_DEBIAN_MIRROR, default deb.debian.org).
# Measured on the 2-core CI machine: see tests/vm/README.md ("Scenario boot-golden").
set -euo pipefail

# Everything that defines the image is in this file: its hash is the cache key.
SUITE=bookworm
PACKAGES=(systemd-sysv udev openssh-server network-manager linux-image-amd64 e2fsprogs)
IMAGE_MIB=1024
FS_UUID=6a1f3c2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b
FS_LABEL=golden-root
REFERENCE_HOSTNAME=golden-reference

cache_root=${ATELIER_TEST_CACHE:-/var/cache/atelier-test}
mirror=${ATELIER_DEBIAN_MIRROR:-http://deb.debian.org/debian}
self=$(realpath "${BASH_SOURCE[0]}")
key=$(sha256sum "$self" | cut -c1-16)
out=$cache_root/golden-debian-$key

log() { printf '[golden-debian] %s\n' "$*" >&2; }
die() { printf '[golden-debian] ERROR: %s\n' "$*" >&2; exit 1; }

complete() {
  [[ -s $1/golden.img && -s $1/vmlinuz && -s $1/initrd.img && -s $1/golden.img.bmap &&
     -s $1/info ]]
}

if complete "$out"; then
  log "cached: $out"
  printf '%s\n' "$out"
  exit 0
fi

[[ $(id -u) -eq 0 ]] || die "must run as root (mmdebstrap in root mode, device nodes in the tree)"
for t in mmdebstrap sgdisk mkfs.ext4 e2fsck bmaptool partx sha256sum; do
  command -v "$t" >/dev/null || die "$t is missing: run scripts/setup.sh (as root)"
done

mkdir -p "$cache_root"
exec 9>"$cache_root/.golden-debian.lock"
flock 9
# Another caller may have built it while this one waited for the lock.
if complete "$out"; then
  log "cached (built by another run): $out"
  printf '%s\n' "$out"
  exit 0
fi

t0=$(date +%s.%N)
work=$(mktemp -d "$cache_root/.build-$key.XXXXXX")
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
tree=$work/root
mkdir -p "$tree"

# Downloaded packages are kept in $cache_root/debs (mmdebstrap's sync-in / sync-out), so a
# change to this script rebuilds without downloading everything again.
debs=$cache_root/debs
mkdir -p "$debs"
log "mmdebstrap $SUITE minbase + ${PACKAGES[*]} (from $mirror)"
include=$(IFS=,; printf '%s' "${PACKAGES[*]}")
# shellcheck disable=SC2016  # the hooks' "$1" is expanded by mmdebstrap, not here
mmdebstrap --mode=root --variant=minbase --include="$include" \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --skip=download/empty \
  --setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
  --setup-hook="sync-in $debs /var/cache/apt/archives/" \
  --customize-hook="sync-out /var/cache/apt/archives $debs" \
  --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/cache/apt/*.bin "$1"/var/lib/apt/lists/*' \
  "$SUITE" "$tree" "$mirror" >"$work/mmdebstrap.log" 2>&1 ||
  { tail -n 30 "$work/mmdebstrap.log" >&2; die "mmdebstrap failed (log above)"; }
t_strap=$(date +%s.%N)

# --- The reference machine's own state (what a deployment must reset) -------------------------
kdirs=("$tree"/lib/modules/*)
kver=${kdirs[0]##*/}
[[ -f $tree/boot/vmlinuz-$kver && -f $tree/boot/initrd.img-$kver ]] ||
  die "no kernel/initramfs for $kver in the tree"
ls "$tree"/etc/ssh/ssh_host_*_key >/dev/null 2>&1 || die "openssh-server made no host keys"

echo "$REFERENCE_HOSTNAME" >"$tree/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
  "$REFERENCE_HOSTNAME" >"$tree/etc/hosts"
printf 'UUID=%s\t/\text4\terrors=remount-ro\t0\t1\n' "$FS_UUID" >"$tree/etc/fstab"
# A machine-id as the reference machine had one (32 lowercase hex digits), and D-Bus's copy.
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$tree/etc/machine-id"
echo >>"$tree/etc/machine-id"
chmod 444 "$tree/etc/machine-id"
mkdir -p "$tree/var/lib/dbus"
rm -f "$tree/var/lib/dbus/machine-id"
cp "$tree/etc/machine-id" "$tree/var/lib/dbus/machine-id"
mkdir -p "$tree/var/lib/systemd"
head -c 512 /dev/urandom >"$tree/var/lib/systemd/random-seed"
chmod 600 "$tree/var/lib/systemd/random-seed"
# A saved Wi-Fi connection with its key, as NetworkManager writes one (keyfile format).
mkdir -p "$tree/etc/NetworkManager/system-connections"
cat >"$tree/etc/NetworkManager/system-connections/Atelier-Wifi.nmconnection" <<'EOF'
[connection]
id=Atelier-Wifi
uuid=3f1b6a52-8d1e-4c3a-9b7e-2a4c6d8e0f11
type=wifi
interface-name=wlp2s0

[wifi]
mode=infrastructure
ssid=Atelier-Wifi

[wifi-security]
key-mgmt=wpa-psk
psk=reference-machine-secret

[ipv4]
method=auto

[ipv6]
method=auto
EOF
chmod 600 "$tree/etc/NetworkManager/system-connections/Atelier-Wifi.nmconnection"
mkdir -p "$tree/etc/udev/rules.d"
cat >"$tree/etc/udev/rules.d/70-persistent-net.rules" <<'EOF'
# Written on the reference machine: its network card keeps the name eth0.
SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="52:54:00:12:34:56", ATTR{dev_id}=="0x0", ATTR{type}=="1", NAME="eth0"
EOF
# The reference machine's settings, as an installed system has them (systemd-firstboot asks
# for none of them on the deployed machine's first boot).
echo 'LANG=C.UTF-8' >"$tree/etc/locale.conf"
ln -sf /usr/share/zoneinfo/Etc/UTC "$tree/etc/localtime"
echo 'Etc/UTC' >"$tree/etc/timezone"

cp "$tree/boot/vmlinuz-$kver" "$work/vmlinuz"
cp "$tree/boot/initrd.img-$kver" "$work/initrd.img"
used_kib=$(du -sxk "$tree" | cut -f1)
# The reference machine's identity, so a test can check that deployed machines do not share it.
ref_machine_id=$(cat "$tree/etc/machine-id")
ref_ssh=$(for k in "$tree"/etc/ssh/ssh_host_*_key.pub; do
  chroot "$tree" ssh-keygen -lf "/etc/ssh/${k##*/}" | awk '{print $2}'; done |
  sort | tr '\n' ' ')

# --- The disk image: GPT, partition 1 = ext4 root filling the disk ---------------------------
img=$work/golden.img
truncate -s "${IMAGE_MIB}M" "$img"
# (8304: Linux x86-64 root in the Discoverable Partitions Specification; sgdisk's -q would
# not write the table on a blank file, so its chatter goes to /dev/null instead.)
sgdisk -n 1:2048:0 -t 1:8304 -c 1:root "$img" >/dev/null
read -r start sectors < <(partx -g -o START,SECTORS -n 1 "$img")
mkfs.ext4 -q -F -L "$FS_LABEL" -U "$FS_UUID" -E "offset=$((start * 512))" -d "$tree" \
  "$img" "$((sectors / 2))k"
sgdisk -v "$img" | grep -q 'No problems found' || die "sgdisk -v finds problems in the image"
bmaptool -q create -o "$img.bmap" "$img"
(cd "$work" && sha256sum golden.img >golden.img.sha256)
t_end=$(date +%s.%N)

cat >"$work/info" <<EOF
suite=$SUITE
packages=${PACKAGES[*]}
kernel=$kver
fs_uuid=$FS_UUID
image_bytes=$(stat -c %s "$img")
image_allocated_bytes=$(( $(stat -c %b "$img") * $(stat -c %B "$img") ))
tree_kib=$used_kib
reference_hostname=$REFERENCE_HOSTNAME
reference_machine_id=$ref_machine_id
reference_ssh_fingerprints=${ref_ssh% }
mmdebstrap_seconds=$(awk -v a="$t0" -v b="$t_strap" 'BEGIN { printf "%.1f", b - a }')
build_seconds=$(awk -v a="$t0" -v b="$t_end" 'BEGIN { printf "%.1f", b - a }')
built=$(date -u +%Y-%m-%dT%H:%M:%SZ)
EOF
rm -rf "$tree" "$work/mmdebstrap.log"
trap - EXIT
rm -rf "$out"
mv "$work" "$out"
# Older builds (other keys) are removed: one image is enough.
for old in "$cache_root"/golden-debian-*; do
  [[ $old == "$out" ]] || rm -rf "$old"
done
log "built in $(awk -v a="$t0" -v b="$t_end" 'BEGIN { printf "%.1f", b - a }') s: $out"
sed 's/^/[golden-debian]   /' "$out/info" >&2
printf '%s\n' "$out"
