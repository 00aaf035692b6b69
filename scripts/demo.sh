#!/usr/bin/env bash
# scripts/demo.sh — the bench on a virtual disk, start to finish, on this machine.
#
# Creates a 2 GiB sparse file, attaches it as a loop device, puts a previous owner's files on
# it, then runs the bench: `atelier inventory`, `atelier devices`, `atelier wipe` (random pass +
# full read-back), `atelier deploy` (a small xz system image, read back), `atelier certify`
# (signed JSON and PDF), `atelier verify` and `atelier report`; checks independently that none of the old data is left after the wipe, and
# shows the record kept in the local store (default /var/lib/atelier, or ATELIER_DATA_DIR). The loop device is detached and
# the file deleted at the end, also when interrupted (Ctrl-C).
#
# usage: sudo scripts/demo.sh        (LANG=fr_FR.UTF-8 for French)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
if [[ $(id -u) -ne 0 ]]; then
  echo "demo: run as root (sudo scripts/demo.sh): it attaches a loop device." >&2
  exit 1
fi

scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
echo "demo: building atelier (release)…" >&2
cargo build --release --locked -q -p atelier
bin=$repo/target/release/atelier

work=$(mktemp -d /var/tmp/atelier-demo.XXXXXX)
loop=""
cleanup() {
  if mountpoint -q "$work/mnt" 2>/dev/null; then umount "$work/mnt" || true; fi
  if [[ -n $loop ]]; then losetup -d "$loop" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

canary="DONNEES-DE-L-ANCIEN-PROPRIETAIRE"
truncate -s 2G "$work/disk.img"
loop=$(losetup -f --show --direct-io=on "$work/disk.img")
echo "demo: virtual disk $loop ($work/disk.img, 2 GiB)" >&2

# The previous owner's files.
mkfs.ext4 -q -L ancien-pc "$loop"
mkdir -p "$work/mnt"
mount "$loop" "$work/mnt"
mkdir -p "$work/mnt/home/camille/Documents"
for i in $(seq 1 50); do
  printf '%s fiche %d\n' "$canary" "$i" > "$work/mnt/home/camille/Documents/lettre-$i.txt"
done
head -c 64M /dev/urandom > "$work/mnt/home/camille/photos.tar"
umount "$work/mnt"
sync
echo "demo: $(grep -a -c "$canary" "$loop") blocks of the previous owner's files are on the disk" >&2

echo >&2
echo "== 1. inventory: what the bench sees" >&2
"$bin" inventory --include-loop-devices
echo >&2
"$bin" devices
echo >&2
echo "== 2. wipe + verify ($loop)" >&2
"$bin" wipe "$loop" --yes-i-understand-this-destroys-data
echo >&2
echo "== 3. independent check" >&2
left=$(grep -a -c "$canary" "$loop" || true)
if [[ $left != 0 ]]; then
  echo "demo: FAILED: $left blocks of old data remain" >&2
  exit 1
fi
echo "demo: no trace of the previous owner's files is left on $loop" >&2
echo >&2
echo "== 4. deploy a small system image (xz), read it back, record it" >&2
# A 256 MiB disk image as a publisher would ship it: GPT, one ext4 partition holding a few
# files; compressed with xz in several blocks; its SHA-256 published beside it.
mkdir -p "$work/rootfs/etc"
echo "atelier-demo" > "$work/rootfs/etc/hostname"
printf 'PRETTY_NAME="Atelier demo system"\n' > "$work/rootfs/etc/os-release"
truncate -s 255M "$work/root.ext4"
mkfs.ext4 -q -L demo-root -d "$work/rootfs" "$work/root.ext4"
truncate -s 256M "$work/demo-os.img"
sgdisk -q -n 1:2048:0 -t 1:8300 "$work/demo-os.img"
dd if="$work/root.ext4" of="$work/demo-os.img" bs=1M seek=1 conv=notrunc,sparse status=none
xz -T2 --block-size=32MiB "$work/demo-os.img"
sha=$(sha256sum "$work/demo-os.img.xz" | cut -d' ' -f1)
"$bin" deploy "$work/demo-os.img.xz" --sha256 "$sha" --to "$loop" --yes-i-understand-this-destroys-data
echo >&2
echo "== 5. the signed certificate (JSON and PDF), checked offline" >&2
"$bin" certify last --out "$work/certificate.json"
"$bin" verify "$work/certificate.json"
data=${ATELIER_DATA_DIR:-/var/lib/atelier}
pdf=$(ls -t "$data"/certificates/*.pdf 2>/dev/null | head -n1 || true)
if [[ -n $pdf ]]; then
  "$bin" verify "$pdf"
  echo "demo: the certificate to print: $pdf" >&2
  pdftotext -l 1 "$pdf" - 2>/dev/null | head -n 12 >&2 || true
fi
echo >&2
echo "== 6. the record" >&2
"$bin" records show last
echo >&2
echo "== 7. today's numbers (atelier report)" >&2
"$bin" report --from "$(date -u +%F)" --to "$(date -u +%F)"
echo >&2
echo "demo: not shown here: printing (atelier print), the push to GLPI / Snipe-IT (atelier push," >&2
echo "demo: needs a server in atelier.toml), firmware erase (needs a real NVMe or SATA drive)." >&2
