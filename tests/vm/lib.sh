# shellcheck shell=bash
# tests/vm/lib.sh — Atelier VM test harness library.
#
# Source it from bash (it is `set -euo pipefail` friendly):
#
#   . tests/vm/lib.sh
#   vm_install_deps                        # once per machine (root, Debian 12)
#   vm_initramfs "$W/initrd.cpio.gz"       # busybox + modules + guest init
#   vm_disk_image "$W/nvme.img" 64M
#   vm_run --initrd "$W/initrd.cpio.gz" --cmd "$W/guest.sh" --results "$W/res" \
#          --nvme "$W/nvme.img,serial=ATL-NVME-01"
#
# Everything that runs inside the guest lives in tests/vm/guest/. See tests/vm/README.md for the
# guest protocol (fw_cfg command in, 9p results out) and the fixture format.
#
# Environment knobs (all optional):
#   ATELIER_VM_CACHE    cache for kernels and initramfs images  (/var/cache/atelier-vm)
#   ATELIER_VM_KVM=1    try KVM instead of TCG (does not work on the nested CI machines)
#   ATELIER_VM_TIMEOUT  default vm_run timeout in seconds       (300)
#   ATELIER_VM_MEM      guest memory in MiB                     (1024)
#   ATELIER_VM_SMP      guest CPUs                              (2)
#   ATELIER_VM_APPEND   extra kernel command-line arguments for every boot
#   ATELIER_VM_VERBOSE=1  stream the serial console to stderr while the guest runs
#   ATELIER_VM_KERNEL_REFRESH=1  re-resolve linux-image-amd64 instead of reusing the cached kernel

if [[ -n ${ATELIER_VM_LIB_LOADED:-} ]]; then return 0; fi
ATELIER_VM_LIB_LOADED=1

# Directory of this library (tests/vm); guest-side files are in $ATELIER_VM_DIR/guest.
ATELIER_VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ATELIER_VM_CACHE=${ATELIER_VM_CACHE:-/var/cache/atelier-vm}

# Kernel modules every initramfs carries (their dependency closure is added automatically):
# NVMe, SATA on the q35 AHCI, USB mass storage behind xHCI/EHCI, virtio disks, the 9p results
# share, fw_cfg (command channel), loop devices and ext4.
VM_DEFAULT_MODULES="nvme ahci sd_mod usb-storage uas xhci_pci ehci_pci virtio_pci virtio_blk
  9p 9pnet_virtio qemu_fw_cfg loop ext4"

# Module parameters applied at insmod time in the guest ("module_name params" per entry).
# usb-storage normally waits 1 s before scanning a new stick; tests do not need that delay.
VM_MODULE_PARAMS=("usb_storage delay_use=0")

# The guest's mount tag and fw_cfg name; tests/vm/guest/init.sh uses the same values.
VM_RESULTS_TAG=results
VM_FWCFG_CMD=opt/atelier/cmd

# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------

# vm_log MSG... — print a harness message on stderr.
vm_log() { printf '[vm] %s\n' "$*" >&2; }

# vm_err MSG... — print an error on stderr (callers then `return 1`).
vm_err() { printf '[vm] ERROR: %s\n' "$*" >&2; }

# vm_now — seconds since the epoch with milliseconds, for durations.
vm_now() { date +%s.%N | cut -c1-14; }

# vm_elapsed START — seconds (one decimal) since START (a vm_now value).
vm_elapsed() { awk -v s="$1" -v e="$(vm_now)" 'BEGIN { printf "%.1f", e - s }'; }

# vm_require_root — fail unless running as root (QEMU, loop devices and apt need it here).
vm_require_root() {
  if [[ $(id -u) -ne 0 ]]; then vm_err "must run as root"; return 1; fi
}

# ---------------------------------------------------------------------------------------------
# Host dependencies
# ---------------------------------------------------------------------------------------------

# vm_install_deps [EXTRA_PKG...] — install the Debian packages the harness needs (plus any
# extra ones, e.g. smartmontools hdparm nvme-cli for tools copied into a guest). Only missing
# packages are installed; apt-get update runs only when something is missing.
vm_install_deps() {
  local pkgs=(
    qemu-system-x86  # qemu-system-x86_64 (+ SeaBIOS)
    cpio             # initramfs archive
    kmod             # modprobe -D / depmod against the downloaded kernel
    xz-utils zstd    # compressed kernel modules
    fdisk e2fsprogs  # sfdisk / mkfs.ext4 for disk images made by tests
    coreutils util-linux
  )
  # busybox-static and busybox conflict; either provides /usr/bin/busybox (static is preferred).
  if ! command -v busybox >/dev/null 2>&1; then pkgs+=(busybox-static); fi
  pkgs+=("$@")
  local missing=() p
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then return 0; fi
  vm_require_root || return 1
  vm_log "installing: ${missing[*]}"
  apt-get update -qq || return 1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
    >&2 || return 1
}

