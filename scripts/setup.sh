#!/usr/bin/env bash
# scripts/setup.sh — install what Atelier needs to build, run its demo and its tests on Debian.
#
# Idempotent and quick when everything is present. Needs root to install packages.
#   - Debian packages: the tools the bench and the tests call (losetup, sfdisk, mkfs.ext4,
#     nwipe as a peer tool, QEMU for the VM tier…).
#   - Rust: the machine's cargo when it is recent enough (≥ 1.92: edition 2024, krilla),
#     otherwise rustup's stable toolchain.
set -euo pipefail

packages=(
  build-essential pkg-config   # C compiler for the bundled SQLite
  util-linux fdisk e2fsprogs   # losetup, blockdev, partx, sfdisk, mkfs.ext4, swapon
  diffutils                    # cmp
  nwipe                        # peer tool for the independent check and the benchmark
  smartmontools dmidecode      # smartctl (SMART health), dmidecode (peer of the SMBIOS parser)
  lshw inxi hyperfine          # inventory peers and benchmark (scripts/bench-inventory.sh)
  pci.ids                      # the PCI ID database that names PCI devices in the inventory
  qemu-system-x86 cpio kmod xz-utils zstd busybox-static socat  # VM tier (tests/vm; socat: QMP)
  gdisk dosfstools mtools mount  # deploy customisation: sgdisk, fsck.fat/mkfs.fat, mcopy/mtype, mount
  bmap-tools zip unzip bzip2 gzip  # deploy image sources: bmaptool create (bmap tests, peer), zip/gzip/bzip2 test images
  jq curl ca-certificates
  fonts-dejavu-core            # certificate and label PDFs: DejaVu Sans (accented French)
  qpdf poppler-utils           # certificate tests: qpdf --check, pdftotext, pdfinfo, pdftoppm, pdfdetach
  zbar-tools                   # certificate tests: zbarimg scans the QR code back
  cups-daemon cups-client      # printing: lp (fallback); print tests start their own cupsd on 127.0.0.1
  time python3                 # benchmarks: GNU /usr/bin/time (CPU times), the deploy benchmark's image generator
  mmdebstrap                   # VM tier: the cached golden Debian image (tests/images/build-golden-debian.sh)
  mmc-utils                    # eMMC secure erase: `mmc sanitize` after BLKSECDISCARD (atelier-wipe emmc_erase)
)

missing=()
for p in "${packages[@]}"; do
  # busybox (dynamic) also provides what the VM tier needs.
  if [[ $p == busybox-static ]] && command -v busybox >/dev/null 2>&1; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: these Debian packages are missing: ${missing[*]}" >&2
    echo "setup: run this script as root (sudo) to install them." >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi

# Rust ≥ 1.92 (edition 2024; krilla, the PDF library, needs 1.92).
export PATH="$HOME/.cargo/bin:$PATH"
rust_ok() {
  command -v cargo >/dev/null 2>&1 || return 1
  local v
  v=$(rustc --version 2>/dev/null | awk '{print $2}')
  [[ $(printf '%s\n1.92.0\n' "$v" | sort -V | head -n1) == 1.92.0 ]]
}
if ! rust_ok; then
  echo "setup: installing the Rust toolchain with rustup (stable)" >&2
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal \
    --component clippy,rustfmt >&2
  export PATH="$HOME/.cargo/bin:$PATH"
  rust_ok || { echo "setup: Rust ≥ 1.92 could not be installed; install it from https://rustup.rs" >&2; exit 1; }
fi
