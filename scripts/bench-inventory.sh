#!/usr/bin/env bash
# bench-inventory.sh — wall time of `atelier inventory` against lshw (and, for information, inxi,
# dmidecode and Atelier without SMART), measured with hyperfine on this machine.
#
# Target (issue 4): `atelier inventory --json` (SMART queried, no SMART self-test started) is at
# least 10 × faster than `lshw -json` on the same machine, in the same run. smartctl runs for
# every disk that can carry SMART (not for virtio, loop, RAM disks or SD/eMMC cards).
#
# What it does, in one run:
#   1. builds target/release/atelier (BUILD=0 to skip);
#   2. runs ROUNDS rounds of one hyperfine invocation comparing the two commands of the target,
#        atelier inventory --json --no-save                 (SMART queried, nothing written)
#        lshw -json
#      each with WARMUP warm-up runs and RUNS timed runs. hyperfine times all runs of the first
#      command, then all runs of the second: several short rounds, back to back, let the
#      machine's changing load hit both tools alike. The verdict uses the median of the
#      per-round ratios of the means (mean lshw / mean atelier), as scripts/bench-wipe.sh uses
#      per-round ratios; the ratio of the medians of each round is shown too (less sensitive
#      to the slow outliers that a busy machine adds);
#   3. when INFO=1, one more hyperfine invocation, for information only (no target):
#        atelier inventory --json --no-save --no-smart      (SMART skipped)
#        inxi -Fxxx
#        dmidecode
#        fusioninventory-inventory                         (when installed)
#      with INFO_RUNS timed runs (inxi and FusionInventory take about a second a run). Failures
#      are ignored there (`hyperfine -i`): dmidecode exits 1 on a machine without SMBIOS tables;
#   4. writes into OUT: round-N.json / round-N.md (hyperfine's exports of each round),
#      info.json / info.md, and summary.md (machine, commands, per-round numbers, ratio,
#      verdict), and prints summary.md.
#
# Commands run without a shell (`hyperfine -N`) and their output goes through a pipe
# (`--output=pipe`): each tool writes its whole report, as it would for a reader.
#
# Environment (defaults in brackets):
#   ROUNDS [5]       rounds of the target comparison (≥ 3 for a meaningful median)
#   RUNS [20]        timed runs per command per round;  WARMUP [3]  warm-up runs
#   INFO [1]         1: also time the informational commands; 0: skip
#   INFO_RUNS [10]   timed runs of each informational command
#   OUT [target/bench-inventory]   directory for the exports and summary.md
#   ATELIER [target/release/atelier], BUILD [1]
#
# Usage: sudo scripts/bench-inventory.sh      (about 1–2 minutes with the defaults on a 2-core VM)
# Needs: root (lshw and dmidecode read root-only tables; SMART needs root), cargo, hyperfine,
# jq, lshw; inxi and dmidecode for INFO=1 (apt-get install hyperfine jq lshw inxi dmidecode;
# fusioninventory-agent too, for its line).

set -euo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INVOCATION=""
for v in ROUNDS RUNS WARMUP INFO INFO_RUNS OUT ATELIER BUILD; do
    [[ -v $v ]] && INVOCATION+="$v=${!v@Q} "
done
INVOCATION+="scripts/bench-inventory.sh"
ROUNDS=${ROUNDS:-5}
RUNS=${RUNS:-20}
WARMUP=${WARMUP:-3}
INFO=${INFO:-1}
INFO_RUNS=${INFO_RUNS:-10}
OUT=${OUT:-$REPO/target/bench-inventory}
ATELIER=${ATELIER:-${CARGO_TARGET_DIR:-$REPO/target}/release/atelier}
BUILD=${BUILD:-1}
TARGET_RATIO=10

die() { echo "bench-inventory: $*" >&2; exit 1; }
say() { echo "bench-inventory: $*" >&2; }

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
for v in ROUNDS RUNS WARMUP INFO_RUNS; do
    is_uint "${!v}" || die "$v must be a whole number (got '${!v}')"
done
((ROUNDS >= 1 && RUNS >= 2 && INFO_RUNS >= 2)) || die "ROUNDS ≥ 1, RUNS ≥ 2 and INFO_RUNS ≥ 2"
((ROUNDS >= 3)) || say "warning: ROUNDS=$ROUNDS < 3, the median means little"
[[ $INFO == 0 || $INFO == 1 ]] || die "INFO: 0 or 1"
((EUID == 0)) || die "needs root (lshw and dmidecode read root-only tables, SMART needs root)"
for tool in hyperfine jq lshw awk; do
    command -v "$tool" >/dev/null || die "missing tool: $tool"
done
if ((INFO)); then
    for tool in inxi dmidecode; do
        command -v "$tool" >/dev/null || die "missing tool: $tool (or run with INFO=0)"
    done
fi

WORK=$(mktemp -d /tmp/atelier-bench-inventory.XXXXXX)
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    rm -rf -- "$WORK"
    ((rc == 0)) || say "stopped (status $rc)"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# Build, versions.

