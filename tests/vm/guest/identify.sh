#!/bin/sh
# identify.sh — print the identity of every disk and of the machine, read from sysfs only, as
# stable "key=value" lines the host can assert on:
#
#   disk nvme serial=ATL-NVME-01 name=nvme0n1 size=131072 rotational=0 model=QEMU NVMe Ctrl
#   disk sata serial=ATL-SATA-01 name=sda size=… rotational=0 model=Samsung SSD 860
#   disk usb serial=ATL-USB-01 name=sdc size=… rotational=1 model=QEMU HARDDISK
#   dmi product_serial=PF0ABCDE
#
# Transport and serial come from where a real machine keeps them:
#   NVMe  device/serial (the controller)
#   SATA  device/vpd_pg80 (Unit Serial Number VPD page), else device/wwid; device/serial is absent
#   USB   the `serial` attribute of the USB device found by walking up from device/
# POSIX sh; runs under busybox in the guest.

# trim — drop bytes outside printable ASCII (busybox tr has no [:print:]), strip blanks.
trim() { tr -cd ' -~' | sed 's/^ *//; s/ *$//'; }

# usb_serial DIR — walk up from DIR to the first ancestor with idVendor (a USB device) and print
# its serial; fails if DIR is not below a USB device.
usb_serial() {
  d=$1
  while [ "$d" != /sys/devices ] && [ "$d" != / ]; do
    if [ -f "$d/idVendor" ]; then
      trim <"$d/serial"
      return 0
    fi
    d=${d%/*}
  done
  return 1
}

for b in /sys/class/block/*; do
  name=${b##*/}
  [ -e "$b/device" ] || continue # loop, ram, partitions' parents only
  [ -f "$b/partition" ] && continue
  dev=$(readlink -f "$b/device")
  case $dev in
    */usb[0-9]*) kind=usb; serial=$(usb_serial "$dev") ;;
    */nvme/*) kind=nvme; serial=$(trim <"$b/device/serial") ;;
    */ata[0-9]*)
      kind=sata
      if [ -r "$b/device/vpd_pg80" ]; then
        # 4-byte page header, then the serial (ASCII, possibly space-padded).
        serial=$(tail -c +5 "$b/device/vpd_pg80" | trim)
      else
        serial=$(trim <"$b/device/wwid" | awk '{ print $NF }')
      fi
      ;;
    */virtio[0-9]*) kind=virtio; serial=$(trim <"$b/serial" 2>/dev/null) ;;
    *) kind=other; serial= ;;
  esac
  model=$(trim <"$b/device/model" 2>/dev/null)
  echo "disk $kind serial=$serial name=$name size=$(cat "$b/size") rotational=$(cat "$b/queue/rotational") model=$model"
  for p in "$b"/"$name"*; do
    [ -f "$p/partition" ] && echo "part ${p##*/} of=$name start=$(cat "$p/start") size=$(cat "$p/size")"
  done
done

for f in sys_vendor product_name product_version product_serial product_uuid board_vendor \
  board_name board_serial chassis_vendor chassis_serial bios_vendor bios_version; do
  [ -r "/sys/class/dmi/id/$f" ] && echo "dmi $f=$(trim <"/sys/class/dmi/id/$f")"
done
exit 0
