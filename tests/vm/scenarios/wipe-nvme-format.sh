# shellcheck shell=bash
# wipe-nvme-format — the method policy and NVMe Format NVM on emulated hardware (issue 6).
#
# QEMU's NVMe advertises Format NVM (OACS bit 1) but no Sanitize (SANICAP = 0) and no crypto
# erase (FNA = 0); its SATA disks have neither the Security nor the SANITIZE feature set, and
# answer READ NATIVE MAX ADDRESS EXT. With canaries on both disks, `atelier wipe` must:
# - refuse `--method nvme-sanitize` on the NVMe (the drive does not advertise it), writing nothing;
#   the same for each Sanitize operation forced by name (`nvme-sanitize-crypto`, `-block`,
#   `-overwrite`): exit 3, the reason names SANICAP, the namespace reads the same before and
#   after (SHA-256 in the guest, equal to the image's on the host);
# - plan Format NVM, user data erase (Purge) on the NVMe and an overwrite (Clear) on the SATA
#   SSD, with "no hidden area" from a real READ NATIVE MAX;
# - erase, verify (NIST sampled read-back ≥ 10 % + sectors hashed before the erase) and record
#   the commands sent; the host then finds no canary left in either disk image.

vm_initramfs "$VM_WORK/initrd.cpio.gz" --bin "$(vm_atelier_bin)"
mkdir -p "$VM_WORK/disks"
vm_disk_image "$VM_WORK/disks/nvme.img" 64M
vm_disk_image "$VM_WORK/disks/ssd.img" 64M
{ yes ATELIER-CANARY-FMT || true; } | head -c 1M >"$VM_WORK/canary.bin"
for img in nvme ssd; do
  for off in 0 17 31 63; do
    dd if="$VM_WORK/canary.bin" of="$VM_WORK/disks/$img.img" bs=1M seek="$off" conv=notrunc status=none
  done
done
count() { grep -a -c ATELIER-CANARY-FMT "$1" || true; }
for d in nvme ssd; do
  [[ $(count "$VM_WORK/disks/$d.img") -gt 0 ]] || { vm_err "seeding $d failed"; exit 1; }
done
nvme_seeded_sha=$(sha256sum <"$VM_WORK/disks/nvme.img" | cut -d' ' -f1)

cat >"$VM_WORK/guest.sh" <<'GUEST'
ssd=$(sh /usr/lib/atelier-vm/identify.sh | awk '$1 == "disk" && $3 == "serial=ATL-SATA-01" { sub("name=", "", $4); print $4 }')
echo "$ssd" >ssd.name
A="atelier --lang en --data-dir /tmp/data"
set +e
$A wipe /dev/nvme0n1 --method nvme-sanitize --yes-i-understand-this-destroys-data --json >forced.jsonl 2>forced.err
echo $? >forced.status
sha256sum </dev/nvme0n1 | cut -d' ' -f1 >sanitize-before.sha
for op in crypto block overwrite; do
  $A wipe /dev/nvme0n1 --method "nvme-sanitize-$op" --yes-i-understand-this-destroys-data --json >"forced-$op.jsonl" 2>"forced-$op.err"
  echo $? >"forced-$op.status"
done
LANG=fr_FR.UTF-8 atelier --lang fr --data-dir /tmp/data wipe /dev/nvme0n1 --method nvme-sanitize-crypto --yes-i-understand-this-destroys-data >forced-crypto-fr.out 2>&1
sha256sum </dev/nvme0n1 | cut -d' ' -f1 >sanitize-after.sha
LANG=fr_FR.UTF-8 atelier --lang fr --data-dir /tmp/data wipe /dev/nvme0n1 --method nvme-sanitize --yes-i-understand-this-destroys-data >forced-fr.out 2>&1
$A wipe /dev/nvme0n1 "/dev/$ssd" --plan-only >plan.txt 2>&1
$A wipe /dev/nvme0n1 "/dev/$ssd" --verify sampled --yes-i-understand-this-destroys-data --json >wipe.jsonl 2>wipe.err
echo $? >wipe.status
set -e
$A records export last --json >record.json
GUEST

vm_run --initrd "$VM_WORK/initrd.cpio.gz" --cmd "$VM_WORK/guest.sh" --results "$VM_WORK/results" \
  --timeout 300 \
  --nvme "$VM_WORK/disks/nvme.img,serial=ATL-NVME-01" \
  --sata "$VM_WORK/disks/ssd.img,serial=ATL-SATA-01,model=Samsung SSD 860 EVO 250GB,rotation_rate=1"

r=$VM_WORK/results
fail() { vm_err "$*"; exit 1; }
cat "$r/plan.txt"

# 1. Forcing a method the drive does not advertise is refused, in both languages, nothing written.
[[ $(cat "$r/forced.status") == 3 ]] || fail "forced nvme-sanitize exited $(cat "$r/forced.status"), expected 3 (refused)"
grep -q 'does not advertise' "$r/forced.jsonl" "$r/forced.err" || fail "forced: no reason: $(cat "$r/forced.jsonl" "$r/forced.err")"
grep -q 'SANICAP crypto=false block=false overwrite=false' "$r/forced.jsonl" "$r/forced.err" ||
  fail "forced: the refusal does not show SANICAP"
