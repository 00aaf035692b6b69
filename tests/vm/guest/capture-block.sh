#!/bin/sh
# capture-block.sh — copy the block-device layer of sysfs/procfs into a fixture tree.
#
# usage: capture-block.sh [-r] [SOURCE_ROOT] DEST
#   SOURCE_ROOT  root to read from (default /); only read, never written
#   DEST         directory to create the tree in (created; must not exist or be empty)
#   -r           redact host details that are not about disks: keep only generic kernel
#                parameters of /proc/cmdline and, in mountinfo, only block-backed mounts and the
#                standard system mounts
#
# DEST gets the same relative paths as SOURCE_ROOT, so a reader given DEST as its root sees what
# it would see on the machine (format: tests/vm/README.md, "Fixture trees"):
#   sys/class/block/*        symlinks with their real relative targets
#   sys/block/*, sys/dev/block/*  the same kind of symlinks (whole disks; MAJ:MIN)
#   each block device dir    small regular files; device, subsystem symlinks; queue/ (files);
#                            holders/ slaves/ (symlinks); loop/ dm/ md/ integrity/ if present;
#                            partition subdirs likewise
#   device dir + ancestors   small readable regular files and the subsystem / driver symlinks of
#                            every directory from the device up to (excluding) sys/devices
#   sys/class/dmi/id         symlink + the DMI id files
#   proc/self/mountinfo, proc/swaps, proc/cmdline, run/udev/data/b*
# "Small readable regular file": owner-readable, at most 64 KiB, and reading it succeeded.
# Skipped on purpose: PCI resource*/rom/vpd (reads touch the hardware), and nothing outside the
# lists above (no environment, no process data).
# POSIX sh: runs under busybox in the guest and under dash/bash on a host.
set -eu

MAX=65536
REDACT=0

usage() { echo "usage: $0 [-r] [SOURCE_ROOT] DEST" >&2; exit 2; }

while getopts r opt; do
  case $opt in
    r) REDACT=1 ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
case $# in
  1) SRC=/ DEST=$1 ;;
  2) SRC=$1 DEST=$2 ;;
  *) usage ;;
esac

# Canonical source root without trailing slash ("" for /), so "$SRC/sys/…" are real paths and
# resolved link targets can be turned back into root-relative paths.
SRC=$(cd "$SRC" && pwd -P)
[ "$SRC" = / ] && SRC=
mkdir -p "$DEST"
[ -z "$(ls -A "$DEST")" ] || { echo "$0: $DEST is not empty" >&2; exit 1; }
DEST=$(cd "$DEST" && pwd -P)

VISITED=" "

