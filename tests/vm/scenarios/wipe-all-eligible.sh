# shellcheck shell=bash
# wipe-all-eligible — the real `atelier wipe --all-eligible` on emulated hardware.
#
# The ThinkPad profile (NVMe, SATA SSD, SATA HDD with a GPT partition, USB stick) is seeded with
# canary data. In the guest the USB stick plays the live medium (its ATELIER partition is
# mounted on /run/live/medium, as live-boot does). `atelier wipe --all-eligible` must wipe and
# verify the three internal disks, leave the stick alone, and record it all; the host then scans
# the disk images: no canary may survive on the internal disks, and the stick's must be intact.

vm_initramfs "$VM_WORK/initrd.cpio.gz" --bin "$(vm_atelier_bin)"
vm_profile_thinkpad "$VM_WORK/disks"

# Canaries: 1 MiB blocks at the start, the middle and the end of each disk.
{ yes ATELIER-CANARY-VM || true; } | head -c 1M >"$VM_WORK/canary.bin"
seed() { # IMAGE OFFSET_MIB...
  local img=$1 off; shift
  for off in "$@"; do
    dd if="$VM_WORK/canary.bin" of="$img" bs=1M seek="$off" conv=notrunc status=none
  done
}
seed "$VM_WORK/disks/nvme.img" 0 31 63
seed "$VM_WORK/disks/ssd.img" 0 31 63
seed "$VM_WORK/disks/hdd.img" 2 64 127
seed "$VM_WORK/disks/usb.img" 40 63
count() { grep -a -c ATELIER-CANARY-VM "$1" || true; }
for d in nvme ssd hdd usb; do
  [[ $(count "$VM_WORK/disks/$d.img") -gt 0 ]] || { vm_err "seeding $d failed"; exit 1; }
done

cat >"$VM_WORK/guest.sh" <<'GUEST'
mkdir -p /run/live/medium
mount -o ro "$(findfs LABEL=ATELIER)" /run/live/medium
atelier --lang en --data-dir /tmp/data inventory --no-smart >inventory.txt 2>&1
atelier --lang en --data-dir /tmp/data devices >devices.txt 2>&1
# ATA SANITIZE forced on the SATA SSD, whose IDENTIFY word 59 has no SANITIZE feature set: refused
# in both languages before anything is written (its canary must still be there).
sh /usr/lib/atelier-vm/identify.sh >identity.txt
ssd=$(sed -n 's/^disk sata serial=ATL-SATA-01 name=\([a-z]*\) .*/\1/p' identity.txt)
set +e
for l in en fr; do
  atelier --lang $l --data-dir /tmp/data wipe "/dev/$ssd" --method ata-sanitize-block \
    --yes-i-understand-this-destroys-data --json >sanitize-$l.jsonl 2>sanitize-$l.err
  echo $? >sanitize-$l.status
done
head -c 1048576 "/dev/$ssd" | grep -a -c ATELIER-CANARY-VM >sanitize.canary
atelier --lang en --data-dir /tmp/data wipe --all-eligible \
  --yes-i-understand-this-destroys-data --json >wipe.jsonl 2>wipe.err
echo $? >wipe.status
set -e
atelier --data-dir /tmp/data records export last --json >record.json
atelier --data-dir /tmp/data records list --json >records.json
GUEST

vm_run --initrd "$VM_WORK/initrd.cpio.gz" --cmd "$VM_WORK/guest.sh" --results "$VM_WORK/results" \
  --timeout 300 "${VM_PROFILE_ARGS[@]}"

r=$VM_WORK/results
cat "$r/devices.txt"
# The refused ATA SANITIZE: exit 3 (refused), the reason in the operator's language, the
# canary intact (and, below, no fourth sanitization entry in the record).
for l in en fr; do
  [[ $(cat "$r/sanitize-$l.status") == 3 ]] ||
    { vm_err "ata-sanitize-block ($l) exited $(cat "$r/sanitize-$l.status")"; cat "$r/sanitize-$l.err"; exit 1; }
done
grep -q 'method refused — the drive has no ATA SANITIZE feature set (IDENTIFY DEVICE word 59 bit 12 is 0), so no SANITIZE BLOCK ERASE; nothing was written' \
  "$r/sanitize-en.err" || { vm_err "no clear refusal: $(cat "$r/sanitize-en.err")"; exit 1; }
