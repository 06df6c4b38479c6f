#!/usr/bin/env bash
# Self-extracting installers: `consign sfx build` and its .bin against
# makeself (default gzip, and --zstd --sha256), side by side in one run, on
# two data sets: the example agent with its jlink runtime, and a tree of more
# than 500 MB of real files. Prints medians of RUNS runs (build, --check,
# check + extract, our full install), sizes, peak RSS and the ratios
# makeself-zstd / consign.
#
#   bench/sfx.sh BUILD [RUNS]        (make bench runs it after bench/repo.sh)
#
# The tree (this machine's shared libraries and /usr/share/doc) is built once
# and cached under BUILD/bench-data/sfx; delete that directory to rebuild it.
# SFX_LEVEL_AGENT and SFX_LEVEL_TREE set our zstd level for each data set
# (defaults 19, consign's default, and 12); SFX_SETS="agent" runs one set.
# See bench/README.md, "Self-extracting installers", for the method.
set -euo pipefail
export LC_ALL=C
if [ $# -lt 1 ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
build=$(cd "$1" && pwd)
runs=${2:-3}
src=$(cd "$(dirname "$0")/.." && pwd)
consign=$build/cli/consign
stub=$build/selfextract/consign-stub
data=$build/bench-data/sfx
FORMAT=1          # bump when the tree's recipe changes (a stale stamp forces a rebuild)
MIN_TREE=500000000
level_agent=${SFX_LEVEL_AGENT:-19}
level_tree=${SFX_LEVEL_TREE:-12}
export SOURCE_DATE_EPOCH=1700000000

need=()
for t in makeself zstd gzip md5sum sha256sum tar dd cksum truncate; do
  command -v "$t" >/dev/null || need+=("$t")
done
[ -x /usr/bin/time ] || need+=(/usr/bin/time)
if [ ${#need[@]} -gt 0 ]; then
  echo "bench/sfx.sh: missing ${need[*]}; run 'make deps' (scripts/deps.sh installs makeself and time)" >&2
  exit 1
fi
[ -x "$consign" ] || { echo "bench/sfx.sh: no $consign; run 'make build' first" >&2; exit 1; }
[ -x "$stub" ] || { echo "bench/sfx.sh: no $stub (the .bin stub); run 'make build' first" >&2; exit 1; }
"$consign" sfx build --help >/dev/null 2>&1 || { echo "bench/sfx.sh: $consign has no 'sfx build'" >&2; exit 1; }
ms_version=$(makeself --version 2>/dev/null | sed -n 's/^Makeself version //p')
[ "$ms_version" = 2.4.5 ] ||
  echo "bench/sfx.sh: note: makeself $ms_version, not Debian 12's 2.4.5: its figures may differ" >&2

# The example agent's build directory (agent.jar + runtime/).
agent=${EXAMPLE_AGENT_BUILD:-}
if [ -z "$agent" ] && [ -f "$build/CMakeCache.txt" ]; then
  agent=$(sed -n 's/^CONSIGN_EXAMPLE_AGENT_DIR:[A-Z]*=//p' "$build/CMakeCache.txt")
fi
[ -n "$agent" ] || agent=$build/examples/agent
if [ ! -f "$agent/agent.jar" ] || [ ! -d "$agent/runtime" ]; then
  echo "bench/sfx.sh: no example agent in $agent (agent.jar, runtime/); run 'make build'" >&2
  exit 1
fi
export EXAMPLE_AGENT_BUILD=$agent

# ---------------------------------------------------------------------------
# 1. The tree: >= 500 MB of real files, regular files and directories only
#    (the two tools treat symlinks alike; absolute ones, common under
#    /usr/share/doc, would be refused by our extractor and skew the counts).
# ---------------------------------------------------------------------------
build_tree() {
  local t=$data/tree.tmp multiarch bytes
  multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
  echo "bench/sfx.sh: building the tree under $data (once)" >&2
  rm -rf "$t" "$data/tree" "$data/stamp"
  mkdir -p "$t/lib" "$t/doc"
  find "/usr/lib/$multiarch" -maxdepth 1 -type f -name '*.so*' -print0 |
    xargs -0 -r cp --preserve=mode,timestamps -t "$t/lib"
  (cd /usr/share/doc && find . -type f -print0 | xargs -0 -r cp --parents --preserve=mode,timestamps -t "$t/doc")
  for more in /usr/share/locale /usr/share/man /usr/lib/jvm; do
    bytes=$(du -sb "$t" | cut -f1)
    [ "$bytes" -ge $MIN_TREE ] && break
    mkdir -p "$t/more/$(basename "$more")"
    (cd "$more" && find . -type f -print0 |
      xargs -0 -r cp --parents --preserve=mode,timestamps -t "$t/more/$(basename "$more")")
  done
  chmod -R u+rwX "$t"
  bytes=$(du -sb "$t" | cut -f1)
  if [ "$bytes" -lt $MIN_TREE ]; then
    echo "bench/sfx.sh: only $bytes bytes of files found for the tree; need $MIN_TREE" >&2
    exit 1
  fi
  mv "$t" "$data/tree"
  {
    echo "format=$FORMAT"
    echo "bytes=$(find "$data/tree" -type f -printf '%s\n' | awk '{s += $1} END {printf "%.0f", s}')"
    echo "files=$(find "$data/tree" -type f | wc -l)"
    echo "dirs=$(find "$data/tree" -type d | wc -l)"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  } >"$data/stamp"
}
mkdir -p "$data"
if [[ " ${SFX_SETS:-tree} " == *" tree "* ]] &&
  { [ ! -f "$data/stamp" ] || ! grep -qx "format=$FORMAT" "$data/stamp"; }; then
  build_tree
fi
st() { sed -n "s/^$1=//p" "$data/stamp"; }

# Its product file: the tree under /opt/bigagent/data, a minimal service, no runtime.
cat >"$data/product.yaml" <<EOF
# Written by bench/sfx.sh.
consign: 1
name: bigagent
version: 1.0.0
release: 1
summary: Bench tree for bench/sfx.sh
description: |
  Shared libraries and documentation of the machine that ran the bench.
maintainer: Bench <bench@example.invalid>
license: Apache-2.0
agent:
  files:
    - src: $data/tree
      dst: /opt/bigagent/data
service:
  exec:
    - /opt/bigagent/data/run
settings:
  token: required
EOF

# ---------------------------------------------------------------------------
# 2. The runs. Everything (inputs, archives, extraction targets) under BUILD,
#    one file system; the page cache warm for everyone.
# ---------------------------------------------------------------------------
w=$(mktemp -d "$build/bench-sfx.XXXXXX")
trap 'rm -rf "$w"' EXIT
"$consign" keys generate --keydir "$w/k" --name bench --email bench@example.invalid --expire 1d >/dev/null
printf 'bench-token-0123456789\n' >"$w/token"
chmod 600 "$w/token"

# Room for the staged copy, the archives and a few trees (the targets are
# emptied once done with: see aside below).
if [[ " ${SFX_SETS:-agent tree} " == *" tree "* ]]; then
  need_kib=$((6 * $(st bytes) / 1024))
  have_kib=$(df -Pk "$w" | awk 'NR == 2 {print $4}')
  if [ "$have_kib" -lt "$need_kib" ]; then
    echo "bench/sfx.sh: $((need_kib / 1048576)) GiB free needed under $build, $((have_kib / 1048576)) GiB free" >&2
    exit 1
  fi
fi

busy=$(ps -eo args | grep -E '(^|/)(repo\.sh|createrepo_c|apt-ftparchive|rpmbuild|dpkg-deb)( |$)' | grep -v grep | cut -c1-60 || true)
printf '\nbench/sfx.sh: %s cores, load average %s, %s MiB available\n' "$(nproc)" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" "$(awk '/^MemAvailable/ {print int($2 / 1024)}' /proc/meminfo)"
[ -z "$busy" ] || printf 'bench/sfx.sh: warning: other benchmarks are running:\n%s\n' "$busy"

# One timed run of "$@": prints "MS KIB" (wall clock, peak RSS of the
# largest process of the run: /usr/bin/time's %M). The output is discarded.
run1() {
  local t0 t1
  sync
  t0=$(date +%s%N)
  if ! /usr/bin/time -f %M -o "$w/rss" "$@" >"$w/out" 2>&1 </dev/null; then
    echo "bench/sfx.sh: failed: $*" >&2
    tail -5 "$w/out" >&2
    exit 1
  fi
  t1=$(date +%s%N)
  echo "$(((t1 - t0) / 1000000)) $(tail -1 "$w/rss")"
}
declare -A T R # "SET METRIC TOOL" -> space-separated values (ms, KiB)
rec() {        # SET METRIC TOOL "MS KIB"
  T["$1 $2 $3"]+="${4% *} "
  R["$1 $2 $3"]+="${4#* } "
}
med() { tr ' ' '\n' <<<"$1" | { grep . || true; } | sort -n | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]}'; }

TOOLS=(ours gz zst)
# The order of the three tools in run $1: ours first in odd runs, last in even runs.
order() { if [ $(($1 % 2)) = 1 ]; then echo ours gz zst; else echo zst gz ours; fi; }

# The page cache: this VM pages out what was not touched for a minute
# (DAMON), so every input is read again, untimed, right before its run.
warm() { find "$@" -type f -exec cat {} + >/dev/null; }
# A previous target is emptied and moved aside, not deleted (see
# bench/README.md): its files are truncated, which frees their page cache
# for the next run, but their inodes stay until the end, when $w is removed:
# an ext4 without a journal (this VM's) skips every inode freed in the last
# minute when it allocates one, and creating 7,800 files right after deleting
# as many cost seconds of system time, for every tool.
aside() {
  [ -e "$1" ] || return 0
  chmod -R u+w "$1" 2>/dev/null || true
  find "$1" -type f -size +0 -exec truncate -s 0 {} +
  mkdir -p "$w/trash" && mv "$1" "$(mktemp -d "$w/trash/XXXXXX")/"
}

build_one() { # SET TOOL
  local s=$1 tool=$2
  case $tool in
  ours) warm ${INPUT[$s]} ;; # (several paths)
  *) warm "$w/stage-$s" ;;
  esac
  case $tool in
  ours) run1 "$consign" sfx build --product "${PRODUCT[$s]}" --keydir "$w/k" --stub "$stub" \
    --level "${LEVEL[$s]}" --out "$w/$s.bin" ;;
  gz) run1 makeself --nox11 --quiet "$w/stage-$s" "$w/$s-gz.run" bench ./setup.sh ;;
  zst) run1 makeself --nox11 --quiet --zstd --sha256 "$w/stage-$s" "$w/$s-zst.run" bench ./setup.sh ;;
  esac
}
artifact() { case $2 in ours) echo "$w/$1.bin" ;; gz) echo "$w/$1-gz.run" ;; zst) echo "$w/$1-zst.run" ;; esac; }
check_one() {
  warm "$(artifact "$1" "$2")"
  run1 "$(artifact "$1" "$2")" --check
}
# makeself: --quiet, its fastest form (no progress meter; see bench/README.md).
extract_one() { # SET TOOL
  aside "$w/x"
  warm "$(artifact "$1" "$2")"
  case $2 in
  ours) run1 "$(artifact "$1" ours)" --target "$w/x" --quiet ;;
  *) run1 "$(artifact "$1" "$2")" --quiet --noexec --target "$w/x" ;;
  esac
}
install_one() { # SET
  aside "$w/r"
  warm "$w/$1.bin"
  run1 "$w/$1.bin" --root "$w/r" --accept-eula --token-file "$w/token" --quiet
}

