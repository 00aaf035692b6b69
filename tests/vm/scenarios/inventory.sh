# shellcheck shell=bash
# shellcheck disable=SC2016  # $f, $s, $n in single quotes are jq variables
# inventory — `atelier inventory` on the emulated ThinkPad, checked against the values the test
# configured and against what dmidecode, lsblk and smartctl report in the same guest.
#
# The machine: the disks of vm_profile_thinkpad (NVMe ATL-NVME-01, SATA SSD ATL-SATA-01, SATA
# HDD ATL-HDD-01, USB stick ATL-USB-01 — here with removable=on, like a real stick, and its
# ATELIER partition mounted on /run/live/medium as live-boot does), an SMBIOS identity of its
# own (types 0, 1, 2, 17 through QEMU's fields; type 3 as a raw structure, because QEMU 7.2
# has no chassis-type field and always writes "Other"), an Intel CPU with 1 core × 2 threads.
#
# In one boot the guest runs, as root: `atelier inventory --json --no-save`, `--format glpi`,
# the human output in English and French, dmidecode, lsblk, smartctl -i, and the inventory
# again with a PATH that has no smartctl (it must still exit 0, with every disk's health
# unknown and a warning). The host then compares everything with jq and reports every
# mismatch before failing.

# ---------------------------------------------------------------------------------------------
# What the test configures
# ---------------------------------------------------------------------------------------------

# SMBIOS values, by identity field of the record: "dmidecode -s keyword|value".
declare -A SMBIOS=(
  [bios_vendor]="bios-vendor|ATL Firmware Works"
  [bios_version]="bios-version|N2HET77W (1.60 )"
  [bios_date]="bios-release-date|07/14/2023"
  [system_vendor]="system-manufacturer|LENOVO"
  [product_name]="system-product-name|20XWATL001"
  [product_version]="system-version|ThinkPad T14 Gen 2 ATL"
  [serial]="system-serial-number|PF-ATL-4242"
  [uuid]="system-uuid|a1b2c3d4-e5f6-4789-8abc-def012345678"
  [product_sku]="system-sku-number|LENOVO_MT_20XW_BU_Think_FM_ThinkPad T14 Gen 2"
  [product_family]="system-family|ThinkPad T14 Gen 2"
  [board_vendor]="baseboard-manufacturer|LENOVO"
  [board_name]="baseboard-product-name|20XWATLBRD"
  [board_serial]="baseboard-serial-number|L1HF-ATL-BOARD-77"
  [chassis_type]="chassis-type|Notebook"
  [chassis_serial]="chassis-serial-number|PF-ATL-CHASSIS-9"
)
smbios_value() { printf '%s' "${SMBIOS[$1]#*|}"; }

# Memory module (type 17). QEMU makes one module per 16 GiB of guest RAM, so one here; it fixes
# the type (RAM) and the form factor (DIMM) and names the slot "<loc_pfx> <n>".
MEM_LOC_PFX="ChannelA-DIMM" MEM_BANK="BANK 0" MEM_VENDOR="ATL-Samsung"
MEM_SERIAL="ATL-MEM-0001" MEM_PART="M471A1K43DB1-CWE" MEM_SPEED=3200 MEM_MIB=1024

# CPU: one socket, one core, two threads (cores ≠ threads, so a mix-up shows). Nehalem rather
# than the default qemu64: qemu64 is an AMD model without topoext, on which Linux sees two
# cores whatever -smp says (QEMU warns "This family of AMD CPU doesn't support hyperthreading").
CPU_MODEL=Nehalem CPU_SOCKETS=1 CPU_CORES=1 CPU_THREADS=2

# Disks, by serial: "transport media rotational removable boot_medium model". The models are
# those of vm_profile_thinkpad (QEMU names the NVMe controller and the USB stick itself).
declare -A DISK=(
  [ATL-NVME-01]="nvme flash false false false QEMU NVMe Ctrl"
  [ATL-SATA-01]="sata flash false false false Samsung SSD 860 EVO 250GB"
  [ATL-HDD-01]="sata magnetic true false false WDC WD5000LPCX"
  [ATL-USB-01]="usb unknown true true true QEMU HARDDISK"
)

