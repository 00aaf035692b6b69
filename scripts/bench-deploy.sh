#!/usr/bin/env bash
# bench-deploy.sh — speed of `atelier deploy` against `bmaptool copy` and decompress-into-dd
# pipelines, paired round by round on loop devices of the same kind.
#
# Targets (issue 7):
#   - sparse image with its .bmap: Atelier — which writes the mapped ranges, checks each
#     range's SHA-256 and then reads every mapped range back — at least as fast as
#     `bmaptool copy` with the same .bmap (which does not read back);
#   - multi-block .xz (`xz -T2 --block-size=16MiB`): Atelier at least 2 × as fast as
#     `xz -dc IMG.xz | dd of=DEV bs=4M oflag=direct iflag=fullblock conv=fsync`.
#
# Needs root (it creates loop devices and overwrites them). It never touches a device it did not
# create: before every destructive command the loop device is checked to be backed by this
# script's own file, and each tool is given that device by name.
#
# What it does, in one run:
#   1. builds target/release/atelier (BUILD=0 to skip);
#   2. builds a test image (or reuses it from IMAGE_DIR): IMAGE_MIB MiB, GPT with one Linux
#      partition holding an ext4 filesystem made by `mkfs.ext4 -d` from DATA_MB MB of files
#      (RANDOM_PCT % incompressible, the rest text-like, generated from SEED: the same bytes on
#      every machine), left sparse; then IMG.bmap (`bmaptool create`), IMG.xz (`xz -T2
#      --block-size=16MiB`, several blocks, so multi-threaded decoding applies) and IMG.zst;
#   3. runs ROUNDS rounds of the CASES below. Before EVERY command: a fresh target (a new
#      IMAGE_MIB file under BENCH_DISK_DIR, filled with zeros so it is not sparse, attached with
#      `losetup --direct-io=on`), then `sync; echo 3 > /proc/sys/vm/drop_caches`, so that every
#      tool starts from the same target state with cold caches (the source is read from disk).
#      Within a case the order of the tools alternates from round to round (odd rounds Atelier
#      first, even rounds Atelier last), so a trend in the machine's load hits both sides alike.
#      After each command (not timed) the target is read back (VERIFY_TARGET=1) and compared:
#      with a .bmap, each mapped range against its SHA-256 in the .bmap (unmapped blocks are no
#      part of the promise: Atelier's capacity probe leaves its blocks there); without, the whole
#      target against the image's SHA-256. Every tool must have written the image;
#        bmap     atelier deploy IMG --bmap IMG.bmap   vs  bmaptool copy --bmap IMG.bmap IMG DEV
#        bmap-xz  atelier deploy IMG.xz --bmap IMG.bmap vs bmaptool copy --bmap IMG.bmap IMG.xz DEV
#        xz       atelier deploy IMG.xz --no-bmap      vs  xz -dc | dd   (and xz -T0 -dc | dd, XZ_T0=1)
#        zst      atelier deploy IMG.zst --no-bmap     vs  zstd -dc | dd
#      (--no-bmap: Atelier would otherwise pick IMG.bmap up by itself, as its name matches.)
#   4. writes into OUT: results.tsv, every command's output (logs/), summary.md; and replaces the
#      "## Deploy" section of DOC (it goes to the end of the file; the block between
#      `<!-- deploy-findings:begin -->` and `<!-- deploy-findings:end -->` — hand-written
#      analysis — is kept).
#
# Each command's time is its whole wall time, measured by this script around the process, and
# includes its own flush to the device: Atelier fdatasyncs before it reads back; `dd … conv=fsync`
# fsyncs; bmaptool fsyncs every 6 MiB and at the end (BmapBdevCopy). Atelier's phases come from
# the arrival time of its JSON events (`phase` prepare/write/commit/verify…, then `result`):
# "write-only" = launch → start of its read-back (everything up to its last fdatasync).
#
# Environment (defaults in brackets):
#   ROUNDS [3]                rounds (≥ 3 for a meaningful median); 0: only build the image
#                             into IMAGE_DIR (for a later run) and stop
#   CASES [bmap bmap-xz xz zst]
#   XZ_T0 [1]                 also time `xz -T0 -dc | dd` in the xz case (information)
#   IMAGE_MIB [2048]          image size (and target size), MiB, a multiple of 4
#   DATA_MB [600]             file data in the image's ext4 filesystem, MB (10^6 bytes)
#   RANDOM_PCT [35]           share of that data that is random (incompressible)
#   SEED [1]                  seed of the generated files
#   XZ_PRESET [6]  XZ_THREADS [2]  XZ_BLOCK [16MiB]  ZSTD_LEVEL [3]
#   IMAGE_DIR [OUT/image]     where the image is built, kept and reused while its parameters
#                             match (the xz compression alone takes minutes); IMAGE_DIR=temp: a
#                             temporary directory under BENCH_DISK_DIR, removed at exit
#   BENCH_DISK_DIR [/var/tmp] where the target files go; must not be tmpfs
#   VERIFY_TARGET [1]         check the target's content after every command (not timed)
#   OUT [target/bench-deploy] results directory;  DOC [docs/benchmarks.md] (DOC=none: leave it)
#   ATELIER [target/release/atelier], BUILD [1]
#
# Usage: sudo scripts/bench-deploy.sh    (about 6 minutes with the defaults on a busy 2-core VM,
#        2 minutes more per extra round, plus about 10 minutes for the first image build, most of
#        it xz at preset 6)
# Needs: cargo, python3, sgdisk (gdisk), mkfs.ext4 ≥ 1.43 (e2fsprogs), bmaptool (bmap-tools),
# xz (xz-utils), zstd, losetup and blockdev (mount, util-linux), jq, GNU time (/usr/bin/time):
#   apt-get install bmap-tools xz-utils zstd gdisk e2fsprogs jq time python3
# Cleanup: on any exit (also Ctrl-C, TERM) the running tool is stopped, the loop devices are
# detached and the target files (and temporary images) deleted.
#
# Definitions used in the report: MB = 10^6 bytes. "Image MB/s" = image bytes (IMAGE_MIB MiB,
# mapped or not) / wall time. A ratio "peer / Atelier" = peer wall time / Atelier wall time: above
# 1 means Atelier is faster.

