#!/usr/bin/env bash
# End to end: an APT repository made by `consign repo apt add|publish`, served
# by nginx on 127.0.0.1 (tests/lib/httpd.sh), used by the real apt of Debian
# 11, 12 and 13 (2.2, 2.6 and 3.0, which verifies with sqv) in mmdebstrap
# chroots (cached by tests/lib/chroot.sh), the way a customer sets it up: the
# published NAME.gpg in /etc/apt/keyrings, the published NAME.sources (NAME.list
# on Debian 11), `apt-get update`, `apt-get install example-agent`.
#
# Also: the Release file's fields and checksums, gpgv on InRelease and
# Release.gpg with the published keyring, a second publish with nothing changed
# leaving every file as it was, and the failures apt must report: a repository
# signed by another key, an expired Valid-Until, a Packages file altered after
# signing. Last, publish is killed with SIGKILL at $CONSIGN_REPO_KILLS (20)
# random points while the content changes, and after each kill apt-get update
# (Debian 12) must succeed against what is served.
#
# Usage: repo-apt.sh BUILD_DIR SOURCE_DIR
# Needs root (chroot, mount) and nginx. Chroots are cached in
# $CONSIGN_CHROOT_CACHE, else BUILD_DIR/chroots. The agent's jar and runtime
# come from $EXAMPLE_AGENT_BUILD, else BUILD_DIR/examples/agent, else the
# CONSIGN_EXAMPLE_AGENT_DIR of the cache. CONSIGN_REPO_SUITES limits the
# Debian releases, CONSIGN_KEEP_TMP=1 keeps the scratch directory.
set -euo pipefail

# shellcheck source=tests/lib/testlib.sh
. "$(dirname "$0")/../lib/testlib.sh"
# shellcheck source=tests/lib/httpd.sh
. "$(dirname "$0")/../lib/httpd.sh"
e2e_args "$@"
CACHE=${CONSIGN_CHROOT_CACHE:-$BUILD/chroots}
NAME=example-agent
RT=example-agent-jre
REPO=example
SUITES=${CONSIGN_REPO_SUITES:-bullseye bookworm trixie}
KILL_SUITE=bookworm
unset SOURCE_DATE_EPOCH
KILLS=${CONSIGN_REPO_KILLS:-20}
VALID=30
ORIGIN="Example Corp"
LABEL="Example Agent"

passed=0
failed=0
# Short: the key directories' gpg-agent sockets must fit in sun_path.
T=$(mktemp -d /tmp/consign-rapt.XXXXXX)
bgpid=