START_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
T_START=$EPOCHREALTIME
LOAD_BEFORE=$(cut -d ' ' -f 1-3 /proc/loadavg)

if ((BUILD)); then
    say "building atelier (release)"
    (cd "$REPO" && cargo build --release -p atelier --quiet) || die "cargo build failed"
fi
[[ -x $ATELIER ]] || die "no atelier binary at $ATELIER"
ATELIER_VERSION=$("$ATELIER" --version 2>/dev/null || echo unknown)
GIT_REV=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
if ! git -C "$REPO" diff --quiet HEAD -- crates Cargo.toml Cargo.lock 2>/dev/null ||
    [[ -n $(git -C "$REPO" ls-files --others --exclude-standard -- crates 2>/dev/null) ]]; then
    GIT_REV="$GIT_REV plus uncommitted changes in the work tree"
fi
pkg_version() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo "not from a Debian package"; }
VERSIONS="lshw $(pkg_version lshw); hyperfine $(hyperfine --version | awk '{ print $2 }')"
((INFO)) && VERSIONS+="; inxi $(pkg_version inxi); dmidecode $(pkg_version dmidecode); smartmontools $(pkg_version smartmontools)"

# Both commands must work before they are timed (hyperfine stops on a failure anyway, but
# without saying why).
"$ATELIER" inventory --json --no-save >"$WORK/atelier.json" 2>"$WORK/atelier.err" ||
    die "atelier inventory failed: $(tail -n 3 "$WORK/atelier.err")"
jq -e '.cpu' "$WORK/atelier.json" >/dev/null || die "atelier inventory printed no JSON hardware section"
lshw -json >"$WORK/lshw.json" 2>"$WORK/lshw.err" || die "lshw -json failed: $(tail -n 3 "$WORK/lshw.err")"

mkdir -p "$OUT"
CMD_ATELIER="$ATELIER inventory --json --no-save"
CMD_LSHW="lshw -json"

# ---------------------------------------------------------------------------------------------
# Rounds.