# rel ABS — path of ABS relative to the source root (no leading slash).
rel() { p=${1#"$SRC"}; echo "${p#/}"; }

# resolve REL — canonical root-relative path that REL (a symlink or dir) points to.
resolve() { rel "$(readlink -f "$SRC/$1")"; }

# copy_link REL — recreate symlink REL with its raw (relative) target, if it is a symlink.
copy_link() {
  [ -L "$SRC/$1" ] || return 0
  mkdir -p "$DEST/${1%/*}"
  ln -sfn "$(readlink "$SRC/$1")" "$DEST/$1"
}

# copy_file REL — copy regular file REL if it can be read and is at most $MAX bytes.
copy_file() {
  case ${1##*/} in
    resource* | rom | vpd) # PCI BARs / option ROM / PCI VPD: reading them touches the device
      case $1 in sys/devices/pci*) return 0 ;; esac ;;
  esac
  mkdir -p "$DEST/${1%/*}"
  if head -c $((MAX + 1)) "$SRC/$1" >"$DEST/$1" 2>/dev/null &&
    [ "$(wc -c <"$DEST/$1")" -le "$MAX" ]; then
    return 0
  fi
  rm -f "$DEST/$1"
}

# copy_files REL — copy the small readable regular files directly in directory REL.
copy_files() {
  [ -d "$SRC/$1" ] || return 0
  mkdir -p "$DEST/$1"
  # -perm -0400: skip write-only attributes (root could open them, but they are triggers).
  find "$SRC/$1/" -mindepth 1 -maxdepth 1 -type f -perm -0400 | while read -r f; do
    copy_file "$1/${f##*/}"
  done
}

# copy_links REL — recreate every symlink directly in directory REL (holders/, slaves/…).
copy_links() {
  [ -d "$SRC/$1" ] || return 0
  mkdir -p "$DEST/$1"
  find "$SRC/$1/" -mindepth 1 -maxdepth 1 -type l | while read -r f; do
    copy_link "$1/${f##*/}"
  done
}

# copy_device_chain REL — copy the device directory REL and every ancestor below sys/devices:
# files, subsystem and driver links. Directories already copied are skipped.
copy_device_chain() {
  d=$1
  while :; do
    case $d in sys/devices/?*) ;; *) break ;; esac
    case $VISITED in *" $d "*) break ;; esac
    VISITED="$VISITED$d "
    copy_files "$d"
    copy_link "$d/subsystem"
    copy_link "$d/driver"
    d=${d%/*}
  done
}

# copy_block_dir REL — copy one block device (disk or partition) directory REL.
copy_block_dir() {
  case $VISITED in *" $1 "*) return 0 ;; esac
  VISITED="$VISITED$1 "
  copy_files "$1"
  copy_link "$1/device"
  copy_link "$1/subsystem"
  copy_files "$1/queue"
  for sub in loop dm md integrity; do copy_files "$1/$sub"; copy_links "$1/$sub"; done
  copy_links "$1/holders"
  copy_links "$1/slaves"
  # Partitions are subdirectories holding a "partition" attribute.
  for p in "$SRC/$1"/*/partition; do
    [ -f "$p" ] || continue
    p=${p%/partition}
    copy_block_dir "$1/${p##*/}"
  done
  if [ -L "$SRC/$1/device" ]; then
    copy_device_chain "$(resolve "$1/device")"
  fi
}

# Block devices, reached through /sys/class/block.
for e in "$SRC"/sys/class/block/*; do
  [ -L "$e" ] || continue
  name=${e##*/}
  copy_link "sys/class/block/$name"
  copy_block_dir "$(resolve "sys/class/block/$name")"
done
# The other two indexes of the same directories: whole disks, and MAJ:MIN.
for e in "$SRC"/sys/block/* "$SRC"/sys/dev/block/*; do
  if [ -L "$e" ]; then copy_link "$(rel "$e")"; fi
done

# SMBIOS identity (sys/class/dmi/id is itself a symlink to sys/devices/virtual/dmi/id).
if [ -e "$SRC/sys/class/dmi/id" ]; then
  copy_link sys/class/dmi/id
  dmi=$(resolve sys/class/dmi/id)
  copy_files "$dmi"
fi

# procfs: mounts, swaps, command line.
mkdir -p "$DEST/proc/self"
if [ "$REDACT" = 1 ]; then
  # Keep mounts backed by a block device (major != 0) and the standard system mounts.
  awk '{ split($3, mm, ":") }
       mm[1] != 0 || $5 ~ /^\/(proc|sys|dev|run|tmp|boot)?(\/|$)/' \
    "$SRC/proc/self/mountinfo" >"$DEST/proc/self/mountinfo"
  # Keep generic parameters; drop everything after "--" (arguments for init).
  tr ' ' '\n' <"$SRC/proc/cmdline" | awk '
    $0 == "--" { exit }
    /^(BOOT_IMAGE|root|rootfstype|rootflags|ro|rw|quiet|splash|console|boot|live-media|toram|panic|loglevel)(=|$)/' |
    paste -sd ' ' >"$DEST/proc/cmdline"
else
  cat "$SRC/proc/self/mountinfo" >"$DEST/proc/self/mountinfo"
  cat "$SRC/proc/cmdline" >"$DEST/proc/cmdline"
fi
cat "$SRC/proc/swaps" >"$DEST/proc/swaps"

# udev's block device database, when udev runs.
for f in "$SRC"/run/udev/data/b*; do
  if [ -f "$f" ]; then copy_file "run/udev/data/${f##*/}"; fi
done
exit 0
