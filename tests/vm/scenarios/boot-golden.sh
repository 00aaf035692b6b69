# shellcheck shell=bash
# Scenario boot-golden — issue 7, "Customisation after writing" (golden images): a real Debian
# golden image deployed by `atelier deploy` to two disks gives two machines that boot and share
# no identity.
#
# 1. The golden image: tests/images/build-golden-debian.sh (mmdebstrap bookworm with systemd,
#    udev, openssh-server, network-manager and a kernel; machine-id, SSH host keys, a saved
#    NetworkManager connection and persistent udev rules of a "reference machine"), cached in
#    /var/cache/atelier-test.
# 2. Two 2 GiB disk files whose first 1.1 GiB hold old content (a used disk), attached as loop
#    devices this scenario creates; `atelier deploy golden.img --to L1 --to L2 --customise golden
#    --hostname 'atelier-{n:03}'` writes (with the image's block map), reads back and customises
#    both. The loop devices are detached; e2fsck -f -n checks each root file system.
# 3. Each disk boots in QEMU (TCG) on the image's own kernel and initramfs (root=/dev/vda1 ro,
#    as a boot loader starts it: fsck, then remounted read-write from /etc/fstab);
#    a check script given by fw_cfg and started with `systemd.run=` waits for the boot to end and
#    prints "ATL key=value" lines on the serial console, then powers off.
# 4. Checks: host names atelier-001 / atelier-002; machine-ids valid, different from each other
#    and from the reference; SSH host keys present, regenerated at first boot, different from
#    each other and from the reference, ssh.service active; no saved NetworkManager connection,
#    no persistent udev rules; the root partition ends at the end of the disk and its file
#    system is about the disk's size; `systemctl is-system-running` is `running` (`degraded` is
#    accepted only with its failed units logged; `maintenance` or anything else fails).
#
# The check script's `systemd.run=` unit starts another unit and returns: a oneshot unit that
# waited for the end of the boot would itself hold the boot up. systemd.run= makes its own
# default target (kernel-command-line.target), so `systemd.wants=multi-user.target` asks for
# the normal system (SSH server, NetworkManager, getty) as well.

repo=$(cd "$ATELIER_VM_DIR/../.." && pwd)
vm_install_deps mmdebstrap gdisk bmap-tools jq

disk_size=$((2 << 30))
t_all=$(vm_now)

# --- 1. the golden image (cached) ------------------------------------------------------------
t0=$(vm_now)
golden=$("$repo/tests/images/build-golden-debian.sh" | tail -n1)
t_image=$(vm_elapsed "$t0")
[[ -f $golden/golden.img ]] || { vm_err "no golden image in '$golden'"; exit 1; }
info() { sed -n "s/^$1=//p" "$golden/info"; }
ref_machine_id=$(info reference_machine_id)
ref_ssh=$(info reference_ssh_fingerprints)
image_bytes=$(stat -c %s "$golden/golden.img")
vm_log "golden image: $golden ($(info kernel), ${t_image} s)"

# --- 2. deploy to two loop devices ------------------------------------------------------------
t0=$(vm_now)
bin=$(vm_atelier_bin)
t_bin=$(vm_elapsed "$t0")
t0=$(vm_now)
loops=()
detach_all() {
  local l
  for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
  loops=()
}
trap detach_all EXIT
for i in 1 2; do
  # Old content where the image goes (a used disk), then the rest of the disk sparse.
  # (yes ends with SIGPIPE: kept out of the pipeline status by the process substitution.)
  head -c $((1100 << 20)) < <(yes "OLD-DISK-$i-CONTENT-0123456789abcdef") >"disk$i.img"
  truncate -s "$disk_size" "disk$i.img"
  loops+=("$(losetup -f --show "disk$i.img")")
done
t_disks=$(vm_elapsed "$t0")
vm_log "targets: ${loops[*]} (disk files made in ${t_disks} s)"
t0=$(vm_now)
rc=0
"$bin" --data-dir "$VM_WORK/data" deploy "$golden/golden.img" \
  --sha256 "$(cut -d' ' -f1 "$golden/golden.img.sha256")" \
  --to "${loops[0]}" --to "${loops[1]}" --customise golden --hostname 'atelier-{n:03}' \
  --yes-i-understand-this-destroys-data --json >deploy.jsonl 2>deploy.err || rc=$?
