#!/usr/bin/env bash
# bench-wipe.sh — throughput of `atelier wipe` against the raw device (dd) and Debian's nwipe.
#
# Needs root (it creates loop devices and overwrites them). It never touches a device it did not
# create: each loop device is checked to be backed by this script's own file before every
# destructive command, and nwipe is always given that device by name.
#
# What it does, in one run:
#   1. builds target/release/atelier (BUILD=0 to skip) and runs the criterion benchmark of the
#      random generator (`cargo bench -p atelier-wipe --bench generator`; CRITERION=0 to skip);
#   2. probes which nwipe PRNG is fastest here (nwipe, method random, no verify, on a small
#      RAM-backed loop device; NWIPE_PRNG=isaac64|isaac|mersenne skips the probe);
#   3. creates two loop devices:
#        disk  a non-sparse file under BENCH_DISK_DIR, attached with `losetup --direct-io=on`
#        ram   a file in /dev/shm (tmpfs), attached with plain `losetup`
#   4. runs ROUNDS rounds; in each round, on each device in turn and always in this order:
#        dd write, dd read, atelier random + full verify, atelier zero + full verify,
#        [diagnostics: atelier random with EXTRA_REQUEST_MIB / EXTRA_IO_DEPTH, fio write/read
#        of random data],
#        nwipe (random stream with the fastest PRNG, --verify=last)
#      so the machine's erratic speed hits every tool alike;
#   5. writes docs/benchmarks.md: machine, exact commands, per-round numbers, medians, paired
#      ratios and whether the targets are met. The section between the `findings:begin` and
#      `findings:end` markers of the existing document (hand-written analysis) is kept.
#
# Environment (defaults in brackets):
#   ROUNDS [3]               rounds (≥ 3 for a meaningful median)
#   BENCH_DISK_GIB [4]       size of the disk-backed device, GiB
#   BENCH_RAM_GIB [2]        size of the RAM-backed device, GiB
#   BENCH_DISK_DIR [/var/tmp]  where the disk-backed file goes (must not be tmpfs)
#   NWIPE_DISK_ROUNDS [1]    nwipe on the disk-backed device runs in the first N rounds only:
#                            it writes at a few tens of MB/s there (about 2 min for 4 GiB), so
#                            every round would blow the time budget. Set it to $ROUNDS for the
#                            full interleave, 0 to skip. nwipe runs on the RAM device every round.
#   NWIPE_PRNG [auto]        auto = probe; or mersenne, isaac, isaac64
#   PRNG_PROBE_MIB [256]     size of the probe device; PRNG_PROBE_ROUNDS [2]
#   REQUEST_MIB [4]          atelier --request-mib for the main runs
#   EXTRA_REQUEST_MIB []     e.g. "8 16": also run atelier random + full verify with these
#                            request sizes in every round (diagnostics, reported separately)
#   EXTRA_IO_DEPTH []        e.g. "1 4": the same with these --io-depth values
#   DEVICES [disk ram]       which devices to create and run (investigations); the RAM target
#                            needs ram, the disk targets need disk
#   FIO [auto]               auto: when fio is installed, every round also writes the device with
#                            random data and reads it back with fio (4 MiB synchronous O_DIRECT
#                            requests, like dd): a raw baseline with the same content as Atelier's
#                            random pass (diagnostics; the targets stay against dd). 0: skip.
#   BUILD_REV []             empty: build and benchmark the work tree as it is. A commit (e.g.
#                            HEAD): build and benchmark that commit, exported with `git archive`
#                            into target/bench-rev/src (target dir: target/bench-rev), so that
#                            uncommitted edits in the work tree do not end up in the numbers.
#   ATELIER [target/release/atelier], BUILD [1], CRITERION [1]
#   OUT [docs/benchmarks.md]; KEEP_LOGS [] a directory to copy every tool's output and log into
#
# Usage: sudo scripts/bench-wipe.sh        (about 7–9 minutes with the defaults on a 2-core VM)
# Needs: cargo, losetup, blockdev, dd, nwipe, jq, GNU time (/usr/bin/time), setsid; fio is
# optional (apt-get install nwipe jq time fio). Cleanup: on any exit (also Ctrl-C, TERM) the
# running tool is stopped, the loop devices are detached and the files deleted.
#
# Definitions used in the report: MB = 10^6 bytes. dd MB/s = bytes / seconds as reported by dd.
# Atelier write / verify MB/s = entry.write_throughput_bytes_per_second /
# entry.verify_throughput_bytes_per_second of its JSON result. "Total" MB/s of a
# wipe-and-verify run = device bytes × 2 / wall time measured by this script around the whole
# process (the same definition for Atelier and nwipe).

set -euo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INVOCATION=""
for v in ROUNDS BENCH_DISK_GIB BENCH_RAM_GIB BENCH_DISK_DIR NWIPE_DISK_ROUNDS NWIPE_PRNG PRNG_PROBE_MIB \
    PRNG_PROBE_ROUNDS REQUEST_MIB EXTRA_REQUEST_MIB EXTRA_IO_DEPTH DEVICES FIO BUILD_REV ATELIER BUILD \
    CRITERION; do
    [[ -v $v ]] && INVOCATION+="$v=${!v@Q} "
done
INVOCATION+="scripts/bench-wipe.sh"
ROUNDS=${ROUNDS:-3}
BENCH_DISK_GIB=${BENCH_DISK_GIB:-4}
BENCH_RAM_GIB=${BENCH_RAM_GIB:-2}
BENCH_DISK_DIR=${BENCH_DISK_DIR:-/var/tmp}
BENCH_RAM_DIR=/dev/shm
NWIPE_DISK_ROUNDS=${NWIPE_DISK_ROUNDS:-1}
NWIPE_PRNG=${NWIPE_PRNG:-auto}
PRNG_PROBE_MIB=${PRNG_PROBE_MIB:-256}
PRNG_PROBE_ROUNDS=${PRNG_PROBE_ROUNDS:-2}
REQUEST_MIB=${REQUEST_MIB:-4}
EXTRA_REQUEST_MIB=${EXTRA_REQUEST_MIB:-}
EXTRA_IO_DEPTH=${EXTRA_IO_DEPTH:-}
DEVICES=${DEVICES:-disk ram}
BUILD_REV=${BUILD_REV:-}
BUILD=${BUILD:-1}
CRITERION=${CRITERION:-1}
OUT=${OUT:-$REPO/docs/benchmarks.md}
KEEP_LOGS=${KEEP_LOGS:-}
FIO=${FIO:-auto}

