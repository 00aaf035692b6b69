# shellcheck shell=bash
# wipe-sd-card — an SD card on the guest's MMC bus (QEMU sdhci-pci + sd-card, issue 6).
#
# QEMU 7.2 emulates SD cards, not eMMC, so this checks the side of the eMMC method that a real
# kernel decides here: the card's sysfs `device/type` reads `SD`, the probe does not offer the
# eMMC secure erase (no BLKSECDISCARD is sent), the plan overwrites it (Clear, "Purge not
# possible on this media"), `--method emmc-secure-erase` is refused (exit 3), and the overwrite
# is verified; the host then finds no canary left in the card image.

vm_initramfs "$VM_WORK/initrd.cpio.gz" --bin "$(vm_atelier_bin)" --modules "sdhci_pci mmc_block"
mkdir -p "$VM_WORK/disks"
vm_disk_image "$VM_WORK/disks/sd.img" 32M
vm_canary_seed "$VM_WORK/disks/sd.img" ATELIER-CANARY-SD 0 11 23 31 || exit 1

cat >"$VM_WORK/guest.sh" <<'GUEST'
i=0
while [ "$i" -lt 100 ] && [ ! -e /sys/block/mmcblk0 ]; do sleep 0.1; i=$((i + 1)); done
cat /sys/block/mmcblk0/device/type >type.txt
A="atelier --lang en --data-dir /tmp/data"
set +e
$A wipe /dev/mmcblk0 --plan-only --json >plan.jsonl 2>plan.err
$A wipe /dev/mmcblk0 --method emmc-secure-erase --yes-i-understand-this-destroys-data --json >forced.jsonl 2>forced.err
echo $? >forced.status
$A wipe /dev/mmcblk0 --verify sampled --yes-i-understand-this-destroys-data --json >wipe.jsonl 2>wipe.err
echo $? >wipe.status
set -e
$A records export last --json >record.json
GUEST

vm_run --initrd "$VM_WORK/initrd.cpio.gz" --cmd "$VM_WORK/guest.sh" --results "$VM_WORK/results" \
  --timeout 300 \
  --qemu-arg -device --qemu-arg sdhci-pci \
  --qemu-arg -drive --qemu-arg "if=none,id=sd0,format=raw,file=$VM_WORK/disks/sd.img" \
  --qemu-arg -device --qemu-arg sd-card,drive=sd0

r=$VM_WORK/results
fail() { vm_err "$*"; exit 1; }
cat "$r/plan.err"
[[ $(cat "$r/type.txt") == SD ]] || fail "card type: $(cat "$r/type.txt")"
plan=$(jq -s -c 'map(select(.event=="plan"))[0].methods[0]' "$r/plan.jsonl")
vm_log "SD plan: $plan"
jq -e '.capabilities.media=="memory_card" and .capabilities.emmc==null
  and .method=="overwrite-random" and .category=="clear" and .reason_code=="purge-not-possible"' \
  <<<"$plan" >/dev/null || fail "SD plan: $plan"
[[ $(cat "$r/forced.status") == 3 ]] || fail "forced emmc-secure-erase exited $(cat "$r/forced.status"), expected 3"
grep -q "emmc-secure-erase: the drive does not advertise this command (not an eMMC" "$r/forced.jsonl" "$r/forced.err" || fail "forced: $(cat "$r/forced.jsonl" "$r/forced.err")"
[[ $(cat "$r/wipe.status") == 0 ]] || { cat "$r/wipe.err"; fail "wipe exited $(cat "$r/wipe.status")"; }
jq -e '[.sanitization[] | select(.outcome=="PASSED" and .category=="clear" and .method.name=="overwrite-random")] | length == 1' \
  "$r/record.json" >/dev/null || fail "record: $(jq -c '.sanitization' "$r/record.json")"
left=$(vm_canary_count "$VM_WORK/disks/sd.img" ATELIER-CANARY-SD)
[[ $left == 0 ]] || fail "sd.img: $left canary lines survived"
vm_log "SD card (type SD): no eMMC secure erase offered, forced one refused, overwrite verified"