grep -q "méthode refusée — le disque n'a pas le jeu de commandes ATA SANITIZE" "$r/sanitize-fr.err" ||
  { vm_err "no French refusal: $(cat "$r/sanitize-fr.err")"; exit 1; }
jq -e 'select(.event=="refused") | .message | contains("word 59 bit 12 is 0")' "$r/sanitize-en.jsonl" >/dev/null ||
  { vm_err "no refused event: $(cat "$r/sanitize-en.jsonl")"; exit 1; }
[[ $(cat "$r/sanitize.canary") -gt 0 ]] || { vm_err "the refused SANITIZE wrote the SSD"; exit 1; }
[[ $(cat "$r/wipe.status") == 0 ]] || { vm_err "wipe exited $(cat "$r/wipe.status")"; cat "$r/wipe.err"; exit 1; }
planned=$(jq -r 'select(.event=="plan") | .devices[].serial' "$r/wipe.jsonl" | sort | tr '\n' ' ')
[[ $planned == "ATL-HDD-01 ATL-NVME-01 ATL-SATA-01 " ]] || { vm_err "planned: $planned"; exit 1; }
passed=$(jq -r 'select(.event=="result" and .outcome=="PASSED") | .entry.device.serial' "$r/wipe.jsonl" | sort | tr '\n' ' ')
[[ $passed == "ATL-HDD-01 ATL-NVME-01 ATL-SATA-01 " ]] || { vm_err "passed: $passed"; exit 1; }
grep -q 'boot medium: sd[a-z]1 is mounted on /run/live/medium' "$r/devices.txt" ||
  { vm_err "the stick is not shown as the boot medium"; exit 1; }
# The SATA disks are overwritten and read back in full (Clear); the NVMe drive advertises
# Format NVM, so the policy picks it (Purge) with a NIST sampled read-back of at least 10 %.
jq -e '[.sanitization[] | select(.outcome=="PASSED" and .device.transport=="sata"
        and .category=="clear" and .verification.coverage_percent==100)] | length == 2' \
  "$r/record.json" >/dev/null || { vm_err "record: $(cat "$r/record.json")"; exit 1; }
# Hidden areas: QEMU answers READ NATIVE MAX ADDRESS EXT on both SATA disks (no HPA), the
# NVMe drive says why it was not examined; no exception anywhere.
jq -e '[.sanitization[] | select(.device.transport=="sata" and .hidden_area.status=="measured"
        and .hidden_area.method=="ATA READ NATIVE MAX ADDRESS EXT" and .hidden_area.hidden_sectors==0
        and .hidden_area.native_max_sectors==.hidden_area.user_sectors and (.exceptions | length == 0))]
        | length == 2' "$r/record.json" >/dev/null ||
  { vm_err "SATA entries lack a measured hidden area of 0 sectors: $(jq -c '[.sanitization[] | .hidden_area]' "$r/record.json")"; exit 1; }
jq -e '.sanitization[] | select(.device.serial=="ATL-NVME-01") | .hidden_area.status=="not_examined"
        and (.hidden_area.reason | startswith("NVMe")) and .choice.code=="format-without-sanitize"' \
  "$r/record.json" >/dev/null || { vm_err "NVMe entry: hidden area / reason code"; exit 1; }
jq -e '.sanitization[] | select(.device.serial=="ATL-NVME-01") | .outcome=="PASSED"
        and .device.media=="flash" and .category=="purge" and .method.name=="nvme-format"
        and .verification.coverage_percent >= 10' \
  "$r/record.json" >/dev/null || { vm_err "NVMe entry is not a passed, verified Format NVM (purge)"; exit 1; }

# The inventory made the machine's record; the wipes went into the same one.
jq -e '.records | length == 1' "$r/records.json" >/dev/null ||
  { vm_err "expected one record (inventory + wipes), got: $(cat "$r/records.json")"; exit 1; }
jq -e '.hardware.machine_key.source == "serial_uuid" and (.sanitization | length == 3)' \
  "$r/record.json" >/dev/null || { vm_err "the record lacks the inventory or the wipes"; exit 1; }

for d in nvme ssd hdd; do
  left=$(count "$VM_WORK/disks/$d.img")
  [[ $left == 0 ]] || { vm_err "$d.img: $left canary lines survived"; exit 1; }
done
[[ $(count "$VM_WORK/disks/usb.img") -gt 0 ]] || { vm_err "the boot stick was written"; exit 1; }
vm_log "3 internal disks wiped and verified, canaries gone; the stick untouched"
