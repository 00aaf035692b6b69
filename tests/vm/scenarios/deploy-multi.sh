# shellcheck shell=bash
# shellcheck disable=SC2016  # $d, $s, $w in single quotes are jq variables
# deploy-multi — one image written to four USB disks at once; the fourth is pulled out (QMP
# device_del, a real hot-unplug on the xHCI bus) while it is being written. The three others
# must be written and verified, the pulled one must fail alone, with a reason, and be left
# without a partition table.
#
# Host: builds a 96 MiB disk image (GPT, one ext4 partition holding random files, the rest
# zeros), compresses it with xz in several blocks (so the parallel decoder runs) and puts it
# and its SHA-256 on the results share. The four 128 MiB target disks are filled with canary
# text and given an old, valid GPT first, so that every zero of the image must really be
# written (zeroed) and a surviving partition table would show.
# Guest: `atelier deploy deploy.img.xz --sha256 … --to (4 disks) --yes-i-understand-this-
# destroys-data --json`, streaming its events to the share. The host watches them and, at the
# first `progress` event of the fourth disk's `write` phase, unplugs that disk.
# Checks: exit status 1; result events PASSED ×3 (full read-back of every image byte, image
# hash as published) and FAILED ×1 for the pulled disk, naming the failed operation and the
# removal; the pulled disk never reached its commit phase; the store holds 3 PASSED deployments
# and 1 FAILED; on the host, the 3 disks hold exactly the image in their first 96 MiB, with the
# same GPT as the source (sfdisk -d, blkid) and nothing written past the image but the
# capacity probe's few 4 KiB blocks; the pulled disk has no partition table, its first 4 MiB
# are zeros, and only part of the image got there.

vm_install_deps socat gdisk jq
vm_initramfs "$VM_WORK/initrd.cpio.gz" --bin "$(vm_atelier_bin)"

IMG_MIB=96 DISK_MIB=128
IMG_BYTES=$((IMG_MIB << 20))
SERIALS=(ATL-DEPLOY-01 ATL-DEPLOY-02 ATL-DEPLOY-03 ATL-DEPLOY-04)
PULLED=ATL-DEPLOY-04 # attached with id=pull
r=$VM_WORK/results d=$VM_WORK/disks
mkdir -p "$r" "$d"

# ---------------------------------------------------------------------------------------------
# The source image and the target disks
# ---------------------------------------------------------------------------------------------

t0=$(vm_now)
src=$VM_WORK/src.img
vm_disk_image "$src" "${IMG_MIB}M"
printf 'label: gpt\nlabel-id: 5A7E11E2-0D0D-4C4C-9E9E-0123456789AB\nstart=2048, size=%d, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=atelier-root\n' \
  $(((IMG_MIB - 3) * 2048)) | sfdisk -q "$src" >/dev/null
mkdir -p "$VM_WORK/files/data/more"
# About 8 MiB of random bytes (xz cannot shrink them: keep it small, compressing is the slow
# step here) and 6 MiB of text; the rest of the image is zeros.
n=0
for kib in 4096 2048 1024 700 300 64 17 4 1; do
  n=$((n + 1))
  head -c "${kib}K" /dev/urandom >"$VM_WORK/files/data/random-$n.bin"
done
for n in $(seq 1 40); do head -c $((n * 1000 + 3)) /dev/urandom >"$VM_WORK/files/data/more/small-$n.bin"; done
seq 1 800000 >"$VM_WORK/files/data/numbers.txt"
echo "deploy-multi test image" >"$VM_WORK/files/README"
mkfs.ext4 -q -F -L ATL-DEPLOY -d "$VM_WORK/files" -E offset=$((2048 * 512)) "$src" $(((IMG_MIB - 3) * 1024))K
sgdisk -v "$src" | tee "$VM_WORK/src.sgdisk" | grep -q '^No problems found' ||
  { vm_err "the source image's GPT is not valid"; cat "$VM_WORK/src.sgdisk"; exit 1; }