die() { echo "bench-wipe: $*" >&2; exit 1; }
say() { echo "bench-wipe: $*" >&2; }

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
for v in ROUNDS BENCH_DISK_GIB BENCH_RAM_GIB NWIPE_DISK_ROUNDS PRNG_PROBE_MIB PRNG_PROBE_ROUNDS REQUEST_MIB; do
    is_uint "${!v}" || die "$v must be a whole number (got '${!v}')"
done
for v in $EXTRA_REQUEST_MIB $EXTRA_IO_DEPTH; do is_uint "$v" || die "EXTRA_REQUEST_MIB / EXTRA_IO_DEPTH: '$v' is not a whole number"; done
for v in $DEVICES; do [[ $v == disk || $v == ram ]] || die "DEVICES: disk and/or ram (got '$v')"; done
[[ -n ${DEVICES// /} ]] || die "DEVICES is empty"
uses() { [[ " $DEVICES " == *" $1 "* ]]; }
((ROUNDS >= 1 && BENCH_DISK_GIB >= 1 && BENCH_RAM_GIB >= 1 && PRNG_PROBE_MIB >= 16)) || die "sizes and ROUNDS must be positive"
((ROUNDS >= 3)) || say "warning: ROUNDS=$ROUNDS < 3, medians mean little"
case $NWIPE_PRNG in auto | mersenne | twister | isaac | isaac64) ;; *) die "NWIPE_PRNG: auto, mersenne, isaac or isaac64" ;; esac
((EUID == 0)) || die "needs root (loop devices, raw writes)"
for tool in losetup dd nwipe jq awk blockdev setsid findmnt /usr/bin/time; do
    command -v "$tool" >/dev/null || die "missing tool: $tool"
done
case $FIO in
auto) if command -v fio >/dev/null; then FIO=1; else FIO=0; say "fio not installed: no random-data raw baseline"; fi ;;
0 | 1) ((FIO == 0)) || command -v fio >/dev/null || die "FIO=1 but fio is not installed" ;;
*) die "FIO: auto, 0 or 1" ;;
esac
[[ $(findmnt -n -o FSTYPE -T "$BENCH_DISK_DIR") != tmpfs ]] || die "BENCH_DISK_DIR=$BENCH_DISK_DIR is tmpfs, not disk-backed"

GIB=$((1 << 30))
DISK_BYTES=$((BENCH_DISK_GIB * GIB))
RAM_BYTES=$((BENCH_RAM_GIB * GIB))
PROBE_BYTES=$((PRNG_PROBE_MIB << 20))

# ---------------------------------------------------------------------------------------------
# Resources and cleanup (runs on every exit, including Ctrl-C and TERM).

WORK=$(mktemp -d /tmp/atelier-bench.XXXXXX)
declare -A FILE_OF=() DEV_OF=()
CHILD=

# Detaches DEV if (and only if) it is still backed by FILE.
detach_if_ours() {
    local dev=$1 file=$2 back
    [[ -n $dev && -b $dev ]] || return 0
    back=$(losetup -n -O BACK-FILE --list "$dev" 2>/dev/null | sed 's/[[:space:]]*$//') || return 0
    if [[ $back == "$file" ]]; then losetup -d "$dev" 2>/dev/null || true; fi
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $CHILD ]]; then
        # The tool runs in its own process group (setsid): stop it and whatever it started.
        kill -TERM -- "-$CHILD" 2>/dev/null || kill -TERM "$CHILD" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$CHILD" 2>/dev/null || break; sleep 0.2; done
        kill -KILL -- "-$CHILD" 2>/dev/null || true
        wait "$CHILD" 2>/dev/null || true
    fi
    local k
    for k in "${!DEV_OF[@]}"; do detach_if_ours "${DEV_OF[$k]}" "${FILE_OF[$k]}"; done
    for k in "${!FILE_OF[@]}"; do rm -f -- "${FILE_OF[$k]}"; done
    rm -rf -- "$WORK"
    ((rc == 0)) || say "stopped (status $rc); loop devices detached, files removed"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# What to build: the work tree, or a clean export of BUILD_REV.
SRC=$REPO
if [[ -n $BUILD_REV ]]; then
    REV_FULL=$(git -C "$REPO" rev-parse --verify "$BUILD_REV^{commit}") || die "BUILD_REV=$BUILD_REV is not a commit"
    export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$REPO/target/bench-rev}
    # A fixed place, so cargo's fingerprints (path, file times = commit time) stay valid between
    # runs and only a new commit is rebuilt.
    SRC=$CARGO_TARGET_DIR/src
    rm -rf -- "$SRC"
    mkdir -p "$SRC"
    git -C "$REPO" archive "$REV_FULL" | tar -x -C "$SRC"
fi
ATELIER=${ATELIER:-${CARGO_TARGET_DIR:-$SRC/target}/release/atelier}

# Creates FILE of BYTES (written with zeros: not sparse) and attaches it; sets DEV_OF[key].
make_device() {
    local key=$1 dir=$2 bytes=$3
    shift 3
    local file
    file=$(mktemp -p "$dir" "atelier-bench-$key.XXXXXX.img")
    FILE_OF[$key]=$file
    say "preparing $file ($((bytes >> 20)) MiB, writing zeros so it is not sparse)"
    dd if=/dev/zero of="$file" bs=4M count=$((bytes >> 22)) oflag=direct conv=fsync status=none 2>/dev/null ||
        dd if=/dev/zero of="$file" bs=4M count=$((bytes >> 22)) conv=fsync status=none
    local dev
    dev=$(losetup -f --show "$@" "$file")
    DEV_OF[$key]=$dev
    guard "$key"
    say "$key device: $dev ($(losetup -n -O DIO --list "$dev" | tr -d ' ' | sed 's/1/direct-io on/;s/0/direct-io off/'))"
}

