# shellcheck shell=bash
# bench-inventory — `atelier inventory` against `lshw -json` inside the guest (a machine that
# runs nothing else), paired round by round: the guest counterpart of scripts/bench-inventory.sh.
# A measurement, not a timed test: the scenario fails only when a command fails.
# It lives outside tests/vm/scenarios so the VM test tier (and CI) does not run it:
#   scripts/vm-test.sh tests/vm/benchmarks/inventory.sh   (or: just bench-inventory-vm)
#
# The machine is vm_profile_thinkpad (SMBIOS identity, NVMe, two SATA disks, a USB stick) with
# the host's pci.ids, so both tools name PCI devices. In each of ROUNDS rounds the guest runs
# `atelier inventory --json --no-save --no-smart` BATCH times, then `lshw -json` BATCH times
# (outputs to /dev/null), and records each batch's wall time from /proc/uptime (10 ms
# resolution, hence batches; busybox `date` has no nanoseconds). The host prints the per-round
# means and ratios and their median, and writes them to OUT/summary.txt (OUT defaults to
# target/bench-inventory-vm; the work directory is removed when the scenario passes).
#
# Environment: ATELIER_BIN (default: the release build, built now; the file must be named
# `atelier`), ROUNDS [5], BATCH [10], OUT.
# Under TCG (software emulation, the default here) the absolute times are those of an emulated
# CPU; the ratio is what is compared.

ROUNDS=${ROUNDS:-5}
BATCH=${BATCH:-10}
repo=$(cd "$ATELIER_VM_DIR/../.." && pwd)
if [[ -z ${ATELIER_BIN:-} ]]; then
  (cd "$repo" && cargo build -q --release -p atelier) >&2
  # Without its debug information (100 MB) the binary fits the guest's memory; same code.
  objcopy --strip-debug "$repo/target/release/atelier" "$VM_WORK/atelier"
  ATELIER_BIN=$VM_WORK/atelier
fi
pci_ids=/usr/share/misc/pci.ids

vm_install_deps lshw pci.ids
vm_initramfs "$VM_WORK/initrd.cpio.gz" --bin "$ATELIER_BIN" --tool lshw \
  --file "$pci_ids=/usr/share/misc/pci.ids"
vm_profile_thinkpad "$VM_WORK/disks"

cat >"$VM_WORK/guest.sh" <<GUEST
# cwd: the results share.
rounds=$ROUNDS batch=$BATCH
GUEST
cat >>"$VM_WORK/guest.sh" <<'GUEST'
up() { cut -d' ' -f1 /proc/uptime; }
atelier inventory --json --no-save --no-smart >atelier.json 2>atelier.err
echo $? >atelier.status
lshw -json >lshw.json 2>lshw.err
echo $? >lshw.status
# One warm-up run each, then the rounds.
atelier inventory --json --no-save --no-smart >/dev/null 2>&1
lshw -json >/dev/null 2>&1
r=1
while [ "$r" -le "$rounds" ]; do
  t0=$(up)
  i=0
  while [ "$i" -lt "$batch" ]; do
    atelier inventory --json --no-save --no-smart >/dev/null 2>&1
    i=$((i + 1))
  done
  t1=$(up)
  i=0
  while [ "$i" -lt "$batch" ]; do
    lshw -json >/dev/null 2>&1
    i=$((i + 1))
  done
  t2=$(up)
  echo "$r $t0 $t1 $t2" >>rounds.txt
  r=$((r + 1))
done
cat /proc/loadavg >loadavg.txt
# Where Atelier's time goes in the guest: its per-probe timings, three runs.
for i in 1 2 3; do
  ATELIER_INVENTORY_TIMINGS=1 atelier inventory --json --no-save --no-smart 2>&1 >/dev/null |
    grep '^timing:' >>timings.txt
done
exit 0
GUEST

vm_run --initrd "$VM_WORK/initrd.cpio.gz" --cmd "$VM_WORK/guest.sh" --results "$VM_WORK/results" \
  --timeout 900 "${VM_PROFILE_ARGS[@]}"

r=$VM_WORK/results
OUT=${OUT:-$repo/target/bench-inventory-vm}
mkdir -p "$OUT"
for f in atelier lshw; do
  [[ $(cat "$r/$f.status") == 0 ]] || { vm_err "$f failed in the guest: $(tail -n 3 "$r/$f.err")"; exit 1; }
done
jq -e '.cpu' "$r/atelier.json" >/dev/null || { vm_err "atelier printed no hardware section"; exit 1; }
[[ -s $r/rounds.txt ]] || { vm_err "no rounds recorded"; exit 1; }
{
awk -v batch="$BATCH" '{
  a = ($3 - $2) * 1000 / batch; l = ($4 - $3) * 1000 / batch
  printf "round %d: atelier %.1f ms, lshw %.1f ms a run, ratio %.2f\n", $1, a, l, (a > 0) ? l / a : 0
}' "$r/rounds.txt"
median=$(awk '{ a = $3 - $2; print (a > 0) ? ($4 - $3) / a : 0 }' "$r/rounds.txt" | sort -g |
  awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
echo "median of the per-round ratios (lshw / atelier): $median x, $(wc -l <"$r/rounds.txt") rounds of $BATCH runs"
echo "guest load average after the rounds: $(cat "$r/loadavg.txt")"
echo "ATELIER_INVENTORY_TIMINGS=1, three runs in the guest:"
cat "$r/timings.txt"
} | tee "$OUT/summary.txt"
cp "$r/rounds.txt" "$OUT/rounds.txt"