set -euo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INVOCATION=""
for v in ROUNDS CASES XZ_T0 IMAGE_MIB DATA_MB RANDOM_PCT SEED XZ_PRESET XZ_THREADS XZ_BLOCK ZSTD_LEVEL \
    IMAGE_DIR BENCH_DISK_DIR VERIFY_TARGET OUT DOC ATELIER BUILD; do
    [[ -v $v ]] && INVOCATION+="$v=${!v@Q} "
done
INVOCATION+="scripts/bench-deploy.sh"
ROUNDS=${ROUNDS:-3}
CASES=${CASES:-bmap bmap-xz xz zst}
XZ_T0=${XZ_T0:-1}
IMAGE_MIB=${IMAGE_MIB:-2048}
DATA_MB=${DATA_MB:-600}
RANDOM_PCT=${RANDOM_PCT:-35}
SEED=${SEED:-1}
XZ_PRESET=${XZ_PRESET:-6}
XZ_THREADS=${XZ_THREADS:-2}
XZ_BLOCK=${XZ_BLOCK:-16MiB}
ZSTD_LEVEL=${ZSTD_LEVEL:-3}
IMAGE_DIR=${IMAGE_DIR:-}
BENCH_DISK_DIR=${BENCH_DISK_DIR:-/var/tmp}
VERIFY_TARGET=${VERIFY_TARGET:-1}
OUT=${OUT:-$REPO/target/bench-deploy}
DOC=${DOC:-$REPO/docs/benchmarks.md}
ATELIER=${ATELIER:-${CARGO_TARGET_DIR:-$REPO/target}/release/atelier}
BUILD=${BUILD:-1}

die() { echo "bench-deploy: $*" >&2; exit 1; }
say() { echo "bench-deploy: $*" >&2; }

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
for v in ROUNDS IMAGE_MIB DATA_MB RANDOM_PCT SEED XZ_PRESET XZ_THREADS ZSTD_LEVEL; do
    is_uint "${!v}" || die "$v must be a whole number (got '${!v}')"
done
((ROUNDS == 0 || ROUNDS >= 3)) || say "warning: ROUNDS=$ROUNDS < 3, medians mean little"
((IMAGE_MIB >= 64 && IMAGE_MIB % 4 == 0)) || die "IMAGE_MIB must be a multiple of 4, at least 64"
((RANDOM_PCT <= 100)) || die "RANDOM_PCT must be 0 to 100"
((DATA_MB * 1000000 < IMAGE_MIB * 1048576 * 85 / 100)) || die "DATA_MB=$DATA_MB does not fit an image of $IMAGE_MIB MiB"
((XZ_PRESET <= 9 && ZSTD_LEVEL >= 1 && ZSTD_LEVEL <= 19)) || die "XZ_PRESET 0–9, ZSTD_LEVEL 1–19"
[[ $XZ_BLOCK =~ ^[0-9]+(KiB|MiB|GiB)?$ ]] || die "XZ_BLOCK: a size like 16MiB (got '$XZ_BLOCK')"
[[ $XZ_T0 == 0 || $XZ_T0 == 1 ]] || die "XZ_T0: 0 or 1"
[[ $VERIFY_TARGET == 0 || $VERIFY_TARGET == 1 ]] || die "VERIFY_TARGET: 0 or 1"
for c in $CASES; do
    case $c in bmap | bmap-xz | xz | zst) ;; *) die "CASES: bmap, bmap-xz, xz and/or zst (got '$c')" ;; esac