# Refuses to go on unless DEV_OF[key] is a loop device backed by our file, of the right size.
guard() {
    local key=$1 dev=${DEV_OF[$1]:-} file=${FILE_OF[$1]:-} back size
    [[ $dev =~ ^/dev/loop[0-9]+$ && -b $dev ]] || die "$key: '$dev' is not a loop device"
    back=$(losetup -n -O BACK-FILE --list "$dev" | sed 's/[[:space:]]*$//')
    [[ -n $file && $back == "$file" ]] || die "$key: $dev is backed by '$back', not by our '$file'"
    size=$(blockdev --getsize64 "$dev")
    [[ $size == "$(stat -c %s "$file")" ]] || die "$key: $dev has $size bytes, our file has $(stat -c %s "$file")"
}

# Runs CMD in the background (own process group, so a signal reaches the trap at once and the
# cleanup can stop it), timed by GNU time. Files PREFIX.out/.err/.time. Sets RUN_RC, RUN_WALL.
run_timed() {
    local prefix=$1 t0
    shift
    t0=$EPOCHREALTIME
    setsid /usr/bin/time -f '%e %U %S %P' -o "$prefix.time" "$@" >"$prefix.out" 2>"$prefix.err" </dev/null &
    CHILD=$!
    RUN_RC=0
    wait "$CHILD" || RUN_RC=$?
    CHILD=
    RUN_WALL=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
}

# CPU_U CPU_S CPU_P (user s, sys s, CPU %) from the last line of PREFIX.time.
cpu_of() { read -r CPU_U CPU_S CPU_P < <(tail -n 1 "$1.time" | awk '{ sub(/%/, "", $4); print $2, $3, $4 }'); }

mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", b / s / 1e6; else print "-" }'; }
# Median of the numbers on standard input, one a line ("-" and empty lines skipped).
median() { awk '$1 != "-" && $1 != ""' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# "a, b, c" (two decimals) from space-separated numbers on standard input.
join_list() { tr ' ' '\n' | awk 'NF { printf "%s%.2f", (n++ ? ", " : ""), $1 }'; }

# ---------------------------------------------------------------------------------------------
# Build and generator micro-benchmark.

START_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
T_START=$EPOCHREALTIME
LOAD_BEFORE=$(cat /proc/loadavg)
UPTIME_BEFORE=$(uptime)

if ((BUILD)); then
    say "building atelier (release)"
    (cd "$SRC" && cargo build --release -p atelier --quiet) || die "cargo build failed"
fi
[[ -x $ATELIER ]] || die "no atelier binary at $ATELIER"
ATELIER_VERSION=$("$ATELIER" --version 2>/dev/null || echo unknown)
IO_DEPTH_DEFAULT=$("$ATELIER" wipe --help 2>/dev/null | awk '/--io-depth/ { f = 1 } f && /\[default:/ { sub(/.*default: */, ""); sub(/\].*/, ""); print; exit }')
if [[ -n $IO_DEPTH_DEFAULT ]]; then
    IO_DEPTH_NOTE="this build's default --io-depth is $IO_DEPTH_DEFAULT (requests in flight)"
else
    IO_DEPTH_NOTE="this build has no --io-depth option (one request in flight)"
fi
if [[ -n $BUILD_REV ]]; then
    GIT_REV="${REV_FULL:0:7} (a clean export of that commit, BUILD_REV=$BUILD_REV)"
else
    GIT_REV=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
    if ! git -C "$REPO" diff --quiet HEAD -- crates Cargo.toml Cargo.lock 2>/dev/null; then
        GIT_REV="$GIT_REV plus uncommitted changes in the work tree ($(git -C "$REPO" diff --name-only HEAD -- crates Cargo.toml Cargo.lock | tr '\n' ' ' | sed 's/ $//'))"
    fi
fi

CRIT_TABLE=""
if ((CRITERION)); then
    say "criterion: cargo bench -p atelier-wipe --bench generator"
    (cd "$SRC" && cargo bench -p atelier-wipe --bench generator 2>&1) >"$WORK/criterion.txt" ||
        die "cargo bench failed: $(tail -n 5 "$WORK/criterion.txt")"
    # Lines: "<group>/<name>" (alone or followed by time:), then "thrpt:  [lo unit mid unit hi unit]".
    CRIT_TABLE=$(awk '
        /^pattern-fill-4MiB\// { name = $1 }
        name != "" && /time:/ { t = $0; sub(/.*time: *\[/, "", t); sub(/\].*/, "", t); split(t, tt, " "); time = tt[3] " " tt[4] }
        name != "" && /thrpt:/ {
            s = $0; sub(/.*thrpt: *\[/, "", s); sub(/\].*/, "", s); split(s, v, " ")
            f = (v[4] ~ /^GiB/) ? 1.073741824 : (v[4] ~ /^MiB/) ? 0.001048576 : 1
            sub(/.*\//, "", name)
            printf "| %s | %s | %.2f %s (%.2f GB/s) | %.2f – %.2f %s |\n", name, time, v[3], v[4], v[3] * f, v[1], v[5], v[6]
            name = ""
        }' "$WORK/criterion.txt")
    [[ -n $CRIT_TABLE ]] || die "could not read the criterion output"
fi

# ---------------------------------------------------------------------------------------------
# Space checks, then the nwipe PRNG probe.

need_space() {
    local dir=$1 bytes=$2 avail
    avail=$(df --output=avail -B1 "$dir" | tail -n 1 | tr -d ' ')
    ((avail > bytes + GIB)) || die "$dir has $((avail >> 20)) MiB free, needs $(((bytes + GIB) >> 20)) MiB"
}
if uses disk; then need_space "$BENCH_DISK_DIR" "$DISK_BYTES"; fi
if uses ram; then need_space "$BENCH_RAM_DIR" $((RAM_BYTES + PROBE_BYTES)); else need_space "$BENCH_RAM_DIR" "$PROBE_BYTES"; fi

NWIPE_COMMON=(--nogui --autonuke --nowait --noblank --method=random)

PROBE_TABLE=""
if [[ $NWIPE_PRNG == auto ]]; then
    make_device probe "$BENCH_RAM_DIR" "$PROBE_BYTES"
    declare -A PROBE_WALL=() PROBE_USER=()
    for ((p = 1; p <= PRNG_PROBE_ROUNDS; p++)); do
        for prng in mersenne isaac isaac64; do
            guard probe
            say "probe $p/$PRNG_PROBE_ROUNDS: nwipe --prng=$prng on ${DEV_OF[probe]}"
            run_timed "$WORK/probe-$prng-$p" nwipe "${NWIPE_COMMON[@]}" --verify=off --prng="$prng" \
                -l "$WORK/probe-$prng-$p.log" "${DEV_OF[probe]}"
            ((RUN_RC == 0)) || die "nwipe probe failed (status $RUN_RC): $(tail -n 3 "$WORK/probe-$prng-$p.log")"
            cpu_of "$WORK/probe-$prng-$p"
            PROBE_WALL[$prng]="${PROBE_WALL[$prng]:-} $RUN_WALL"
            PROBE_USER[$prng]="${PROBE_USER[$prng]:-} $CPU_U"
        done
    done
    # nwipe is I/O-bound on a loop device (buffered 4 KiB writes), so its wall time mostly measures
    # the kernel's writeback; the PRNG's own speed shows in nwipe's user CPU time. The fastest PRNG
    # is the one with the least user CPU time per run (median).
    best="" best_u=""
    for prng in mersenne isaac isaac64; do
        wall_med=$(tr ' ' '\n' <<<"${PROBE_WALL[$prng]}" | median)
        user_med=$(tr ' ' '\n' <<<"${PROBE_USER[$prng]}" | median)
        PROBE_TABLE+="| \`--prng=$prng\` | $(join_list <<<"${PROBE_WALL[$prng]}") | $(join_list <<<"${PROBE_USER[$prng]}") | $(mbps "$PROBE_BYTES" "$wall_med") | $(mbps "$PROBE_BYTES" "$user_med") |"$'\n'
        if [[ -z $best ]] || awk -v a="$user_med" -v b="$best_u" 'BEGIN { exit !(a < b) }'; then best=$prng best_u=$user_med; fi
    done
    NWIPE_PRNG=$best
    detach_if_ours "${DEV_OF[probe]}" "${FILE_OF[probe]}"
    rm -f -- "${FILE_OF[probe]}"
    unset 'DEV_OF[probe]' 'FILE_OF[probe]'
    say "fastest nwipe PRNG here: $NWIPE_PRNG"
fi

# ---------------------------------------------------------------------------------------------
# The devices and the rounds.

declare -A BYTES_OF=([disk]=$DISK_BYTES [ram]=$RAM_BYTES)
DISK_DIO=- RAM_DIO=- DISK_ALLOC=-
DISK_FS=$(findmnt -n -o SOURCE,FSTYPE,OPTIONS -T "$BENCH_DISK_DIR" | awk '{ print $2 " on " $1 " (" $3 ")" }')
if uses disk; then
    make_device disk "$BENCH_DISK_DIR" "$DISK_BYTES" --direct-io=on
    DISK_DIO=$(losetup -n -O DIO --list "${DEV_OF[disk]}" | tr -d ' ')
    DISK_ALLOC=$(du -B1 "${FILE_OF[disk]}" | cut -f1)
fi
if uses ram; then
    make_device ram "$BENCH_RAM_DIR" "$RAM_BYTES"
    RAM_DIO=$(losetup -n -O DIO --list "${DEV_OF[ram]}" | tr -d ' ')
fi

# results.tsv: kind round tool wall_s write_MBps read_MBps total_MBps user_s sys_s cpu_pct
RESULTS=$WORK/results.tsv
: >"$RESULTS"
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"; }

bench_dd() {
    local kind=$1 round=$2 dir=$3 dev=${DEV_OF[$1]} prefix=$WORK/$1-$2-dd-$3 bytes secs mb
    guard "$kind"
    blockdev --flushbufs "$dev"
    if [[ $dir == write ]]; then
        run_timed "$prefix" dd if=/dev/zero of="$dev" bs=4M oflag=direct
    else
        run_timed "$prefix" dd if="$dev" of=/dev/null bs=4M iflag=direct
    fi
    # dd stops with "No space left on device" at the end of a block device: that is the end.
    read -r bytes secs < <(awk '/ bytes .* copied, / { b = $1; s = $0; sub(/.* copied, /, "", s); sub(/ s, .*/, "", s) } END { print b, s }' "$prefix.err")
    [[ $bytes == "${BYTES_OF[$kind]}" ]] || die "dd $dir on $dev moved '$bytes' bytes: $(tail -n 2 "$prefix.err")"
    mb=$(mbps "$bytes" "$secs")
    cpu_of "$prefix"
    if [[ $dir == write ]]; then
        record "$kind" "$round" dd-write "$RUN_WALL" "$mb" - - "$CPU_U" "$CPU_S" "$CPU_P"
    else
        record "$kind" "$round" dd-read "$RUN_WALL" - "$mb" - "$CPU_U" "$CPU_S" "$CPU_P"
    fi
    say "  $kind round $round: dd $dir $mb MB/s"
}

# bench_atelier KIND ROUND PATTERN REQUEST_MIB TOOL [EXTRA ARGS…]
bench_atelier() {
    local kind=$1 round=$2 pattern=$3 req=$4 tool=$5 dev=${DEV_OF[$1]} prefix=$WORK/$1-$2-$5 line
    shift 5
    guard "$kind"
    blockdev --flushbufs "$dev"
    run_timed "$prefix" "$ATELIER" --data-dir "$WORK/atelier-data" wipe "$dev" \
        --yes-i-understand-this-destroys-data --pattern "$pattern" --verify full --request-mib "$req" "$@" --json
    line=$(jq -c 'select(.event == "result")' "$prefix.out" 2>/dev/null | tail -n 1)
    [[ -n $line ]] || die "atelier $pattern on $dev (status $RUN_RC) gave no result: $(tail -n 3 "$prefix.err")"
    [[ $(jq -r '.outcome' <<<"$line") == PASSED ]] || die "atelier $pattern on $dev did not pass: $line"
    local w r d
    cpu_of "$prefix"
    read -r w r d < <(jq -r '.entry | "\(.write_throughput_bytes_per_second / 1e6 | round) \(.verify_throughput_bytes_per_second / 1e6 | round) \(.duration_seconds)"' <<<"$line")
    record "$kind" "$round" "$tool" "$RUN_WALL" "$w" "$r" "$(mbps $((2 * BYTES_OF[$kind])) "$RUN_WALL")" "$CPU_U" "$CPU_S" "$CPU_P"
    say "  $kind round $round: atelier $pattern (request $req MiB${1:+ $*}) write $w MB/s, verify $r MB/s, wall $RUN_WALL s (entry.duration_seconds $d)"
}

# fio: the same request pattern as dd (one 4 MiB synchronous O_DIRECT request at a time), but
# with fio's random buffer content (incompressible, not zero).
bench_fio() {
    local kind=$1 round=$2 dir=$3 dev=${DEV_OF[$1]} prefix=$WORK/$1-$2-fio-$3 bytes bw mb
    guard "$kind"
    blockdev --flushbufs "$dev"
    run_timed "$prefix" fio --name="bench-$dir" --filename="$dev" --rw="$dir" --bs=4M --direct=1 \
        --ioengine=psync --numjobs=1 --output-format=json
    ((RUN_RC == 0)) || die "fio $dir on $dev failed (status $RUN_RC): $(tail -n 3 "$prefix.err")"
    read -r bytes bw < <(jq -r --arg d "$dir" '.jobs[0][$d] | "\(.io_bytes) \(.bw_bytes)"' "$prefix.out")
    [[ $bytes == "${BYTES_OF[$kind]}" ]] || die "fio $dir on $dev moved '$bytes' bytes"
    mb=$(awk -v b="$bw" 'BEGIN { printf "%.0f", b / 1e6 }')
    cpu_of "$prefix"
    if [[ $dir == write ]]; then
        record "$kind" "$round" fio-write "$RUN_WALL" "$mb" - - "$CPU_U" "$CPU_S" "$CPU_P"
    else
        record "$kind" "$round" fio-read "$RUN_WALL" - "$mb" - "$CPU_U" "$CPU_S" "$CPU_P"
    fi
    say "  $kind round $round: fio $dir (random data) $mb MB/s"
}

# nwipe's log has one-second timestamps: pass durations from it are ±1 s.
log_epoch() { { grep -m1 -E "$2" "$1" || true; } | sed -E 's/^\[([0-9/]+ [0-9:]+)\].*/\1/' | xargs -r -I{} date -d {} +%s; }

bench_nwipe() {
    local kind=$1 round=$2 dev=${DEV_OF[$1]} prefix=$WORK/$1-$2-nwipe
    guard "$kind"
    [[ -n $dev ]] || die "no device for nwipe"
    blockdev --flushbufs "$dev"
    run_timed "$prefix" nwipe "${NWIPE_COMMON[@]}" --prng="$NWIPE_PRNG" --verify=last -l "$prefix.log" "$dev"
    ((RUN_RC == 0)) || die "nwipe on $dev failed (status $RUN_RC): $(tail -n 5 "$prefix.log")"
    grep -q "Verified pass 1 of 1" "$prefix.log" || die "nwipe on $dev: no successful verification in its log"
    grep -q "${BYTES_OF[$kind]} bytes written to $dev" "$prefix.log" || die "nwipe on $dev: did not write the whole device"
    local t0 t1 t2 w r
    t0=$(log_epoch "$prefix.log" 'Starting pass 1/1')
    t1=$(log_epoch "$prefix.log" 'bytes written to')
    t2=$(log_epoch "$prefix.log" 'bytes read from')
    w=- r=-
    [[ -n $t0 && -n $t1 ]] && w=$(mbps "${BYTES_OF[$kind]}" $((t1 - t0)))
    [[ -n $t1 && -n $t2 ]] && r=$(mbps "${BYTES_OF[$kind]}" $((t2 - t1)))
    cpu_of "$prefix"
    record "$kind" "$round" nwipe "$RUN_WALL" "$w" "$r" "$(mbps $((2 * BYTES_OF[$kind])) "$RUN_WALL")" "$CPU_U" "$CPU_S" "$CPU_P"
    say "  $kind round $round: nwipe wall $RUN_WALL s (log: write ≈ $w MB/s, verify ≈ $r MB/s)"
}

for ((round = 1; round <= ROUNDS; round++)); do
    say "round $round of $ROUNDS ($(cut -d' ' -f1-3 /proc/loadavg))"
    for kind in disk ram; do
        uses "$kind" || continue
        bench_dd "$kind" "$round" write
        bench_dd "$kind" "$round" read
        bench_atelier "$kind" "$round" random "$REQUEST_MIB" atelier-random
        bench_atelier "$kind" "$round" zero "$REQUEST_MIB" atelier-zero
        for req in $EXTRA_REQUEST_MIB; do
            bench_atelier "$kind" "$round" random "$req" "atelier-random-r$req"
        done
        for depth in $EXTRA_IO_DEPTH; do
            bench_atelier "$kind" "$round" random "$REQUEST_MIB" "atelier-random-d$depth" --io-depth "$depth"
        done
        if ((FIO)); then
            bench_fio "$kind" "$round" write
            bench_fio "$kind" "$round" read
        fi
        if [[ $kind == ram ]] || ((round <= NWIPE_DISK_ROUNDS)); then
            bench_nwipe "$kind" "$round"
        fi
    done
done

LOAD_AFTER=$(cat /proc/loadavg)
UPTIME_AFTER=$(uptime)
TOTAL_MIN=$(awk -v a="$T_START" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", (b - a) / 60 }')

# ---------------------------------------------------------------------------------------------
# Statistics.

# value KIND ROUND TOOL COLUMN  (columns: 4 wall, 5 write, 6 read, 7 total, 8 user, 9 sys, 10 cpu)
value() { awk -F'\t' -v k="$1" -v r="$2" -v t="$3" -v c="$4" '$1 == k && $2 == r && $3 == t { print $c; exit }' "$RESULTS"; }
med() { awk -F'\t' -v k="$1" -v t="$2" -v c="$3" '$1 == k && $3 == t { print $c }' "$RESULTS" | median; }
cpu_med() { awk -F'\t' -v k="$1" -v t="$2" '$1 == k && $3 == t { print $8 + $9 }' "$RESULTS" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || a == "" || b == "" || b == 0) print "-"; else printf "%.3f", a / b }'; }
fmt() { awk -v x="$1" -v d="${2:-0}" 'BEGIN { if (x == "-" || x == "") print "–"; else printf("%." d "f\n", x) }'; }
pct() { awk -v x="$1" 'BEGIN { if (x == "-" || x == "") print "–"; else printf "%.0f %%", x * 100 }'; }

# Paired ratio per round: TOOL_A COL_A / TOOL_B COL_B on KIND; prints "r1 r2 …" then the median.
paired() {
    local kind=$1 ta=$2 ca=$3 tb=$4 cb=$5 r list=()
    for ((round = 1; round <= ROUNDS; round++)); do
        r=$(ratio "$(value "$kind" "$round" "$ta" "$ca")" "$(value "$kind" "$round" "$tb" "$cb")")
        [[ $r == - ]] || list+=("$r")
    done
    PAIRED_LIST=$(printf '%s\n' "${list[@]}" | awk 'NF { printf "%s%.2f", (NR > 1 ? ", " : ""), $1 }')
    PAIRED_MED=$(printf '%s\n' "${list[@]}" | median)
}

verdict() { awk -v x="$1" -v t="$2" 'BEGIN { if (x == "-" || x == "") print "not measured"; else if (x >= t) print "**met**"; else print "**NOT met**" }'; }

# One row of a ratio table: label, kind, A tool/col, B tool/col, target (or "").
ratio_row() {
    local label=$1 kind=$2 ta=$3 ca=$4 tb=$5 cb=$6 target=$7 of_medians
    paired "$kind" "$ta" "$ca" "$tb" "$cb"
    of_medians=$(ratio "$(med "$kind" "$ta" "$ca")" "$(med "$kind" "$tb" "$cb")")
    if [[ -n $target ]]; then
        local tgt_text
        tgt_text=$(awk -v t="$target" 'BEGIN { if (t >= 1.5) printf "≥ %g×", t; else printf "≥ %.0f %%", t * 100 }')
        echo "| $label | $PAIRED_LIST | $(fmt "$PAIRED_MED" 2) ($(pct "$PAIRED_MED")) | $(fmt "$of_medians" 2) | $tgt_text | $(verdict "$PAIRED_MED" "$target") |"
    else
        echo "| $label | $PAIRED_LIST | $(fmt "$PAIRED_MED" 2) ($(pct "$PAIRED_MED")) | $(fmt "$of_medians" 2) | (no target) | – |"
    fi
}

TOOLS=(dd-write dd-read atelier-random atelier-zero)
for req in $EXTRA_REQUEST_MIB; do TOOLS+=("atelier-random-r$req"); done
for depth in $EXTRA_IO_DEPTH; do TOOLS+=("atelier-random-d$depth"); done
TOOLS+=(fio-write fio-read nwipe)

tool_label() {
    case $1 in
    dd-write) echo "dd write" ;;
    dd-read) echo "dd read" ;;
    atelier-random) echo "Atelier random + full verify" ;;
    atelier-zero) echo "Atelier zero + full verify" ;;
    atelier-random-r*) echo "Atelier random + full verify, --request-mib ${1#atelier-random-r}" ;;
    atelier-random-d*) echo "Atelier random + full verify, --io-depth ${1#atelier-random-d}" ;;
    fio-write) echo "fio write, random data (diagnostic)" ;;
    fio-read) echo "fio read of that random data (diagnostic)" ;;
    nwipe) echo "nwipe random ($NWIPE_PRNG) + --verify=last" ;;
    esac
}