t_deploy=$(vm_elapsed "$t0")
detach_all
trap - EXIT
if ((rc != 0)); then
  vm_err "atelier deploy exited $rc"; cat deploy.err >&2; tail -n 5 deploy.jsonl >&2; exit 1
fi
jq -c 'select(.event == "result") | {device, outcome, host: .deployment.customisation.hostname,
  changes: .deployment.customisation.changes}' deploy.jsonl >&2 || true
mapfile -t outcomes < <(jq -r 'select(.event == "result") | .outcome' deploy.jsonl)
[[ ${outcomes[*]} == "PASSED PASSED" ]] || { vm_err "deploy outcomes: ${outcomes[*]}"; exit 1; }
vm_log "deployed to both disks in ${t_deploy} s"

fails=()
fail() { vm_err "$*"; fails+=("$*"); }

# Host side: each root file system is clean (e2fsck -f -n through a read-only offset loop).
for i in 1 2; do
  read -r start sectors < <(partx -g -o START,SECTORS -n 1 "disk$i.img")
  if ((( start + sectors ) * 512 + 33 * 512 != disk_size)); then
    fail "disk$i: partition 1 ends at sector $((start + sectors)), not at the disk's end"
  fi
  lo=$(losetup -f --show -r -o $((start * 512)) --sizelimit $((sectors * 512)) "disk$i.img")
  fsck_rc=0
  e2fsck -f -n "$lo" >"fsck$i.log" 2>&1 || fsck_rc=$?
  losetup -d "$lo"
  ((fsck_rc == 0)) || { fail "disk$i: e2fsck -f -n exit $fsck_rc"; cat "fsck$i.log" >&2; }
done

# --- 3. boot each disk ------------------------------------------------------------------------
cat >check.sh <<'EOF'
#!/bin/sh
# Started by systemd.run= (kernel-command-line.service): hand over to a unit that does not hold
# up the boot, so that it can wait for the boot's end.
if [ "${1:-}" != check ]; then
  cp "$0" /run/atelier-check.sh
  exec systemd-run --no-block --unit=atelier-check /bin/sh /run/atelier-check.sh check
fi
state=$(timeout 150 systemctl is-system-running --wait 2>&1)
exec >/dev/ttyS0 2>&1
# A leading newline: the serial getty's login prompt may share the console.
p() { printf '\nATL %s=%s\n' "$1" "$2"; }
p state "$state"
p failed "$(systemctl --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')"
p boot_time "$(systemd-analyze time 2>/dev/null | head -n1)"
p slowest "$(systemd-analyze blame 2>/dev/null | head -n4 | tr -s ' ' | tr '\n' ',')"
p hostname "$(hostname)"
p etc_hostname "$(cat /etc/hostname)"
p hosts_line "$(grep '^127\.0\.1\.1' /etc/hosts | tr '\t' ' ')"
p machine_id "$(cat /etc/machine-id)"
p dbus_machine_id "$(cat /var/lib/dbus/machine-id 2>/dev/null || echo absent)"
for f in /etc/ssh/ssh_host_*_key.pub; do
  [ -e "$f" ] && p ssh_key "$(ssh-keygen -lf "$f" | awk '{print $2, $NF}')"
done
p ssh_active "$(systemctl is-active ssh.service)"
p keygen_unit "$(systemctl show -p Result -p ExecMainStatus -p ExecMainExitTimestampMonotonic atelier-ssh-keygen.service | tr '\n' ' ')"
p nm_active "$(systemctl is-active NetworkManager.service)"
p nm_connections "$(ls -A /etc/NetworkManager/system-connections 2>/dev/null | wc -l)"
p udev_rules "$(test -e /etc/udev/rules.d/70-persistent-net.rules && echo present || echo absent)"
p disk_sectors "$(cat /sys/block/vda/size)"
p part_start "$(cat /sys/block/vda/vda1/start)"
p part_sectors "$(cat /sys/block/vda/vda1/size)"
p root_bytes "$(df -B1 --output=size / | tail -n1 | tr -d ' ')"
p root_source "$(findmnt -n -o SOURCE,FSTYPE,OPTIONS / | tr -s ' ')"
p ext4_errors "$(dmesg | grep -c 'EXT4-fs error')"
p end done
systemctl --no-block poweroff 2>/dev/null
EOF