# smbios_type3 OUT TYPE_BYTE MANUFACTURER VERSION SERIAL ASSET SKU — write a raw SMBIOS type 3
# (System Enclosure) structure for `-smbios file=`, DSP0134 §7.4 layout with no contained
# elements: header (type 3, length 0x16, handle 0x0300 — the handle QEMU's type 2 points to),
# string numbers 1–4 for manufacturer / version / serial / asset tag, the chassis type byte,
# boot-up / power supply / thermal states "safe" (3), security status "none" (3), OEM 0,
# height 0, one power cord, 0 contained elements of length 0, SKU = string 5; then the strings.
smbios_type3() {
  local out=$1 type
  type=$(printf '%02x' "$2")
  {
    printf '\x03\x16\x00\x03\x01'
    printf '%b' "\\x$type"
    printf '\x02\x03\x04\x03\x03\x03\x03\x00\x00\x00\x00\x00\x01\x00\x00\x05'
    printf '%s\0' "$3" "$4" "$5" "$6" "$7"
    printf '\0'
  } >"$out"
}

# ---------------------------------------------------------------------------------------------
# Boot
# ---------------------------------------------------------------------------------------------

vm_install_deps smartmontools dmidecode
vm_initramfs "$VM_WORK/initrd.cpio.gz" --bin "$(vm_atelier_bin)" \
  --tool smartctl --tool dmidecode --tool lsblk
vm_profile_thinkpad "$VM_WORK/disks"

# The profile's disks, without its SMBIOS identity (ours replaces it; QEMU refuses a type 3
# structure from a file when type 3 fields were also given) and with a removable USB stick.
disk_args=()
for ((i = 0; i < ${#VM_PROFILE_ARGS[@]}; i += 2)); do
  opt=${VM_PROFILE_ARGS[i]} val=${VM_PROFILE_ARGS[i + 1]}
  case $opt in
    --smbios) ;;
    --usb) disk_args+=("$opt" "$val,removable=on") ;;
    *) disk_args+=("$opt" "$val") ;;
  esac
done

smbios_type3 "$VM_WORK/type3.bin" 0x0a "LENOVO" "T14-CHASSIS-V2" \
  "$(smbios_value chassis_serial)" "ATL-ASSET-0042" "ATL-CHASSIS-SKU"
# Chassis type 0x0A is "Notebook" (DSP0134 §7.4.1).

cat >"$VM_WORK/guest.sh" <<'GUEST'
# cwd: the results share. Every step records its status; the host decides.
mkdir -p /run/live/medium
mount -o ro "$(findfs LABEL=ATELIER)" /run/live/medium
t0=$(cut -d' ' -f1 /proc/uptime)
atelier inventory --json --no-save >inventory.json 2>inventory.err
echo $? >inventory.status
t1=$(cut -d' ' -f1 /proc/uptime)
atelier inventory --format glpi --no-save >glpi.json 2>glpi.err
echo $? >glpi.status
atelier --lang en inventory --no-save >human-en.txt 2>human-en.err
echo $? >human-en.status
atelier --lang fr inventory --no-save >human-fr.txt 2>human-fr.err
echo $? >human-fr.status
# Bad input: no smartctl in PATH.
mkdir -p /tmp/nosmart
ln -s /bin/atelier /tmp/nosmart/atelier
PATH=/tmp/nosmart /tmp/nosmart/atelier --lang en inventory --json --no-save \
  >nosmart.json 2>nosmart.err
echo $? >nosmart.status
# References.
for k in bios-vendor bios-version bios-release-date system-manufacturer system-product-name \
  system-version system-serial-number system-uuid system-sku-number system-family \
  baseboard-manufacturer baseboard-product-name baseboard-serial-number chassis-type \
  chassis-serial-number; do
  printf '%s=%s\n' "$k" "$(dmidecode -s "$k")"