medians_table() {
    local kind=$1 t n
    echo "| Tool | rounds | write MB/s | read / verify MB/s | wall s | total MB/s (2 × size / wall) | CPU s (user + sys) |"
    echo "|---|---|---|---|---|---|---|"
    for t in "${TOOLS[@]}"; do
        n=$(awk -F'\t' -v k="$kind" -v t="$t" '$1 == k && $3 == t' "$RESULTS" | wc -l)
        ((n > 0)) || continue
        echo "| $(tool_label "$t") | $n | $(fmt "$(med "$kind" "$t" 5)") | $(fmt "$(med "$kind" "$t" 6)") | $(fmt "$(med "$kind" "$t" 4)" 2) | $(fmt "$(med "$kind" "$t" 7)") | $(fmt "$(cpu_med "$kind" "$t")" 2) |"
    done
}

rounds_table() {
    local kind=$1 round t
    echo "| Round | Tool | write MB/s | read / verify MB/s | wall s | total MB/s | user s | sys s | CPU % |"
    echo "|---|---|---|---|---|---|---|---|---|"
    while IFS=$'\t' read -r k round t wall w r tot u s c; do
        [[ $k == "$kind" ]] || continue
        echo "| $round | $(tool_label "$t") | $(fmt "$w") | $(fmt "$r") | $(fmt "$wall" 2) | $(fmt "$tot") | $u | $s | $c |"
    done <"$RESULTS"
}

