# shellcheck shell=bash
# wipe-power-cut — the machine loses power in the middle of a wipe, then boots again.
#
# Boot 1: the bench's store lives on a disk labelled ATELIER-DATA (as on the stick); an
# overwrite of the NVMe disk starts (chosen with --method: the policy would pick Format NVM,
# which QEMU completes in a blink, leaving nothing to cut); once a checkpoint is committed the host kills QEMU (SIGKILL: no
# shutdown, no flush from the guest — a power cut for the guest).
# Boot 2: the record says INTERRUPTED with a checkpoint inside the disk; `atelier wipe --resume`
# continues from it and verifies the whole disk: PASSED, one interruption recorded, and no
# canary left in the disk image.

vm_initramfs "$VM_WORK/initrd.cpio.gz" --bin "$(vm_atelier_bin)"
vm_disk_image "$VM_WORK/nvme.img" 512M
vm_disk_image "$VM_WORK/data.img" 64M
mkfs.ext4 -q -F -L ATELIER-DATA "$VM_WORK/data.img"
{ yes ATELIER-CANARY-VM || true; } | head -c 1M >"$VM_WORK/canary.bin"
for off in 0 100 255 400 511; do
  dd if="$VM_WORK/canary.bin" of="$VM_WORK/nvme.img" bs=1M seek="$off" conv=notrunc status=none
done
disks=(--nvme "$VM_WORK/nvme.img,serial=ATL-CUT-01" --virtio "$VM_WORK/data.img")

cat >"$VM_WORK/boot1.sh" <<'GUEST'
mkdir -p /mnt/data
mount "$(findfs LABEL=ATELIER-DATA)" /mnt/data
atelier --lang en --data-dir /mnt/data/atelier wipe /dev/nvme0n1 --json --method overwrite \
  --yes-i-understand-this-destroys-data --request-mib 1 --checkpoint-interval-ms 200 \
  >wipe1.jsonl 2>wipe1.err
GUEST
cat >"$VM_WORK/boot2.sh" <<'GUEST'
mkdir -p /mnt/data
mount "$(findfs LABEL=ATELIER-DATA)" /mnt/data
atelier --data-dir /mnt/data/atelier records export last --json >before.json
atelier --lang en --data-dir /mnt/data/atelier wipe --resume --json \
  --yes-i-understand-this-destroys-data >wipe2.jsonl 2>wipe2.err
atelier --data-dir /mnt/data/atelier records export last --json >after.json
GUEST

# Boot 1, cut once a checkpoint with progress is committed.
vm_run --initrd "$VM_WORK/initrd.cpio.gz" --cmd "$VM_WORK/boot1.sh" --results "$VM_WORK/r1" \
  --timeout 300 "${disks[@]}" &
runner=$!
cut=0
for _ in $(seq 1 1200); do
  if [[ -f $VM_WORK/r1/wipe1.jsonl ]] &&
    jq -s -e 'any(.[]; .event=="checkpoint" and .bytes_done > 0 and .pass_index == 0)' \
      "$VM_WORK/r1/wipe1.jsonl" >/dev/null 2>&1; then
    pkill -KILL -f "qemu-system-x86_64.*$VM_WORK/boot1.sh" && cut=1
    break
  fi
  if [[ -s $VM_WORK/r1/exit-status ]]; then break; fi
  sleep 0.1
done
wait "$runner" || true
((cut)) || { vm_err "the wipe ended (or never started) before the power cut"; cat "$VM_WORK/r1/wipe1.err" 2>/dev/null; exit 1; }
vm_log "power cut after: $(jq -c 'select(.event=="checkpoint")' "$VM_WORK/r1/wipe1.jsonl" | tail -n 1)"

# Boot 2: resume.
vm_run --initrd "$VM_WORK/initrd.cpio.gz" --cmd "$VM_WORK/boot2.sh" --results "$VM_WORK/r2" \
  --timeout 300 "${disks[@]}"
r=$VM_WORK/r2
jq -e '.sanitization[0] | .outcome=="INTERRUPTED" and .checkpoint.bytes_done > 0
       and .checkpoint.bytes_done < .device.size_bytes' "$r/before.json" >/dev/null ||
  { vm_err "after the cut: $(jq -c '.sanitization[0] | {outcome, checkpoint}' "$r/before.json")"; exit 1; }
jq -e '.sanitization[0] | .outcome=="PASSED" and (.interruptions | length) == 1
       and .verification.mode=="full" and .verification.coverage_percent==100' "$r/after.json" >/dev/null ||
  { vm_err "after the resume: $(jq -c '.sanitization[0]' "$r/after.json")"; exit 1; }
left=$(grep -a -c ATELIER-CANARY-VM "$VM_WORK/nvme.img" || true)
[[ $left == 0 ]] || { vm_err "$left canary lines survived"; exit 1; }
vm_log "resumed from $(jq '.sanitization[0].interruptions[0].from.bytes_done' "$r/after.json") bytes: PASSED"
