# shellcheck shell=bash
# smoke — boot the reference ThinkPad profile (NVMe + SATA SSD + SATA HDD + USB stick, Lenovo
# SMBIOS identity) and check that the guest sees every disk serial where a real machine exposes
# it, and the DMI identity. Run by scripts/vm-test.sh (lib sourced, cwd = fresh $VM_WORK).

vm_initramfs "$VM_WORK/initrd.cpio.gz"
vm_profile_thinkpad "$VM_WORK/disks"

cat >"$VM_WORK/guest.sh" <<'GUEST'
ls -l /sys/class/block/
sh /usr/lib/atelier-vm/identify.sh >identity.txt
GUEST

vm_run --initrd "$VM_WORK/initrd.cpio.gz" --cmd "$VM_WORK/guest.sh" --results "$VM_WORK/results" \
  --timeout 180 "${VM_PROFILE_ARGS[@]}"

id=$VM_WORK/results/identity.txt
cat "$id"
# Disks: transport and serial (names like sda/sdb change between boots, serials do not).
grep -q '^disk nvme serial=ATL-NVME-01 ' "$id" || { vm_err "NVMe serial not found"; exit 1; }
grep -q '^disk sata serial=ATL-SATA-01 .* rotational=0 model=Samsung SSD 860' "$id" ||
  { vm_err "SATA SSD serial/rotation/model not found"; exit 1; }
grep -q '^disk sata serial=ATL-HDD-01 .* rotational=1 model=WDC WD5000LPCX' "$id" ||
  { vm_err "SATA HDD serial/rotation/model not found"; exit 1; }
grep -q '^disk usb serial=ATL-USB-01 ' "$id" || { vm_err "USB stick serial not found"; exit 1; }
[[ $(grep -c '^disk ' "$id") -eq 4 ]] || { vm_err "expected exactly 4 disks"; exit 1; }
grep -q '^part sd[a-z]1 ' "$id" || { vm_err "no partition seen on the SATA HDD / USB stick"; exit 1; }
# Machine identity from SMBIOS.
vm_assert_line "$id" "dmi sys_vendor=LENOVO"
vm_assert_line "$id" "dmi product_name=20AN00A1FR"
vm_assert_line "$id" "dmi product_serial=PF0ABCDE"
vm_assert_line "$id" "dmi product_uuid=11111111-2222-3333-4444-555555555555"