xz -T2 --block-size=16MiB -1 -c "$src" >"$r/deploy.img.xz"
src_sha=$(sha256sum <"$src" | cut -d' ' -f1)
xz_sha=$(sha256sum <"$r/deploy.img.xz" | cut -d' ' -f1)
echo "$xz_sha" >"$r/image.sha256"
# The partition table as sfdisk reads it, without the file name.
ptable() { sfdisk -d "$1" 2>/dev/null | sed -n 's/^[^ ]*[0-9] : /part : /p; /^label/p; /^first-lba/p'; }
src_table=$(ptable "$src")

# Targets: canary text everywhere, then an old GPT (protective MBR, primary and backup).
{ yes ATELIER-CANARY-DEPLOY || true; } | head -c "${DISK_MIB}M" >"$VM_WORK/canary.img"
printf 'label: gpt\nlabel-id: 0BD0BD0B-0000-4000-8000-000000000001\nstart=2048, size=32768, name=old-boot\nstart=34816, size=65536, name=old-root\n' |
  sfdisk -q "$VM_WORK/canary.img" >/dev/null
usb_args=()
for i in "${!SERIALS[@]}"; do
  s=${SERIALS[i]}
  cp "$VM_WORK/canary.img" "$d/$s.img"
  [[ $(blkid -p -o value -s PTTYPE "$d/$s.img") == gpt ]] || { vm_err "$s: old GPT missing"; exit 1; }
  props="serial=$s"
  [[ $s == "$PULLED" ]] && props+=",id=pull"
  usb_args+=(--usb "$d/$s.img,$props")
done
# past_image_blocks DISK — how many 4 KiB blocks past the image differ from what the disk held.
past_image_blocks() {
  { cmp -l <(tail -c +$((IMG_BYTES + 1)) "$1") <(tail -c +$((IMG_BYTES + 1)) "$VM_WORK/canary.img") || true; } |
    awk '{ print int(($1 - 1) / 4096) }' | uniq | wc -l
}
MAX_PROBE_BLOCKS=20
vm_log "image: $IMG_MIB MiB, $(du -k "$r/deploy.img.xz" | cut -f1) KiB xz ($(xz -lv "$r/deploy.img.xz" | sed -n 's/^ *Blocks: *//p' | head -1) blocks); disks ready in $(vm_elapsed "$t0") s"

# ---------------------------------------------------------------------------------------------
# The guest
# ---------------------------------------------------------------------------------------------

{ printf 'SERIALS="%s"\n' "${SERIALS[*]}"; cat <<'GUEST'; } >"$VM_WORK/guest.sh"
sh /usr/lib/atelier-vm/identify.sh >identity.txt
targets=""
for s in $SERIALS; do
  name=$(sed -n "s/^disk usb serial=$s name=\([a-z]*\) .*/\1/p" identity.txt)
  [ -n "$name" ] || { echo "no disk with serial $s" >&2; exit 99; }
  echo "$s $name" >>targets.txt
  targets="$targets /dev/$name"
done
set +e
t0=$(cut -d' ' -f1 /proc/uptime)
# shellcheck disable=SC2086  # one word per target
atelier --lang en --data-dir /tmp/data deploy /results/deploy.img.xz --sha256 "$(cat image.sha256)" \
  --to $targets --yes-i-understand-this-destroys-data --json >deploy.jsonl 2>deploy.err
echo $? >deploy.status
t1=$(cut -d' ' -f1 /proc/uptime)
echo "deploy took $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s"
ls /sys/block >block-after.txt
dmesg >dmesg.txt
atelier --data-dir /tmp/data records list --json >records.json
for id in $(grep -o '"id":"[^"]*"' records.json | cut -d'"' -f4); do
  atelier --data-dir /tmp/data records export "$id" --json >"record-$id.json"
done
exit 0
GUEST

# Boot in the background; pull the fourth disk at its first progress event of the write phase.
qmp=$VM_WORK/qmp.sock
vm_run --initrd "$VM_WORK/initrd.cpio.gz" --cmd "$VM_WORK/guest.sh" --results "$r" \
  --timeout 600 --qmp "$qmp" "${usb_args[@]}" &
