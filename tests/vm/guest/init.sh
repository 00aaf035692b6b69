#!/bin/sh
# Atelier VM guest init (PID 1 of the busybox initramfs built by vm_initramfs).
#
# 1. mounts /proc, /sys, /dev (devtmpfs), /run and /tmp (tmpfs);
# 2. loads the kernel modules listed in /etc/atelier-vm/modules, in order;
# 3. waits (bounded) until the number of disks given by atelier.disks=N on the kernel command
#    line is visible in /sys/block (block devices backed by a device: loop/ram/zram excluded);
# 4. mounts the 9p share tagged "results" on /results;
# 5. runs the command passed through fw_cfg (opt/atelier/cmd), cwd /results, with stdout and
#    stderr captured in /results/stdout and /results/stderr, and its status in
#    /results/exit-status (written last);
# 6. syncs, unmounts and powers off. Any failure before step 5 powers off without an
#    exit-status file, which the host reports as a failed boot.
#
# Kernel command-line knobs: atelier.disks=N, atelier.wait=SECONDS (default 30),
# atelier.shell=1 (drop to a shell on the console instead of powering off; interactive use).

PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH

FWCFG=/sys/firmware/qemu_fw_cfg/by_name/opt/atelier/cmd/raw

say() { echo "atelier-vm: $*"; }

# finish — flush everything and power off (never returns).
finish() {
  sync
  umount /results 2>/dev/null
  if [ "$SHELL_ON_EXIT" = 1 ]; then say "atelier.shell=1: starting a shell"; setsid cttyhack sh; fi
  say "power off"
  poweroff -f
  sleep 30
}

# fail MSG — report a harness failure on the console and power off.
fail() { say "FAILED: $*"; finish; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mkdir -p /run/atelier /results

# Kernel command-line parameters for us.
DISKS=0 WAIT=30 SHELL_ON_EXIT=0
# shellcheck disable=SC2013  # the command line is a list of words
for arg in $(cat /proc/cmdline); do
  case $arg in
    atelier.disks=*) DISKS=${arg#*=} ;;
    atelier.wait=*) WAIT=${arg#*=} ;;
    atelier.shell=*) SHELL_ON_EXIT=${arg#*=} ;;
  esac
done
say "up at $(cut -d' ' -f1 /proc/uptime) s, kernel $(uname -r)"

# Modules, in dependency order (resolved on the host). A module whose hardware or CPU feature is
# missing (e.g. crc32c-intel without SSE4.2) fails to load; its generic fallback follows it.
while read -r mod params; do
  [ -n "$mod" ] || continue
  # shellcheck disable=SC2086  # params are separate words
  insmod "$mod" $params 2>/dev/null || say "insmod ${mod##*/} failed (ignored)"
done </etc/atelier-vm/modules

# count_disks — number of block devices backed by a device (what the host attached).
count_disks() {
  n=0
  for b in /sys/block/*; do
    [ -e "$b/device" ] && n=$((n + 1))
  done
  echo "$n"
}

# Wait for the disks, in 0.1 s steps.
i=0
while [ "$(count_disks)" -lt "$DISKS" ]; do
  i=$((i + 1))
  # shellcheck disable=SC2012  # block device names are plain
  [ "$i" -le $((WAIT * 10)) ] || fail "only $(count_disks) of $DISKS disks after $WAIT s: $(ls /sys/block | tr '\n' ' ')"
  sleep 0.1
done
# shellcheck disable=SC2012  # block device names are plain
say "disks ready at $(cut -d' ' -f1 /proc/uptime) s: $(ls /sys/block | tr '\n' ' ')"

# The results share (virtio-9p). Retry briefly: the virtio device may still be probing.
i=0
until mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 results /results 2>/dev/null; do
  i=$((i + 1))
  [ "$i" -le 50 ] || fail "cannot mount the 9p results share"
  sleep 0.1
done

[ -r "$FWCFG" ] || fail "no command in fw_cfg (opt/atelier/cmd)"
cat "$FWCFG" >/run/atelier/cmd
chmod 0755 /run/atelier/cmd

# Run the command. A script starting with #! is executed as is, anything else with sh.
say "running command"
cd /results || fail "cannot enter /results"
export ATELIER_VM=1 ATELIER_RESULTS=/results HOME=/root
if [ "$(head -c 2 /run/atelier/cmd)" = "#!" ]; then
  /run/atelier/cmd >/results/stdout 2>/results/stderr </dev/null
else
  sh /run/atelier/cmd >/results/stdout 2>/results/stderr </dev/null
fi
rc=$?
cd /
sync
echo "$rc" >/results/exit-status
say "command exited $rc at $(cut -d' ' -f1 /proc/uptime) s"
# A short excerpt on the console helps when reading a failed run's log.
if [ "$rc" -ne 0 ]; then
  tail -n 20 /results/stderr | sed 's/^/[stderr] /'
fi
finish