done
[[ -n ${CASES// /} ]] || die "CASES is empty"
uses() { [[ " $CASES " == *" $1 "* ]]; }
((EUID == 0)) || die "needs root (loop devices, raw writes, drop_caches)"

# Tool → Debian package, so that a missing tool says what to install.
declare -A PKG=([python3]=python3 [sgdisk]=gdisk [mkfs.ext4]=e2fsprogs [bmaptool]=bmap-tools [xz]=xz-utils
    [zstd]=zstd [losetup]=mount [blockdev]=util-linux [setsid]=util-linux [findmnt]=util-linux [jq]=jq
    [/usr/bin/time]=time [dd]=coreutils [awk]=mawk [cargo]="cargo (or rustup)")
MISSING=()
for tool in python3 sgdisk mkfs.ext4 bmaptool xz zstd losetup blockdev setsid findmnt jq /usr/bin/time dd awk; do
    command -v "$tool" >/dev/null || MISSING+=("$tool (Debian package ${PKG[$tool]})")
done
((BUILD == 0)) || command -v cargo >/dev/null || MISSING+=("cargo (${PKG[cargo]})")
((${#MISSING[@]} == 0)) || die "missing: ${MISSING[*]}; install them (sudo scripts/setup.sh installs them all)"
[[ $(findmnt -n -o FSTYPE -T "$BENCH_DISK_DIR") != tmpfs ]] || die "BENCH_DISK_DIR=$BENCH_DISK_DIR is tmpfs, not disk-backed"

MIB=$((1 << 20))
IMAGE_BYTES=$((IMAGE_MIB * MIB))

# ---------------------------------------------------------------------------------------------
# Resources and cleanup (runs on every exit, including Ctrl-C and TERM).

WORK=$(mktemp -d /tmp/atelier-bench-deploy.XXXXXX)
TMP_IMAGES=""
TFILE="" TDEV=""
CHILD="" STAMPER=""

# Detaches DEV if (and only if) it is still backed by FILE.
detach_if_ours() {
    local dev=$1 file=$2 back
    [[ -n $dev && -b $dev ]] || return 0
    back=$(losetup -n -O BACK-FILE --list "$dev" 2>/dev/null | sed 's/[[:space:]]*$//') || return 0
    if [[ $back == "$file" ]]; then losetup -d "$dev" 2>/dev/null || true; fi
}

drop_target() {
    [[ -n $TDEV ]] && detach_if_ours "$TDEV" "$TFILE"
    [[ -n $TFILE ]] && rm -f -- "$TFILE"
    TDEV="" TFILE=""
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
    if [[ -n $STAMPER ]]; then kill "$STAMPER" 2>/dev/null || true; wait "$STAMPER" 2>/dev/null || true; fi
    drop_target
    [[ -n $TMP_IMAGES ]] && rm -rf -- "$TMP_IMAGES"
    rm -rf -- "$WORK"
    ((rc == 0)) || say "stopped (status $rc); loop devices detached, target files removed"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Refuses to go on unless TDEV is a loop device backed by our TFILE, of the image's size.
guard() {
    local back size
    [[ $TDEV =~ ^/dev/loop[0-9]+$ && -b $TDEV ]] || die "'$TDEV' is not a loop device"
    back=$(losetup -n -O BACK-FILE --list "$TDEV" | sed 's/[[:space:]]*$//')
    [[ -n $TFILE && $back == "$TFILE" ]] || die "$TDEV is backed by '$back', not by our '$TFILE'"
    size=$(blockdev --getsize64 "$TDEV")
    [[ $size == "$IMAGE_BYTES" ]] || die "$TDEV has $size bytes, expected $IMAGE_BYTES"
}

# A new target: a file of IMAGE_BYTES written with zeros (so it is not sparse), attached with
# direct I/O. The previous one is detached and deleted first.
TARGET_DIO=""
fresh_target() {
    drop_target
    TFILE=$(mktemp -p "$BENCH_DISK_DIR" atelier-bench-deploy-target.XXXXXX.img)
    dd if=/dev/zero of="$TFILE" bs=4M count=$((IMAGE_BYTES / (4 * MIB))) oflag=direct conv=fsync status=none
    TDEV=$(losetup -f --show --direct-io=on "$TFILE")
    guard
    TARGET_DIO=$(losetup -n -O DIO --list "$TDEV" | tr -d ' ')
    [[ $TARGET_DIO == 1 ]] || say "warning: $TDEV did not get direct I/O (DIO=$TARGET_DIO)"
}

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# Prefixes each line of standard input with the time it arrived (seconds since the epoch).
stamp_lines() { while IFS= read -r line; do printf '%s\t%s\n' "$EPOCHREALTIME" "$line"; done; }

# run_timed PREFIX STAMP CMD…: runs CMD in its own process group (so a signal reaches the trap at
# once and the cleanup can stop it), under GNU time. Files PREFIX.out (time-stamped lines when
# STAMP=1), .err, .time. Sets RUN_RC, RUN_T0 (launch, epoch seconds), RUN_WALL.
run_timed() {
    local prefix=$1 stamp=$2 dest
    shift 2
    dest=$prefix.out
    if ((stamp)); then
        rm -f -- "$prefix.fifo"
        mkfifo "$prefix.fifo"
        stamp_lines <"$prefix.fifo" >"$prefix.out" &
        STAMPER=$!
        dest=$prefix.fifo
    fi
    RUN_T0=$EPOCHREALTIME
    setsid /usr/bin/time -f '%e %U %S %P' -o "$prefix.time" "$@" >"$dest" 2>"$prefix.err" </dev/null &
    CHILD=$!
    RUN_RC=0
    wait "$CHILD" || RUN_RC=$?
    local t1=$EPOCHREALTIME
    CHILD=""
    if ((stamp)); then
        wait "$STAMPER" || true
        STAMPER=""
        rm -f -- "$prefix.fifo"
    fi
    RUN_WALL=$(awk -v a="$RUN_T0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}

# CPU_U CPU_S (user s, sys s) from the last line of PREFIX.time.
cpu_of() { read -r CPU_U CPU_S < <(tail -n 1 "$1.time" | awk '{ print $2, $3 }'); }

# SHA-256 (hex) of a file or device read from start to end (Python's hashlib uses SHA-NI where the
# CPU has it; coreutils' sha256sum is several times slower).
sha256_of() {
    dd if="$1" bs=4M ${2:+iflag=direct} status=none | python3 -c '
import hashlib, sys
h = hashlib.sha256()
while True:
    b = sys.stdin.buffer.read(1 << 22)
    if not b:
        break
    h.update(b)
print(h.hexdigest())'
}

median() { awk '$1 != "-" && $1 != ""' | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
fmt() { awk -v x="$1" -v d="${2:-2}" 'BEGIN { if (x == "-" || x == "") print "–"; else printf("%." d "f\n", x) }'; }
sub_t() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "-"; else printf "%.3f", b - a }'; }

START_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
T_START=$EPOCHREALTIME
LOAD_BEFORE=$(cut -d ' ' -f 1-3 /proc/loadavg)
UPTIME_BEFORE=$(uptime)

# ---------------------------------------------------------------------------------------------
# Build.

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
pkg_version() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo "?"; }
VERSIONS="bmap-tools $(pkg_version bmap-tools), xz-utils $(pkg_version xz-utils), zstd $(pkg_version zstd), coreutils (dd) $(pkg_version coreutils), e2fsprogs $(pkg_version e2fsprogs)"

# ---------------------------------------------------------------------------------------------
# The image.

PARAMS="v1 image_mib=$IMAGE_MIB data_mb=$DATA_MB random_pct=$RANDOM_PCT seed=$SEED xz=-$XZ_PRESET/T$XZ_THREADS/$XZ_BLOCK zstd=-$ZSTD_LEVEL"
if [[ $IMAGE_DIR == temp ]]; then
    TMP_IMAGES=$(mktemp -d -p "$BENCH_DISK_DIR" atelier-bench-deploy-images.XXXXXX)
    IMGDIR=$TMP_IMAGES
else
    mkdir -p "${IMAGE_DIR:=$OUT/image}"
    IMGDIR=$(cd "$IMAGE_DIR" && pwd)
fi
IMG=$IMGDIR/bench.img

need_space() {
    local avail
    avail=$(df --output=avail -B1 "$1" | tail -n 1 | tr -d ' ')
    ((avail > $2)) || die "$1 has $((avail / MIB)) MiB free, needs $(($2 / MIB)) MiB"
}

build_image() {
    local stage=$IMGDIR/stage t0=$EPOCHREALTIME last blocks
    say "building the test image in $IMGDIR ($PARAMS)"
    rm -rf -- "$stage" "$IMG" "$IMG".*
    # Files: log-uniform sizes from 4 KiB to 8 MiB; random ones (like compressed archives and
    # media) and text-like ones (words with a Zipf-like frequency, configuration and code-like
    # lines), from a seeded generator: the same bytes everywhere. Text compresses to about 25 %
    # with xz, 33 % with zstd -3, like real text.
    python3 - "$stage" "$DATA_MB" "$RANDOM_PCT" "$SEED" <<'PY'
import os, random, sys
out, total_mb, random_pct, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
letters = "etaoinshrdlcumwfgypbvkjxqz"
freq = [12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8, 2.4, 2.4, 2.2, 2.0, 2.0, 1.9,
        1.5, 1.0, 0.8, 0.2, 0.2, 0.1, 0.1]
vocab = sorted({"".join(rng.choices(letters, freq, k=rng.randint(2, 11))) for _ in range(30000)})
rng.shuffle(vocab)
cum, s = [], 0.0
for i in range(len(vocab)):
    s += 1.0 / (i + 1)
    cum.append(s)
def line():
    words = rng.choices(vocab, cum_weights=cum, k=rng.randint(3, 16))
    kind = rng.random()
    if kind < 0.15:
        return f"{words[0]}.{words[1]} = {rng.randint(0, 65535)}\n"
    if kind < 0.25:
        return f"    {words[0]}({words[1]}, {rng.randint(0, 4096)}); // {' '.join(words[2:])}\n"
    return " ".join(words).capitalize() + ".\n"
# A pool of lines much larger than the compressors' windows: files are not copies of each other.
pool = [line() for _ in range(600000)]
total = total_mb * 1000000
made = n = 0
while made < total:
    size = min(int(2 ** rng.uniform(12, 23)), total - made)
    d = os.path.join(out, f"d{n % 23:02d}", f"s{n % 7}")
    os.makedirs(d, exist_ok=True)
    if rng.random() < random_pct / 100:
        data, name = rng.randbytes(size), f"blob{n:05d}.bin"
    else:
        parts, got = [], 0
        while got < size:
            chunk = "".join(rng.choices(pool, k=512))
            parts.append(chunk)
            got += len(chunk)
        data, name = "".join(parts).encode()[:size], f"text{n:05d}.txt"
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
    made += size
    n += 1
PY
    # GPT (fixed GUIDs), one Linux partition from 1 MiB to the end; ext4 written into it in place
    # (mke2fs -E offset), so the file stays sparse where the filesystem has no data.
    truncate -s "$IMAGE_BYTES" "$IMG"
    sgdisk -o -U 5a1e11e2-0000-4000-8000-000000000001 -n 1:2048:0 -t 1:8300 -c 1:rootfs \
        -u 1:5a1e11e2-0000-4000-8000-000000000002 "$IMG" >"$WORK/sgdisk.log" 2>&1 ||
        die "sgdisk failed: $(tail -n 3 "$WORK/sgdisk.log")"
    last=$(sgdisk -i 1 "$IMG" | awk '/^Last sector:/ { print $3 }')
    blocks=$(((last - 2048 + 1) * 512 / 4096))
    mkfs.ext4 -q -F -b 4096 -L rootfs -U 5a1e11e2-0000-4000-8000-000000000003 \
        -E offset=$((2048 * 512)),hash_seed=5a1e11e2-0000-4000-8000-000000000004,root_owner=0:0 \
        -d "$stage" "$IMG" "$blocks" >"$WORK/mkfs.log" 2>&1 || die "mkfs.ext4 failed: $(tail -n 3 "$WORK/mkfs.log")"
    rm -rf -- "$stage"
    bmaptool -q create -o "$IMG.bmap" "$IMG" || die "bmaptool create failed"
    say "compressing: xz -$XZ_PRESET -T$XZ_THREADS --block-size=$XZ_BLOCK (minutes), zstd -$ZSTD_LEVEL"
    xz -"$XZ_PRESET" -T"$XZ_THREADS" --block-size="$XZ_BLOCK" -c "$IMG" >"$IMG.xz.part" && mv "$IMG.xz.part" "$IMG.xz"
    zstd -q -"$ZSTD_LEVEL" -T2 -c "$IMG" >"$IMG.zst.part" && mv "$IMG.zst.part" "$IMG.zst"
    sha256_of "$IMG" >"$IMG.sha256"
    echo "$PARAMS" >"$IMGDIR/params"
    BUILD_SECONDS=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
    echo "$BUILD_SECONDS" >"$IMGDIR/build-seconds"
}

if [[ -f $IMGDIR/params && $(cat "$IMGDIR/params") == "$PARAMS" && -f $IMG && -f $IMG.bmap && -f $IMG.xz &&
    -f $IMG.zst && -f $IMG.sha256 ]]; then
    say "reusing the image in $IMGDIR"
    IMAGE_REUSED=1
else
    need_space "$IMGDIR" $((DATA_MB * 1000000 * 3 + IMAGE_BYTES))
    build_image
    IMAGE_REUSED=0
fi
BUILD_SECONDS=$(cat "$IMGDIR/build-seconds" 2>/dev/null || echo "?")
need_space "$BENCH_DISK_DIR" $((IMAGE_BYTES + 512 * MIB))
IMAGE_SHA256=$(cat "$IMG.sha256")
[[ $IMAGE_SHA256 =~ ^[0-9a-f]{64}$ ]] || die "no SHA-256 of the image in $IMG.sha256"
MAPPED_BLOCKS=$(sed -n 's:.*<MappedBlocksCount> *\([0-9]*\) *</MappedBlocksCount>.*:\1:p' "$IMG.bmap")
BMAP_BLOCK=$(sed -n 's:.*<BlockSize> *\([0-9]*\) *</BlockSize>.*:\1:p' "$IMG.bmap")
BMAP_RANGES=$(grep -c '<Range' "$IMG.bmap")
BMAP_VERSION=$(sed -n 's:.*<bmap version="\([^"]*\)".*:\1:p' "$IMG.bmap")
MAPPED_BYTES=$((MAPPED_BLOCKS * BMAP_BLOCK))
ALLOCATED=$(du -B1 "$IMG" | cut -f1)
XZ_BYTES=$(stat -c %s "$IMG.xz")
ZST_BYTES=$(stat -c %s "$IMG.zst")
XZ_BLOCKS=$(xz --robot --list -vv "$IMG.xz" | awk -F'\t' '$1 == "block"' | wc -l)
ZST_FRAMES=$(zstd -lv "$IMG.zst" 2>&1 | awk -F': *' '/Zstandard Frames/ { print $2; exit }')
((XZ_BLOCKS > 1)) || die "$IMG.xz has $XZ_BLOCKS block(s): the multi-block case needs several"
if ((ROUNDS == 0)); then
    say "ROUNDS=0: the image is ready in $IMGDIR ($BMAP_RANGES bmap ranges, $((MAPPED_BYTES / 1000000)) MB mapped, xz $((XZ_BYTES / 1000000)) MB in $XZ_BLOCKS blocks, zst $((ZST_BYTES / 1000000)) MB)"
    exit 0
fi

# ---------------------------------------------------------------------------------------------
# The commands.

mkdir -p "$OUT/logs"
rm -f -- "$OUT"/logs/*
DATA=$WORK/atelier-data
# results.tsv: case round tool wall user sys startup write_phase commit verify write_only
#              bytes_written bytes_skipped skipped_as bytes_checked load1
RESULTS=$OUT/results.tsv
: >"$RESULTS"
record() { local IFS=$'\t'; echo "$*" >>"$RESULTS"; }

# Checks the target holds the image (not timed): with a .bmap, every mapped range against its
# SHA-256 in the .bmap (what a block map promises; unmapped blocks keep whatever was there —
# zeros, or Atelier's capacity-probe blocks); without, the whole target against the image's SHA-256.
check_target() {
    ((VERIFY_TARGET)) || return 0
    local what=$1 kase=$2 got
    if [[ $kase == bmap* ]]; then
        got=$(python3 - "$IMG.bmap" "$TDEV" <<'PY'
import hashlib, mmap, os, re, sys
text = open(sys.argv[1]).read()
block = int(re.search(r"<BlockSize>\s*(\d+)\s*</BlockSize>", text).group(1))
fd = os.open(sys.argv[2], os.O_RDONLY | os.O_DIRECT)
buf = memoryview(mmap.mmap(-1, 4 << 20))  # page-aligned, as O_DIRECT needs
bad = ranges = 0
for m in re.finditer(r'<Range chksum="([0-9a-f]+)">\s*(\d+)(?:-(\d+))?\s*</Range>', text):
    first, last = int(m.group(2)), int(m.group(3) or m.group(2))
    h, off, end = hashlib.sha256(), first * block, (last + 1) * block
    while off < end:
        n = os.preadv(fd, [buf[: min(len(buf), end - off)]], off)
        if n <= 0:
            break
        h.update(buf[:n])
        off += n
    ranges += 1
    if h.hexdigest() != m.group(1):
        bad += 1
print("ok" if bad == 0 and ranges > 0 else f"{bad} of {ranges} mapped ranges differ")
PY
        )
        [[ $got == ok ]] || die "$what: $got from the .bmap's SHA-256 — it did not write the image"
    else
        got=$(sha256_of "$TDEV" direct)
        [[ $got == "$IMAGE_SHA256" ]] || die "$what: the target's SHA-256 is $got, the image's $IMAGE_SHA256 — it did not write the image"
    fi
}

# bench_atelier CASE ROUND SOURCE [ARGS…]
bench_atelier() {
    local kase=$1 round=$2 src=$3 prefix
    shift 3
    prefix=$OUT/logs/$kase-$round-atelier
    fresh_target
    drop_caches
    guard
    run_timed "$prefix" 1 "$ATELIER" --data-dir "$DATA" deploy "$src" "$@" --to "$TDEV" \
        --yes-i-understand-this-destroys-data --json
    local res
    res=$(cut -f 2- "$prefix.out" | jq -c 'select(.event == "result")' 2>/dev/null | tail -n 1)
    [[ -n $res ]] || die "atelier deploy ($kase, status $RUN_RC) gave no result: $(tail -n 3 "$prefix.err")"
    [[ $(jq -r '.outcome' <<<"$res") == PASSED && $RUN_RC == 0 ]] ||
        die "atelier deploy ($kase) did not pass (status $RUN_RC): $(jq -c '.deployment.outcome_detail' <<<"$res")"
    # Arrival times of the phase events and of the result.
    local t_prep t_write t_commit t_verify t_after t_result
    phase_at() { awk -F'\t' -v p="\"phase\":\"$1\"" 'index($2, "\"event\":\"phase\"") && index($2, p) { print $1; exit }' "$prefix.out"; }
    t_prep=$(phase_at prepare)
    t_write=$(phase_at write)
    t_commit=$(phase_at commit)
    t_verify=$(phase_at verify)
    t_result=$(awk -F'\t' 'index($2, "\"event\":\"result\"") { print $1; exit }' "$prefix.out")
    # The read-back ends with the next phase event (customise) or the result.
    t_after=$(awk -F'\t' -v v="$t_verify" '$1 > v && index($2, "\"event\":\"phase\"") { print $1; exit }' "$prefix.out")
    [[ -n $t_after ]] || t_after=$t_result
    [[ -n $t_verify ]] || die "atelier deploy ($kase): no verify phase in its events"
    local written skipped how checked
    read -r written skipped how checked < <(jq -r '.deployment | "\(.bytes_written) \(.bytes_skipped) \(.skipped_as // "-") \(.verification.bytes_checked)"' <<<"$res")
    cpu_of "$prefix"
    check_target "atelier ($kase)" "$kase"
    record "$kase" "$round" atelier "$RUN_WALL" "$CPU_U" "$CPU_S" "$(sub_t "$RUN_T0" "$t_prep")" \
        "$(sub_t "$t_write" "$t_commit")" "$(sub_t "$t_commit" "$t_verify")" "$(sub_t "$t_verify" "$t_after")" \
        "$(sub_t "$RUN_T0" "$t_verify")" "$written" "$skipped" "$how" "$checked" "$LOAD1"
    say "  $kase round $round: atelier wall $RUN_WALL s (write-only $(sub_t "$RUN_T0" "$t_verify") s, read-back $(sub_t "$t_verify" "$t_after") s; written $((written / 1000000)) MB, skipped $((skipped / 1000000)) MB as $how)"
}

# bench_peer CASE ROUND TOOL CMD…   (the device path is the last argument or inside the command)
bench_peer() {
    local kase=$1 round=$2 tool=$3 prefix
    shift 3
    prefix=$OUT/logs/$kase-$round-$tool
    run_timed "$prefix" 0 "$@"
    ((RUN_RC == 0)) || die "$tool ($kase) failed (status $RUN_RC): $(tail -n 3 "$prefix.err")"
    cpu_of "$prefix"
    check_target "$tool ($kase)" "$kase"
    record "$kase" "$round" "$tool" "$RUN_WALL" "$CPU_U" "$CPU_S" - - - - - - - - - "$LOAD1"
    say "  $kase round $round: $tool wall $RUN_WALL s"
}

# bench_pipe CASE ROUND TOOL SOURCE DECODER…: DECODER… -- SOURCE | dd …, in a shell with pipefail;
# dd's own summary (bytes copied) is checked.
bench_pipe() {
    local kase=$1 round=$2 tool=$3 src=$4 bytes
    shift 4
    fresh_target
    drop_caches
    guard
    # shellcheck disable=SC2016 # expanded by the inner shell
    bench_peer "$kase" "$round" "$tool" bash -c 'set -o pipefail; "${@:3}" -- "$1" | dd of="$2" bs=4M oflag=direct iflag=fullblock conv=fsync' \
        _ "$src" "$TDEV" "$@"
    bytes=$(awk '/ bytes .* copied, / { b = $1 } END { print b }' "$OUT/logs/$kase-$round-$tool.err")
    [[ $bytes == "$IMAGE_BYTES" ]] || die "$tool ($kase): dd copied '$bytes' bytes, not $IMAGE_BYTES"
}

bench_bmaptool() {
    local kase=$1 round=$2 src=$3
    fresh_target
    drop_caches
    guard
    bench_peer "$kase" "$round" bmaptool bmaptool copy --bmap "$IMG.bmap" "$src" "$TDEV"
}

# One case, in an order that alternates with the round.
run_case() {
    local kase=$1 round=$2 steps=() s
    case $kase in
    bmap) steps=("bench_atelier bmap $round $IMG --bmap $IMG.bmap" "bench_bmaptool bmap $round $IMG") ;;
    bmap-xz) steps=("bench_atelier bmap-xz $round $IMG.xz --bmap $IMG.bmap" "bench_bmaptool bmap-xz $round $IMG.xz") ;;
    xz)
        steps=("bench_atelier xz $round $IMG.xz --no-bmap" "bench_pipe xz $round xz-dd $IMG.xz xz -dc")
        ((XZ_T0)) && steps+=("bench_pipe xz $round xz-T0-dd $IMG.xz xz -T0 -dc")
        ;;
    zst) steps=("bench_atelier zst $round $IMG.zst --no-bmap" "bench_pipe zst $round zstd-dd $IMG.zst zstd -q -dc") ;;
    esac
    if ((round % 2 == 0)); then
        # Even rounds: Atelier last.
        steps=("${steps[@]:1}" "${steps[0]}")
    fi
    for s in "${steps[@]}"; do
        # Paths come from mktemp/pwd and hold no spaces (checked below).
        $s
    done
}
[[ $IMG != *[[:space:]]* && $BENCH_DISK_DIR != *[[:space:]]* ]] || die "paths with spaces are not supported: $IMG"

for ((round = 1; round <= ROUNDS; round++)); do
    for kase in $CASES; do
        LOAD1=$(cut -d ' ' -f 1 /proc/loadavg)
        say "round $round of $ROUNDS, $kase (load $(cut -d' ' -f1-3 /proc/loadavg))"
        run_case "$kase" "$round"
    done
done
drop_target

LOAD_AFTER=$(cut -d ' ' -f 1-3 /proc/loadavg)
UPTIME_AFTER=$(uptime)
TOTAL_MIN=$(awk -v a="$T_START" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", (b - a) / 60 }')

# ---------------------------------------------------------------------------------------------
# Statistics.

# value CASE ROUND TOOL COLUMN (4 wall, 5 user, 6 sys, 7 startup, 8 write phase, 9 commit,
# 10 read-back, 11 write-only, 12 written, 13 skipped, 14 skipped as, 15 checked, 16 load)
value() { awk -F'\t' -v k="$1" -v r="$2" -v t="$3" -v c="$4" '$1 == k && $2 == r && $3 == t { print $c; exit }' "$RESULTS"; }
med() { awk -F'\t' -v k="$1" -v t="$2" -v c="$3" '$1 == k && $3 == t { print $c }' "$RESULTS" | median; }
cpu_med() { awk -F'\t' -v k="$1" -v t="$2" '$1 == k && $3 == t { print $5 + $6 }' "$RESULTS" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || a == "" || b == "" || b == 0) print "-"; else printf "%.3f", a / b }'; }
verdict() { awk -v x="$1" -v t="$2" 'BEGIN { if (x == "-" || x == "") print "not measured"; else if (x >= t) print "**met**"; else print "**NOT met**" }'; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s == "-" || s == "" || s <= 0) print "–"; else printf "%.0f", b / s / 1e6 }'; }

# ratio_row LABEL CASE PEER PEER_COL ATELIER_COL TARGET: per-round PEER/atelier ratios.
ratio_row() {
    local label=$1 kase=$2 peer=$3 pc=$4 ac=$5 target=$6 r list=() of_medians med_r
    uses "$kase" || return 0
    for ((round = 1; round <= ROUNDS; round++)); do
        r=$(ratio "$(value "$kase" "$round" "$peer" "$pc")" "$(value "$kase" "$round" atelier "$ac")")
        [[ $r == - ]] || list+=("$r")
    done
    ((${#list[@]})) || return 0
    med_r=$(printf '%s\n' "${list[@]}" | median)
    of_medians=$(ratio "$(med "$kase" "$peer" "$pc")" "$(med "$kase" atelier "$ac")")
    local per
    per=$(printf '%s\n' "${list[@]}" | awk 'NF { printf "%s%.2f", (NR > 1 ? ", " : ""), $1 }')
    if [[ -n $target ]]; then
        echo "| $label | $per | **$(fmt "$med_r")** | $(fmt "$of_medians") | ≥ $target × | $(verdict "$med_r" "$target") |"
    else
        echo "| $label | $per | $(fmt "$med_r") | $(fmt "$of_medians") | (information) | – |"
    fi
}

RATIO_HEAD="| Comparison (peer wall time / Atelier time) | per round | median of per-round ratios | ratio of medians | target | verdict |
|---|---|---|---|---|---|"
RATIOS=$(
    ratio_row "Sparse image + .bmap: \`bmaptool copy\` / \`atelier deploy\` (with read-back)" bmap bmaptool 4 4 1
    ratio_row "Sparse image .xz + .bmap: \`bmaptool copy\` / \`atelier deploy\` (with read-back)" bmap-xz bmaptool 4 4 1
    ratio_row "Multi-block .xz: \`xz -dc \| dd\` / \`atelier deploy\` (with read-back)" xz xz-dd 4 4 2
)
INFO_RATIOS=$(
    ratio_row "Sparse image + .bmap: bmaptool / Atelier write-only (launch → start of read-back)" bmap bmaptool 4 11 ""
    ratio_row "Sparse image .xz + .bmap: bmaptool / Atelier write-only" bmap-xz bmaptool 4 11 ""
    ratio_row "Multi-block .xz: \`xz -dc \| dd\` / Atelier write-only" xz xz-dd 4 11 ""
    ((XZ_T0)) && ratio_row "Multi-block .xz: \`xz -T0 -dc \| dd\` / Atelier (with read-back)" xz xz-T0-dd 4 4 ""
    ((XZ_T0)) && ratio_row "Multi-block .xz: \`xz -T0 -dc \| dd\` / Atelier write-only" xz xz-T0-dd 4 11 ""
    ratio_row ".zst: \`zstd -dc \| dd\` / \`atelier deploy\` (with read-back)" zst zstd-dd 4 4 ""
    ratio_row ".zst: \`zstd -dc \| dd\` / Atelier write-only" zst zstd-dd 4 11 ""
)

case_label() {
    case $1 in
    bmap) echo "raw + .bmap" ;;
    bmap-xz) echo ".xz + .bmap" ;;
    xz) echo ".xz, no .bmap" ;;
    zst) echo ".zst, no .bmap" ;;
    esac
}
tool_label() {
    case $1 in
    atelier) echo "atelier deploy" ;;
    bmaptool) echo "bmaptool copy" ;;
    xz-dd) echo "xz -dc \| dd" ;;
    xz-T0-dd) echo "xz -T0 -dc \| dd" ;;
    zstd-dd) echo "zstd -dc \| dd" ;;
    esac
}

MEDIANS="| Case | Tool | rounds | wall s | image MB/s (by wall) | write-only s | read-back s | CPU s (user + sys) |
|---|---|---|---|---|---|---|---|"
for kase in $CASES; do
    for t in atelier bmaptool xz-dd xz-T0-dd zstd-dd; do
        n=$(awk -F'\t' -v k="$kase" -v t="$t" '$1 == k && $3 == t' "$RESULTS" | wc -l)
        ((n > 0)) || continue
        MEDIANS+=$'\n'"| $(case_label "$kase") | $(tool_label "$t") | $n | $(fmt "$(med "$kase" "$t" 4)") | $(mbps "$IMAGE_BYTES" "$(med "$kase" "$t" 4)") | $(fmt "$(med "$kase" "$t" 11)") | $(fmt "$(med "$kase" "$t" 10)") | $(fmt "$(cpu_med "$kase" "$t")") |"
    done
done

PER_ROUND="| Round | load (1 min) | Case | Tool | wall s | startup s | write phase s | commit s | read-back s | write-only s | user s | sys s | written MB | not written MB (how) | read back MB |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
mb() { awk -v b="$1" 'BEGIN { if (b == "-" || b == "") print "–"; else printf "%.0f", b / 1e6 }'; }
while IFS=$'\t' read -r k r t wall u s st wp cm rb wo wr sk how ck ld; do
    if [[ $t == atelier ]]; then
        PER_ROUND+=$'\n'"| $r | $ld | $(case_label "$k") | $(tool_label "$t") | $(fmt "$wall") | $(fmt "$st") | $(fmt "$wp") | $(fmt "$cm") | $(fmt "$rb") | $(fmt "$wo") | $u | $s | $(mb "$wr") | $(mb "$sk") ($how) | $(mb "$ck") |"
    else
        PER_ROUND+=$'\n'"| $r | $ld | $(case_label "$k") | $(tool_label "$t") | $(fmt "$wall") | – | – | – | – | – | $u | $s | – | – | – |"
    fi
done < <(sort -t $'\t' -k2,2n -s "$RESULTS")

CPU_MODEL=$(lscpu | awk -F': *' '/^Model name/ { print $2; exit }')
CPU_FLAGS=$({ grep -m1 '^flags' /proc/cpuinfo || true; } | tr ' ' '\n' | { grep -x -E 'sha_ni|avx2|avx512f' || true; } | tr '\n' ' ')
MEM_GIB=$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
DISK_FS=$(findmnt -n -o SOURCE,FSTYPE -T "$BENCH_DISK_DIR" | awk '{ print $2 " on " $1 }')
LOAD_NOTE="Load average (1, 5, 15 min) before: \`$LOAD_BEFORE\`; after: \`$LOAD_AFTER\`; the 1-minute value at the start of each case is in the per-round table."
if awk -v a="${LOAD_BEFORE%% *}" -v b="${LOAD_AFTER%% *}" 'BEGIN { exit !(a > 0.5 || b > 2.5) }'; then
    LOAD_NOTE+=" **The machine was shared while this ran** (other processes — builds and tests of
  concurrent development — kept its 2 cores busy): absolute times are noisy and every tool got
  only part of the CPU; the paired per-round ratios are the figures to trust."
fi
mb_of() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1e6 }'; }

# ---------------------------------------------------------------------------------------------
# The report.

SECTION=$WORK/deploy-section.md
{
    cat <<EOF
## Deploy

Generated by \`scripts/bench-deploy.sh\` (\`sudo scripts/bench-deploy.sh\` or \`just bench-deploy\`;
settings are environment variables documented at the top of the script). Re-running it replaces
this section, except its *Findings* block. Logs of the last run: \`${OUT#"$REPO"/}/\`.

### Summary: targets

Every ratio is peer time / Atelier time, computed per round (the two commands ran back to back on
a fresh target of the same kind), and the verdict uses the **median of the per-round ratios**; the
ratio of the medians is a cross-check. Above 1: Atelier is faster. Atelier's time is its whole
run, **including its read-back of every written range**; neither bmaptool nor dd reads back.

$RATIO_HEAD
$RATIOS

For information:

$RATIO_HEAD
$INFO_RATIOS

### Machine and run

- Date: $START_DATE; whole run $TOTAL_MIN min, $ROUNDS rounds; invocation: \`$INVOCATION\`.
- CPU: $CPU_MODEL, $(nproc) cores (flags: ${CPU_FLAGS% }); RAM ${MEM_GIB} GiB; kernel $(uname -r);
  $(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release).
- Atelier: \`$ATELIER_VERSION\`, commit $GIT_REV, release build. Peers: $VERSIONS.
- $LOAD_NOTE
- \`uptime\` before: \`$UPTIME_BEFORE\`; after: \`$UPTIME_AFTER\`.

### Image

- $IMAGE_MIB MiB, GPT with one Linux partition (1 MiB to the end) holding ext4 (4 KiB blocks) made by
  \`mkfs.ext4 -d\` from $DATA_MB MB of generated files (sizes 4 KiB–8 MiB, log-uniform; $RANDOM_PCT %
  random bytes, the rest text-like: words with Zipf-like frequencies, configuration- and code-like
  lines; seed $SEED). Sparse: $(mb_of "$ALLOCATED") MB allocated.
- \`bmaptool create\`: bmap format $BMAP_VERSION, $BMAP_RANGES ranges, $MAPPED_BLOCKS blocks of $BMAP_BLOCK bytes mapped
  ($(mb_of "$MAPPED_BYTES") MB, $(awk -v m="$MAPPED_BYTES" -v t="$IMAGE_BYTES" 'BEGIN { printf "%.1f", 100 * m / t }') % of the image).
- \`xz -$XZ_PRESET -T$XZ_THREADS --block-size=$XZ_BLOCK\`: $(mb_of "$XZ_BYTES") MB, $XZ_BLOCKS blocks.
  \`zstd -$ZSTD_LEVEL -T2\`: $(mb_of "$ZST_BYTES") MB, ${ZST_FRAMES:-?} frame(s) (zstd frames are decoded in one thread).
- SHA-256 of the image: \`$IMAGE_SHA256\`. Built in ${BUILD_SECONDS} s$( ((IMAGE_REUSED)) && echo " (in an earlier run; reused from IMAGE_DIR)").

### Procedure

- Before **every** command: a new target file of $IMAGE_MIB MiB in \`$BENCH_DISK_DIR\` ($DISK_FS),
  written with zeros (\`dd … oflag=direct conv=fsync\`, so not sparse), attached with
  \`losetup -f --show --direct-io=on\` (DIO=$TARGET_DIO), then \`sync; echo 3 > /proc/sys/vm/drop_caches\`:
  every tool starts from the same target state, and reads its source from disk.
- Within a case, odd rounds run Atelier first and even rounds run it last.
- Each time is the wall time of the whole process, measured by the script, and includes the tool's
  own flush to the device: Atelier \`fdatasync\`s before its read-back; \`dd … conv=fsync\`;
  bmaptool \`fsync\`s every 6 MiB and at the end. Atelier's phases are the arrival times of its JSON
  events: startup = launch → \`prepare\` (device survey, image and bmap opened); write phase =
  \`write\` → \`commit\`; commit = the held-back first 4 MiB (partition table) written and synced;
  read-back = \`verify\` → next event; **write-only** = launch → \`verify\`.
- After each command (not timed)$( ((VERIFY_TARGET)) && echo ", the target was read back with \`O_DIRECT\` and checked — with a .bmap, every mapped range against its SHA-256 in the .bmap (unmapped blocks are no part of a block map's promise, and Atelier's capacity probe leaves its blocks there: see the findings); without, the whole target against the image's SHA-256: every run of every tool wrote the image" || echo ": no content check (VERIFY_TARGET=0)").
- Atelier ran with its defaults (no catalogue, so no customisation; one data folder for all runs).
  Without a .bmap, it does not write all-zero runs but zeroes them with \`BLKZEROOUT\` — on a
  loop device the kernel turns that into \`fallocate(FALLOC_FL_ZERO_RANGE)\` on the backing file,
  which costs next to nothing; on an SD card that has no Write Zeroes support the kernel writes
  the zeros. The per-round table shows how many bytes were written and how many were not.

### Exact commands

\`\`\`sh
atelier --data-dir TMP deploy IMG --bmap IMG.bmap --to DEV --yes-i-understand-this-destroys-data --json
bmaptool copy --bmap IMG.bmap IMG DEV
atelier --data-dir TMP deploy IMG.xz --bmap IMG.bmap --to DEV --yes-i-understand-this-destroys-data --json
bmaptool copy --bmap IMG.bmap IMG.xz DEV          # bmaptool runs \`xz -d -c\` (one thread)
atelier --data-dir TMP deploy IMG.xz --no-bmap --to DEV --yes-i-understand-this-destroys-data --json
xz -dc IMG.xz | dd of=DEV bs=4M oflag=direct iflag=fullblock conv=fsync
xz -T0 -dc IMG.xz | dd of=DEV bs=4M oflag=direct iflag=fullblock conv=fsync   # information
atelier --data-dir TMP deploy IMG.zst --no-bmap --to DEV --yes-i-understand-this-destroys-data --json
zstd -q -dc IMG.zst | dd of=DEV bs=4M oflag=direct iflag=fullblock conv=fsync
\`\`\`

(\`xz -dc\` of xz-utils 5.4 decodes in one thread: its default is \`-T1\`.)

### Medians

$MEDIANS

### Per-round numbers

Times in seconds; MB = 10^6 bytes.

$PER_ROUND
EOF
} >"$SECTION"

# Findings: kept from the existing section of DOC when there is one.
FINDINGS="_No analysis written yet._"
if [[ $DOC != none && -f $DOC ]]; then
    old=$(awk '/<!-- deploy-findings:begin -->/ { on = 1; next } /<!-- deploy-findings:end -->/ { on = 0 } on' "$DOC")
    [[ -n $old ]] && FINDINGS=$old
fi
{
    echo
    echo "### Findings"
    echo
    echo "<!-- deploy-findings:begin -->"
    echo "$FINDINGS"
    echo "<!-- deploy-findings:end -->"
} >>"$SECTION"
{
    echo "# Deploy benchmark"
    echo
    sed '1d' "$SECTION" | sed 's/^### /## /'
} >"$OUT/summary.md"

if [[ $DOC != none ]]; then
    mkdir -p "$(dirname "$DOC")"
    touch "$DOC"
    # Remove the old "## Deploy" section (up to the next "## " heading) and append the new one at
    # the end, after whatever other benchmarks keep there.
    awk '/^## Deploy[[:space:]]*$/ { skip = 1; next } skip && /^## / { skip = 0 } !skip' "$DOC" >"$WORK/doc.md"
    # Exactly one blank line before the section.
    sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$WORK/doc.md" >"$WORK/doc-trimmed.md"
    { cat "$WORK/doc-trimmed.md"; [[ -s $WORK/doc-trimmed.md ]] && echo; cat "$SECTION"; } >"$WORK/doc-new.md"
    cp "$WORK/doc-new.md" "$DOC"
    say "replaced the Deploy section of $DOC"
fi
cat "$OUT/summary.md"
say "results in $OUT ($TOTAL_MIN min)"
