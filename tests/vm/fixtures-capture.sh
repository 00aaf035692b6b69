#!/usr/bin/env bash
# tests/vm/fixtures-capture.sh — capture a sysfs/procfs fixture tree of the block-device layer.
#
# usage: tests/vm/fixtures-capture.sh [--force] OUTDIR          # emulated ThinkPad (QEMU q35)
#        tests/vm/fixtures-capture.sh [--force] --host OUTDIR   # this machine, read-only
#
# VM mode boots the smoke.sh hardware (vm_profile_thinkpad: NVMe + SATA SSD + SATA HDD with a
# GPT partition + USB stick with an ext4 partition) and, in the guest, first sets the stick up the
# way live-boot does (its partition mounted on /run/live/medium, a read-only loop device on an
# image file stored there, mounted on /run/live/rootfs) so that mounts and a loop device with
# backing_file are part of the picture; then runs guest/capture-block.sh and returns the tree.
#
# Host mode attaches one 16 MiB loop device on a file in /tmp (detached afterwards), runs
# guest/capture-block.sh -r against / (read-only; -r drops non-disk details of /proc/cmdline and
# mountinfo) and writes the tree.
#
# OUTDIR must be empty or absent; --force replaces it. A FIXTURE.md describing the capture is
# written at the top of the tree. Format: tests/vm/README.md, "Fixture trees".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
. "$here/lib.sh"

force=0 mode=vm out=""
while (($#)); do
  case $1 in
    --force | -f) force=1 ;;
    --host) mode=host ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) vm_err "unknown option $1"; exit 2 ;;
    *) out=$1 ;;
  esac
  shift
done
[[ -n $out ]] || { vm_err "usage: $0 [--force] [--host] OUTDIR"; exit 2; }
if [[ -e $out && -n $(ls -A "$out") ]]; then
  ((force)) || { vm_err "$out is not empty (use --force to replace it)"; exit 1; }
  rm -rf "$out"
fi
mkdir -p "$out"
out=$(realpath "$out")
vm_require_root

# Write FIXTURE.md at the top of the tree: what was captured, when, and how to redo it.
describe() {
  cat >"$out/FIXTURE.md" <<EOF
# Block-device fixture tree: $1

Captured $(date -u +%Y-%m-%d) by \`tests/vm/fixtures-capture.sh ${2}\` with
\`tests/vm/guest/capture-block.sh\`. Format: tests/vm/README.md, section "Fixture trees".
Kernel: $3.

$4
EOF
}

if [[ $mode == host ]]; then
  img=$(mktemp /tmp/atelier-fixture-loop.XXXXXX)
  truncate -s 16M "$img"
  loop=$(losetup -f --show "$img")
  trap 'losetup -d "$loop" 2>/dev/null || true; rm -f "$img"' EXIT
  vm_log "capturing / with $loop attached on $img"
  sh "$here/guest/capture-block.sh" -r / "$out"
  losetup -d "$loop"
  rm -f "$img"
  trap - EXIT
  describe "this development machine (virtio disk)" "--host OUTDIR" "$(uname -r)" \
"A development/CI virtual machine: one virtio disk (vda, ext4 mounted on /), zram0, loop0-7, and
$loop attached by the capture to a 16 MiB file in /tmp (see its loop/backing_file). No DMI tables.
Redacted (-r): /proc/cmdline keeps only generic parameters, mountinfo keeps block-backed and
standard system mounts."
  vm_log "host fixture written to $out"
  exit 0
fi

vm_install_deps
work=$(mktemp -d "${TMPDIR:-/tmp}/atelier-fixture.XXXXXX")
trap 'rm -rf "$work"' EXIT
vm_initramfs "$work/initrd.cpio.gz"
vm_profile_thinkpad "$work/disks"

cat >"$work/guest.sh" <<'GUEST'
set -eu
# Find the USB stick by transport (device names are not stable) and boot-medium-like mounts.
usb=$(sh /usr/lib/atelier-vm/identify.sh | awk '$1 == "disk" && $2 == "usb" { sub("name=", "", $4); print $4 }')
[ -n "$usb" ] || { echo "no USB stick found" >&2; exit 1; }
mkdir -p /run/live/medium /run/live/rootfs
mount -t ext4 "/dev/${usb}1" /run/live/medium
mkdir -p /run/live/medium/live
dd if=/dev/zero of=/run/live/medium/live/filesystem.img bs=1M count=4 2>/dev/null
mke2fs -F -L rootfs /run/live/medium/live/filesystem.img >/dev/null
mount -o remount,ro /run/live/medium
loop=$(losetup -f)
losetup -r "$loop" /run/live/medium/live/filesystem.img
mount -t ext4 -o ro "$loop" /run/live/rootfs
sh /usr/lib/atelier-vm/capture-block.sh / /tmp/tree
tar -C /tmp/tree -cf /results/tree.tar .
GUEST

vm_run --initrd "$work/initrd.cpio.gz" --cmd "$work/guest.sh" --results "$work/results" \
  --timeout 180 "${VM_PROFILE_ARGS[@]}" || {
  vm_err "capture failed; guest stderr:"; cat "$work/results/stderr" >&2 || true; exit 1; }
tar -C "$out" -xf "$work/results/tree.tar"
describe "emulated Lenovo ThinkPad T440p (QEMU q35, TCG)" "OUTDIR" "$VM_KVER (Debian)" \
"Hardware (vm_profile_thinkpad in tests/vm/lib.sh):
- NVMe, serial ATL-NVME-01 (nvme0n1, model \"QEMU NVMe Ctrl\"), blank
- SATA SSD on the q35 AHCI, serial ATL-SATA-01, model \"Samsung SSD 860 EVO 250GB\", rotation_rate 1, blank
- SATA HDD on the q35 AHCI, serial ATL-HDD-01, model \"WDC WD5000LPCX\", rotation_rate 5400,
  GPT with one partition
- USB stick on qemu-xhci, serial ATL-USB-01, MBR with one ext4 partition (label ATELIER) mounted
  read-only on /run/live/medium; live/filesystem.img on it is attached read-only to a loop
  device mounted on /run/live/rootfs (what live-boot does with its squashfs)
- SMBIOS: LENOVO 20AN00A1FR, serial PF0ABCDE, uuid 11111111-2222-3333-4444-555555555555
SATA device names (sda/sdb) depend on probe order; the serials in device/vpd_pg80 and wwid do
not. The initramfs has no udev, so there is no run/udev/data."
vm_log "VM fixture written to $out"