RATIO_HEAD="| Ratio | per round | median of per-round ratios | ratio of medians | target | verdict |
|---|---|---|---|---|---|"
DISK_RATIOS=$(
    ratio_row "Atelier random: write pass / dd write" disk atelier-random 5 dd-write 5 0.95
    ratio_row "Atelier zero: write pass / dd write" disk atelier-zero 5 dd-write 5 0.95
    ratio_row "Atelier random: verify pass / dd read" disk atelier-random 6 dd-read 6 0.95
    ratio_row "Atelier zero: verify pass / dd read" disk atelier-zero 6 dd-read 6 0.95
    for req in $EXTRA_REQUEST_MIB; do
        ratio_row "Atelier random --request-mib $req: write pass / dd write" disk "atelier-random-r$req" 5 dd-write 5 ""
        ratio_row "Atelier random --request-mib $req: verify pass / dd read" disk "atelier-random-r$req" 6 dd-read 6 ""
    done
    for depth in $EXTRA_IO_DEPTH; do
        ratio_row "Atelier random --io-depth $depth: write pass / dd write" disk "atelier-random-d$depth" 5 dd-write 5 ""
        ratio_row "Atelier random --io-depth $depth: verify pass / dd read" disk "atelier-random-d$depth" 6 dd-read 6 ""
    done
)
DIAG_RATIOS=""
if ((FIO)); then
    DIAG_RATIOS=$(
        for kind in disk ram; do
            uses "$kind" || continue
            ratio_row "$kind: fio write of random data / dd write of zeros" "$kind" fio-write 5 dd-write 5 ""
            ratio_row "$kind: fio read of random data / dd read of zeros" "$kind" fio-read 6 dd-read 6 ""
            ratio_row "$kind: Atelier random write pass / fio write of random data" "$kind" atelier-random 5 fio-write 5 ""
            ratio_row "$kind: Atelier random verify pass / fio read of random data" "$kind" atelier-random 6 fio-read 6 ""
        done
    )