boot() { # boot DISK NAME — boots DISK, the console goes to NAME.console.log
  local disk=$1 name=$2 t0 rc=0
  # shellcheck disable=SC2054  # the commas are inside QEMU option values
  local -a qemu=(
    qemu-system-x86_64 -M q35 -accel tcg -m 1024 -smp 2
    -nodefaults -nographic -no-reboot -serial stdio -monitor none
    -kernel "$golden/vmlinuz" -initrd "$golden/initrd.img"
    -append "root=/dev/vda1 ro console=ttyS0 systemd.wants=multi-user.target systemd.run=\"/bin/sh /sys/firmware/qemu_fw_cfg/by_name/opt/test/script/raw\" systemd.run_success_action=none systemd.run_failure_action=poweroff"
    -drive "if=none,id=d0,format=raw,cache=unsafe,file=$disk" -device virtio-blk-pci,drive=d0
    -device virtio-rng-pci
    -fw_cfg "name=opt/test/script,file=$VM_WORK/check.sh"
  )
  printf '%q ' "${qemu[@]}" >"$name.console.log.cmdline"
  t0=$(vm_now)
  timeout --kill-after=10 240 "${qemu[@]}" </dev/null >"$name.console.log" 2>&1 || rc=$?
  vm_log "$name: QEMU exited $rc after $(vm_elapsed "$t0") s"
  return "$rc"
}