declare -A PRODUCT INPUT LEVEL SIZE STAGED RSS
PRODUCT[agent]=$src/examples/agent/product.yaml
PRODUCT[tree]=$data/product.yaml
INPUT[agent]="$agent/agent.jar $agent/runtime $src/examples/agent"
INPUT[tree]=$data/tree
LEVEL[agent]=$level_agent
LEVEL[tree]=$level_tree
read -r -a SETS <<<"${SFX_SETS:-agent tree}"

for s in "${SETS[@]}"; do
  printf 'bench/sfx.sh: %s: staging, %s build runs per tool...\n' "$s" "$runs" >&2
  # makeself's input: the same files, laid out by consign stage, and a setup
  # script that does nothing. Staging reads every input file: they are warm.
  "$consign" stage --product "${PRODUCT[$s]}" --root "$w/stage-$s" >/dev/null
  printf '#!/bin/sh\ntrue\n' >"$w/stage-$s/setup.sh"
  chmod 755 "$w/stage-$s/setup.sh"
  STAGED[$s]="$(find "$w/stage-$s" -type f ! -name setup.sh | wc -l) files, $(($(du -sb "$w/stage-$s" | cut -f1) / 1048576)) MiB"
  for i in $(seq "$runs"); do
    for tool in $(order "$i"); do
      v=$(build_one "$s" "$tool")
      rec "$s" build "$tool" "$v"
    done
  done
  # Warm-up: every archive read once and every extraction run once, untimed;
  # each extraction checked against the staged tree.
  want=$(find "$w/stage-$s" -type f ! -name setup.sh | wc -l)
  for tool in "${TOOLS[@]}"; do
    v=$(check_one "$s" "$tool")
    v=$(extract_one "$s" "$tool")
    got=$(find "$w/x" -type f ! -name setup.sh | wc -l)
    # ours also writes the systemd unit and the init script that stage leaves out
    if [ "$got" -lt "$want" ]; then
      echo "bench/sfx.sh: $s: $tool extracted $got files, $want staged" >&2
      exit 1
    fi
  done
  v=$(install_one "$s")
  printf 'bench/sfx.sh: %s: %s timed runs of check, extract, install...\n' "$s" "$runs" >&2
  for i in $(seq "$runs"); do
    for tool in $(order "$i"); do
      v=$(check_one "$s" "$tool")
      rec "$s" check "$tool" "$v"
      v=$(extract_one "$s" "$tool")
      rec "$s" extract "$tool" "$v"
    done
    v=$(install_one "$s")
    rec "$s" install ours "$v"
  done
  aside "$w/x"
  aside "$w/r"
  for tool in "${TOOLS[@]}"; do SIZE["$s $tool"]=$(stat -c %s "$(artifact "$s" "$tool")"); done
  # Less the program in front: our stub; makeself's shell header ($skip lines).
  SIZE["$s ours-"]=$((SIZE["$s ours"] - $(stat -c %s "$stub")))
  for tool in gz zst; do
    f=$(artifact "$s" "$tool")
    SIZE["$s $tool-"]=$((SIZE["$s $tool"] - $(head -n "$(sed -n 's/^skip="\([0-9]*\)"$/\1/p' "$f" | head -1)" "$f" | wc -c)))
  done
