#!/usr/bin/env bash
# End to end: the Packages stanzas consign writes for .deb files
# (consign_deb_info_stanza, through the test-only repo-tools/consign-debinfo)
# are byte for byte those of `apt-ftparchive packages`, with SHA512 and
# without, for the example product's packages and three packages from
# Debian's mirror (hello, sl, cowsay; else the host's apt cache). A broken
# .deb gives one message naming the file.
#
# Usage: apt-packages.sh BUILD_DIR SOURCE_DIR
# The agent's jar and runtime come from $EXAMPLE_AGENT_BUILD, else
# BUILD_DIR/examples/agent, else the CONSIGN_EXAMPLE_AGENT_DIR of the cache.
set -euo pipefail

# shellcheck source=tests/lib/testlib.sh
. "$(dirname "$0")/../lib/testlib.sh"
e2e_args "$@"
DEBINFO=$BUILD/repo-tools/consign-debinfo

passed=0
failed=0
T=$(mktemp -d "${TMPDIR:-/tmp}/consign-e2e-apt-packages.XXXXXX")

trap remove_scratch EXIT
trap 'exit 130' INT TERM

# --- prerequisites -------------------------------------------------------------
for tool in apt-ftparchive apt-get awk diff; do
    command -v "$tool" >/dev/null || die "$tool is not installed (apt-utils)"
done
[ -x "$CONSIGN" ] || die "$CONSIGN is missing; build first"
[ -x "$DEBINFO" ] || die "$DEBINFO is missing; build first"
find_example_agent

# --- the packages -----------------------------------------------------------------
mkdir -p "$T/pool"
if "$CONSIGN" pkg deb --product "$SRC/examples/agent/product.yaml" --out "$T/pool" \
    --define "EXAMPLE_AGENT_BUILD=$EXAMPLE_AGENT_BUILD" >"$T/pkg.log" 2>&1; then
    ok "consign pkg deb builds the example's packages"
else
    die "consign pkg deb failed" "$(tail -n 20 "$T/pkg.log")"
fi
ours=$(find "$T/pool" -name '*.deb' | wc -l)
[ "$ours" -ge 2 ] || die "consign pkg deb wrote $ours packages, want 2" "$(ls "$T/pool")"

if (cd "$T/pool" && apt-get download hello sl cowsay) >"$T/download.log" 2>&1; then
    ok "apt-get download hello sl cowsay"
else
    skip "apt-get download failed; using the host's apt cache"
    find /var/cache/apt/archives -maxdepth 1 -name '*.deb' | head -n 3 |
        xargs -r cp -t "$T/pool"
fi
total=$(find "$T/pool" -name '*.deb' | wc -l)
[ "$total" -ge $((ours + 3)) ] ||
    die "want 3 Debian packages besides ours" "$(tail -n 5 "$T/download.log")"

# split FILE DIR: one file per stanza in DIR, named after its Filename's base name.
split() {
    mkdir -p "$2"
    awk -v dir="$2" '
        /^$/ { if (n) { f = dir "/" name; printf "%s", s > f; close(f) } s = ""; n = 0; next }
        { s = s $0 "\n"; n++ }
        /^Filename: / { name = $2; sub(/.*\//, "", name) }
        END { if (n) { f = dir "/" name; printf "%s", s > f; close(f) } }
    ' "$1"
}

# compare LABEL SHA512(true|false): every stanza equal, byte for byte.
compare() {
    local label=$1 sha512=$2 deb base bad=0 debs=() ouropt=()
    [ "$sha512" = true ] || ouropt=(--no-sha512)
    (cd "$T" && apt-ftparchive -o "APT::FTPArchive::SHA512=$sha512" packages pool) \
        >"$T/apt-$label.txt" 2>"$T/apt-$label.err" ||
        die "apt-ftparchive packages failed" "$(cat "$T/apt-$label.err")"
    mapfile -t debs < <(cd "$T" && find pool -name '*.deb' | sort)
    (cd "$T" && "$DEBINFO" "${ouropt[@]}" "${debs[@]}") \
        >"$T/ours-$label.txt" 2>"$T/ours-$label.err" ||
        die "consign-debinfo failed" "$(cat "$T/ours-$label.err")"
    split "$T/apt-$label.txt" "$T/apt-$label"
    split "$T/ours-$label.txt" "$T/ours-$label"
    for deb in "$T"/pool/*.deb; do
        base=${deb##*/}
        if [ ! -s "$T/apt-$label/$base" ]; then
            not_ok "$label: apt-ftparchive wrote no stanza for $base"
            bad=1
        elif diff -u "$T/apt-$label/$base" "$T/ours-$label/$base" >"$T/diff" 2>&1; then
            ok "$label: $base: $(grep -c '^[^ ]' "$T/ours-$label/$base") fields as apt-ftparchive writes them"
        else
            not_ok "$label: $base differs from apt-ftparchive (- apt, + ours)" "$(cat "$T/diff")"
            bad=1
        fi
    done
    if [ "$(grep -c '^Package: ' "$T/apt-$label.txt")" = "$(grep -c '^Package: ' "$T/ours-$label.txt")" ]; then
        ok "$label: as many stanzas as apt-ftparchive"
    else
        not_ok "$label: stanza counts differ"
    fi
    return $bad
}

compare sha512 true || true
if grep -q '^SHA512: ' "$T/ours-sha512.txt"; then
    ok "sha512: stanzas have SHA512"
else
    not_ok "sha512: no SHA512 line"
fi
compare nosha512 false || true
if grep -q '^SHA512: ' "$T/ours-nosha512.txt" "$T/apt-nosha512.txt"; then
    not_ok "nosha512: a SHA512 line is left"
else
    ok "nosha512: no SHA512 line in either"
fi

# --- a broken package: one message naming it ---------------------------------------
first=$(find "$T/pool" -name '*.deb' | sort | head -n 1)
head -c 1000 "$first" >"$T/cut.deb"
check_fail "a truncated .deb is refused, naming the file" "^consign-debinfo: $T/cut.deb: " \
    "$DEBINFO" "$T/cut.deb"

summary