done >dmidecode-s.txt
dmidecode -t 17 >dmidecode-17.txt
dmidecode -t 4 >dmidecode-4.txt
lsblk -J -b -d -o NAME,SERIAL,MODEL,SIZE,TRAN,ROTA,RM >lsblk.json 2>lsblk.err
echo $? >lsblk.status
for b in /sys/block/*; do
  [ -e "$b/device" ] && smartctl -j -i "/dev/${b##*/}" >"smartctl-${b##*/}.json"
done
sh /usr/lib/atelier-vm/identify.sh >identity.txt
grep MemTotal /proc/meminfo >meminfo.txt
echo "inventory (json) took $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s"
exit 0
GUEST

vm_run --initrd "$VM_WORK/initrd.cpio.gz" --cmd "$VM_WORK/guest.sh" --results "$VM_WORK/results" \
  --timeout 300 --smp "$((CPU_SOCKETS * CPU_CORES * CPU_THREADS)),sockets=$CPU_SOCKETS,cores=$CPU_CORES,threads=$CPU_THREADS" \
  --mem "$MEM_MIB" --qemu-arg -cpu --qemu-arg "$CPU_MODEL" \
  --smbios "type=0,vendor=$(smbios_value bios_vendor),version=$(smbios_value bios_version),date=$(smbios_value bios_date),release=1.60" \
  --smbios "type=1,manufacturer=$(smbios_value system_vendor),product=$(smbios_value product_name),version=$(smbios_value product_version),serial=$(smbios_value serial),uuid=$(smbios_value uuid),sku=$(smbios_value product_sku),family=$(smbios_value product_family)" \
  --smbios "type=2,manufacturer=$(smbios_value board_vendor),product=$(smbios_value board_name),version=SDK0J40697 WIN,serial=$(smbios_value board_serial),asset=ATL-BOARD-ASSET" \
  --smbios "file=$VM_WORK/type3.bin" \
  --smbios "type=17,loc_pfx=$MEM_LOC_PFX,bank=$MEM_BANK,manufacturer=$MEM_VENDOR,serial=$MEM_SERIAL,asset=ATL-MEM-ASSET,part=$MEM_PART,speed=$MEM_SPEED" \
  "${disk_args[@]}"

# ---------------------------------------------------------------------------------------------
# Checks (every mismatch is reported, then the scenario fails)
# ---------------------------------------------------------------------------------------------

r=$VM_WORK/results
cat "$r/stdout" "$r/human-en.txt"
failures=0
fail() { vm_err "$*"; failures=$((failures + 1)); }
# same WHAT EXPECTED ACTUAL — compare two strings.
same() { [[ $2 == "$3" ]] || fail "$1: expected '$2', got '$3'"; }
inv() { jq -r "$@" "$r/inventory.json"; }
# trim — strip leading and trailing blanks (lsblk prints sysfs strings with their padding).
trim() { sed 's/^[[:space:]]*//; s/[[:space:]]*$//'; }

for f in inventory glpi human-en human-fr nosmart lsblk; do
  same "exit status of $f" 0 "$(cat "$r/$f.status")"
done
jq -e . "$r/inventory.json" >/dev/null || { vm_err "inventory.json is not JSON"; exit 1; }
same "as_root" true "$(inv .as_root)"
# The only expected warnings: no pci.ids in the initramfs, and the USB bridge smartctl cannot
# query. Anything else (a probe past its deadline…) is a finding.
usb_dev=$(inv '.disks[] | select(.device.transport == "usb") | .device.path')
same "unexpected warnings" "" \
  "$(inv --arg u "smart:$usb_dev" '.warnings[] | select(.probe != "pci" and .probe != $u) | "\(.probe): \(.message)"')"

# Identity: every configured value, known, equal to dmidecode's.
for field in "${!SMBIOS[@]}"; do
  keyword=${SMBIOS[$field]%%|*} want=${SMBIOS[$field]#*|}
  same "identity.$field state" known "$(inv --arg f "$field" '.identity[$f].state')"
  same "identity.$field value" "$want" "$(inv --arg f "$field" '.identity[$f].value')"
  same "dmidecode -s $keyword" "$want" "$(sed -n "s/^$keyword=//p" "$r/dmidecode-s.txt")"
done
same "identity.chassis_portable" true "$(inv .identity.chassis_portable)"
same "identity.smbios_version" "$(sed -n 's/^SMBIOS \([0-9.]*\) present.*/\1/p' "$r/dmidecode-17.txt")" \
  "$(inv .identity.smbios_version)"

# Machine key: serial + UUID, strong.
same "machine_key.source" serial_uuid "$(inv .machine_key.source)"
same "machine_key.weak" false "$(inv .machine_key.weak)"
key=$(inv .machine_key.value)
[[ $key == *"$(smbios_value serial)"* && $key == *"$(smbios_value uuid)"* ]] ||
  fail "machine_key.value '$key' does not hold the serial and the UUID"

# CPU: as -smp and -cpu said, and as SMBIOS type 4 says.
same "cpu.sockets" "$CPU_SOCKETS" "$(inv .cpu.sockets)"
same "cpu.cores" "$((CPU_SOCKETS * CPU_CORES))" "$(inv .cpu.cores)"
same "cpu.threads" "$((CPU_SOCKETS * CPU_CORES * CPU_THREADS))" "$(inv .cpu.threads)"
same "dmidecode type 4 Core Count" "$CPU_CORES" "$(sed -n 's/^\tCore Count: //p' "$r/dmidecode-4.txt" | head -1)"
same "dmidecode type 4 Thread Count" "$((CPU_CORES * CPU_THREADS))" \
  "$(sed -n 's/^\tThread Count: //p' "$r/dmidecode-4.txt" | head -1)"
same "cpu.vendor" GenuineIntel "$(inv .cpu.vendor)"
[[ $(inv .cpu.model) == *Nehalem* ]] || fail "cpu.model: '$(inv .cpu.model)' is not the Nehalem model"

# Memory: MemTotal as the guest's /proc/meminfo; one slot per SMBIOS type 17, as configured and
# as dmidecode shows it.
same "memory.total_bytes.state" known "$(inv .memory.total_bytes.state)"
same "memory.total_bytes" "$(($(awk '{ print $2 }' "$r/meminfo.txt") * 1024))" "$(inv .memory.total_bytes.value)"
same "memory slots (dmidecode type 17 count)" "$(grep -c '^Memory Device' "$r/dmidecode-17.txt")" \
  "$(inv '.memory.slots | length')"
same "memory.slots count" 1 "$(inv '.memory.slots | length')"
same "memory.installed_bytes" "$((MEM_MIB << 20))" "$(inv .memory.installed_bytes)"
same "memory.check" consistent "$(inv .memory.check)"
dmi17() { sed -n "s/^\t$1: //p" "$r/dmidecode-17.txt" | head -1; }
slot() { inv ".memory.slots[0].$1"; }
same "slot locator" "$MEM_LOC_PFX 0" "$(slot locator)"
same "slot locator (dmidecode)" "$(dmi17 Locator)" "$(slot locator)"
same "slot bank" "$MEM_BANK" "$(slot bank)"
same "slot bank (dmidecode)" "$(dmi17 'Bank Locator')" "$(slot bank)"
same "slot populated" true "$(slot populated)"
same "slot size_bytes" "$((MEM_MIB << 20))" "$(slot size_bytes)"
same "slot size (dmidecode)" "$((MEM_MIB / 1024)) GB" "$(dmi17 Size)"
same "slot manufacturer" "$MEM_VENDOR" "$(slot manufacturer)"
same "slot manufacturer (dmidecode)" "$(dmi17 Manufacturer)" "$(slot manufacturer)"
same "slot serial" "$MEM_SERIAL" "$(slot serial)"
same "slot serial (dmidecode)" "$(dmi17 'Serial Number')" "$(slot serial)"
same "slot part_number" "$MEM_PART" "$(slot part_number)"
same "slot part_number (dmidecode)" "$(dmi17 'Part Number')" "$(slot part_number)"
same "slot speed_mts" "$MEM_SPEED" "$(slot speed_mts)"
same "slot speed (dmidecode)" "$MEM_SPEED MT/s" "$(dmi17 Speed)"
same "slot configured_speed_mts" "$MEM_SPEED" "$(slot configured_speed_mts)"
same "slot memory_type (QEMU: RAM)" "$(dmi17 Type)" "$(slot memory_type)"
same "slot form_factor (QEMU: DIMM)" "$(dmi17 'Form Factor')" "$(slot form_factor)"

# Disks: exactly the four configured, each as configured, as lsblk and as smartctl -i see it.
same "disk serials" "$(printf '%s\n' "${!DISK[@]}" | sort | tr '\n' ' ')" \
  "$(inv '.disks[].device.serial' | sort | tr '\n' ' ')"
for serial in "${!DISK[@]}"; do
  read -r transport media rota rm boot model <<<"${DISK[$serial]}"
  d=$(inv --arg s "$serial" '.disks[] | select(.device.serial == $s)')
  [[ -n $d ]] || continue
  name=$(jq -r .device.name <<<"$d")
  dj() { jq -r "$1" <<<"$d"; }
  same "$serial transport" "$transport" "$(dj .device.transport)"
  same "$serial media" "$media" "$(dj .device.media)"
  same "$serial rotational" "$rota" "$(dj .device.rotational)"
  same "$serial removable" "$rm" "$(dj .device.removable)"
  same "$serial boot_medium" "$boot" "$(dj .boot_medium)"
  got_model=$(dj .device.model)
  # The whole model: for SATA from the ATA Information VPD page, not the 16-character INQUIRY
  # product that sysfs device/model (and lsblk without udev) holds.
  same "$serial model" "$model" "$got_model"
  l=$(jq -c --arg n "$name" '.blockdevices[] | select(.name == $n)' "$r/lsblk.json")
  [[ -n $l ]] || { fail "$serial: lsblk has no $name"; continue; }
  lmodel=$(jq -r .model <<<"$l" | trim)
  if [[ $transport == sata ]]; then
    # lsblk without udev shows libata's INQUIRY product: the model's first 16 characters.
    same "$serial model vs lsblk (16-character INQUIRY form)" "$lmodel" "$(cut -c1-16 <<<"$got_model" | trim)"
  else
    same "$serial model vs lsblk" "$lmodel" "$got_model"
  fi
  same "$serial transport vs lsblk" "$(jq -r .tran <<<"$l")" "$(dj .device.transport)"
  same "$serial rotational vs lsblk" "$(jq -r .rota <<<"$l")" "$(dj .device.rotational)"
  same "$serial removable vs lsblk" "$(jq -r .rm <<<"$l")" "$(dj .device.removable)"
  same "$serial size vs lsblk" "$(jq -r .size <<<"$l")" "$(dj .device.size_bytes)"
  # Without udev, lsblk reads a serial only where sysfs has device/serial (NVMe).
  lserial=$(jq -r '.serial // empty' <<<"$l" | trim)
  [[ -z $lserial ]] || same "$serial serial vs lsblk" "$lserial" "$serial"
  # The harness's own sysfs reader (VPD page 0x80 for SATA, the USB device's serial).
  grep -q "^disk $transport serial=$serial name=$name " "$r/identity.txt" ||
    fail "$serial: identify.sh does not see $transport $serial on $name"
  # smartctl -i (the drive's IDENTIFY data); the USB bridge is not queryable.
  if [[ $transport != usb ]]; then
    same "$serial serial vs smartctl" "$(jq -r .serial_number "$r/smartctl-$name.json")" "$serial"
    same "$serial model (smartctl, as configured)" "$model" "$(jq -r .model_name "$r/smartctl-$name.json")"
    [[ $(dj .health.verdict) == good ]] || fail "$serial: SMART verdict $(dj .health.verdict)"
  else
    same "$serial SMART verdict (USB bridge)" unknown "$(dj .health.verdict)"
  fi
done

# Grades and outputs.
overall=$(inv .grades.overall)
[[ $overall =~ ^(good|attention|replace|unknown)$ ]] || fail "grades.overall: '$overall'"
[[ $(inv '.grades.verdicts | length') -gt 0 ]] || fail "no verdicts"
# A 1 GiB laptop without battery cannot be "good".
[[ $overall != good ]] || fail "grades.overall is good for a 1 GiB laptop without a battery"
same "laptop_without_battery" true "$(inv .laptop_without_battery)"
grep -q '^Verdict ' "$r/human-fr.txt" || fail "no Verdict line in the French output"
grep -q "^N° de série  *$(smbios_value serial)  *boîtier Notebook" "$r/human-fr.txt" ||
  fail "French output: no serial / chassis line"
grep -q "^Clé machine .*(forte)" "$r/human-fr.txt" || fail "French output: no strong machine key"
grep -q '^Verdict ' "$r/human-en.txt" || fail "no Verdict line in the English output"
grep -q "\[boot medium\]" "$r/human-en.txt" || fail "English output: the stick is not the boot medium"

g=$r/glpi.json
same "glpi itemtype" Computer "$(jq -r .itemtype "$g")"
same "glpi action" inventory "$(jq -r .action "$g")"
name=$(jq -r '.content.hardware.name // empty' "$g")
[[ -n $name ]] || fail "glpi hardware.name is empty"
same "glpi deviceid" "atelier-$(printf 'atelier machine key\n%s' "$key" | sha256sum | cut -c1-16)" \
  "$(jq -r .deviceid "$g")"
same "glpi bios.ssn" "$(smbios_value serial)" "$(jq -r .content.bios.ssn "$g")"
same "glpi hardware.uuid" "$(smbios_value uuid)" "$(jq -r .content.hardware.uuid "$g")"
# GLPI Agent's Lenovo rule: the model is product_version when it starts with "Think".
same "glpi bios.smodel" "$(smbios_value product_version)" "$(jq -r .content.bios.smodel "$g")"
same "glpi bios.bdate" 2023-07-14 "$(jq -r .content.bios.bdate "$g")"
same "glpi storages (the boot stick left out)" "ATL-HDD-01 ATL-NVME-01 ATL-SATA-01 " \
  "$(jq -r '.content.storages[].serial' "$g" | sort | tr '\n' ' ')"
same "glpi cpus[0].core" "$CPU_CORES" "$(jq -r '.content.cpus[0].core' "$g")"
same "glpi cpus[0].thread" "$CPU_THREADS" "$(jq -r '.content.cpus[0].thread' "$g")"

# No smartctl in PATH: still exit 0, every disk's health unknown saying why, and a warning.
n=$r/nosmart.json
same "nosmart disks" 4 "$(jq '.disks | length' "$n")"
same "nosmart unknown verdicts" 4 "$(jq '[.disks[] | select(.health.verdict == "unknown")] | length' "$n")"
same "nosmart reasons naming smartctl as missing" 4 \
  "$(jq '[.disks[] | select(.health.unknown_reason // "" | test("smartctl.*(not installed|not found|missing)"))] | length' "$n")"
jq -e '[.warnings[] | select(.probe | startswith("smart"))] | length == 1' "$n" >/dev/null ||
  fail "nosmart: expected exactly one SMART warning (smartctl missing), not one per disk"
grep -qi 'warning.*smart' "$r/nosmart.err" || fail "nosmart: no warning on stderr"

if ((failures)); then
  vm_err "$failures check(s) failed"
  exit 1
fi
vm_log "identity, CPU, memory, 4 disks, grades, GLPI and the French output all match; without smartctl the health is unknown"