done

# ---------------------------------------------------------------------------
# 3. The tables: medians; ratio = makeself --zstd / consign (> 1: consign is
#    faster, smaller or lighter).
# ---------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "" || b == "" || b == 0) print "-"; else printf "%.2fx", a / b}'; }
secs() { [ -n "$1" ] && awk -v m="$1" 'BEGIN {printf "%.3f s", m / 1000}' || echo -; }
mib() { [ -n "$1" ] && awk -v k="$1" 'BEGIN {printf "%.1f MiB", k / 1024}' || echo -; }
bytes() { echo "$1 B" | sed ':a; s/\B[0-9]\{3\}\>/,&/; ta'; }
row() { printf '%-30s %14s %15s %15s %11s\n' "$@"; }
declare -A XR
for s in "${SETS[@]}"; do
  case $s in
  agent) what="example agent + jlink runtime (${STAGED[$s]})" ;;
  tree) what="tree: $(st files) files, $(($(st bytes) / 1048576)) MiB ($data/tree)" ;;
  esac
  printf '\n%s; consign zstd -%s, makeself %s (gzip -9; zstd -9 + SHA-256); median of %s\n' \
    "$what" "${LEVEL[$s]}" "$ms_version" "$runs"
  row metric consign "makeself gzip" "makeself zstd" "zstd/ours"
  for m in build check extract install; do
    case $m in
    build) label="build" ;;
    check) label="--check" ;;
    extract) label="check + extract" ;;
    install) label="check + install (--root)" ;;
    esac
    o=$(med "${T["$s $m ours"]:-}") g=$(med "${T["$s $m gz"]:-}") z=$(med "${T["$s $m zst"]:-}")
    if [ $m = install ]; then
      row "$label" "$(secs "$o")" - - "-"
    else
      row "$label" "$(secs "$o")" "$(secs "$g")" "$(secs "$z")" "$(ratio "$z" "$o")"
    fi
    [ $m = extract ] && XR[$s]=$(ratio "$z" "$o")
  done
  row "size" "$(bytes "${SIZE["$s ours"]}")" "$(bytes "${SIZE["$s gz"]}")" "$(bytes "${SIZE["$s zst"]}")" \
    "$(ratio "${SIZE["$s zst"]}" "${SIZE["$s ours"]}")"
  row "  less stub / shell header" "$(bytes "${SIZE["$s ours-"]}")" "$(bytes "${SIZE["$s gz-"]}")" \
    "$(bytes "${SIZE["$s zst-"]}")" "$(ratio "${SIZE["$s zst-"]}" "${SIZE["$s ours-"]}")"
  o=$(med "${R["$s extract ours"]}") g=$(med "${R["$s extract gz"]}") z=$(med "${R["$s extract zst"]}")
  row "peak RSS, check + extract" "$(mib "$o")" "$(mib "$g")" "$(mib "$z")" "$(ratio "$z" "$o")"
  row "peak RSS, check + install" "$(mib "$(med "${R["$s install ours"]}")")" - - -
  RSS[$s]=$o