# ---------------------------------------------------------------------------------------------
# Kernel
# ---------------------------------------------------------------------------------------------

# _vm_kernel_fetch KDIR — download linux-image-amd64, follow its dependency to the real
# linux-image-<kver>-amd64 package, extract it under KDIR/<kver>/root, run depmod there, and
# record <kver> in KDIR/current. Runs under a lock so concurrent callers download once.
_vm_kernel_fetch() {
  local kdir=$1 tmp meta dep pkg ver kver
  tmp=$(mktemp -d "$kdir/fetch.XXXXXX")
  # apt-get download as root would otherwise warn that the _apt sandbox user cannot write here.
  local apt=(apt-get -q -o APT::Sandbox::User=root download)
  (cd "$tmp" && "${apt[@]}" linux-image-amd64 >&2) || { rm -rf "$tmp"; return 1; }
  meta=$(ls "$tmp"/linux-image-amd64_*.deb)
  # Depends: linux-image-6.1.0-NN-amd64 (= 6.1.xxx-1)
  dep=$(dpkg-deb -f "$meta" Depends | sed 's/[,|]/\n/g' | grep -m1 -E '^ *linux-image-[0-9]') || {
    vm_err "cannot find the kernel package in the Depends of $meta"; rm -rf "$tmp"; return 1; }
  pkg=$(awk '{print $1}' <<<"$dep")
  ver=$(sed -n 's/.*(= *\([^)]*\)).*/\1/p' <<<"$dep")
  kver=${pkg#linux-image-}
  vm_log "kernel package: $pkg ${ver:-(any version)}"
  (cd "$tmp" && { "${apt[@]}" "$pkg${ver:+=$ver}" >&2 || "${apt[@]}" "$pkg" >&2; }) || {
    rm -rf "$tmp"; return 1; }
  mkdir -p "$tmp/root"
  dpkg-deb -x "$tmp/${pkg}"_*.deb "$tmp/root"
  [[ -f $tmp/root/boot/vmlinuz-$kver && -d $tmp/root/lib/modules/$kver ]] || {
    vm_err "unexpected layout in $pkg"; rm -rf "$tmp"; return 1; }
  # The .deb has no modules.dep (the package's postinst makes it): build it for modprobe -D.
  depmod -b "$tmp/root" "$kver"
  rm -rf "${kdir:?}/$kver"
  mv "$tmp/root" "$kdir/$kver"
  rm -rf "$tmp"
  echo "$kver" >"$kdir/current.tmp" && mv "$kdir/current.tmp" "$kdir/current"
}

# _vm_kernel_load — make sure a kernel is in the cache and set VM_KVER, VM_KROOT (extracted
# package root), VM_VMLINUZ and VM_MODDIR. Reuses the cached kernel unless
# ATELIER_VM_KERNEL_REFRESH=1 (or the cache is empty).
_vm_kernel_load() {
  local kdir=$ATELIER_VM_CACHE/kernel
  if [[ -n ${VM_KVER:-} && -f ${VM_VMLINUZ:-} ]]; then return 0; fi
  mkdir -p "$kdir"
  if [[ ${ATELIER_VM_KERNEL_REFRESH:-0} == 1 || ! -s $kdir/current ||
        ! -d $kdir/$(cat "$kdir/current" 2>/dev/null) ]]; then
    vm_require_root || return 1
    local t0; t0=$(vm_now)
    (
      flock 9
      # Another caller may have finished the download while we waited for the lock.
      if [[ ${ATELIER_VM_KERNEL_REFRESH:-0} == 1 || ! -s $kdir/current ]] ||
         [[ ! -d $kdir/$(cat "$kdir/current") ]]; then
        _vm_kernel_fetch "$kdir"
      fi
    ) 9>"$kdir/.lock" || { vm_err "kernel download failed"; return 1; }
    vm_log "kernel ready in $(vm_elapsed "$t0") s"
  fi
  VM_KVER=$(cat "$kdir/current")
  VM_KROOT=$kdir/$VM_KVER
  VM_VMLINUZ=$VM_KROOT/boot/vmlinuz-$VM_KVER
  VM_MODDIR=$VM_KROOT/lib/modules/$VM_KVER
  ATELIER_VM_KERNEL_REFRESH=0
}

# vm_kernel — obtain (or reuse) the Debian amd64 kernel in $ATELIER_VM_CACHE/kernel and print
# two lines: the vmlinuz path and the modules directory (…/lib/modules/<kver>). When called
# directly (not in $(…)) it also sets VM_KVER, VM_VMLINUZ, VM_MODDIR for later calls.
vm_kernel() {
  _vm_kernel_load || return 1
  printf '%s\n%s\n' "$VM_VMLINUZ" "$VM_MODDIR"
}

# ---------------------------------------------------------------------------------------------
# Initramfs
# ---------------------------------------------------------------------------------------------

# _vm_elf_closure FILE... — print FILE and every shared library it loads (per ldd), one path
# per line. Static binaries print only themselves.
_vm_elf_closure() {
  local f
  for f in "$@"; do
    printf '%s\n' "$f"
    # "libx.so => /lib/…/libx.so (0x…)" and "/lib64/ld-linux-x86-64.so.2 (0x…)"; a static
    # binary makes ldd fail ("not a dynamic executable"), which is fine.
    { ldd "$f" 2>/dev/null || true; } | awk '
      $2 == "=>" && $3 ~ /^\// { print $3; next }
      $1 ~ /^\// { print $1 }'
  done | sort -u
}

# _vm_modules_closure MODULE... — print, in load order and without duplicates, the module files
# (absolute paths in the cached kernel) needed to load MODULEs, including soft dependencies.
# Built-in modules print nothing. Fails on an unknown module name.
_vm_modules_closure() {
  local m out
  for m in "$@"; do
    out=$(modprobe -D -d "$VM_KROOT" -S "$VM_KVER" "$m" 2>&1) || {
      vm_err "module '$m' not found for $VM_KVER: $out"; return 1; }
    awk '$1 == "insmod" { print $2 }' <<<"$out"
  done | awk '!seen[$0]++'
}

# vm_initramfs OUT.cpio.gz [--init FILE] [--bin PATH]... [--tool NAME]... [--modules "m1 m2"]
#              [--no-default-modules] [--file SRC=DEST]...
# Build a busybox initramfs:
#   --init FILE   the guest /init (default: tests/vm/guest/init.sh)
#   --bin PATH    a host binary, copied to /bin/<name> with its shared libraries (e.g. atelier)
#   --tool NAME   a host tool found in PATH (smartctl, hdparm, nvme…), same treatment; it replaces
#                 a busybox applet of the same name
#   --modules L   modules to add to VM_DEFAULT_MODULES (dependency closure resolved on the host
#                 with `modprobe -D`, which also follows soft dependencies)
#   --no-default-modules  load only the --modules list
#   --file S=D    copy host file S to D in the image
# tests/vm/guest/* is always copied to /usr/lib/atelier-vm/. The image is cached under
# $ATELIER_VM_CACHE/initramfs keyed by a hash of all its inputs; a hit is a plain copy.
vm_initramfs() {
  local out=${1:?usage: vm_initramfs OUT.cpio.gz [options]}
  shift
  local init=$ATELIER_VM_DIR/guest/init.sh mods=$VM_DEFAULT_MODULES
  local bins=() files=() t
  while (($#)); do
    case $1 in
      --init) init=$2; shift 2 ;;
      --bin) bins+=("$2"); shift 2 ;;
      --tool)
        t=$(command -v "$2") || { vm_err "tool '$2' not found on the host"; return 1; }
        bins+=("$t"); shift 2 ;;
      --modules) mods+=" $2"; shift 2 ;;
      --no-default-modules) mods=""; shift ;;
      --file) files+=("$2"); shift 2 ;;
      *) vm_err "vm_initramfs: unknown option $1"; return 1 ;;
    esac
  done
  [[ -f $init ]] || { vm_err "init script $init not found"; return 1; }
  local b
  for b in "${bins[@]}"; do [[ -f $b && -x $b ]] || { vm_err "not an executable: $b"; return 1; }; done
  _vm_kernel_load || return 1
  local busybox; busybox=$(command -v busybox) || { vm_err "busybox missing (vm_install_deps)"; return 1; }

  # Inputs → manifest "DEST<TAB>SRC" (what goes where); the cache key hashes it with contents.
  local -a kmods libs
  # shellcheck disable=SC2086  # word splitting of the module list is intended
  mapfile -t kmods < <(_vm_modules_closure $mods) || return 1
  mapfile -t libs < <(_vm_elf_closure "${bins[@]}" | grep -vxF -f <(printf '%s\n' "${bins[@]}") || true)
  local manifest g f
  manifest=$(
    printf 'kver\t%s\n' "$VM_KVER"
    printf 'params\t%s\n' "${VM_MODULE_PARAMS[@]}"
    printf '/init\t%s\n' "$init"
    printf '/bin/busybox\t%s\n' "$busybox"
    for g in "$ATELIER_VM_DIR"/guest/*; do printf '/usr/lib/atelier-vm/%s\t%s\n' "${g##*/}" "$g"; done
    for b in "${bins[@]}"; do printf '/bin/%s\t%s\n' "${b##*/}" "$b"; done
    for f in "${libs[@]}"; do printf '%s\t%s\n' "$f" "$f"; done
    for f in "${kmods[@]}"; do printf 'module\t%s\n' "$f"; done
    for f in "${files[@]}"; do printf '%s\t%s\n' "${f#*=}" "${f%%=*}"; done
  )
  local key
  key=$( { printf '%s\n' "$manifest"; cat "$ATELIER_VM_DIR/lib.sh";
           cut -f2 <<<"$manifest" | grep '^/' | xargs -d '\n' cat; } | sha256sum | cut -c1-24)
  local cdir=$ATELIER_VM_CACHE/initramfs cached
  cached=$cdir/$key.cpio.gz
  mkdir -p "$cdir" "$(dirname "$out")"
  if [[ -s $cached ]]; then
    cp "$cached" "$out"
    vm_log "initramfs $key (cached) -> $out"
    return 0
  fi

  local t0 root
  t0=$(vm_now)
  root=$(mktemp -d "${TMPDIR:-/tmp}/atelier-initramfs.XXXXXX")
  mkdir -p "$root"/{bin,sbin,etc/atelier-vm,proc,sys,dev,run,tmp,results,root,usr/lib/atelier-vm}
  mknod -m 600 "$root/dev/console" c 5 1
  cp "$busybox" "$root/bin/busybox"
  local applet
  for applet in $("$busybox" --list); do
    [[ $applet == busybox ]] || ln -sf busybox "$root/bin/$applet"
  done
  install -m 755 "$init" "$root/init"
  cp "$ATELIER_VM_DIR"/guest/* "$root/usr/lib/atelier-vm/"
  for b in "${bins[@]}"; do rm -f "$root/bin/${b##*/}"; cp -L "$b" "$root/bin/${b##*/}"; done
  for f in "${libs[@]}"; do mkdir -p "$root$(dirname "$f")"; cp -L "$f" "$root$f"; done
  for f in "${files[@]}"; do mkdir -p "$root$(dirname "${f#*=}")"; cp -L "${f%%=*}" "$root${f#*=}"; done

  # Modules: copied (decompressed: the guest uses busybox insmod) under their own path; the load
  # order, with parameters, goes to /etc/atelier-vm/modules for the guest init.
  local rel dst name p params
  for f in "${kmods[@]}"; do
    rel=${f#"$VM_KROOT"}
    dst=$root${rel%.xz}; dst=${dst%.zst}; dst=${dst%.gz}
    mkdir -p "$(dirname "$dst")"
    case $f in
      *.ko.xz) xz -dc "$f" >"$dst" ;;
      *.ko.zst) zstd -qdc "$f" >"$dst" ;;
      *.ko.gz) gzip -dc "$f" >"$dst" ;;
      *) cp "$f" "$dst" ;;
    esac
    name=$(basename "${dst%.ko}" | tr - _)
    params=""
    for p in "${VM_MODULE_PARAMS[@]}"; do [[ ${p%% *} == "$name" ]] && params=${p#* }; done
    printf '%s%s\n' "${dst#"$root"}" "${params:+ $params}" >>"$root/etc/atelier-vm/modules"
  done
  touch "$root/etc/atelier-vm/modules"
  echo "$VM_KVER" >"$root/etc/atelier-vm/kver"

  local gz=(gzip -1)
  if command -v pigz >/dev/null; then gz=(pigz -1); fi
  (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet --reproducible) |
    "${gz[@]}" >"$cached.tmp.$$"
  mv "$cached.tmp.$$" "$cached"
  rm -rf "$root"
  # Keep the 8 most recent images.
  # shellcheck disable=SC2012  # names are hex hashes
  ls -1t "$cdir"/*.cpio.gz 2>/dev/null | tail -n +9 | xargs -r rm -f
  cp "$cached" "$out"
  vm_log "initramfs $key built in $(vm_elapsed "$t0") s ($(du -k "$out" | cut -f1) KiB) -> $out"
}

# ---------------------------------------------------------------------------------------------
# Disk images
# ---------------------------------------------------------------------------------------------

# vm_disk_image PATH SIZE — create a sparse raw image (SIZE as for truncate: 64M, 1G…). Refuses
# to touch anything that exists and is not a regular file (never a host block device).
vm_disk_image() {
  local path=${1:?usage: vm_disk_image PATH SIZE} size=${2:?usage: vm_disk_image PATH SIZE}
  if [[ -e $path && ! -f $path ]]; then vm_err "refusing: $path exists and is not a regular file"; return 1; fi
  mkdir -p "$(dirname "$path")"
  rm -f "$path"
  truncate -s "$size" "$path"
}

# vm_canary_seed IMAGE WORD OFFSET_MIB... — write 1 MiB of WORD lines into the disk image at
# each offset (in MiB) and check that they are there. After a wipe, vm_canary_count says how
# many survived.
vm_canary_seed() {
  local usage='usage: vm_canary_seed IMAGE WORD OFFSET_MIB...'
  local img=${1:?$usage} word=${2:?$usage} off seed
  shift 2
  seed=$(mktemp) || return 1
  { yes "$word" || true; } | head -c 1M >"$seed"
  for off in "$@"; do
    dd if="$seed" of="$img" bs=1M seek="$off" conv=notrunc status=none || { rm -f "$seed"; return 1; }
  done
  rm -f "$seed"
  [[ $(vm_canary_count "$img" "$word") -gt 0 ]] || { vm_err "seeding $img failed"; return 1; }
}

# vm_canary_count IMAGE WORD — how many lines holding WORD the image has (0 when none).
vm_canary_count() { grep -a -c -- "$2" "$1" || true; }

# _vm_image_file SPEC — validate the image part of a disk spec and print its absolute path.
# SPEC is PATH or blkdebug:CONFIG:PATH; PATH must resolve to a regular file.
_vm_image_file() {
  local p=$1
  if [[ $p == blkdebug:* ]]; then p=${p#blkdebug:}; p=${p#*:}; fi
  local real; real=$(realpath -e -- "$p" 2>/dev/null) || { vm_err "disk image $p does not exist"; return 1; }
  if [[ ! -f $real || $real == /dev/* ]]; then vm_err "refusing $p: not a regular image file"; return 1; fi
  printf '%s\n' "$real"
}

# ---------------------------------------------------------------------------------------------
# Boot
# ---------------------------------------------------------------------------------------------

# vm_run --initrd FILE --cmd SCRIPT --results DIR [options] — boot the guest and return the exit
# status of SCRIPT as run inside it.
#   --initrd FILE      initramfs from vm_initramfs
#   --cmd SCRIPT       host file passed to the guest by fw_cfg (opt/atelier/cmd) and run by init
#                      (with sh, or directly when it starts with #!), cwd = the results share
#   --results DIR      host directory shared with the guest by 9p (tag "results", mounted on
#                      /results); after the boot it holds stdout, stderr and exit-status
#   --log FILE         serial console log (default: DIR.console.log)
#   --timeout S        kill QEMU after S seconds (default $ATELIER_VM_TIMEOUT or 300)
#   --mem MiB, --smp N guest size (defaults $ATELIER_VM_MEM / $ATELIER_VM_SMP, 1024 / 2)
#   --smbios SPEC      passed as -smbios SPEC (type=0|1|2|3|4|11|17,…), repeatable
#   --nvme IMG[,props]     NVMe controller  (-device nvme,…: serial=, …)
#   --sata IMG[,props]     disk on the q35 AHCI (-device ide-hd,…: serial=, model=, rotation_rate=);
#                          ports ide.0…ide.5 are assigned in order unless props has bus=
#   --usb IMG[,props]      USB stick on a qemu-xhci controller (-device usb-storage,…: serial=, …)
#   --virtio IMG[,props]   virtio-blk-pci disk (serial=, …)
#                      IMG is a regular file (or blkdebug:CFG:FILE for error injection, which also
#                      sets rerror=report,werror=report); props are QEMU -device properties, so a
#                      literal comma inside a value must be doubled
#   --fw-cfg NAME=FILE extra fw_cfg blob, visible in the guest as
#                      /sys/firmware/qemu_fw_cfg/by_name/opt/atelier/NAME/raw
#   --append ARGS      extra kernel command line
#   --qemu-arg ARG     extra raw QEMU argument, repeatable
#   --qmp SOCKET       open a QMP control socket at SOCKET (a Unix socket path on the host) while
#                      the guest runs, for vm_qmp (e.g. device_del to hot-unplug a disk given an
#                      id=… in its props); removed when QEMU ends. Keep the path short: a
#                      Unix socket path holds at most 107 bytes
# Status: the guest command's exit status; 124 if the timeout fired; 125 if the guest ended
# without reporting a status (boot failure, panic: see the console log); 2 on usage errors.
vm_run() {
  local initrd="" cmd="" results="" log="" qmp="" timeout=${ATELIER_VM_TIMEOUT:-300}
  local mem=${ATELIER_VM_MEM:-1024} smp=${ATELIER_VM_SMP:-2} append=${ATELIER_VM_APPEND:-}
  local -a qargs=() disks=() smbios=() fwcfg=() extra=()
  while (($#)); do
    case $1 in
      --initrd) initrd=$2 ;;
      --cmd) cmd=$2 ;;
      --results) results=$2 ;;
      --log) log=$2 ;;
      --timeout) timeout=$2 ;;
      --mem) mem=$2 ;;
      --smp) smp=$2 ;;
      --smbios) smbios+=(-smbios "$2") ;;
      --nvme | --sata | --usb | --virtio) disks+=("${1#--}" "$2") ;;
      --fw-cfg) fwcfg+=("$2") ;;
      --append) append+=" $2" ;;
      --qemu-arg) extra+=("$2") ;;
      --qmp) qmp=$2 ;;
      *) vm_err "vm_run: unknown option $1"; return 2 ;;
    esac
    shift 2 || { vm_err "vm_run: $1 needs a value"; return 2; }
  done
  if [[ -z $initrd || -z $cmd || -z $results ]]; then
    vm_err "vm_run: --initrd, --cmd and --results are required"; return 2
  fi
  [[ -f $initrd ]] || { vm_err "initramfs $initrd not found"; return 2; }
  [[ -f $cmd ]] || { vm_err "command script $cmd not found"; return 2; }
  _vm_kernel_load || return 2
  mkdir -p "$results"
  results=$(realpath "$results")
  log=${log:-$results.console.log}
  rm -f "$results"/{stdout,stderr,exit-status}

  # Disks. Each gets a -drive (if=none) and a -device; ids are d0, d1, …
  local i=0 sata_port=0 kind spec img props real drive have_xhci=0
  for ((i = 0; i < ${#disks[@]}; i += 2)); do
    kind=${disks[i]} spec=${disks[i + 1]}
    img=${spec%%,*}
    props=""; [[ $spec == *,* ]] && props=,${spec#*,}
    real=$(_vm_image_file "$img") || return 2
    local id=d$((i / 2))
    if [[ $img == blkdebug:* ]]; then
      drive="file=${img//,/,,},rerror=report,werror=report"
    else
      drive="file=${real//,/,,}"
    fi
    qargs+=(-drive "if=none,id=$id,format=raw,cache=unsafe,$drive")
    case $kind in
      nvme) qargs+=(-device "nvme,drive=$id$props") ;;
      sata)
        if [[ $props != *,bus=* ]]; then props=",bus=ide.$sata_port$props"; sata_port=$((sata_port + 1)); fi
        qargs+=(-device "ide-hd,drive=$id$props") ;;
      usb)
        if ((!have_xhci)); then qargs+=(-device "qemu-xhci,id=xhci"); have_xhci=1; fi
        qargs+=(-device "usb-storage,bus=xhci.0,drive=$id$props") ;;
      virtio) qargs+=(-device "virtio-blk-pci,drive=$id$props") ;;
    esac
  done
  local ndisks=$((${#disks[@]} / 2))

  local f
  for f in "${fwcfg[@]}"; do
    [[ -f ${f#*=} ]] || { vm_err "fw_cfg file ${f#*=} not found"; return 2; }
    qargs+=(-fw_cfg "name=opt/atelier/${f%%=*},file=${f#*=}")
  done

  if [[ -n $qmp ]]; then
    if [[ -e $qmp && ! -S $qmp ]]; then vm_err "refusing --qmp $qmp: exists and is not a socket"; return 2; fi
    rm -f "$qmp"
    qargs+=(-qmp "unix:${qmp//,/,,},server=on,wait=off")
  fi

  local accel=(-accel tcg)
  if [[ ${ATELIER_VM_KVM:-0} == 1 && -w /dev/kvm ]]; then accel=(-accel kvm -cpu host); fi

  local -a qemu=(
    qemu-system-x86_64 -M q35 "${accel[@]}" -m "$mem" -smp "$smp"
    -nodefaults -nographic -no-reboot -serial stdio -monitor none
    -kernel "$VM_VMLINUZ" -initrd "$initrd"
    -append "console=ttyS0 panic=-1 quiet atelier.disks=$ndisks$append"
    "${smbios[@]}"
    -fw_cfg "name=$VM_FWCFG_CMD,file=$cmd"
    -virtfs "local,path=$results,mount_tag=$VM_RESULTS_TAG,security_model=none,id=results"
    "${qargs[@]}" "${extra[@]}"
  )
  printf '%q ' "${qemu[@]}" >"$log.cmdline"
  echo >>"$log.cmdline"

  local t0 rc=0 tailpid=""
  t0=$(vm_now)
  : >"$log"
  if [[ ${ATELIER_VM_VERBOSE:-0} == 1 ]]; then tail -n +1 -f "$log" >&2 & tailpid=$!; fi
  timeout --kill-after=10 "$timeout" "${qemu[@]}" </dev/null >>"$log" 2>&1 || rc=$?
  if [[ -n $tailpid ]]; then sleep 0.2; kill "$tailpid" 2>/dev/null || true; wait "$tailpid" 2>/dev/null || true; fi
  local took; took=$(vm_elapsed "$t0")
  if [[ -n $qmp ]]; then rm -f "$qmp"; fi

  if ((rc == 124 || rc == 137)); then
    vm_err "TIMEOUT: guest still running after ${timeout} s, QEMU killed (console: $log)"
    tail -n 20 "$log" | sed 's/^/[console] /' >&2
    return 124
  fi
  if ((rc != 0)); then
    vm_err "QEMU exited with status $rc after $took s (console: $log)"
    tail -n 20 "$log" | sed 's/^/[console] /' >&2
    return 125
  fi
  if [[ ! -s $results/exit-status ]]; then
    vm_err "guest powered off without an exit status after $took s (console: $log)"
    tail -n 20 "$log" | sed 's/^/[console] /' >&2
    return 125
  fi
  local status; status=$(tr -dc '0-9' <"$results/exit-status")
  vm_log "guest command exited $status after $took s"
  return "${status:-125}"
}

# vm_qmp SOCKET COMMAND [ARGUMENTS_JSON] — run one QMP command on a guest started with
# `vm_run --qmp SOCKET` (typically in the background) and print QEMU's answers, one JSON object a
# line: the greeting, the capabilities reply, the command's reply, then any events that arrived
# within about a second (e.g. DEVICE_DELETED); it takes 1.5 s. Fails when the socket cannot be
# reached or QEMU answers with an error. Needs socat (`vm_install_deps socat`). Example, hot-unplugging a USB stick
# attached with `--usb "IMG,id=stick"`:  vm_qmp "$W/qmp.sock" device_del '{"id":"stick"}'
vm_qmp() {
  local sock=${1:?usage: vm_qmp SOCKET COMMAND [ARGUMENTS_JSON]} cmd=${2:?usage: vm_qmp SOCKET COMMAND [ARGUMENTS_JSON]}
  local args=${3:-}
  command -v socat >/dev/null || { vm_err "vm_qmp needs socat (vm_install_deps socat)"; return 1; }
  [[ -S $sock ]] || { vm_err "no QMP socket at $sock (is the guest running with --qmp?)"; return 1; }
  local out
  # The input stays open for a second: QEMU drops a client at its EOF, maybe before replying.
  out=$( { printf '%s\n' '{"execute":"qmp_capabilities"}' \
             "{\"execute\":\"$cmd\"${args:+,\"arguments\":$args}}"; sleep 1; } |
        timeout 10 socat -t 0.5 - "UNIX-CONNECT:$sock") || {
    vm_err "QMP $cmd: cannot talk to $sock"; return 1; }
  printf '%s\n' "$out"
  # Expected: greeting, {"return": {}} for qmp_capabilities, then the command's {"return": …}.
  if grep -q '"error"' <<<"$out" || [[ $(grep -c '"return"' <<<"$out") -lt 2 ]]; then
    vm_err "QMP $cmd failed: $(grep -m1 '"error"' <<<"$out" || echo 'no reply')"
    return 1
  fi
}

# ---------------------------------------------------------------------------------------------
# Shared hardware profile and assertions
# ---------------------------------------------------------------------------------------------

# vm_atelier_bin — path of the atelier binary to put in the guest: $ATELIER_BIN when set,
# else the workspace's debug build (built now if needed).
vm_atelier_bin() {
  if [[ -n ${ATELIER_BIN:-} ]]; then printf '%s\n' "$ATELIER_BIN"; return 0; fi
  local repo; repo=$(cd "$ATELIER_VM_DIR/../.." && pwd)
  (cd "$repo" && cargo build -q -p atelier) >&2 || return 1
  printf '%s\n' "$repo/target/debug/atelier"
}

# vm_profile_thinkpad DIR — the reference bench machine used by smoke.sh and fixtures-capture.sh:
# a Lenovo ThinkPad T440p SMBIOS identity, one NVMe (ATL-NVME-01), one SATA SSD (ATL-SATA-01),
# one SATA HDD (ATL-HDD-01, one GPT partition) and one USB stick (ATL-USB-01, MBR with an ext4
# partition labelled ATELIER, like a live stick's data partition). Creates the images in DIR and
# sets the array VM_PROFILE_ARGS with the matching vm_run options.
vm_profile_thinkpad() {
  local dir=${1:?usage: vm_profile_thinkpad DIR}
  mkdir -p "$dir"
  vm_disk_image "$dir/nvme.img" 64M
  vm_disk_image "$dir/ssd.img" 64M
  vm_disk_image "$dir/hdd.img" 128M
  vm_disk_image "$dir/usb.img" 64M
  printf 'label: gpt\nstart=2048, size=200704, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=data\n' |
    sfdisk -q "$dir/hdd.img" >/dev/null
  printf 'label: dos\nstart=2048, size=65536, type=83, bootable\n' | sfdisk -q "$dir/usb.img" >/dev/null
  mkfs.ext4 -q -F -L ATELIER -E offset=$((2048 * 512)) "$dir/usb.img" 32M
  # shellcheck disable=SC2034  # used by the caller
  VM_PROFILE_ARGS=(
    --smbios "type=0,vendor=LENOVO,version=GJET99WW (2.49 ),date=03/21/2019"
    --smbios "type=1,manufacturer=LENOVO,product=20AN00A1FR,version=ThinkPad T440p,serial=PF0ABCDE,uuid=11111111-2222-3333-4444-555555555555,sku=LENOVO_MT_20AN_BU_Think_FM_ThinkPad T440p,family=ThinkPad T440p"
    --smbios "type=2,manufacturer=LENOVO,product=20AN00A1FR,serial=L1HF000000A"
    --smbios "type=3,manufacturer=LENOVO,serial=PF0ABCDE,asset=No Asset Information"
    --smbios "type=17,loc_pfx=ChannelA-DIMM,bank=BANK,manufacturer=Samsung,serial=12345678,part=M471B5173QH0-YK0,speed=1600"
    --nvme "$dir/nvme.img,serial=ATL-NVME-01"
    --sata "$dir/ssd.img,serial=ATL-SATA-01,model=Samsung SSD 860 EVO 250GB,rotation_rate=1"
    --sata "$dir/hdd.img,serial=ATL-HDD-01,model=WDC WD5000LPCX,rotation_rate=5400"
    --usb "$dir/usb.img,serial=ATL-USB-01"
  )
}

# vm_assert_line FILE LINE — fail (with FILE's content on stderr) unless FILE has exactly LINE.
vm_assert_line() {
  if grep -qxF -- "$2" "$1"; then return 0; fi
  vm_err "expected line not found in $1: $2"
  sed 's/^/  | /' "$1" >&2
  return 1
}