cleanup() {
    local d
    [ -z "$bgpid" ] || kill -9 -- "-$bgpid" 2>/dev/null || true
    httpd_stop
    for d in "$T"/k*/gnupg; do
        [ -d "$d" ] && gpgconf --homedir "$d" --kill gpg-agent >/dev/null 2>&1
    done
    remove_scratch
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- prerequisites -------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "repo-apt.sh needs root (chroot, mount)"
for tool in mmdebstrap gpgv gpg gpgconf curl dpkg-deb xz gzip sha256sum sha512sum setsid flock; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || die "nginx is not installed"
[ -x "$CONSIGN" ] || die "$CONSIGN is missing; build first"
"$CONSIGN" repo apt publish --help >/dev/null 2>&1 || die "$CONSIGN has no 'repo apt' command"
find_example_agent

# --- the packages and the keys -----------------------------------------------------------
copy_example "$T/p101"
sed -i 's/^version: 1\.0\.0$/version: 1.0.1/' "$T/p101/product.yaml"
grep -q '^version: 1.0.1$' "$T/p101/product.yaml" || die "could not make the 1.0.1 product"
pkgdeb() { # OUT PRODUCT
    "$CONSIGN" pkg deb --product "$2" --out "$1" \
        --define "EXAMPLE_AGENT_BUILD=$EXAMPLE_AGENT_BUILD" >"$1.log" 2>&1
}
keygen() { # DIR NAME
    "$CONSIGN" keys generate --keydir "$1" --name "$2" --email repo@example.com \
        >"$1.log" 2>&1
}
b100=0 b101=0 k1=0 k2=0
pkgdeb "$T/d100" "$SRC/examples/agent/product.yaml" &
p1=$!
pkgdeb "$T/d101" "$T/p101/product.yaml" &
p2=$!
keygen "$T/k" "consign e2e apt repository" || k1=$?
keygen "$T/k2" "consign e2e another key" || k2=$?
wait "$p1" || b100=$?
wait "$p2" || b101=$?
[ "$b100" -eq 0 ] || die "consign pkg deb (1.0.0) failed" "$(tail -n 5 "$T/d100.log")"
[ "$b101" -eq 0 ] || die "consign pkg deb (1.0.1) failed" "$(tail -n 5 "$T/d101.log")"
if [ "$k1" -ne 0 ] || [ "$k2" -ne 0 ]; then
    die "consign keys generate failed" "$(cat "$T/k.log" "$T/k2.log")"
fi
A100=$T/d100/${NAME}_1.0.0-1_amd64.deb
R100=$T/d100/${RT}_1.0.0-1_amd64.deb
A101=$T/d101/${NAME}_1.0.1-1_amd64.deb
R101=$T/d101/${RT}_1.0.1-1_amd64.deb
for f in "$A100" "$R100" "$A101" "$R101"; do
    [ -f "$f" ] || die "consign pkg deb did not write ${f#"$T"/}"
done
fpr=$("$CONSIGN" keys fingerprint --keydir "$T/k" --raw | tr -d ' ' | tr 'a-f' 'A-F')
ok "1.0.0 and 1.0.1 packages, two keys"

# --- the web server ----------------------------------------------------------------------
# Every repository of this test lies under $T/www, served at $HTTPD_URL.
W=$T/www
mkdir -p "$W"
httpd_start "$W" 2>"$T/httpd.err" || die "nginx does not start" "$(cat "$T/httpd.err")"
ok "nginx serves $W at $HTTPD_URL"

# repo ROOT COMMAND ARGS...: consign repo apt COMMAND --root ROOT ARGS...
repo() {
    local root=$1 cmd=$2
    shift 2
    "$CONSIGN" repo apt "$cmd" --root "$root" "$@"
}
# publish ROOT KEYDIR [ARGS...]: with the URL and name customers get.
publish() {
    local root=$1 keydir=$2
    shift 2
    repo "$root" publish --keydir "$keydir" --url "$HTTPD_URL/${root#"$W"/}" --name "$REPO" "$@"
}
suite_args=()
for s in bullseye bookworm trixie; do
    suite_args+=(--suite "$s")
done

# --- 1. the repository ---------------------------------------------------------------------
G=$W/good
for s in bullseye bookworm trixie; do
    check "repo apt add 1.0.0 ($s)" repo "$G" add --suite "$s" "$A100" "$R100"
    check "repo apt add 1.0.1 ($s)" repo "$G" add --suite "$s" "$A101" "$R101"
done
# The good repository is published at a fixed time (SOURCE_DATE_EPOCH, a
# minute ago), so that publishing it again with nothing changed must give
# the same bytes; without it, each publish refreshes Date and Valid-Until.
export SOURCE_DATE_EPOCH=$(($(date +%s) - 60))
check "repo apt publish (origin, label, valid for $VALID days, SHA512)" \
    publish "$G" "$T/k" "${suite_args[@]}" --origin "$ORIGIN" --label "$LABEL" \
    --valid-for "$VALID" --sha512
[ -f "$G/dists/bookworm/InRelease" ] || die "publish wrote no dists/bookworm/InRelease" \
    "$(cd "$G" && find . -maxdepth 4 | head -n 30)"
# names_all OUTPUT: both packages, both versions (whatever the layout of the list).
names_all() {
    grep -q "$NAME" <<<"$1" && grep -q "$RT" <<<"$1" && grep -q '1\.0\.0-1' <<<"$1" &&
        grep -q '1\.0\.1-1' <<<"$1"
}
check "repo apt list names the 3 suites" \
    bash -c "out=\$('$CONSIGN' repo apt list --root '$G') && grep -q bullseye <<<\"\$out\" &&
             grep -q bookworm <<<\"\$out\" && grep -q trixie <<<\"\$out\""
for s in bullseye bookworm trixie; do
    check "repo apt list --suite $s: both packages, both versions" \
        names_all "$(repo "$G" list --suite "$s" 2>&1)"
done
check "the pool: pool/main/e/NAME/NAME_VERSION_ARCH.deb, byte for byte the package" \
    cmp "$A101" "$G/pool/main/e/$NAME/${NAME}_1.0.1-1_amd64.deb"
for f in "$REPO.gpg" "$REPO.asc" "$REPO.fingerprint" "$REPO-bookworm.sources" "$REPO-bookworm.list"; do
    check "the customer file $f is published" test -s "$G/$f"
done
check "$REPO.fingerprint is the key's fingerprint" \
    test "$(tr -d ' \n' <"$G/$REPO.fingerprint" | tr 'a-f' 'A-F')" = "$fpr"
# A root with several suites gets one NAME-SUITE.sources and .list per suite.
for s in bullseye bookworm trixie; do
    check_out "$REPO-$s.sources: URIs is the URL" "^URIs: $HTTPD_URL/good/?$" cat "$G/$REPO-$s.sources"
    check_out "$REPO-$s.sources: Suites: $s" "^Suites: $s$" cat "$G/$REPO-$s.sources"
    check_out "$REPO-$s.sources: Signed-By /etc/apt/keyrings/$REPO.gpg" \
        "^Signed-By: /etc/apt/keyrings/$REPO\.gpg$" cat "$G/$REPO-$s.sources"
    check_out "$REPO-$s.sources: Components: main" "^Components: main$" cat "$G/$REPO-$s.sources"
    check_out "$REPO-$s.list: signed-by, the URL and the suite" \
        "^deb \[signed-by=/etc/apt/keyrings/$REPO\.gpg\] $HTTPD_URL/good/? $s main$" cat "$G/$REPO-$s.list"
done
check "no single-suite $REPO.sources in a root of three suites" test ! -e "$G/$REPO.sources"
mkdir -m 0700 "$T/gh"
check_out "$REPO.gpg is a binary keyring of exactly the key" "^fpr:+$fpr:" \
    gpg --homedir "$T/gh" --batch --with-colons --show-keys "$G/$REPO.gpg"
check "$REPO.gpg is binary (not armored)" bash -c "! grep -q 'BEGIN PGP' '$G/$REPO.gpg'"
check_out "$REPO.asc is the same key, armored" "^fpr:+$fpr:" \
    gpg --homedir "$T/gh" --batch --with-colons --show-keys "$G/$REPO.asc"

# matches STRING REGEX: STRING matches the extended REGEX.
matches() {
    [[ $1 =~ $2 ]]
}
# field FILE NAME: the value of a Release field.
field() {
    sed -n "s/^$2: //p" "$1"
}
# check_release SUITE: the fields, then every index listed and present.
check_release() {
    local s=$1 d=$G/dists/$1 rel date until archs comps c a f h sz want bad
    rel=$d/Release
    check "$s: Origin, Label, Suite, Codename" \
        test "$(field "$rel" Origin)|$(field "$rel" Label)|$(field "$rel" Suite)|$(field "$rel" Codename)" = \
        "$ORIGIN|$LABEL|$s|$s"
    date=$(field "$rel" Date)
    until=$(field "$rel" Valid-Until)
    check "$s: Date in RFC 2822 form, UTC, ending +0000 ($date)" matches "$date" \
        '^[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} \+0000$'
    check "$s: Valid-Until is Date + $VALID days ($until)" \
        test "$(($(date -d "$until" +%s) - $(date -d "$date" +%s)))" -eq $((VALID * 86400))
    check "$s: Date is now, give or take a minute" \
        test "$(($(date +%s) - $(date -d "$date" +%s)))" -lt 120 -a \
        "$(($(date -d "$date" +%s) - $(date +%s)))" -lt 60
    check "$s: Acquire-By-Hash: yes" test "$(field "$rel" Acquire-By-Hash)" = yes
    archs=$(field "$rel" Architectures)
    comps=$(field "$rel" Components)
    check "$s: Architectures has amd64 ($archs), Components is main ($comps)" \
        matches "$archs|$comps" '(^| )amd64( .*)?\|main$'
    bad=
    for c in $comps; do
        for a in $archs; do
            for f in Packages Packages.gz Packages.xz; do
                f=$c/binary-$a/$f
                for h in SHA256 SHA512; do
                    # The line under the "SHA256:" or "SHA512:" heading naming f.
                    want=$(awk -v h="$h:" -v f="$f" '/^[^ ]/ { in_h = ($1 == h) }
                        in_h && /^ / && $3 == f { print $1, $2 }' "$rel")
                    sz=$(stat -c %s "$d/$f" 2>/dev/null || echo missing)
                    if [ "$want" != "$(${h,,}sum <"$d/$f" 2>/dev/null | cut -d' ' -f1) $sz" ]; then
                        bad="$bad $h:$f"
                    elif ! cmp -s "$d/$f" "$d/${f%/*}/by-hash/$h/${want%% *}"; then
                        bad="$bad by-hash/$h:$f"
                    fi
                done
            done
        done
    done
    check "$s: SHA256 and SHA512 list Packages, .gz, .xz of every component and architecture, right, and by-hash has them${bad:+ (wrong:$bad)}" \
        test -z "$bad"
    check "$s: no MD5Sum or SHA1 section" test -z "$(grep -E '^(MD5Sum|SHA1):' "$rel")"
    check "$s: Packages.gz and Packages.xz decompress to Packages" bash -c \
        "cd '$d/main/binary-amd64' && gzip -dc Packages.gz | cmp - Packages && xz -dc Packages.xz | cmp - Packages"
    check "$s: Packages has both versions of both packages, with SHA256 and SHA512" \
        test "$(grep -c '^Package: ' "$d/main/binary-amd64/Packages")|$(grep -c '^SHA256: ' "$d/main/binary-amd64/Packages")|$(grep -c '^SHA512: ' "$d/main/binary-amd64/Packages")" = "4|4|4"
    check_out "$s: gpgv verifies InRelease with $REPO.gpg" "Good signature" \
        gpgv --homedir "$T/gh" --keyring "$G/$REPO.gpg" "$d/InRelease"
    check_out "$s: gpgv verifies Release.gpg over Release with $REPO.gpg" "Good signature" \
        gpgv --homedir "$T/gh" --keyring "$G/$REPO.gpg" "$d/Release.gpg" "$rel"
    check "$s: InRelease carries Release, word for word" \
        cmp <(gpg --homedir "$T/gh" --batch --decrypt "$d/InRelease" 2>/dev/null) "$rel"
}
for s in bullseye bookworm trixie; do
    check_release "$s"
done
check_fail "gpgv with the other key's keyring refuses InRelease" "No public key|public key not found" \
    bash -c "'$CONSIGN' keys export --keydir '$T/k2' --format apt --out '$T/k2.gpg' &&
             gpgv --homedir '$T/gh' --keyring '$T/k2.gpg' '$G/dists/bookworm/InRelease'"

# snapshot ROOT: every served file (symbolic links followed) with its SHA256.
snapshot() {
    (cd "$1" && find -L . -path ./.consign -prune -o -type f -print | LC_ALL=C sort |
        xargs -d '\n' sha256sum)
}
snapshot "$G" >"$T/snap1"
sleep 1
check "a second publish with nothing changed succeeds" \
    publish "$G" "$T/k" "${suite_args[@]}" --origin "$ORIGIN" --label "$LABEL" \
    --valid-for "$VALID" --sha512
snapshot "$G" >"$T/snap2"
check "a second publish with nothing changed leaves every file as it was" \
    diff "$T/snap1" "$T/snap2"
unset SOURCE_DATE_EPOCH

# --- 2. the broken repositories ---------------------------------------------------------------
# Signed by another key (the customer has the good one).
X=$W/otherkey
for s in bullseye bookworm trixie; do
    check "another repository: add ($s)" repo "$X" add --suite "$s" "$A101" "$R101"
done
check "another repository: publish, signed by another key" publish "$X" "$T/k2" "${suite_args[@]}"
# Published 40 days ago, valid for 30.
E=$W/expired
for s in bullseye bookworm trixie; do
    check "an expired repository: add ($s)" repo "$E" add --suite "$s" "$A101" "$R101"
done
check "an expired repository: publish 40 days ago (SOURCE_DATE_EPOCH) for $VALID days" \
    env SOURCE_DATE_EPOCH=$(($(date +%s) - 40 * 86400)) \
    "$CONSIGN" repo apt publish --root "$E" --keydir "$T/k" --url "$HTTPD_URL/expired" --name "$REPO" \
    "${suite_args[@]}" --valid-for "$VALID"
check "the expired repository's Valid-Until is 10 days ago" \
    test "$(($(date +%s) - $(date -d "$(field "$E/dists/bookworm/Release" Valid-Until)" +%s)))" -ge $((9 * 86400))
# The good repository, copied, then every Packages file changed after signing,
# keeping its size (apt checks sizes first: "File has unexpected size"): the
# plain names and the by-hash names the signed Release lists.
P=$W/tampered
mkdir -p "$P"
cp -rL "$G/dists" "$G/pool" "$P/"
# tamper DIR: one letter of the agent's summary changed in Packages, and in
# Packages.gz and Packages.xz one byte in the middle flipped, so that each
# keeps its size and only its digest tells; 0 when done.
tamper() {
    local b=$1 z size
    sed -i 's/^\(Description: Example network agent for consig\)n$/\1N/' "$b/Packages"
    grep -q 'for consigN$' "$b/Packages" || return 1
    for z in gz xz; do
        size=$(stat -c %s "$b/Packages.$z")
        [ "$size" -gt 64 ] || return 1
        cp "$b/Packages.$z" "$T/alt"
        # XOR the middle byte with 0x55 (same size, other bytes).
        byte=$(od -An -tu1 -j $((size / 2)) -N1 "$T/alt" | tr -d ' ')
        printf "\\$(printf '%03o' $((byte ^ 0x55)))" |
            dd of="$T/alt" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
        cmp -s "$T/alt" "$b/Packages.$z" && return 1
        [ "$(stat -c %s "$T/alt")" = "$size" ] || return 1
        mv "$T/alt" "$b/Packages.$z"
    done
}
tampered=0
for s in bullseye bookworm trixie; do
    d=$P/dists/$s
    b=$d/main/binary-amd64
    tamper "$b" && tampered=$((tampered + 1))
    for f in Packages Packages.gz Packages.xz; do
        for h in SHA256 SHA512; do
            want=$(awk -v h="$h:" -v f="main/binary-amd64/$f" '/^[^ ]/ { in_h = ($1 == h) }
                in_h && /^ / && $3 == f { print $1 }' "$d/Release")
            cp "$b/$f" "$b/by-hash/$h/$want"
        done
    done
done
check "a same-size alteration of Packages, Packages.gz and Packages.xz in every suite" \
    test "$tampered" -eq 3
for s in bullseye bookworm trixie; do
    for f in "$REPO-$s.sources" "$REPO-$s.list"; do
        sed "s|$HTTPD_URL/good|$HTTPD_URL/tampered|" "$G/$f" >"$P/$f"
    done
done
check "the altered copy: Packages differs from what Release lists, InRelease unchanged" bash -c \
    "! cmp -s '$P/dists/bookworm/main/binary-amd64/Packages' '$G/dists/bookworm/main/binary-amd64/Packages' &&
     cmp '$P/dists/bookworm/InRelease' '$G/dists/bookworm/InRelease'"

# --- 3. the customers: Debian 11, 12, 13 -------------------------------------------------------
version_of() {
    # shellcheck disable=SC2016 # dpkg-query's own ${field} syntax
    in_root dpkg-query -W -f='${Version} ${db:Status-Abbrev}' "$1" 2>/dev/null
}
# apt_in LOG ARGS...: apt-get in the chroot $R, English messages, output in LOG.
apt_in() {
    local log=$1
    shift
    in_root env LC_ALL=C DEBIAN_FRONTEND=noninteractive apt-get "$@" >"$log" 2>&1
}
# apt_tee LOG ARGS...: apt_in, then the output on standard output too.
apt_tee() {
    local rc=0
    apt_in "$@" || rc=$?
    cat "$1"
    return "$rc"
}
# use_repo ROOT: the sources of the repository ROOT as published for the
# chroot's suite (NAME-SUITE.sources, or NAME-SUITE.list on bullseye) when
# ROOT has several suites, else NAME.sources / NAME.list with the chroot's
# suite put in; nothing else; no lists.
use_repo() {
    local root=$1 dst
    rm -f "$R/etc/apt/sources.list" "$R"/etc/apt/sources.list.d/*
    local base=$REPO
    [ -e "$root/$REPO-$suite.sources" ] && base=$REPO-$suite
    if [ "$suite" = bullseye ]; then
        dst=$R/etc/apt/sources.list.d/$REPO.list
        sed -E "s#^(deb (\[[^]]*\] )?[^ ]+ )[^ ]+#\1$suite#" "$root/$base.list" >"$dst"
    else
        dst=$R/etc/apt/sources.list.d/$REPO.sources
        sed "s/^Suites:.*/Suites: $suite/" "$root/$base.sources" >"$dst"
    fi
    chmod 0644 "$dst"
    find "$R/var/lib/apt/lists" -type f ! -name lock -delete
}
# update_clean LOG: apt-get update succeeds and says nothing of warnings or errors.
update_clean() {
    apt_in "$1" update && ! grep -Eq '^(W|E|Err|Warning|Error):' "$1"
}
# update_fails DESC REGEX: apt-get update fails (exit 100) saying REGEX; prints what it said.
update_fails() {
    local desc=$1 re=$2 rc=0
    apt_in "$T/upd.log" update || rc=$?
    if [ "$rc" -ne 0 ] && grep -Eq -- "$re" "$T/upd.log"; then
        ok "$desc"
        grep -E '^(W|E|Err|Warning|Error):' "$T/upd.log" | sed "s|$HTTPD_URL|URL|g; s/^/    # /"
    else
        not_ok "$desc" "exit $rc (want non-zero), want output matching: $re" "$(cat "$T/upd.log")"
    fi
}

# The runtime was cut from the build host's JDK: it runs only where glibc is as new.
glibc_needed=$(find "$EXAMPLE_AGENT_BUILD/runtime" -type f \( -name '*.so' -o -perm -u+x \) \
    -exec objdump -T {} + 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' |
    sort -V | tail -n 1 || true)

kill_test() {
    local K=$W/kill i=0 mid=0 early=0 bad=0 t0 t1 ms maxms pid want got op
    check "kill: repo apt add both versions" repo "$K" add --suite "$suite" "$A100" "$R100" "$A101" "$R101"
    check "kill: publish" publish "$K" "$T/k" --suite "$suite"
    # How long a publish takes: the longer of two, each after a change. The
    # kills land anywhere in a publish, the switch at its end included, and a
    # few just after it.
    ms=0
    for op in remove add; do
        if [ "$op" = remove ]; then
            repo "$K" remove --suite "$suite" "$NAME=1.0.0-1"
        else
            repo "$K" add --suite "$suite" "$A100"
        fi >/dev/null 2>&1 || true
        t0=$(date +%s%N)
        publish "$K" "$T/k" --suite "$suite" >/dev/null 2>&1 || true
        t1=$((($(date +%s%N) - t0) / 1000000))
        [ "$t1" -le "$ms" ] || ms=$t1
    done
    maxms=$((ms * 11 / 10 + 5))
    use_repo "$K"
    check "kill: apt-get update before any kill" update_clean "$T/kill-upd.log"
    # Until KILLS kills have hit a running publish: change the content (the
    # 1.0.0 agent out, then in again), publish in the background, SIGKILL its
    # process group after 0 to $maxms ms, then apt-get update.
    while [ "$mid" -lt "$KILLS" ] && [ "$i" -lt $((KILLS * 4)) ]; do
        i=$((i + 1))
        if [ $((i % 2)) -eq 0 ]; then
            timeout 60 "$CONSIGN" repo apt add --root "$K" --suite "$suite" "$A100" >"$T/kill-add.log" 2>&1
        else
            timeout 60 "$CONSIGN" repo apt remove --root "$K" --suite "$suite" "$NAME=1.0.0-1" \
                >"$T/kill-add.log" 2>&1
        fi || { bad=$((bad + 1)); not_ok "kill $i: add/remove after a kill" "$(cat "$T/kill-add.log")"; }
        setsid "$CONSIGN" repo apt publish --root "$K" --keydir "$T/k" --suite "$suite" \
            --url "$HTTPD_URL/kill" --name "$REPO" >"$T/kill-pub.log" 2>&1 </dev/null &
        pid=$!
        bgpid=$pid
        sleep "$(awk -v r="$RANDOM" -v n="$maxms" -v lo="$((i % 2 * ms * 7 / 10))" \
            'BEGIN { printf "%.3f", (lo + r / 32767 * (n - lo)) / 1000 }')"
        if kill -9 -- "-$pid" 2>/dev/null; then
            mid=$((mid + 1))
        else
            early=$((early + 1))
        fi
        wait "$pid" 2>/dev/null || true
        bgpid=
        if ! update_clean "$T/kill-upd.log"; then
            bad=$((bad + 1))
            not_ok "kill $i: apt-get update after the kill" "$(cat "$T/kill-upd.log")"
        fi
    done
    check "kill: $mid kills during a publish (after 0 to $maxms ms, every other one in its last third; a whole publish: $ms ms), $early publishes done before the kill, apt-get update clean after each" \
        test "$mid" -ge "$KILLS" -a "$bad" -eq 0
    check "kill: publish after the last kill" publish "$K" "$T/k" --suite "$suite"
    check "kill: apt-get update after it" update_clean "$T/kill-upd.log"
    # i even: 1.0.0 was added last, i odd: removed.
    want="1.0.1-1"
    [ $((i % 2)) -eq 0 ] && want="1.0.0-1 1.0.1-1"
    got=$(in_root apt-cache madison "$NAME" | awk '{print $3}' | sort -V | paste -sd' ')
    check "kill: apt sees what was published last ($want)" test "$got" = "$want"
}

for suite in $SUITES; do
    R=$T/root-$suite
    echo "# $suite"
    if ! bash "$SRC/tests/lib/chroot.sh" "$CACHE" "$suite" "$R" >"$T/chroot.log" 2>&1; then
        not_ok "$suite: chroot" "$(tail -n 20 "$T/chroot.log")"
        continue
    fi
    # shellcheck disable=SC2016 # dpkg-query's own ${field} syntax
    aptv=$(in_root dpkg-query -W -f='${Version}' apt)
    # What a customer's system has: /proc (the JVM resolves $ORIGIN with it) and
    # /dev/pts (apt logs dpkg's terminal through a pty; without it: "E: Can not
    # write log (Is /dev/pts mounted?)"), a devpts instance of its own.
    mount -t proc proc "$R/proc"
    mounts+=("$R/proc")
    mkdir -p "$R/dev/pts"
    mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$R/dev/pts"
    mounts+=("$R/dev/pts")
    mkdir -p "$R/etc/apt/keyrings"
    install -m 0644 "$G/$REPO.gpg" "$R/etc/apt/keyrings/$REPO.gpg"

    use_repo "$G"
    : >"$HTTPD_LOG"
    check "$suite: apt $aptv: apt-get update, no warning, no error" update_clean "$T/upd.log"
    sed "s|$HTTPD_URL|URL|g; s/^/    # /" "$T/upd.log"
    check "$suite: apt fetched the indexes by hash" grep -q 'GET /good/dists/.*/by-hash/SHA' "$HTTPD_LOG"
    check "$suite: apt-cache madison: 1.0.0-1 and 1.0.1-1" \
        test "$(in_root apt-cache madison "$NAME" | awk '{print $3}' | sort -V | paste -sd' ')" = \
        "1.0.0-1 1.0.1-1"
    check_out "$suite: apt-get install -y $NAME: the agent and its runtime, 1.0.1-1" \
        "Setting up $NAME \(1\.0\.1-1\)" apt_tee "$T/inst.log" install -y "$NAME"
    check "$suite: both installed, 1.0.1-1, from the repository" \
        test "$(version_of $NAME)|$(version_of $RT)" = "1.0.1-1 ii |1.0.1-1 ii "
    check "$suite: no warning or error while installing" \
        bash -c "! grep -Eq '^(W|E|Warning|Error):' '$T/inst.log'"
    check "$suite: the postinst ran (/var/opt/$NAME/logs)" test -d "$R/var/opt/$NAME/logs"
    check "$suite: apt-get install the older version, 1.0.0-1, downgrading" \
        apt_in "$T/inst.log" install -y --allow-downgrades "$NAME=1.0.0-1" "$RT=1.0.0-1"
    check "$suite: both 1.0.0-1" test "$(version_of $NAME)|$(version_of $RT)" = "1.0.0-1 ii |1.0.0-1 ii "
    if [ "$suite" != bullseye ]; then
        check_out "$suite: the runtime from the repository runs (java -version)" "version" \
            in_root "/opt/$NAME/jre/bin/java" -version
    else
        skip "$suite: java -version (the example runtime needs glibc $glibc_needed)"
    fi
    echo "token=tok-apt" >"$R/var/opt/$NAME/conf/secrets.conf"
    check "$suite: apt-get remove $NAME" apt_in "$T/rm.log" remove -y "$NAME"
    check "$suite: remove: the program files and the unit gone; /var/opt/$NAME and the conffiles kept" \
        bash -c "[ ! -e '$R/opt/$NAME/bin' ] && ! chroot '$R' test -e /lib/systemd/system/$NAME.service &&
                 grep -qx token=tok-apt '$R/var/opt/$NAME/conf/secrets.conf' &&
                 [ -f '$R/etc/opt/$NAME/start-agent.ini' ]"
    check "$suite: apt-get purge $NAME $RT" apt_in "$T/rm.log" purge -y "$NAME" "$RT"
    check "$suite: purge: /var/opt/$NAME, /etc/opt/$NAME, the init script and the logrotate file gone" \
        bash -c "[ ! -e '$R/var/opt/$NAME' ] && [ ! -e '$R/etc/opt/$NAME' ] &&
                 [ ! -e '$R/etc/init.d/$NAME' ] && [ ! -e '$R/etc/logrotate.d/$NAME' ] &&
                 [ ! -e '$R/opt/$NAME' ]"

    use_repo "$X"
    update_fails "$suite: apt $aptv refuses the repository signed by another key" \
        "NO_PUBKEY ${fpr: -16}|Missing key $fpr|is not signed"
    check_out "$suite: ... and says which key is missing" "NO_PUBKEY|Missing key" cat "$T/upd.log"
    use_repo "$E"
    update_fails "$suite: apt $aptv refuses the expired Release" \
        "Release file for .* is expired \(invalid since"
    use_repo "$P"
    update_fails "$suite: apt $aptv refuses a Packages file altered after signing" \
        "Hash Sum mismatch"
    if [ "$suite" = "$KILL_SUITE" ]; then
        kill_test
    fi
    umount "$R/dev/pts" "$R/proc" && unset 'mounts[-1]' && unset 'mounts[-1]'
    rm -rf --one-file-system "$R"
done

summary