grep -q 'méthode refusée' "$r/forced-fr.out" || fail "no French refusal: $(cat "$r/forced-fr.out")"
# Each Sanitize operation forced by name: refused (exit 3), the reason names the operation and
# SANICAP, and not one byte of the namespace changed.
for op in crypto block overwrite; do
  [[ $(cat "$r/forced-$op.status") == 3 ]] ||
    fail "forced nvme-sanitize-$op exited $(cat "$r/forced-$op.status"), expected 3 (refused)"
  grep -q "nvme-sanitize-$op: the drive does not advertise this Sanitize operation (SANICAP crypto=false block=false overwrite=false.*nothing was written" \
    "$r/forced-$op.jsonl" "$r/forced-$op.err" ||
    fail "forced nvme-sanitize-$op: unclear refusal: $(cat "$r/forced-$op.jsonl" "$r/forced-$op.err")"
done
grep -q "méthode refusée — nvme-sanitize-crypto : le disque n'annonce pas cette opération Sanitize (SANICAP crypto=false.*rien n'a été écrit" "$r/forced-crypto-fr.out" ||
  fail "no French refusal of nvme-sanitize-crypto: $(cat "$r/forced-crypto-fr.out")"
[[ $(cat "$r/sanitize-before.sha") == "$nvme_seeded_sha" ]] ||
  fail "the guest does not read the seeded NVMe image ($(cat "$r/sanitize-before.sha") vs $nvme_seeded_sha)"
[[ $(cat "$r/sanitize-after.sha") == "$nvme_seeded_sha" ]] ||
  fail "a refused Sanitize changed the NVMe namespace"

# 2. The plan: Format NVM (Purge) on the NVMe, overwrite (Clear) on the SATA disk, no HPA.
grep -q 'nvme0n1: method nvme-format (NIST category Purge)' "$r/plan.txt" || fail "plan: NVMe method"
grep -q 'no Sanitize operation (SANICAP = 0)' "$r/plan.txt" || fail "plan: NVMe reason"
ssd=$(cat "$r/ssd.name")
grep -q "$ssd: method overwrite-random (NIST category Clear)" "$r/plan.txt" || fail "plan: SATA method"
grep -q 'advertises no sanitize, format or security erase command' "$r/plan.txt" || fail "plan: SATA reason"
grep -q "$ssd: hidden area (HPA): none (READ NATIVE MAX: 131072 sectors" "$r/plan.txt" || fail "plan: HPA"
jq -s -e 'map(select(.event=="plan"))[0].methods[] | select(.serial=="ATL-SATA-01")
       | .hidden_area.hidden_sectors == 0 and .hidden_area.native_sectors == 131072' \
  "$r/wipe.jsonl" >/dev/null || fail "JSON plan: hidden area"

# 3. The wipe passed on both; the record says what ran and why.
[[ $(cat "$r/wipe.status") == 0 ]] || { cat "$r/wipe.err"; fail "wipe exited $(cat "$r/wipe.status")"; }
grep -q '"phase":"firmware"' "$r/wipe.jsonl" || fail "no firmware phase event"
jq -e '.sanitization[] | select(.device.serial=="ATL-NVME-01")
  | .outcome=="PASSED" and .category=="purge" and .method.name=="nvme-format"
    and .method.technique=="user_data_erase"
    and .choice.chosen_by=="policy" and .choice.strongest=="nvme-format"
    and .verification.result=="passed" and .verification.coverage_percent >= 10
    and .verification.mode=="sampled"
    and .firmware.expected_content=="zeros"
    and (.firmware.identify_sha256 | length == 64)
    and .firmware.presampled_sectors >= 200 and .firmware.presampled_distinct >= 1
    and .firmware.presampled_unchanged == 0
    and ([.firmware.commands[] | select(.opcode==128 and .cdw10==512 and .status==0 and .nsid==1)] | length == 1)' \
  "$r/record.json" >/dev/null || fail "NVMe record: $(jq -c '.sanitization[] | select(.device.serial=="ATL-NVME-01")' "$r/record.json")"
jq -e '.sanitization[] | select(.device.serial=="ATL-SATA-01")
  | .outcome=="PASSED" and .category=="clear" and .method.name=="overwrite-random"
    and .choice.chosen_by=="policy" and (.firmware == null)' \
  "$r/record.json" >/dev/null || fail "SATA record: $(jq -c '.sanitization[] | select(.device.serial=="ATL-SATA-01")' "$r/record.json")"

# 4. On the host: no canary left on either disk image.
for d in nvme ssd; do
  left=$(count "$VM_WORK/disks/$d.img")
  [[ $left == 0 ]] || fail "$d.img: $left canary lines survived"
done
# Format NVM zeroes: the NVMe image reads as zeros.
cmp -s -n $((64 << 20)) "$VM_WORK/disks/nvme.img" /dev/zero || fail "nvme.img is not all zeros"
vm_log "NVMe: Format NVM (Purge) verified, canaries gone; SATA: overwrite (Clear), no HPA; forced Sanitize (any operation) refused, nothing written"