# "mean stddev median" in milliseconds of result number IDX of hyperfine's JSON export FILE.
stats_ms() { jq -r --argjson i "$2" '.results[$i] | "\(.mean * 1000) \(.stddev * 1000) \(.median * 1000)"' "$1"; }
fmt() { awk -v v="$1" -v d="${2:-1}" 'BEGIN { printf "%.*f", d, v }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

ROUND_ROWS=""
RATIOS=() MEDIAN_RATIOS=()
A_MEANS=() L_MEANS=()
for ((r = 1; r <= ROUNDS; r++)); do
    say "round $r/$ROUNDS: atelier vs lshw, $RUNS runs each"
    hyperfine -N --output=pipe --warmup "$WARMUP" --runs "$RUNS" --style basic \
        -n "atelier inventory --json --no-save" "$CMD_ATELIER" \
        -n "lshw -json" "$CMD_LSHW" \
        --export-json "$OUT/round-$r.json" --export-markdown "$OUT/round-$r.md" >"$WORK/round-$r.txt" 2>&1 ||
        die "hyperfine failed in round $r: $(tail -n 5 "$WORK/round-$r.txt")"
    read -r a_mean a_sd a_med < <(stats_ms "$OUT/round-$r.json" 0)
    read -r l_mean l_sd l_med < <(stats_ms "$OUT/round-$r.json" 1)
    ratio=$(awk -v l="$l_mean" -v a="$a_mean" 'BEGIN { printf "%.2f", l / a }')
    # Spread of the ratio from the two standard deviations (first-order propagation).
    ratio_sd=$(awk -v l="$l_mean" -v ls="$l_sd" -v a="$a_mean" -v as="$a_sd" \
        'BEGIN { printf "%.2f", (l / a) * sqrt((ls / l) ^ 2 + (as / a) ^ 2) }')
    median_ratio=$(awk -v l="$l_med" -v a="$a_med" 'BEGIN { printf "%.2f", l / a }')
    RATIOS+=("$ratio")
    MEDIAN_RATIOS+=("$median_ratio")
    A_MEANS+=("$a_mean")
    L_MEANS+=("$l_mean")
    ROUND_ROWS+="| $r | $(fmt "$a_mean" 2) ± $(fmt "$a_sd" 2) | $(fmt "$a_med" 2) | $(fmt "$l_mean" 1) ± $(fmt "$l_sd" 1) | $(fmt "$l_med" 1) | $ratio ± $ratio_sd | $median_ratio |"$'\n'
done
RATIO_MEDIAN=$(printf '%s\n' "${RATIOS[@]}" | median)
MEDIAN_RATIO_MEDIAN=$(printf '%s\n' "${MEDIAN_RATIOS[@]}" | median)
A_MEDIAN=$(printf '%s\n' "${A_MEANS[@]}" | median)
L_MEDIAN=$(printf '%s\n' "${L_MEANS[@]}" | median)
RATIO_OF_MEDIANS=$(awk -v l="$L_MEDIAN" -v a="$A_MEDIAN" 'BEGIN { printf "%.2f", l / a }')
if awk -v r="$RATIO_MEDIAN" -v t="$TARGET_RATIO" 'BEGIN { exit !(r >= t) }'; then
    VERDICT="**met**"
else
    VERDICT="**NOT met**"
fi

# ---------------------------------------------------------------------------------------------
# Informational commands.

INFO_ROWS=""
if ((INFO)); then
    INFO_CMDS=(-n "atelier inventory --json --no-save --no-smart" "$ATELIER inventory --json --no-save --no-smart"
        -n "inxi -Fxxx" "inxi -Fxxx" -n "dmidecode" "dmidecode")
    if command -v fusioninventory-inventory >/dev/null; then
        INFO_CMDS+=(-n "fusioninventory-inventory" "fusioninventory-inventory")
        VERSIONS+="; fusioninventory-agent $(pkg_version fusioninventory-agent)"
    else
        say "fusioninventory-inventory not installed: not timed"
    fi
    say "information: atelier without SMART, inxi, dmidecode, FusionInventory ($INFO_RUNS runs each)"
    hyperfine -N -i --output=pipe --warmup "$WARMUP" --runs "$INFO_RUNS" --style basic "${INFO_CMDS[@]}" \
        --export-json "$OUT/info.json" --export-markdown "$OUT/info.md" >"$WORK/info.txt" 2>&1 ||
        die "hyperfine failed (information): $(tail -n 5 "$WORK/info.txt")"
    for ((i = 0; i < $(jq '.results | length' "$OUT/info.json"); i++)); do
        name=$(jq -r --argjson i "$i" '.results[$i].command' "$OUT/info.json")
        read -r m sd med < <(stats_ms "$OUT/info.json" "$i")
        x=$(awk -v l="$L_MEDIAN" -v m="$m" 'BEGIN { printf "%.2f", m / l }')
        INFO_ROWS+="| \`$name\` | $(fmt "$m" 2) ± $(fmt "$sd" 2) | $(fmt "$med" 2) | $x |"$'\n'
    done
    DMI_RC=0
    dmidecode >/dev/null 2>&1 || DMI_RC=$?
    ((DMI_RC == 0)) || INFO_ROWS+=$'\n'"dmidecode exited with status $DMI_RC on this machine (no SMBIOS tables?): its time is that of a failure."$'\n'
fi

# ---------------------------------------------------------------------------------------------
# Summary.

LOAD_AFTER=$(cut -d ' ' -f 1-3 /proc/loadavg)
TOTAL_S=$(awk -v a="$T_START" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
CPU_MODEL=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MEM_GIB=$(awk '/^MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
VIRT=$(systemd-detect-virt 2>/dev/null || true)

{
    cat <<EOF
# Inventory benchmark

- Date: $START_DATE; whole run ${TOTAL_S} s; invocation: \`$INVOCATION\`.
- Machine: $CPU_MODEL, $(nproc) cores, ${MEM_GIB} GiB RAM$([[ -n $VIRT && $VIRT != none ]] && echo " (systemd-detect-virt: $VIRT)"); kernel $(uname -r).
- Atelier: \`$ATELIER_VERSION\`, commit $GIT_REV, release build. Peers: $VERSIONS.
- Load average (1, 5, 15 min) before: $LOAD_BEFORE; after: $LOAD_AFTER.

## Target: atelier inventory (SMART queried where a disk has it) vs lshw

\`hyperfine -N --output=pipe --warmup $WARMUP --runs $RUNS\` per round, $ROUNDS round(s); times in ms.

| Round | Atelier mean ± σ | Atelier median | lshw mean ± σ | lshw median | lshw / Atelier (means) | lshw / Atelier (medians) |
|---|---|---|---|---|---|---|
${ROUND_ROWS}
Median of the per-round ratios of the means: **$RATIO_MEDIAN ×** (cross-checks: median of the
per-round ratios of the medians $MEDIAN_RATIO_MEDIAN ×; ratio of the median means $RATIO_OF_MEDIANS ×,
with Atelier's median mean $(fmt "$A_MEDIAN" 2) ms and lshw's $(fmt "$L_MEDIAN" 1) ms).
Target ≥ $TARGET_RATIO × (on the first figure): $VERDICT.
EOF
    if ((INFO)); then
        cat <<EOF

## For information (no target)

\`hyperfine -N -i --output=pipe --warmup $WARMUP --runs $INFO_RUNS\`, once, after the rounds; times in ms.
The last column compares with the median of lshw's means above.

| Command | mean ± σ | median | × lshw |
|---|---|---|---|
${INFO_ROWS}
EOF
    fi
} >"$OUT/summary.md"

cat "$OUT/summary.md"
say "exports and summary in $OUT"
