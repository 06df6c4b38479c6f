#!/usr/bin/env bash
# Run every libFuzzer target for SECONDS each, seeded from its corpus; new
# inputs land in build-fuzz/corpus/TARGET (copy interesting ones to fuzz/corpus).
set -euo pipefail
dir=$1 secs=$2
cd "$(dirname "$0")/.."
for bin in "$dir"/fuzz/fuzz_*; do
  t=${bin##*/fuzz_}
  mkdir -p "$dir/corpus/$t"
  echo "== fuzz $t for ${secs}s"
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    "$dir/corpus/$t" "fuzz/corpus/$t"
done
