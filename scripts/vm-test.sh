#!/usr/bin/env bash
# scripts/vm-test.sh — run the VM test scenarios (tests/vm/scenarios/*.sh) under QEMU.
#
# usage: scripts/vm-test.sh [--list] [SCENARIO...]
#   SCENARIO is a scenario name (smoke) or path; default: every tests/vm/scenarios/*.sh.
#
# Each scenario runs in its own bash process with `set -euo pipefail`, tests/vm/lib.sh sourced,
# VM_WORK set to a fresh work directory (also the cwd), and its output in VM_WORK/scenario.log.
# Prints PASS/FAIL and the duration per scenario; exits 1 if any scenario failed.
# Work directories are removed after a PASS and kept after a FAIL (ATELIER_VM_KEEP=1 keeps all).
# Needs root; missing host packages are installed first (vm_install_deps).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lib=$repo/tests/vm/lib.sh
scen_dir=$repo/tests/vm/scenarios
# shellcheck source-path=SCRIPTDIR/..
# shellcheck source=tests/vm/lib.sh
. "$lib"

scenarios=()
if [[ ${1:-} == --list ]]; then
  for s in "$scen_dir"/*.sh; do basename "$s" .sh; done
  exit 0
fi
if (($#)); then
  for a in "$@"; do
    if [[ -f $a ]]; then scenarios+=("$(realpath "$a")")
    elif [[ -f $scen_dir/$a.sh ]]; then scenarios+=("$scen_dir/$a.sh")
    else echo "vm-test: no scenario '$a' (see --list)" >&2; exit 2
    fi
  done
else
  scenarios=("$scen_dir"/*.sh)
fi

vm_require_root
vm_install_deps
# Fetch the kernel once up front so its download time is not charged to the first scenario.
_vm_kernel_load

work_root=${ATELIER_VM_WORKDIR:-${TMPDIR:-/tmp}}
pass=0 fail=0
failed=()
for s in "${scenarios[@]}"; do
  name=$(basename "$s" .sh)
  work=$(mktemp -d "$work_root/atelier-vm-$name.XXXXXX")
  t0=$(vm_now)
  rc=0
  (
    cd "$work"
    VM_WORK=$work VM_SCENARIO=$name bash -c \
      'set -euo pipefail; . "$1"; . "$2"' vm-scenario "$lib" "$s"
  ) >"$work/scenario.log" 2>&1 || rc=$?
  took=$(vm_elapsed "$t0")
  if ((rc == 0)); then
    printf 'PASS  %-24s %6ss\n' "$name" "$took"
    pass=$((pass + 1))
    [[ ${ATELIER_VM_KEEP:-0} == 1 ]] || rm -rf "$work"
  else
    printf 'FAIL  %-24s %6ss  (status %s, log: %s)\n' "$name" "$took" "$rc" "$work/scenario.log"
    tail -n 25 "$work/scenario.log" | sed 's/^/      | /'
    fail=$((fail + 1))
    failed+=("$name")
  fi
done

if ((fail)); then echo "vm-test: failed: ${failed[*]}"; fi
echo "vm-test: ${pass} passed, ${fail} failed"
((fail == 0))