done

# ---------------------------------------------------------------------------
# 4. The issue's targets.
# ---------------------------------------------------------------------------
stub_size=$(stat -c %s "$stub")
printf '\nThe stub (%s): %s\n' "$stub" "$(bytes "$stub_size")"
printf 'Targets (ratio makeself --zstd / consign):\n'
for s in "${SETS[@]}"; do
  x=${XR[$s]%x}
  printf '  %-5s check + extract >= 2.5x faster: %-7s %s\n' "$s" "${XR[$s]}" \
    "$(awk -v x="$x" 'BEGIN {print (x != "-" && x >= 2.5) ? "met" : "NOT met"}')"
  printf '  %-5s size <= makeself --zstd: %s vs %s  %s\n' "$s" "${SIZE["$s ours"]}" "${SIZE["$s zst"]}" \
    "$([ "${SIZE["$s ours"]}" -le "${SIZE["$s zst"]}" ] && echo met || echo "NOT met")"
  printf '  %-5s our peak RSS <= 16 MiB: %s  %s\n' "$s" "$(mib "${RSS[$s]}")" \
    "$([ "${RSS[$s]}" -le 16384 ] && echo met || echo "NOT met")"
done
if [ "${SFX_RAW:-0}" = 1 ]; then
  printf '\nEvery run (ms; peak RSS KiB):\n'
  for k in "${!T[@]}"; do printf '  %-22s %s; %s\n' "$k" "${T[$k]}" "${R[$k]}"; done | sort
fi