declare -A R1 R2
report() { # report NAME ARRAY — parse NAME.console.log's ATL lines into the associative ARRAY
  local -n into=$2
  local line key value
  while IFS= read -r line; do
    key=${line%%=*} value=${line#*=}
    key=${key#ATL }
    if [[ $key == ssh_key ]]; then into["ssh_key"]+="${value}|"; else into["$key"]=$value; fi
  done < <(tr -d '\r' <"$1.console.log" | grep -ao '^ATL [a-z0-9_]*=.*')
}

t_boot=()
for i in 1 2; do
  t0=$(vm_now)
  boot "disk$i.img" "machine$i" || fail "machine$i: QEMU failed or timed out (console: $VM_WORK/machine$i.console.log)"
  t_boot+=("$(vm_elapsed "$t0")")
done
report machine1 R1
report machine2 R2
for i in 1 2; do
  vm_log "machine$i report:"
  tr -d '\r' <"machine$i.console.log" | grep -ao '^ATL [a-z0-9_]*=.*' | sed 's/^/    /' >&2 || true
done

# --- 4. checks ---------------------------------------------------------------------------------
check_machine() { # check_machine I ARRAY
  local i=$1
  local -n r=$2
  local want_host
  want_host=$(printf 'atelier-%03d' "$i")
  [[ ${r[end]:-} == "done" ]] || { fail "machine$i: no complete report on the console"; return; }
  case ${r[state]} in
    running) ;;
    degraded) vm_log "machine$i: degraded, failed units: ${r[failed]}"
              fail "machine$i: degraded (failed units: ${r[failed]})" ;;
    *) fail "machine$i: systemctl is-system-running says '${r[state]}'" ;;
  esac
  [[ ${r[hostname]} == "$want_host" ]] || fail "machine$i: host name '${r[hostname]}', want $want_host"
  [[ ${r[etc_hostname]} == "$want_host" ]] || fail "machine$i: /etc/hostname '${r[etc_hostname]}'"
  [[ ${r[hosts_line]} == "127.0.1.1 $want_host" ]] || fail "machine$i: /etc/hosts line '${r[hosts_line]}'"
  [[ ${r[machine_id]} =~ ^[0-9a-f]{32}$ ]] || fail "machine$i: machine-id '${r[machine_id]}' is not 32 hex digits"
  [[ ${r[machine_id]} != "$ref_machine_id" ]] || fail "machine$i: machine-id is the reference machine's"
  [[ ${r[dbus_machine_id]} == absent || ${r[dbus_machine_id]} == "${r[machine_id]}" ]] ||
    fail "machine$i: D-Bus machine-id '${r[dbus_machine_id]}' differs from /etc/machine-id"
  local keys=${r[ssh_key]:-} k n=0
  IFS='|' read -ra klist <<<"$keys"
  for k in "${klist[@]}"; do
    [[ -n $k ]] || continue
    n=$((n + 1))
    [[ " $ref_ssh " != *" ${k%% *} "* ]] || fail "machine$i: SSH host key ${k} is the reference machine's"
  done
  ((n >= 3)) || fail "machine$i: $n SSH host keys (want rsa, ecdsa, ed25519)"
  [[ ${r[ssh_active]} == active ]] || fail "machine$i: ssh.service is '${r[ssh_active]}'"
  [[ ${r[keygen_unit]} == *"Result=success"* && ${r[keygen_unit]} == *"ExecMainStatus=0"* &&
     ${r[keygen_unit]} != *"ExecMainExitTimestampMonotonic=0 "* ]] ||
    fail "machine$i: atelier-ssh-keygen.service did not run successfully: ${r[keygen_unit]}"
  [[ ${r[nm_connections]} == 0 ]] || fail "machine$i: ${r[nm_connections]} saved NetworkManager connections left"
  [[ ${r[nm_active]} == active ]] || fail "machine$i: NetworkManager is '${r[nm_active]}'"
  [[ ${r[udev_rules]} == absent ]] || fail "machine$i: persistent udev net rules still there"
  local sectors=${r[disk_sectors]} root_bytes=${r[root_bytes]} pstart=${r[part_start]}
  local psize=${r[part_sectors]}
  local disk=$((sectors * 512)) part_end=$((pstart + psize))
  ((disk == disk_size)) || fail "machine$i: disk is $disk bytes, want $disk_size"
  ((part_end == sectors - 33)) ||
    fail "machine$i: vda1 ends at sector $part_end, disk has ${r[disk_sectors]} (GPT backup: 33)"
  # df's size is the file system less its metadata (about 2 % here): at least 95 % of the disk,
  # and far above the 1 GiB image.
  ((root_bytes * 100 >= disk * 95 && root_bytes > image_bytes)) ||
    fail "machine$i: root file system is $root_bytes bytes on a $disk-byte disk ($image_bytes-byte image)"
  [[ ${r[root_source]} == "/dev/vda1 ext4 rw"* ]] || fail "machine$i: root mounted as '${r[root_source]}'"
  [[ ${r[ext4_errors]} == 0 ]] || fail "machine$i: ${r[ext4_errors]} EXT4-fs errors in dmesg"
}
check_machine 1 R1
check_machine 2 R2
# The new machine-id was written to the disk (systemd-machine-id-commit / first-boot commit),
# so it stays the machine's identity at the next boot; read on the host with debugfs.
for i in 1 2; do
  declare -n rep=R$i
  on_disk=$(debugfs -R 'cat /etc/machine-id' "disk$i.img?offset=$((2048 * 512))" 2>/dev/null)
  [[ -z ${rep[machine_id]:-} || $on_disk == "${rep[machine_id]}" ]] ||
    fail "machine$i: /etc/machine-id on the disk is '$on_disk', the running system said '${rep[machine_id]}'"
  unset -n rep
done
if [[ ${R1[end]:-} == "done" && ${R2[end]:-} == "done" ]]; then
  [[ ${R1[machine_id]} != "${R2[machine_id]}" ]] || fail "both machines have machine-id ${R1[machine_id]}"
  IFS='|' read -ra k1 <<<"${R1[ssh_key]}"
  for k in "${k1[@]}"; do
    [[ -z $k || "|${R2[ssh_key]}" != *"|$k|"* ]] || fail "both machines have SSH host key $k"
  done
fi

vm_log "timings: image ${t_image} s, atelier build ${t_bin} s, disk files ${t_disks} s, deploy ${t_deploy} s, boots ${t_boot[*]} s, total $(vm_elapsed "$t_all") s"
vm_log "in-guest boot: machine1 '${R1[boot_time]:-?}'; machine2 '${R2[boot_time]:-?}'"
vm_log "slowest units: machine1 '${R1[slowest]:-?}'"
if ((${#fails[@]})); then
  vm_err "${#fails[@]} check(s) failed:"
  printf '  - %s\n' "${fails[@]}" >&2
  exit 1
fi
vm_log "PASS: two machines from one golden image, no shared identity"
