# shellcheck shell=bash
# wipe-scsi-probe — the SCSI SANITIZE probe through the real kernel's SG_IO (issue 6).
#
# No SAS drive with SANITIZE can be emulated here, so this scenario checks the part that runs
# before any SANITIZE: REPORT SUPPORTED OPERATION CODES (A3h/0Ch, one command per service
# action) sent to two SCSI disks through the guest kernel, and the policy built on the answer.
# - the kernel's scsi_debug disk implements REPORT SUPPORTED OPERATION CODES and reports
#   SANITIZE (48h) as not supported: the plan says "advertises no sanitize…" and overwrites;
# - QEMU's scsi-hd behind an emulated LSI 53C895A HBA (a virtio-scsi disk would be classed as
#   virtual) does not implement REPORT SUPPORTED OPERATION CODES (ILLEGAL REQUEST, INVALID
#   COMMAND OPERATION CODE 20h/00h): the bench does not guess, says so, and overwrites;
# - forcing scsi-sanitize-crypto is refused (exit 3), the reason names what the drive said;
# - both disks are then overwritten and verified (Clear); the host finds no canary left in the
#   scsi-hd image.
# The SANITIZE sessions themselves run against the scripted drive (crates/atelier-wipe/tests/
# scsi_sanitize.rs).

vm_initramfs "$VM_WORK/initrd.cpio.gz" --bin "$(vm_atelier_bin)" --modules "scsi_debug sym53c8xx"
mkdir -p "$VM_WORK/disks"
vm_disk_image "$VM_WORK/disks/sas.img" 32M
vm_canary_seed "$VM_WORK/disks/sas.img" ATELIER-CANARY-SAS 0 11 23 31 || exit 1

cat >"$VM_WORK/guest.sh" <<'GUEST'
i=0
while [ "$i" -lt 100 ]; do
  [ "$(ls -d /sys/block/sd* 2>/dev/null | wc -l)" -ge 2 ] && break
  sleep 0.1; i=$((i + 1))
done
for b in /sys/block/sd*; do echo "${b##*/} $(cat "$b/device/model")"; done >disks.txt
dbg=$(awk '$2 == "scsi_debug" { print $1 }' disks.txt)
qhd=$(awk '$2 == "QEMU" { print $1 }' disks.txt)
echo "$dbg $qhd" >names.txt
A="atelier --lang en --data-dir /tmp/data"
set +e
$A wipe "/dev/$dbg" "/dev/$qhd" --plan-only --json >plan.jsonl 2>plan.err
$A wipe "/dev/$dbg" --method scsi-sanitize-crypto --yes-i-understand-this-destroys-data --json >forced.jsonl 2>forced.err
echo $? >forced.status
$A wipe "/dev/$dbg" "/dev/$qhd" --verify sampled --yes-i-understand-this-destroys-data --json >wipe.jsonl 2>wipe.err
echo $? >wipe.status
set -e
$A records export last --json >record.json
GUEST

vm_run --initrd "$VM_WORK/initrd.cpio.gz" --cmd "$VM_WORK/guest.sh" --results "$VM_WORK/results" \
  --timeout 300 \
  --qemu-arg -device --qemu-arg lsi53c895a,id=scsi0 \
  --qemu-arg -drive --qemu-arg "if=none,id=sas0,format=raw,file=$VM_WORK/disks/sas.img" \
  --qemu-arg -device --qemu-arg scsi-hd,drive=sas0,bus=scsi0.0,serial=ATL-SAS-01

r=$VM_WORK/results
fail() { vm_err "$*"; exit 1; }
cat "$r/disks.txt" "$r/plan.err"
read -r dbg qhd <"$r/names.txt"
[[ -n $dbg && -n $qhd ]] || fail "the guest did not see both SCSI disks: $(cat "$r/disks.txt")"
plan() { jq -s -c --arg d "$1" 'map(select(.event=="plan"))[0].methods[] | select(.device==$d)' "$r/plan.jsonl"; }
vm_log "scsi_debug plan: $(plan "$dbg")"
vm_log "scsi-hd plan: $(plan "$qhd")"

# 1. scsi_debug answers REPORT SUPPORTED OPERATION CODES: SANITIZE not supported, for each
#    service action; the policy overwrites (Clear) and says the drive advertises nothing.
jq -s -e --arg d "$dbg" 'map(select(.event=="plan"))[0].methods[] | select(.device==$d)
  | .capabilities.media=="scsi"
    and .capabilities.scsi=={"overwrite":false,"block_erase":false,"crypto_erase":false}
    and .capabilities.probe_error==null
    and .reason_code=="nothing-advertised" and .method=="overwrite-random" and .category=="clear"' \
  "$r/plan.jsonl" >/dev/null || fail "scsi_debug plan: $(plan "$dbg")"
# 2. QEMU's scsi-hd refuses REPORT SUPPORTED OPERATION CODES: a named refusal, never a guess,
#    and the host overwrite.
jq -s -e --arg d "$qhd" 'map(select(.event=="plan"))[0].methods[] | select(.device==$d)
  | .capabilities.media=="scsi" and .method=="overwrite-random" and .category=="clear"
    and .reason_code=="probe-failed" and .capabilities.scsi==null
    and (.capabilities.probe_error | test("ILLEGAL REQUEST, ASC/ASCQ 0x20/0x00"))' \
  "$r/plan.jsonl" >/dev/null || fail "scsi-hd plan: $(plan "$qhd")"
# 3. Forcing SCSI SANITIZE on a drive that does not support it: refused, nothing written.
[[ $(cat "$r/forced.status") == 3 ]] || fail "forced scsi-sanitize-crypto exited $(cat "$r/forced.status"), expected 3"
grep -q 'CRYPTOGRAPHIC ERASE=false' "$r/forced.jsonl" "$r/forced.err" ||
  fail "forced: the refusal does not say what the drive reported: $(cat "$r/forced.jsonl" "$r/forced.err")"
# 4. Both overwritten and verified; no canary left in the scsi-hd image.
[[ $(cat "$r/wipe.status") == 0 ]] || { cat "$r/wipe.err"; fail "wipe exited $(cat "$r/wipe.status")"; }
jq -e '[.sanitization[] | select(.outcome=="PASSED" and .category=="clear" and .method.name=="overwrite-random")] | length == 2' \
  "$r/record.json" >/dev/null || fail "records: $(jq -c '.sanitization[] | {device: .device.name, outcome, category, method: .method.name}' "$r/record.json")"
left=$(vm_canary_count "$VM_WORK/disks/sas.img" ATELIER-CANARY-SAS)
[[ $left == 0 ]] || fail "sas.img: $left canary lines survived"
vm_log "SCSI: REPORT SUPPORTED OPERATION CODES through SG_IO (scsi_debug: SANITIZE not supported; scsi-hd: $(plan "$qhd" | jq -r .reason_code)); forced SANITIZE refused; overwrite verified"