fi
RAM_RATIOS=$(
    ratio_row "Atelier random + verify total / nwipe random + verify total" ram atelier-random 7 nwipe 7 2.0
    ratio_row "Atelier random: write pass / dd write" ram atelier-random 5 dd-write 5 ""
    ratio_row "Atelier zero: write pass / dd write" ram atelier-zero 5 dd-write 5 ""
    ratio_row "Atelier random: verify pass / dd read" ram atelier-random 6 dd-read 6 ""
    ratio_row "Atelier zero: verify pass / dd read" ram atelier-zero 6 dd-read 6 ""
)

# ---------------------------------------------------------------------------------------------
# The document.

FINDINGS=""
OTHER_SECTIONS=""
if [[ -f $OUT ]]; then
    FINDINGS=$(awk '/<!-- findings:begin -->/ { on = 1; next } /<!-- findings:end -->/ { on = 0 } on' "$OUT")
    # Sections after the findings belong to other benchmarks (inventory, deploy): kept as they are.
    OTHER_SECTIONS=$(awk 'found { print } /<!-- findings:end -->/ { found = 1 }' "$OUT")
fi
[[ -n $FINDINGS ]] || FINDINGS="_No analysis written yet._"

CPU_MODEL=$(lscpu | awk -F': *' '/^Model name/ { print $2; exit }')
CPU_FLAGS=$({ grep -m1 '^flags' /proc/cpuinfo || true; } | tr ' ' '\n' | { grep -x -E 'aes|vaes|avx2|avx512f' || true; } | tr '\n' ' ')
MEM_GIB=$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
NWIPE_VERSION=$(nwipe --version 2>/dev/null | head -n 1)
DD_VERSION=$(dd --version | head -n 1)
LOAD_NOTE="Load average before: \`${LOAD_BEFORE% *}\`; after: \`${LOAD_AFTER% *}\`."
if awk -v a="${LOAD_BEFORE%% *}" -v b="${LOAD_AFTER%% *}" 'BEGIN { exit !(a > 0.5 || b > 2.5) }'; then
    LOAD_NOTE+=" **The machine was shared while this ran** (the load average was above what this
benchmark alone explains — other processes, e.g. builds and tests of concurrent development, were
running): absolute numbers are noisy; the paired per-round ratios are the figures to trust."
fi

