#!/usr/bin/env bash
# Run a CLI transcript (.t): lines "$ CMD" are run by bash in a scratch
# directory with `consign` on PATH and $SRC the source tree; the lines after a
# command, up to the next command or a "#" comment, are its expected stdout
# and stderr (merged), and "[N]" is its exit status when not 0.
# CONSIGN_UPDATE_TRANSCRIPTS=1 rewrites the file with the actual output.
set -uo pipefail
consign=$1 transcript=$2 src=$3
work=$(mktemp -d /tmp/consign-cli.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin"
ln -s "$consign" "$work/bin/consign"

actual="$work/actual.t"
: >"$actual"
cmd=""
run_cmd() {
  [ -n "$cmd" ] || return 0
  local out rc
  out=$(cd "$work/cwd" && PATH="$work/bin:$PATH" SRC="$src" HOME="$work/home" bash -o pipefail -c "$cmd" 2>&1)
  rc=$?
  printf '$ %s\n' "$cmd" >>"$actual"
  [ -n "$out" ] && printf '%s\n' "$out" >>"$actual"
  [ $rc -ne 0 ] && printf '[%d]\n' $rc >>"$actual"
  cmd=""
}
mkdir -p "$work/cwd" "$work/home"
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    '$ '*) run_cmd; cmd=${line#\$ } ;;
    '#'*) run_cmd; printf '%s\n' "$line" >>"$actual" ;;
    '') [ -z "$cmd" ] && printf '\n' >>"$actual" ;;
    *) ;;
  esac
done <"$transcript"
run_cmd

if [ "${CONSIGN_UPDATE_TRANSCRIPTS:-}" = 1 ]; then
  cp "$actual" "$transcript"
  echo "updated $transcript"
  exit 0
fi
# Compare ignoring blank lines between blocks.
if diff -u <(grep -v '^$' "$transcript") <(grep -v '^$' "$actual"); then
  n=$(grep -c '^\$ ' "$transcript")
  echo "$n passed, 0 failed"
  exit 0
fi
echo "transcript $transcript differs (CONSIGN_UPDATE_TRANSCRIPTS=1 to accept)" >&2
exit 1