runner=$!
pulled_name="" pulled_at="" t_boot=$(vm_now)
for _ in $(seq 1 12000); do
  if [[ -z $pulled_name && -s $r/targets.txt ]]; then
    pulled_name=$(awk -v s="$PULLED" '$1 == s { print $2 }' "$r/targets.txt")
  fi
  # Progress events come only from the write phase on (the prepare phase sends none); grep is
  # cheaper than jq while QEMU keeps both cores busy.
  if [[ -n $pulled_name && -f $r/deploy.jsonl ]] &&
    pulled_at=$(grep -m1 "\"device\":\"$pulled_name\",\"event\":\"progress\"" "$r/deploy.jsonl"); then
    vm_qmp "$qmp" device_del '{"id":"pull"}' >"$VM_WORK/qmp.out" ||
      { cat "$VM_WORK/qmp.out"; wait "$runner" || true; exit 1; } # the guest ends by itself
    vm_log "pulled $PULLED (/dev/$pulled_name) $(vm_elapsed "$t_boot") s after boot; first progress event: $pulled_at;" \
      "last one seen at the unplug: $(grep "\"device\":\"$pulled_name\",\"event\":\"progress\"" "$r/deploy.jsonl" | tail -n 1)"
    break
  fi
  if [[ -s $r/exit-status ]] || ! kill -0 "$runner" 2>/dev/null; then break; fi
  sleep 0.05
done
rc=0
wait "$runner" || rc=$?
[[ ! -f $VM_WORK/qmp.out ]] || sed "s/^/[qmp] /" "$VM_WORK/qmp.out"
[[ -n $pulled_at ]] || {
  vm_err "the deploy ended (or never wrote) before the fourth disk could be pulled (vm_run status $rc)"
  cat "$r/deploy.err" "$r/stdout" "$r/stderr" 2>/dev/null; exit 1; }
[[ $rc == 0 ]] || { vm_err "guest script status $rc"; cat "$r/stderr"; exit 1; }
cat "$r/stdout" "$r/deploy.err"

# ---------------------------------------------------------------------------------------------
# Checks (every mismatch is reported, then the scenario fails)
# ---------------------------------------------------------------------------------------------

failures=0
fail() { vm_err "$*"; failures=$((failures + 1)); }
same() { [[ $2 == "$3" ]] || fail "$1: expected '$2', got '$3'"; }
ev() { jq -r "$@" "$r/deploy.jsonl"; }
# result_of SERIAL — the deployment of SERIAL's result event, compact, without the identities.
result_of() {
  ev -c --arg s "$1" 'select(.event == "result" and .deployment.target.serial == $s) | .deployment | del(.target, .tool)'
}
kept=() # serials of the disks left in place
for s in "${SERIALS[@]}"; do [[ $s == "$PULLED" ]] || kept+=("$s"); done
kept_list="${kept[*]}"

same "atelier deploy exit status (one target failed)" 1 "$(cat "$r/deploy.status")"
grep -q "^DEVICE_DELETED\|\"DEVICE_DELETED\"" "$VM_WORK/qmp.out" ||
  vm_log "note: no DEVICE_DELETED event within the QMP call (the guest may ack later)"
same "disk gone from the guest after the unplug" "" "$(grep -x "$pulled_name" "$r/block-after.txt" || true)"

# Result events: one per target, by serial.
same "result events" 4 "$(ev -s '[.[] | select(.event == "result")] | length')"
same "PASSED results" "$kept_list" \
  "$(ev 'select(.event == "result" and .outcome == "PASSED") | .deployment.target.serial' | sort | xargs)"
same "FAILED results" "$PULLED" \
  "$(ev 'select(.event == "result" and .outcome == "FAILED") | .deployment.target.serial' | xargs)"
for s in "${kept[@]}"; do
  ev -s -e --arg s "$s" --arg sha "$src_sha" --argjson n "$IMG_BYTES" \
    'map(select(.event == "result" and .deployment.target.serial == $s)) | length == 1 and (.[0].deployment
     | .verification.passed and .verification.mode == "full" and .verification.bytes_checked == $n
       and (.verification.mismatches | length) == 0 and .image.hash_matches == true
       and .image.image_sha256 == $sha and .image.size_bytes == $n and .outcome_detail == null)' \
    >/dev/null || fail "$s: result is not a full, clean verification of the image: $(result_of "$s")"
done
detail=$(ev --arg s "$PULLED" 'select(.event == "result" and .deployment.target.serial == $s) | .deployment.outcome_detail // ""')
vm_log "reason given for $PULLED: $detail"
[[ $detail =~ (write|zero-out|sync).*(removed) ]] ||
  fail "$PULLED: the reason does not name the failed operation and the removal: '$detail'"