TMP_OUT=$WORK/benchmarks.md
{
    cat <<EOF
# Wipe throughput benchmarks

Generated by \`scripts/bench-wipe.sh\` (run it as root: \`sudo scripts/bench-wipe.sh\`; sizes and
rounds are environment variables documented at the top of the script). Re-running it rewrites this
file except the *Findings* section and the sections after it (other benchmarks), which are kept.

## Summary: targets

Each ratio is computed per round (the tools ran back to back on the same device in the same round)
and the verdict uses the **median of the per-round ratios**; the ratio of the medians is shown as a
cross-check.

Disk-backed loop device (${BENCH_DISK_GIB} GiB file, \`losetup --direct-io=on\`):

$RATIO_HEAD
$DISK_RATIOS

RAM-backed loop device (${BENCH_RAM_GIB} GiB file in /dev/shm):

$RATIO_HEAD
$RAM_RATIOS

Random generator on one core (criterion, target ≥ 4 GB/s for aes-128-ctr): see
[Generator micro-benchmark](#generator-micro-benchmark).
$( [[ -n $DIAG_RATIOS ]] && printf '\n%s\n\n%s\n%s\n' "Diagnostics (no targets): the same tools against a raw baseline that writes random data, as Atelier's random pass does (fio, same request pattern as dd)." "$RATIO_HEAD" "$DIAG_RATIOS")

## Machine and run

- Date: $START_DATE; whole run $TOTAL_MIN min, $ROUNDS rounds; invocation: \`$INVOCATION\`.
- CPU: $CPU_MODEL, $(nproc) cores (flags: ${CPU_FLAGS% }); RAM ${MEM_GIB} GiB.
- Kernel: $(uname -r) ($(uname -m)); $(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release).
- Atelier: \`$ATELIER_VERSION\`, commit $GIT_REV, release build; $NWIPE_VERSION; $DD_VERSION.
- $LOAD_NOTE
- \`uptime\` before: \`$UPTIME_BEFORE\`; after: \`$UPTIME_AFTER\`.

Devices:

- **disk**: ${BENCH_DISK_GIB} GiB file in \`$BENCH_DISK_DIR\` ($DISK_FS), filled with zeros by
  \`dd … oflag=direct conv=fsync\` first so it is **not sparse** ($DISK_ALLOC bytes allocated),
  attached with \`losetup -f --show --direct-io=on FILE\` (kernel reports DIO=$DISK_DIO).
- **ram**: ${BENCH_RAM_GIB} GiB file in \`/dev/shm\` (tmpfs), filled with zeros, attached with
  \`losetup -f --show FILE\` (DIO=$RAM_DIO: the loop device keeps a page cache in front of tmpfs).

Every round ran, on the disk device and then on the RAM device, in this order: dd write, dd read,
Atelier random + full verify, Atelier zero + full verify$( [[ -n $EXTRA_REQUEST_MIB ]] && echo ", Atelier random with --request-mib $EXTRA_REQUEST_MIB")$( [[ -n $EXTRA_IO_DEPTH ]] && echo ", Atelier random with --io-depth $EXTRA_IO_DEPTH")$( ((FIO)) && echo ", fio write and read of random data")$( ((NWIPE_DISK_ROUNDS < ROUNDS)) && echo ", nwipe (on the disk device only in the first $NWIPE_DISK_ROUNDS round(s): it runs at a few tens of MB/s there and every round would take the run past 10 minutes; no target involves nwipe on that device)" || echo ", nwipe"). \`blockdev --flushbufs DEV\` ran before each tool.

### Exact commands

\`\`\`sh
dd if=/dev/zero of=DEV bs=4M oflag=direct                 # raw write (ends at the device's end)
dd if=DEV of=/dev/null bs=4M iflag=direct                 # raw read
atelier --data-dir TMP/atelier-data wipe DEV --yes-i-understand-this-destroys-data \\
        --pattern random --verify full --request-mib $REQUEST_MIB --json
atelier --data-dir TMP/atelier-data wipe DEV --yes-i-understand-this-destroys-data \\
        --pattern zero --verify full --request-mib $REQUEST_MIB --json
nwipe --nogui --autonuke --nowait --noblank --method=random --prng=$NWIPE_PRNG --verify=last -l LOG DEV
\`\`\`
$( ((FIO)) && printf '\n%s\n\n%s\n%s\n%s\n' "Diagnostics, run after Atelier zero and before nwipe in each round (fio $(fio --version | sed 's/^fio-//')):" '```sh' "fio --name=bench-write --filename=DEV --rw=write --bs=4M --direct=1 --ioengine=psync --numjobs=1 --output-format=json
fio --name=bench-read --filename=DEV --rw=read --bs=4M --direct=1 --ioengine=psync --numjobs=1 --output-format=json" '```')

Atelier ran with its defaults otherwise: $IO_DEPTH_NOTE. Each command ran under
\`/usr/bin/time -f '%e %U %S %P'\` (CPU time), and the script measured the wall time around it.

### Definitions

- MB = 10^6 bytes. dd MB/s = bytes copied / seconds, both as printed by dd.
- Atelier write / verify MB/s = \`entry.write_throughput_bytes_per_second\` /
  \`entry.verify_throughput_bytes_per_second\` of its JSON result (the write pass includes its
  periodic and final \`fdatasync\`).
- nwipe write / verify MB/s come from the one-second timestamps of its log ("Starting pass",
  "bytes written", "bytes read"): ±1 s, indicative only (nwipe 0.33 prints "0 B/s" as its
  throughput in \`--nogui\` mode).
- **Total MB/s** of a wipe + verify run = device bytes × 2 / wall time of the whole process, measured
  by the script; the same definition for Atelier and nwipe.

## nwipe PRNG

EOF
    if [[ -n $PROBE_TABLE ]]; then
        cat <<EOF
nwipe 0.33 offers \`mersenne\` (= \`twister\`), \`isaac\` and \`isaac64\`. Each was timed writing a
${PRNG_PROBE_MIB} MiB RAM-backed loop device (\`nwipe --nogui --autonuke --nowait --noblank
--method=random --verify=off --prng=P DEV\`), $PRNG_PROBE_ROUNDS time(s), interleaved:

| PRNG | wall s per run | user CPU s per run | MB/s by wall (median) | MB/s per user CPU s (median) |
|---|---|---|---|---|
$PROBE_TABLE
nwipe is I/O-bound on a loop device here (it writes 4 KiB buffered requests through the loop
device's page cache and waits on the kernel's writeback; its CPU use stays well below one core), so
its wall time mostly measures that writeback and swings with the machine's load; the PRNG's own
cost is nwipe's **user CPU time**, and the fastest PRNG is the one with the least (median).
Fastest here: **\`--prng=$NWIPE_PRNG\`**, used for all nwipe runs below.
EOF
    else
        echo "The PRNG was set by NWIPE_PRNG=\`$NWIPE_PRNG\` (no probe in this run)."
    fi
    cat <<EOF

## Medians

Disk-backed (${BENCH_DISK_GIB} GiB, direct-io loop):

$(medians_table disk)

RAM-backed (${BENCH_RAM_GIB} GiB, /dev/shm):

$(medians_table ram)

## Per-round numbers

Disk-backed:

$(rounds_table disk)

RAM-backed:

$(rounds_table ram)

## Generator micro-benchmark

\`cargo bench -p atelier-wipe --bench generator\` (criterion; one core; 4 MiB per iteration;
"verify" = regenerate and compare a 4 MiB block). Target: ≥ 4 GB/s for aes-128-ctr.

EOF
    if [[ -n $CRIT_TABLE ]]; then
        echo "| Benchmark | time per 4 MiB (median) | throughput (median) | throughput 95 % interval |"
        echo "|---|---|---|---|"
        echo "$CRIT_TABLE"
        AES_GBPS=$(awk '/^\| aes-128-ctr \|/ { s = $0; sub(/.*\(/, "", s); sub(/ GB\/s.*/, "", s); print s }' <<<"$CRIT_TABLE")
        echo
        echo "aes-128-ctr fill: $(fmt "$AES_GBPS" 2) GB/s against the target of 4 GB/s: $(verdict "$AES_GBPS" 4)."
    else
        echo "_Not run in this run (CRITERION=0)._"
    fi
    cat <<EOF

## Findings

<!-- findings:begin -->
$FINDINGS
<!-- findings:end -->
$OTHER_SECTIONS
EOF
} >"$TMP_OUT"

mkdir -p "$(dirname "$OUT")"
cp "$TMP_OUT" "$OUT"
if [[ -n $KEEP_LOGS ]]; then
    mkdir -p "$KEEP_LOGS" && cp -r "$WORK"/. "$KEEP_LOGS"/ && say "logs kept in $KEEP_LOGS"
fi
say "wrote $OUT ($TOTAL_MIN min)"
