# shellcheck shell=bash
# wipe-io-error — a disk that cannot read one sector back. QEMU's blkdebug driver makes every
# read of sector 4096 of an emulated NVMe namespace fail (the guest sees a medium error). The
# wipe must write everything, then fail the verification naming that sector, exit 1, and record
# FAILED with the unreadable range — never PASSED.

vm_initramfs "$VM_WORK/initrd.cpio.gz" --bin "$(vm_atelier_bin)"
vm_disk_image "$VM_WORK/bad.img" 32M
cat >"$VM_WORK/blkdebug.cfg" <<'CFG'
[inject-error]
event = "read_aio"
errno = "5"
sector = "4096"
CFG

cat >"$VM_WORK/guest.sh" <<'GUEST'
set +e
atelier --lang en --data-dir /tmp/data wipe /dev/nvme0n1 --pattern zero \
  --yes-i-understand-this-destroys-data --json >wipe.jsonl 2>wipe.err
echo $? >wipe.status
atelier --lang en --data-dir /tmp/data records show last >record.txt 2>&1
true
GUEST

vm_run --initrd "$VM_WORK/initrd.cpio.gz" --cmd "$VM_WORK/guest.sh" --results "$VM_WORK/results" \
  --timeout 300 --nvme "blkdebug:$VM_WORK/blkdebug.cfg:$VM_WORK/bad.img,serial=ATL-BAD-01"

r=$VM_WORK/results
cat "$r/record.txt"
[[ $(cat "$r/wipe.status") == 1 ]] || { vm_err "wipe exited $(cat "$r/wipe.status"), expected 1"; exit 1; }
jq -s -e '.[] | select(.event=="result") | .outcome=="FAILED"
       and .entry.verification.unreadable_sectors >= 1
       and ([.entry.errors[] | select(.operation=="read" and .first_lba <= 4096
             and .first_lba + .sector_count > 4096)] | length >= 1)' "$r/wipe.jsonl" >/dev/null ||
  { vm_err "unexpected result: $(grep '"result"' "$r/wipe.jsonl")"; exit 1; }
vm_log "read error at LBA 4096 reported, wipe FAILED as it must"