# The unplug happened while writing: the pulled disk never committed nor verified, and its
# progress stopped short of the image.
same "$PULLED commit/verify phases" "" \
  "$(ev --arg d "$pulled_name" 'select(.device == $d and .event == "phase" and (.phase == "commit" or .phase == "verify")) | .phase')"
last_done=$(ev -s --arg d "$pulled_name" '[.[] | select(.device == $d and .event == "progress") | .bytes_done] | max // 0')
((last_done > 0 && last_done < IMG_BYTES)) || fail "$PULLED: progress $last_done of $IMG_BYTES bytes is not mid-write"
same "$PULLED verification in the result" false \
  "$(ev --arg s "$PULLED" 'select(.event == "result" and .deployment.target.serial == $s) | .deployment.verification.passed')"

# The store: every target recorded; 3 PASSED deployments and the pulled one FAILED.
shopt -s nullglob
recs=("$r"/record-*.json)
same "records exported" "$(jq '.records | length' "$r/records.json")" "${#recs[@]}"
same "PASSED deployments in the store" "$kept_list" \
  "$(jq -r 'select(.deployment.outcome == "PASSED") | .deployment.target.serial' "${recs[@]}" | sort | xargs)"
same "FAILED deployments in the store" "$PULLED" \
  "$(jq -r 'select(.deployment.outcome == "FAILED") | .deployment.target.serial' "${recs[@]}" | xargs)"
jq -s -e --arg s "$PULLED" 'map(select(.deployment.target.serial == $s)) | length == 1
    and (.[0].deployment.outcome_detail | length > 0)' "${recs[@]}" >/dev/null || fail "$PULLED: the record has no reason"

# The disks, read on the host.
for s in "${kept[@]}"; do
  img=$d/$s.img
  same "$s: SHA-256 of the first $IMG_MIB MiB" "$src_sha" "$(head -c "$IMG_BYTES" "$img" | sha256sum | cut -d' ' -f1)"
  same "$s: partition table type (blkid)" gpt "$(blkid -p -o value -s PTTYPE "$img" || true)"
  same "$s: partition table (sfdisk -d)" "$src_table" "$(ptable "$img")"
  # Past the image only the end-of-card capacity probe may have written (scattered 4 KiB blocks:
  # 16 spread over the disk and the last one, see atelier-deploy's probe module).
  changed=$(past_image_blocks "$img")
  ((changed <= MAX_PROBE_BLOCKS)) ||
    fail "$s: $changed blocks of 4 KiB changed past the image (at most $MAX_PROBE_BLOCKS expected, from the capacity probe)"
  vm_log "$s: $changed blocks of 4 KiB changed past the image (capacity probe)"
done
img=$d/$PULLED.img
sfdisk -d "$img" >/dev/null 2>&1 && fail "$PULLED: sfdisk still reads a partition table: $(sfdisk -d "$img" 2>&1 | head -12)"
same "$PULLED: partition table type (blkid)" "" "$(blkid -p -o value -s PTTYPE "$img" 2>/dev/null || true)"
cmp -s -n $((4 << 20)) "$img" /dev/zero || fail "$PULLED: the first 4 MiB are not zeros"
# Which 1 MiB blocks past the first chunk hold the image: some (it was being written), not all.
same_blocks=0
for ((b = 4; b < IMG_MIB; b++)); do
  a=$(dd if="$src" bs=1M skip=$b count=1 status=none | sha256sum)
  c=$(dd if="$img" bs=1M skip=$b count=1 status=none | sha256sum)
  [[ $a == "$c" ]] && same_blocks=$((same_blocks + 1))
done
vm_log "$PULLED: $same_blocks of $((IMG_MIB - 4)) MiB past the first chunk hold the image"
((same_blocks > 0 && same_blocks < IMG_MIB - 4)) ||
  fail "$PULLED: $same_blocks MiB of the image written: not a write cut short"

if ((failures)); then
  vm_err "$failures check(s) failed"
  exit 1
fi
vm_log "3 disks written and verified (equal to the image, GPT readable), the pulled one FAILED alone with no partition table"
