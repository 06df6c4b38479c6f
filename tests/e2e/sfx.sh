#!/usr/bin/env bash
# shellcheck disable=SC2015 # "A && B || { echo why; return 1; }": the echo does not fail
# End to end: the self-extracting installer (consign sfx build, the stub).
#
#  1. build: the example agent 1.0.0 and 1.0.1 (.bin, zstd level 3) signed by
#     an Ed25519 key, 1.0.1 also by an RSA 4096 key; two builds with the same
#     SOURCE_DATE_EPOCH are byte-for-byte the same
#  2. the stub is static (file, ldd) and the .bin starts with it
#  5. unattended installs under --root: layout, settings, modes, the launcher
#     and the runtime, the ways to give the token (file, option, environment,
#     response file), --list --info --check --target --noexec --help, a
#     non-root run refused
#  3. a tamper matrix: one byte flipped at a time, over 200 positions in the
#     stub, the payload and the trailer; each copy must fail with a message
#     and leave a previous install exactly as it was
#  4. hostile payloads (tests/lib/rawtar.c) refused, nothing written outside
#  6. upgrade 1.0.0 -> 1.0.1 keeps the settings; another signer is refused
#     unless --trust-new-key; NAME-config
#  7. kill -9 at random moments of an install and of an upgrade
#     ($CONSIGN_SFX_KILLS each, default 20)
#  8. NAME-uninstall and --uninstall --purge
#  9. an empty chroot (only the .bin and a token: no /proc, /dev, /bin/sh)
# 10. a Debian 11 chroot (glibc 2.31), as root, without --root
# 11. the interactive install in a terminal (tmux), and a declined license
# and last: no token or password in any output.
#
# Usage: sfx.sh BUILD_DIR SOURCE_DIR
# Needs root (chroot, mount), tmux, setpriv, file; mmdebstrap for 10. The
# agent's jar and runtime come from $EXAMPLE_AGENT_BUILD, else
# BUILD_DIR/examples/agent, else the CONSIGN_EXAMPLE_AGENT_DIR of the cache.
# Chroots are cached in $CONSIGN_CHROOT_CACHE, else BUILD_DIR/chroots.
# CONSIGN_SFX_SEED fixes the random kill moments, CONSIGN_KEEP_TMP=1 keeps the
# scratch directory. In a sanitizer build the stub is dynamically linked: the
# static checks and the chroot runs (9, 10) are skipped, said so.
set -euo pipefail

# shellcheck source=tests/lib/testlib.sh
. "$(dirname "$0")/../lib/testlib.sh"
e2e_args "$@"
CACHE=${CONSIGN_CHROOT_CACHE:-$BUILD/chroots}
NAME=example-agent
SDE=1700000000
KILLS=${CONSIGN_SFX_KILLS:-20}
SEED=${CONSIGN_SFX_SEED:-$$}
RANDOM=$SEED
STUB=$BUILD/selfextract/consign-stub
RAWTAR=$BUILD/tests/rawtar
unset EXAMPLE_AGENT_TOKEN EXAMPLE_AGENT_PROXY_PASSWORD SOURCE_DATE_EPOCH

passed=0
failed=0
# Short: the key directories' gpg-agent sockets must fit in sun_path.
T=$(mktemp -d /tmp/consign-sfx.XXXXXX)
PUB=
TMUX_SOCK=consign-sfx-$$
bgpid=
started=$SECONDS

# Processes whose root directory is DIR (a chroot of this test).
procs_in() {
    local p
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$1" ] && echo "${p#/proc/}"
    done
    return 0
}
cleanup() {
    local d p
    [ -z "$bgpid" ] || kill -9 "$bgpid" 2>/dev/null || true
    tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
    rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$TMUX_SOCK"
    for d in "$T/bullseye" "$T/empty"; do
        for p in $(procs_in "$d"); do
            kill -9 "$p" 2>/dev/null || true
        done
    done
    for d in "$T"/k*/gnupg; do
        [ -d "$d" ] && gpgconf --homedir "$d" --kill gpg-agent >/dev/null 2>&1
    done
    [ -z "$PUB" ] || rm -rf "$PUB"
    remove_scratch
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }
ms_to_s() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
section() { echo "# $* (at $((SECONDS - started)) s)"; }

# sx LABEL CMD...: run CMD without input; stdout in $T/o, stderr in $T/e,
# the exit status in $rc. Everything any run prints is also kept in
# $T/all-output, searched for secrets at the end.
sx() {
    local label=$1
    shift
    rc=0
    "$@" >"$T/o" 2>"$T/e" </dev/null || rc=$?
    { echo "### $label (exit $rc)"; cat "$T/o" "$T/e"; } >>"$T/all-output"
}
# expect DESC WANT_RC [REGEX]: the last sx ended with WANT_RC ("!0": any
# failure) and, when given, its stdout or stderr matches REGEX.
expect() {
    local desc=$1 want=$2 re=${3:-} good=1
    if [ "$want" = '!0' ]; then
        [ "$rc" -ne 0 ] || good=0
    else
        [ "$rc" -eq "$want" ] || good=0
    fi
    if [ -n "$re" ] && ! grep -Eq -- "$re" "$T/o" "$T/e"; then
        good=0
    fi
    if [ "$good" = 1 ]; then
        ok "$desc"
    else
        not_ok "$desc" "exit $rc (want $want)${re:+, want output matching: $re}" \
            "stdout: $(tail -n 8 "$T/o")" "stderr: $(tail -n 8 "$T/e")"
    fi
}

# snap DIR: its tree as the issue asks (path, type, mode, size, link target,
# plus owner), then the SHA-256 of every regular file.
snap() {
    (
        cd "$1" &&
            find . -printf '%p %y %m %s %l %U:%G\n' | LC_ALL=C sort &&
            find . -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum
    )
}
# snap_times DIR: the tree with modification and change times (any write to
# a file or a directory changes them): cheap enough to take after every run.
# The staging of an install lives in opt/NAME/versions/: an installer refused
# halfway through its one pass removes it again, and that directory's change
# time is the only trace (its other times are put back).
snap_times() {
    (cd "$1" && find . -printf '%p %y %m %s %l %U:%G %T@ %C@\n' | LC_ALL=C sort |
        sed "s|^\(\./opt/$NAME/versions d .*\) [0-9.]*\$|\1 -|")
}
# same_tree DIR SNAPSHOT_FILE: DIR is as the snapshot says (diff on failure).
same_tree() {
    snap "$1" >"$T/snap.now" && diff "$2" "$T/snap.now" | head -n 20 && cmp -s "$2" "$T/snap.now"
}

conf() { # ROOT FILE KEY: the value of KEY in ROOT's agent.conf or secrets.conf
    sed -n "s/^$3=//p" "$1/var/opt/$NAME/conf/$2"
}

# layout ROOT VERSION [again]: the install layout of the issue, with VERSION
# current; "again": a reinstall of the current version may be in versions/V~N.
layout() {
    local r=$1 v=$2 o=$1/opt/$NAME e cur
    cur=$(readlink "$o/current" || true)
    case $cur in
    "versions/$v") ;;
    "versions/$v~"[0-9]*) [ -n "${3:-}" ] || { echo "current -> $cur"; return 1; } ;;
    *) echo "current -> $cur"; return 1 ;;
    esac
    [ -d "$o/$cur" ] && [ ! -L "$o/$cur" ] || { echo "no directory $cur"; return 1; }
    [ "$(cat "$o/current/.version")" = "$v" ] || { echo ".version: $(cat "$o/current/.version")"; return 1; }
    for e in bin lib jre; do
        [ "$(readlink "$o/$e")" = "current/$e" ] || { echo "$e -> $(readlink "$o/$e")"; return 1; }
    done
    for e in config uninstall; do
        [ "$(readlink "$o/$NAME-$e")" = "current/bin/$NAME-$e" ] && [ -x "$o/$NAME-$e" ] ||
            { echo "$NAME-$e: $(ls -l "$o/$NAME-$e" 2>&1)"; return 1; }
    done
    [ -f "$o/lib/agent.jar" ] && [ -x "$o/bin/$NAME-launch" ] && [ -x "$o/jre/bin/java" ] ||
        { echo "jar, launcher or java missing"; return 1; }
    [ "$(stat -c '%a %U' "$r/etc/systemd/system/$NAME.service")" = "644 root" ] ||
        { echo "unit: $(ls -l "$r/etc/systemd/system/$NAME.service" 2>&1)"; return 1; }
    [ "$(stat -c '%a %U' "$r/etc/init.d/$NAME")" = "755 root" ] ||
        { echo "init script: $(ls -l "$r/etc/init.d/$NAME" 2>&1)"; return 1; }
    [ -f "$r/etc/opt/$NAME/start-agent.ini" ] || { echo "no start-agent.ini"; return 1; }
    [ -d "$r/var/opt/$NAME/logs" ] || { echo "no logs directory"; return 1; }
    [ "$(stat -c '%a %U' "$r/var/opt/$NAME/conf/agent.conf")" = "640 root" ] ||
        { echo "agent.conf: $(ls -l "$r/var/opt/$NAME/conf/agent.conf" 2>&1)"; return 1; }
    [ "$(stat -c '%a %U' "$r/var/opt/$NAME/conf/secrets.conf")" = "600 root" ] ||
        { echo "secrets.conf: $(ls -l "$r/var/opt/$NAME/conf/secrets.conf" 2>&1)"; return 1; }
}
# runs ROOT: the installed launcher and runtime work from ROOT.
runs() {
    local r=$1 out
    out=$("$r/opt/$NAME/bin/$NAME-launch" --root "$r" --print 2>&1) || true
    [ "${out%%$'\n'*}" = "$r/opt/$NAME/jre/bin/java" ] && grep -qx "$r/opt/$NAME/lib/agent.jar" <<<"$out" ||
        { echo "launcher --print: $(head -n 3 <<<"$out")"; return 1; }
    out=$("$r/opt/$NAME/jre/bin/java" -version 2>&1) || true
    grep -q 'version' <<<"$out" || { echo "java -version: $(head -n 3 <<<"$out")"; return 1; }
}

# --- prerequisites -------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "sfx.sh needs root (chroot, mount)"
for tool in tmux setpriv file ldd cmp od dd timeout sha256sum chroot; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
[ -x "$CONSIGN" ] || die "$CONSIGN is missing; build first"
"$CONSIGN" sfx build --help >/dev/null 2>&1 || die "$CONSIGN has no 'sfx build' command"
[ -x "$STUB" ] || die "$STUB is missing; build first"
[ -x "$RAWTAR" ] || die "$RAWTAR is missing; build first"
find_example_agent
SANITIZE=$(sed -n 's/^CONSIGN_SANITIZE:BOOL=//p' "$BUILD/CMakeCache.txt" 2>/dev/null || true)
echo "# random seed $SEED (CONSIGN_SFX_SEED), $KILLS kills each (CONSIGN_SFX_KILLS)"

# Secrets: each must never show in any output.
rnd() { od -An -tx1 -N8 /dev/urandom | tr -d ' \n'; }
TOK_FILE=tokf-$(rnd)
TOK_CLI=tokc-$(rnd)
TOK_ENV=toke-$(rnd)
TOK_TTY=tokt-$(rnd)
TOK_CHROOT=tokx-$(rnd)
PW_FILE=pwf-$(rnd)
PW_ENV=pwe-$(rnd)
PW_TTY=pwt-$(rnd)
TOKF=$T/token
PWF=$T/proxy-password
printf '%s\n' "$TOK_FILE" >"$TOKF"
printf '%s\n' "$PW_FILE" >"$PWF"
chmod 600 "$TOKF" "$PWF"

# =============================================================================
section "1. build"
copy_example "$T/copy100"
copy_example "$T/p101"
sed -i 's/^version: 1\.0\.0$/version: 1.0.1/' "$T/p101/product.yaml"
grep -q '^version: 1.0.1$' "$T/p101/product.yaml" || die "could not make the 1.0.1 product"
echo "# added in 1.0.1" >>"$T/p101/start-agent.ini"
# 1.0.1's license is long enough to need the pager (two pages in 30 rows).
for i in $(seq 1 70); do
    echo "$((i + 3)). Clause $i of the longer 1.0.1 license, one line each."
done >>"$T/p101/EULA.txt"

keygen() { # DIR ALGO NAME
    "$CONSIGN" keys generate --keydir "$1" --algo "$2" --name "$3" --email sfx@example.com \
        >"$1.log" 2>&1
}
sfxbuild() { # OUT PRODUCT KEYDIR [ARGS...]
    local out=$1 product=$2 keydir=$3
    shift 3
    "$CONSIGN" sfx build --product "$product" --keydir "$keydir" --out "$out" --level 3 \
        --define "EXAMPLE_AGENT_BUILD=$EXAMPLE_AGENT_BUILD" "$@" >"$out.log" 2>&1
}
# The RSA key (seconds) is made beside the builds.
(
    t=$(now_ms)
    keygen "$T/k2" rsa4096 "consign e2e sfx, another key"
    echo $(($(now_ms) - t)) >"$T/k2.ms"
) &
bgpid=$!
keygen "$T/k1" ed25519 "consign e2e sfx" || die "consign keys generate (ed25519) failed" "$(cat "$T/k1.log")"
K1=$("$CONSIGN" keys fingerprint --keydir "$T/k1" --raw | tr -d ' ' | tr 'a-f' 'A-F')
A100=$T/a100.bin
A100B=$T/a100b.bin
A101=$T/a101.bin
A101K2=$T/a101k2.bin
SOURCE_DATE_EPOCH=$SDE sfxbuild "$A100" "$SRC/examples/agent/product.yaml" "$T/k1" ||
    die "consign sfx build 1.0.0 failed" "$(cat "$A100.log")"
# The second build: a second later, from another directory, on one thread.
sleep 1
SOURCE_DATE_EPOCH=$SDE sfxbuild "$A100B" "$T/copy100/product.yaml" "$T/k1" --threads 1 ||
    die "consign sfx build 1.0.0 (again) failed" "$(cat "$A100B.log")"
sfxbuild "$A101" "$T/p101/product.yaml" "$T/k1" || die "consign sfx build 1.0.1 failed" "$(cat "$A101.log")"
k2rc=0
wait "$bgpid" || k2rc=$?
bgpid=
[ "$k2rc" -eq 0 ] || die "consign keys generate --algo rsa4096 failed" "$(cat "$T/k2.log")"
echo "    (rsa4096 key generated in $(ms_to_s "$(cat "$T/k2.ms")") s, beside the builds)"
K2=$("$CONSIGN" keys fingerprint --keydir "$T/k2" --raw | tr -d ' ' | tr 'a-f' 'A-F')
sfxbuild "$A101K2" "$T/p101/product.yaml" "$T/k2" || die "consign sfx build 1.0.1 (RSA key) failed" "$(cat "$A101K2.log")"
check "builds: 1.0.0, 1.0.1 (Ed25519 key), 1.0.1 (RSA 4096 key), mode 0755" bash -c \
    "for f in '$A100' '$A101' '$A101K2'; do test \"\$(stat -c %a \"\$f\")\" = 755 || exit 1; done"
check "SOURCE_DATE_EPOCH: two builds byte-for-byte the same (other directory, later, 1 thread)" \
    cmp "$A100" "$A100B"
sx "info 1.0.0" "$A100" --info
expect "--info: product, version 1.0.0-1" 0 '^Version: +1\.0\.0-1$'
cp "$T/o" "$T/info100"
sx "info 1.0.1 rsa" "$A101K2" --info
expect "--info of the RSA-signed 1.0.1: version 1.0.1-1, verified" 0 '^Version: +1\.0\.1-1$'
grouped() { sed 's/\(....\)/\1 /g; s/ $//; s/^\(\(.... \)\{4\}....\) /\1  /' <<<"$1"; }
check_out "--info names the signer (the Ed25519 key)" "^Signer: +$(grouped "$K1")\$" cat "$T/info100"
check_out "--info of 1.0.1 names the RSA key" "^Signer: +$(grouped "$K2")\$" cat "$T/o"

# The layout of the file, from --info and the footer.
SIZE=$(stat -c %s "$A100")
STUB_SZ=$(sed -n 's/^Sizes: *stub \([0-9]*\), payload \([0-9]*\) compressed.*/\1/p' "$T/info100")
PAY_SZ=$(sed -n 's/^Sizes: *stub \([0-9]*\), payload \([0-9]*\) compressed.*/\2/p' "$T/info100")
ENTRIES=$(sed -n 's/^Sizes: .*, \([0-9]*\) entries$/\1/p' "$T/info100")
[ -n "$STUB_SZ" ] && [ -n "$PAY_SZ" ] && [ -n "$ENTRIES" ] || die "--info gives no sizes" "$(cat "$T/info100")"
read -r MLEN SIGLEN KEYLEN < <(tail -c 32 "$A100" | od -An -tu4 -j8 -N12)
M_OFF=$((SIZE - 32 - KEYLEN - SIGLEN - MLEN))
INFO_OFF=$((STUB_SZ + PAY_SZ))
check "footer: magic CSFXEND1, M of 160 bytes, the file's size" bash -c \
    "test \"\$(tail -c 32 '$A100' | head -c 8)\" = CSFXEND1 && test $MLEN = 160 &&
     test \"\$(tail -c 12 '$A100' | od -An -tu8 -N8 | tr -d ' ')\" = $SIZE"
check "layout: info block between payload and M ($((M_OFF - INFO_OFF)) bytes)" \
    test "$M_OFF" -gt "$INFO_OFF"
echo "    (stub $STUB_SZ, payload $PAY_SZ, info $((M_OFF - INFO_OFF)), M $MLEN, signature $SIGLEN, key $KEYLEN, footer 32: $SIZE bytes)"

# =============================================================================
section "2. a static stub"
STATIC=0
stub_file=$(file -b "$STUB")
if grep -Eq 'statically linked|static-pie linked' <<<"$stub_file"; then
    STATIC=1
fi
if [ "$SANITIZE" = ON ] && [ "$STATIC" = 0 ]; then
    skip "static stub: a sanitizer build links it dynamically ($(cut -d, -f1-4 <<<"$stub_file"))"
    skip "chroot runs (9, 10): they need the static stub"
else
    check_out "file: consign-stub is statically linked" 'statically linked|static-pie linked' file -b "$STUB"
    check "ldd: consign-stub is not a dynamic executable" bash -c \
        "{ ldd '$STUB' 2>&1 || true; } | grep -q 'not a dynamic executable'"
fi
check "the .bin's stub is the built consign-stub ($STUB_SZ bytes, cmp)" bash -c \
    "test \$(stat -c %s '$STUB') = $STUB_SZ && cmp -n $STUB_SZ '$STUB' '$A100'"

# =============================================================================
section "5. unattended installs under --root"
SAND=$T/sand
R=$SAND/r
mkdir -p "$SAND" "$T/roots"
echo "canary $SEED" >"$SAND/canary"
t0=$(now_ms)
sx "install R" "$A100" --root "$R" --accept-eula --token-file "$TOKF" --proxy-host proxy.example.com \
    --proxy-port 8080 --proxy-user alice --proxy-password-file "$PWF" --auto-update no \
    --save-response "$T/response" --quiet
INSTALL_MS=$(($(now_ms) - t0))
expect "install --root --accept-eula --token-file --quiet: exit 0 ($INSTALL_MS ms)" 0
# timed ROOT_VAR_NAME CMD...: sx, and INSTALL_MS becomes the longest install.
timed() {
    local t
    t=$(now_ms)
    sx "$@"
    t=$(($(now_ms) - t))
    [ "$t" -le "$INSTALL_MS" ] || INSTALL_MS=$t
}
[ "$rc" -eq 0 ] || die "the first install failed: nothing else can be checked"
check "--quiet: nothing on stdout" test ! -s "$T/o"
check "layout: /opt/$NAME/versions/1.0.0-1, current, bin lib jre, tools, unit, init script, conf modes" \
    layout "$R" 1.0.0-1
check "agent.conf: auto_update=no, a 32-hex agent_id, the proxy" bash -c \
    "grep -qx 'auto_update=no' '$R/var/opt/$NAME/conf/agent.conf' &&
     grep -Eqx 'agent_id=[0-9a-f]{32}' '$R/var/opt/$NAME/conf/agent.conf' &&
     grep -qx 'proxy_host=proxy.example.com' '$R/var/opt/$NAME/conf/agent.conf' &&
     grep -qx 'proxy_port=8080' '$R/var/opt/$NAME/conf/agent.conf' &&
     grep -qx 'proxy_user=alice' '$R/var/opt/$NAME/conf/agent.conf'"
check "secrets.conf (0600 root): the token and the proxy password" bash -c \
    "test \"\$(sed -n 's/^token=//p' '$R/var/opt/$NAME/conf/secrets.conf')\" = '$TOK_FILE' &&
     test \"\$(sed -n 's/^proxy_password=//p' '$R/var/opt/$NAME/conf/secrets.conf')\" = '$PW_FILE'"
check "agent.conf holds no secret" bash -c \
    "! grep -Fq -e '$TOK_FILE' -e '$PW_FILE' '$R/var/opt/$NAME/conf/agent.conf'"
check "conf/ and logs/ are 0750" bash -c \
    "test \"\$(stat -c %a '$R/var/opt/$NAME/conf') \$(stat -c %a '$R/var/opt/$NAME/logs')\" = '750 750'"
check "trusted-keys: the signer's fingerprint" grep -qx "$K1" "$R/var/opt/$NAME/conf/trusted-keys"
check "the launcher (--root R --print) and java -version run from R" runs "$R"
check "the installed tools are the agent tool (not the stub)" \
    cmp "$BUILD/agenttools/consign-target" "$R/opt/$NAME/bin/consign-target"
check "/opt/NAME/{NAME-config,NAME-update,NAME-uninstall,uninstall} link to it" bash -c \
    "for t in $NAME-config $NAME-update $NAME-uninstall uninstall; do
       cmp '$BUILD/agenttools/consign-target' '$R/opt/$NAME/'\$t || exit 1; done"
check "the agent's jar is the one built" cmp "$EXAMPLE_AGENT_BUILD/agent.jar" "$R/opt/$NAME/lib/agent.jar"
check "--save-response: 0600, accept_eula=yes, the token" bash -c \
    "test \"\$(stat -c %a '$T/response')\" = 600 && grep -qx accept_eula=yes '$T/response' &&
     grep -qx 'token=$TOK_FILE' '$T/response'"

timed "--token" "$A100" --root "$T/roots/cli" --accept-eula --token "$TOK_CLI" --quiet
expect "--token TOKEN: installs, with a warning about --token" 0 'warning: .*--token'
check "--token: the token is in secrets.conf" test "$(conf "$T/roots/cli" secrets.conf token)" = "$TOK_CLI"

timed "env" env "EXAMPLE_AGENT_TOKEN=$TOK_ENV" "EXAMPLE_AGENT_PROXY_PASSWORD=$PW_ENV" \
    "$A100" --root "$T/roots/env" --accept-eula --proxy-host 10.0.0.1 --proxy-port 3128 \
    --proxy-user env --quiet
expect "EXAMPLE_AGENT_TOKEN and EXAMPLE_AGENT_PROXY_PASSWORD: installs" 0
check "the environment's token and proxy password are in secrets.conf" bash -c \
    "test \"\$(sed -n 's/^token=//p' '$T/roots/env/var/opt/$NAME/conf/secrets.conf')\" = '$TOK_ENV' &&
     test \"\$(sed -n 's/^proxy_password=//p' '$T/roots/env/var/opt/$NAME/conf/secrets.conf')\" = '$PW_ENV'"
check "auto_update defaults to yes" test "$(conf "$T/roots/env" agent.conf auto_update)" = yes

sx "no token" "$A100" --root "$T/roots/none" --accept-eula --quiet
expect "no token with --quiet: exit 2, the message names --token-file" 2 'token.*--token-file'
check "no token: nothing made under the root" test ! -e "$T/roots/none"
sx "no eula" "$A100" --root "$T/roots/none" --token-file "$TOKF" --quiet
expect "license not accepted with --quiet: exit 2, the message names --accept-eula" 2 '--accept-eula'
check "license not accepted: nothing made under the root" test ! -e "$T/roots/none"

timed "response" "$A100" --root "$T/roots/resp" --response-file "$T/response" --quiet
expect "--response-file (without --accept-eula or a token option): installs" 0
for f in agent.conf secrets.conf; do
    check "--response-file: $f as the saved run's (agent_id aside)" bash -c \
        "diff <(grep -v '^agent_id=' '$R/var/opt/$NAME/conf/$f') \
              <(grep -v '^agent_id=' '$T/roots/resp/var/opt/$NAME/conf/$f')"
done
check "another install, another agent_id" test "$(conf "$R" agent.conf agent_id)" != \
    "$(conf "$T/roots/resp" agent.conf agent_id)"

sx "help" "$A100" --help
expect "--help: exit 0, the options" 0 '--token-file'
check_out "--help names --accept-eula, --target, --uninstall, --response-file" \
    '--uninstall' bash -c "grep -q -- --accept-eula '$T/o' && grep -q -- --target '$T/o' &&
                           grep -q -- --response-file '$T/o' && cat '$T/o'"
sx "check" "$A100" --check
expect "--check: exit 0, verified" 0 '^Verified example-agent 1\.0\.0-1'
sx "list" "$A100" --list
expect "--list: the jar, java, the unit and the init script" 0 " opt/$NAME/lib/agent\.jar$"
check "--list: $ENTRIES entries (as --info counts), with the service files" bash -c \
    "test \$(grep -c '^[-dl?][0-7]\{4\} ' '$T/o') = $ENTRIES &&
     grep -q ' opt/$NAME/jre/bin/java$' '$T/o' && grep -q ' lib/systemd/system/$NAME\.service$' '$T/o' &&
     grep -q ' etc/init\.d/$NAME$' '$T/o'"
host_opt=$(ls -d /opt/$NAME 2>/dev/null || true)
sx "target" "$A100" --target "$T/target" --root "$T/roots/target"
expect "--target DIR: extracts" 0 'not installed'
check "--target: the files are under DIR" bash -c \
    "cmp '$EXAMPLE_AGENT_BUILD/agent.jar' '$T/target/opt/$NAME/lib/agent.jar' &&
     test -x '$T/target/opt/$NAME/jre/bin/java' && test -f '$T/target/etc/init.d/$NAME'"
check "--target: nothing installed (no --root tree, no settings, /opt/$NAME as it was)" bash -c \
    "test ! -e '$T/roots/target' && test \"\$(ls -d /opt/$NAME 2>/dev/null || true)\" = '$host_opt'"
mkdir "$T/noexec"
# shellcheck disable=SC2016 # the inner shell expands them
sx "noexec" bash -c 'cd "$1" && exec "$2" --noexec' _ "$T/noexec" "$A100"
expect "--noexec: extracts into ./NAME-VERSION" 0
check "--noexec: ./example-agent-1.0.0-1 holds the payload" \
    cmp "$EXAMPLE_AGENT_BUILD/agent.jar" "$T/noexec/$NAME-1.0.0-1/opt/$NAME/lib/agent.jar"
rm -rf "$T/target" "$T/noexec" "$T/roots/target"

PUB=$(mktemp -d /tmp/consign-sfx-pub.XXXXXX)
chmod 755 "$PUB"
cp "$A100" "$PUB/agent.bin"
cp "$TOKF" "$PUB/token"
chmod 644 "$PUB/token"
sx "nobody" setpriv --reuid=65534 --regid=65534 --clear-groups "$PUB/agent.bin" --accept-eula \
    --token-file "$PUB/token" --quiet
expect "as nobody without --root: refused (run as root)" 1 'run as root'
sx "nobody check" setpriv --reuid=65534 --regid=65534 --clear-groups "$PUB/agent.bin" --check
expect "as nobody: --check works" 0 '^Verified'
check "as nobody: /opt/$NAME as it was" test "$(ls -d /opt/$NAME 2>/dev/null || true)" = "$host_opt"
rm -rf "$PUB"
PUB=

# =============================================================================
section "3. tamper matrix"
# Positions: the stub (ELF header and the first 4 KiB, then all over), the
# payload, and every part after it (info block and chunk table, M, signature,
# key, footer).
SIG_OFF=$((M_OFF + MLEN))
KEY_OFF=$((SIG_OFF + SIGLEN))
FOOT_OFF=$((KEY_OFF + KEYLEN))
awk -v stub="$STUB_SZ" -v pay="$PAY_SZ" -v info="$INFO_OFF" -v m="$M_OFF" -v sig="$SIG_OFF" \
    -v siglen="$SIGLEN" -v key="$KEY_OFF" -v keylen="$KEYLEN" -v foot="$FOOT_OFF" '
    function spread(region, lo, hi, n,   i) {
        for (i = 0; i < n; i++) print region, lo + int((i + rand()) * (hi - lo) / n)
    }
    BEGIN {
        srand(20261123)
        split("0 1 2 3 4 5 6 7 16 17 18 20 24 28 32 40 48 52 54 56 58 60 62 64 120 400 1000 2048 3000 4095", h, " ")
        for (i in h) print "stub", h[i]
        spread("stub", 4096, stub, 50)
        split("0 1 2 3 4 5 6 7", z, " ")
        for (i in z) print "payload", stub + z[i]
        spread("payload", stub + 8, stub + pay - 1, 70)
        print "payload", stub + pay - 1
        print "info", info; print "info", m - 1; spread("info", info + 1, m - 1, 6)
        split("0 15 16 19 20 23 24 31 32 40 48 56 64 72 80 88 95 96 111 127 128 137 147 148 153 159", hm, " ")
        for (i in hm) print "M", m + hm[i]
        for (i = 0; i < 9; i++) print "signature", sig + i
        print "signature", sig + siglen - 1; spread("signature", sig + 9, sig + siglen - 1, 6)
        for (i = 0; i < 5; i++) print "key", key + i
        print "key", key + keylen - 1; spread("key", key + 5, key + keylen - 1, 6)
        for (i = 0; i < 32; i++) print "footer", foot + i
    }' | sort -u -k2,2n >"$T/positions"
count() { awk -v r="$1" '$1 == r' "$T/positions" | wc -l; }
n_stub=$(count stub)
n_pay=$(count payload)
n_after=$(($(wc -l <"$T/positions") - n_stub - n_pay))
n_far=$(awk '$1 == "stub" && $2 >= 4096' "$T/positions" | wc -l)
check "tamper positions: $n_stub in the stub ($n_far past 4 KiB), $n_pay in the payload, $n_after after it" \
    test "$n_stub" -ge 70 -a "$n_pay" -ge 70 -a "$n_after" -ge 60

snap "$R" >"$T/r.snap"
snap_times "$R" >"$T/r.times"
sha_passwd=$(sha256sum </etc/passwd)
F=$T/tamper/agent.bin
mkdir "$T/tamper"
# Kill whatever still executes file $1 (also once it is unlinked); wait up
# to 10 s until nothing does (a process in an uninterruptible write dies
# late on a busy disk). Prints what survived.
kill_runners() {
    local p i e
    for i in $(seq 100); do
        local found=
        for p in /proc/[0-9]*; do
            e=$(readlink "$p/exe" 2>/dev/null) || continue
            if [ "$e" = "$1" ] || [ "$e" = "$1 (deleted)" ]; then
                kill -KILL "${p#/proc/}" 2>/dev/null || true
                found="$found ${p#/proc/}"
            fi
        done
        [ -z "$found" ] && return 0
        sleep 0.1
    done
    echo "still running $1:$found"
}
# Each position gets a fresh copy: a file still mapped by a process that
# has not yet died cannot be written (text file busy), but it can be unlinked.
survivors=()
ours=0 kernel=0 loader=0 far_ours=0 k=0
bad_stub=() bad_pay=() bad_after=() changed=() loader_seen=()
t0=$(now_ms)
while read -r region pos; do
    k=$((k + 1))
    rm -f "$F"
    cp "$A100" "$F"
    b=$(od -An -tu1 -j"$pos" -N1 "$F" | tr -d ' ')
    # shellcheck disable=SC2059 # the format is the byte
    printf "\\$(printf %03o $((b ^ 255)))" | dd of="$F" bs=1 seek="$pos" conv=notrunc status=none
    rc=0
    # Through a shell that waits: it reports a crash or an unrunnable file.
    timeout 20 bash -c '"$@"; exit' _ "$F" --root "$R" --accept-eula --token-file "$TOKF" \
        --quiet >"$T/o" 2>"$T/e" </dev/null || rc=$?
    # timeout kills the shell, not a stub that hangs under it: nothing may
    # still run the file when it is restored (dd would fail: text file busy).
    left=$(kill_runners "$F")
    [ -z "$left" ] || survivors+=("$region $pos: $left")
    { echo "### tamper $region $pos (exit $rc)"; cat "$T/o" "$T/e"; } >>"$T/all-output"
    what=
    if [ "$rc" -eq 0 ]; then
        what="accepted"
    elif [ "$rc" -eq 124 ] && { [ "$region" != stub ] || [ "$STATIC" = 1 ]; }; then
        what="hung (killed after 20 s)"
    elif [ ! -s "$T/e" ] && ! { [ "$region" = stub ] && [ "$STATIC" = 0 ] && [ "$rc" -eq 124 ]; }; then
        what="exit $rc, no message"
    elif grep -Eq 'failed verification: .|installer is damaged' "$T/e"; then
        ours=$((ours + 1))
        [ "$region" != stub ] || [ "$pos" -lt 4096 ] || far_ours=$((far_ours + 1))
    elif [ "$region" = stub ] && [ "$pos" -lt 4096 ] && [ "$rc" -ge 126 ]; then
        kernel=$((kernel + 1))
    elif [ "$region" = stub ] && [ "$STATIC" = 0 ] && [ "$rc" -ne 0 ]; then
        loader=$((loader + 1)) # a dynamic stub: the loader or a sanitizer speaks first
        loader_seen+=("$pos: exit $rc: $({ grep -m1 . "$T/e" || echo "(no message)"; } | cut -c1-120)")
    else
        what="exit $rc: $(head -c 200 "$T/e" | tr '\n' ' ')"
    fi
    if [ -n "$what" ]; then
        case $region in
        stub) bad_stub+=("$pos: $what") ;;
        payload) bad_pay+=("$pos: $what") ;;
        *) bad_after+=("$region $pos: $what") ;;
        esac
    fi
    if ! snap_times "$R" | cmp -s - "$T/r.times" ||
        { [ $((k % 40)) -eq 0 ] && ! same_tree "$R" "$T/r.snap" >/dev/null; }; then
        changed+=("$region $pos")
        snap_times "$R" >"$T/r.times"
    fi
done <"$T/positions"
TAMPER_MS=$(($(now_ms) - t0))
if [ ${#survivors[@]} -eq 0 ]; then
    ok "tamper: no process outlived its run by 10 s"
else
    not_ok "tamper: processes outlived their runs" "${survivors[@]}"
fi
others=
[ "$loader" -eq 0 ] || others=", $loader by the dynamic loader or a sanitizer"
if [ ${#bad_stub[@]} -eq 0 ]; then
    ok "tamper: $n_stub stub positions refused with a message ($((n_stub - kernel - loader)) by the stub, $kernel by the kernel or shell in the first 4 KiB$others)"
else
    not_ok "tamper: stub positions" "${bad_stub[@]}"
fi
if [ "$STATIC" = 1 ]; then
    check "tamper: every stub position past 4 KiB gave the stub's own message ($far_ours of $n_far)" \
        test "$far_ours" -eq "$n_far"
else
    skip "tamper: the stub's own message past 4 KiB (a dynamic stub: the loader reads past 4 KiB)"
fi
if [ ${#bad_pay[@]} -eq 0 ]; then
    ok "tamper: $n_pay payload positions refused (failed verification)"
else
    not_ok "tamper: payload positions" "${bad_pay[@]}"
fi
if [ ${#bad_after[@]} -eq 0 ]; then
    ok "tamper: $n_after positions in the info block, M, signature, key and footer refused"
else
    not_ok "tamper: positions after the payload" "${bad_after[@]}"
fi
if [ ${#changed[@]} -eq 0 ]; then
    ok "tamper: the previous install untouched after each run (tree with times; hashes every 40 runs)"
else
    not_ok "tamper: the previous install changed" "${changed[@]}"
fi
check "tamper: the previous install byte-for-byte as before (tree and SHA-256 of every file)" \
    same_tree "$R" "$T/r.snap"
# Timing is reported, not asserted (performance lives in bench/).
echo "    ($(wc -l <"$T/positions") tamper runs in $(ms_to_s "$TAMPER_MS") s)"
echo "    (messages: $ours by the stub, $kernel by the kernel or shell$others)"
for line in "${loader_seen[@]}"; do
    echo "    (dynamic stub, $line)"
done
rm -rf "$T/tamper"

# =============================================================================
section "4. hostile payloads"
cases=$("$RAWTAR" --list | cut -f1)
declare -A want=(
    [abs]='/etc/consign-rawtar-evil: path is absolute'
    [dotdot]="canary: path contains '\.\.'"
    [dotdot-mid]="canary: path contains '\.\.'"
    [symlink-abs]="evil': symlink to the absolute path '/etc' refused"
    [symlink-up]="up': symlink target '\.\./\.\./\.\.' refused"
    [symlink-inner]="symlink in path: 'opt/$NAME/ok'"
    [hardlink-abs]="hardlink to '/etc/passwd' refused"
    [hardlink-up]="hardlink to '\.\./x' refused"
    [chardev]='character device refused'
    [blockdev]='block device refused'
    [fifo]='fifo refused'
    [setuid]='setuid/setgid mode 4755 refused'
    [setgid]='setuid/setgid mode 2755 refused'
    [short]='truncated'
    [outside-usr]='usr is outside what the agent may own'
    [outside-cron]='etc/cron.d is outside what the agent may own'
    [pax-dotdot]="canary: path contains '\.\.'"
    [gnu-long-abs]='/etc/consign-rawtar-long: path is absolute'
)
# untouched: R byte-for-byte as before, nothing new beside it, the canary and
# /etc/passwd as they were, none of the hostile names on the host.
untouched() {
    same_tree "$R" "$T/r.snap" &&
        [ "$(find "$SAND" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | paste -sd' ')" = "canary r" ] &&
        [ "$(cat "$SAND/canary")" = "canary $SEED" ] &&
        [ "$(sha256sum </etc/passwd)" = "$sha_passwd" ] &&
        [ ! -e /etc/consign-rawtar-evil ] && [ ! -e /etc/consign-rawtar-long ] && [ ! -e /etc/x ] &&
        [ ! -e /etc/cron.d/x ] && [ ! -e /usr/bin/x ]
}
mkdir "$T/hostile"
for c in $cases; do
    "$RAWTAR" "$c" "$T/hostile/$c.tar" || die "rawtar $c failed"
    sfxbuild "$T/hostile/$c.bin" "$SRC/examples/agent/product.yaml" "$T/k1" \
        --payload-tar "$T/hostile/$c.tar" || die "consign sfx build --payload-tar ($c) failed" \
        "$(cat "$T/hostile/$c.bin.log")"
done
check "rawtar: every case is a tar stream GNU tar reads (checksums right; 'short' ends early)" bash -c \
    "for c in $(tr '\n' ' ' <<<"$cases"); do
         [ \$c = short ] && continue
         tar -tf '$T/hostile/'\$c.tar >/dev/null 2>&1 || { echo \$c; exit 1; }
     done"
sx "good raw" "$T/hostile/good.bin" --root "$T/roots/good" --accept-eula --token-file "$TOKF" --quiet
expect "rawtar good: the same way in, a harmless raw payload installs" 0
check "rawtar good: its file is installed" test -x "$T/roots/good/opt/$NAME/bin/tool"
for c in $cases; do
    [ "$c" = good ] && continue
    sx "hostile $c" "$T/hostile/$c.bin" --root "$R" --accept-eula --token-file "$TOKF" --quiet
    expect "hostile $c: refused over an install, naming the problem" '!0' "${want[$c]}"
    check "hostile $c: the install, the canary beside it and /etc untouched" untouched
    mkdir "$SAND/x-$c"
    sx "hostile $c --target" "$T/hostile/$c.bin" --target "$SAND/x-$c/t"
    case $c in
    outside-usr | outside-cron)
        # What an install may own is the install's rule: extracting only,
        # the file stays inside DIR.
        expect "hostile $c --target: extracted inside DIR only" 0
        check "hostile $c --target: the file is under DIR" bash -c \
            "test -f '$SAND/x-$c/t/usr/bin/x' -o -f '$SAND/x-$c/t/etc/cron.d/x'"
        ;;
    *) expect "hostile $c --target: refused too" '!0' "${want[$c]}" ;;
    esac
    rm -rf "$SAND/x-$c"
done

# =============================================================================
section "6. upgrade"
cp -a "$R" "$T/tmpl100" # 1.0.0 with settings: the start of the other upgrades
mkdir "$T/conf100"
cp -p "$R/var/opt/$NAME/conf/"* "$T/conf100/"
cp -p "$R/etc/opt/$NAME/start-agent.ini" "$T/conf100/"
t0=$(now_ms)
sx "upgrade" "$A101" --root "$R" --accept-eula --quiet
UPGRADE_MS=$(($(now_ms) - t0))
expect "upgrade 1.0.0 -> 1.0.1 under --root: exit 0 ($UPGRADE_MS ms)" 0
check "upgrade: layout, current -> versions/1.0.1-1" layout "$R" 1.0.1-1
check "upgrade: versions/1.0.0-1 kept" bash -c \
    "test \"\$(cat '$R/opt/$NAME/versions/1.0.0-1/.version')\" = 1.0.0-1 &&
     test -x '$R/opt/$NAME/versions/1.0.0-1/jre/bin/java'"
check "upgrade: agent.conf, secrets.conf, trusted-keys byte-for-byte as before" bash -c \
    "for f in agent.conf secrets.conf trusted-keys; do
         cmp '$T/conf100/'\$f '$R/var/opt/$NAME/conf/'\$f || exit 1
         test \"\$(stat -c '%a %U' '$T/conf100/'\$f)\" = \"\$(stat -c '%a %U' '$R/var/opt/$NAME/conf/'\$f)\" || exit 1
     done"
check "upgrade: start-agent.ini kept, the new default beside it (.consign-new)" bash -c \
    "cmp '$T/conf100/start-agent.ini' '$R/etc/opt/$NAME/start-agent.ini' &&
     grep -qx '# added in 1.0.1' '$R/etc/opt/$NAME/start-agent.ini.consign-new'"
check "upgrade: the launcher and java -version run" runs "$R"

R2=$T/roots/k2
cp -a "$T/tmpl100" "$R2"
snap "$R2" >"$T/r2.snap"
sx "other key" "$A101K2" --root "$R2" --accept-eula --quiet
expect "1.0.1 signed by another key: refused, naming its fingerprint" 1 "--trust-new-key '$K2'"
check "another key: the install byte-for-byte as before" same_tree "$R2" "$T/r2.snap"
sx "other key, wrong trust" "$A101K2" --root "$R2" --accept-eula --quiet --trust-new-key "$K1"
expect "--trust-new-key with another fingerprint: still refused" 1 "$K2"
t0=$(now_ms)
sx "other key, trusted" "$A101K2" --root "$R2" --accept-eula --quiet --trust-new-key "$K2"
t0=$(($(now_ms) - t0))
[ "$t0" -le "$UPGRADE_MS" ] || UPGRADE_MS=$t0
expect "--trust-new-key <its fingerprint>: upgrades" 0
check "--trust-new-key: current -> versions/1.0.1-1, both keys trusted now" bash -c \
    "test \"\$(readlink '$R2/opt/$NAME/current')\" = versions/1.0.1-1 &&
     grep -qx '$K1' '$R2/var/opt/$NAME/conf/trusted-keys' &&
     grep -qx '$K2' '$R2/var/opt/$NAME/conf/trusted-keys'"
sx "expect signer" "$A101" --root "$T/roots/expect" --accept-eula --token-file "$TOKF" --quiet \
    --expect-signer "$K2"
expect "--expect-signer another key: refused" 1 'not by the expected key'
check "--expect-signer: nothing made" test ! -e "$T/roots/expect"

CFG=$R/opt/$NAME/$NAME-config
sx "config set" "$CFG" set proxy_port=3128
expect "NAME-config set proxy_port=3128 (root found from its own path)" 0
check "agent.conf: proxy_port=3128" test "$(conf "$R" agent.conf proxy_port)" = 3128
sx "config show" "$CFG" show
expect "NAME-config show: proxy_port=3128" 0 '^proxy_port=3128$'
check "NAME-config show: the token and the password masked" bash -c \
    "grep -qx 'token=\*\**' '$T/o' && grep -qx 'proxy_password=\*\**' '$T/o' &&
     ! grep -Fq -e '$TOK_FILE' -e '$PW_FILE' '$T/o'"
sx "config --root show" "$CFG" --root "$R" show
expect "NAME-config --root R show" 0 '^proxy_user=alice$'
cp -p "$R/var/opt/$NAME/conf/agent.conf" "$T/agent.conf.3128"
sx "config bad port" "$CFG" set proxy_port=70000
expect "NAME-config set proxy_port=70000: exit 2" 2 'port'
sx "config bad port 2" "$CFG" set proxy_port=abc
expect "NAME-config set proxy_port=abc: exit 2" 2 'port'
check "a refused value changes nothing" cmp "$T/agent.conf.3128" "$R/var/opt/$NAME/conf/agent.conf"

# =============================================================================
section "7. kill -9 during install and upgrade"
# state ROOT: none (nothing usable), complete (VERSION), or what is wrong.
installed_ok() { # ROOT VERSION [again]
    layout "$@" >/dev/null && runs "$1" >/dev/null &&
        [ "$(conf "$1" secrets.conf token)" = "$TOK_FILE" ] &&
        grep -Eqx 'agent_id=[0-9a-f]{32}' "$1/var/opt/$NAME/conf/agent.conf"
}
why() { # ROOT VERSION [again]: what layout or runs finds wrong, one line
    { layout "$@" && runs "$1"; } 2>&1 | head -n 1 || true
}
kill_at() { # MS CMD...: start CMD, kill -9 it after MS ms
    local ms=$1
    shift
    "$@" >"$T/o" 2>"$T/e" </dev/null &
    bgpid=$!
    sleep "$(ms_to_s "$ms")"
    kill -9 "$bgpid" 2>/dev/null || true
    wait "$bgpid" 2>/dev/null || true
    bgpid=
    { echo "### killed after $ms ms"; cat "$T/o" "$T/e"; } >>"$T/all-output"
}
none=0 complete=0 bad=()
for i in $(seq 1 "$KILLS"); do
    Rk=$T/kill/i$i
    ms=$((RANDOM * INSTALL_MS / 32768))
    kill_at "$ms" "$A100" --root "$Rk" --accept-eula --token-file "$TOKF" --quiet
    if [ ! -e "$Rk/opt/$NAME/current" ] && ! "$Rk/opt/$NAME/bin/$NAME-launch" --root "$Rk" --print \
        >/dev/null 2>&1; then
        none=$((none + 1))
    elif installed_ok "$Rk" 1.0.0-1; then
        complete=$((complete + 1))
    else
        bad+=("install killed at $ms ms: neither nothing usable nor complete: $(why "$Rk" 1.0.0-1)")
    fi
    sx "re-run after kill $i" "$A100" --root "$Rk" --accept-eula --token-file "$TOKF" --quiet
    if [ "$rc" -ne 0 ] || ! installed_ok "$Rk" 1.0.0-1 again; then
        bad+=("install killed at $ms ms: the re-run failed (exit $rc): $(head -c 200 "$T/e") $(why "$Rk" 1.0.0-1 again)")
    elif [ -n "$(find "$Rk/opt/$NAME/versions" -mindepth 1 -maxdepth 1 -name '.*')" ]; then
        bad+=("install killed at $ms ms: the re-run left $(find "$Rk/opt/$NAME/versions" -mindepth 1 -maxdepth 1 -name '.*' -printf '%f ')")
    fi
    rm -rf "$Rk"
done
if [ ${#bad[@]} -eq 0 ]; then
    ok "kill -9 during a first install ($KILLS times in 0..$INSTALL_MS ms): nothing usable ($none) or complete ($complete); each re-run installs"
else
    not_ok "kill -9 during a first install" "${bad[@]}"
fi

old=0 new=0 bad=()
for i in $(seq 1 "$KILLS"); do
    Rk=$T/kill/u$i
    cp -a "$T/tmpl100" "$Rk"
    ms=$((RANDOM * UPGRADE_MS / 32768))
    kill_at "$ms" "$A101" --root "$Rk" --accept-eula --quiet
    cur=$(readlink "$Rk/opt/$NAME/current" || true)
    case $cur in
    versions/1.0.0-1) v=1.0.0-1 ;;
    versions/1.0.1-1) v=1.0.1-1 ;;
    *) v= ;;
    esac
    if [ -z "$v" ]; then
        bad+=("upgrade killed at $ms ms: current -> '$cur'")
    elif ! layout "$Rk" "$v" >/dev/null || ! runs "$Rk" >/dev/null; then
        bad+=("upgrade killed at $ms ms: $v not runnable: $(why "$Rk" "$v")")
    elif ! (cd "$T/conf100" && for f in agent.conf secrets.conf trusted-keys; do
        cmp -s "$f" "$Rk/var/opt/$NAME/conf/$f" || exit 1
    done); then
        bad+=("upgrade killed at $ms ms: the settings changed")
    elif [ "$v" = 1.0.0-1 ]; then
        old=$((old + 1))
    else
        new=$((new + 1))
    fi
    sx "re-run upgrade after kill $i" "$A101" --root "$Rk" --accept-eula --quiet
    cur=$(readlink "$Rk/opt/$NAME/current" || true)
    if [ "$rc" -ne 0 ] || [ "$(cat "$Rk/opt/$NAME/current/.version" 2>/dev/null)" != 1.0.1-1 ] ||
        ! runs "$Rk" >/dev/null || ! cmp -s "$T/conf100/secrets.conf" "$Rk/var/opt/$NAME/conf/secrets.conf"; then
        bad+=("upgrade killed at $ms ms: the re-run failed (exit $rc, current -> $cur): $(head -c 200 "$T/e")")
    fi
    rm -rf "$Rk"
done
if [ ${#bad[@]} -eq 0 ]; then
    ok "kill -9 during an upgrade ($KILLS times in 0..$UPGRADE_MS ms): 1.0.0 runnable ($old) or 1.0.1 complete ($new), settings byte-for-byte kept; each re-run upgrades"
else
    not_ok "kill -9 during an upgrade" "${bad[@]}"
fi

# =============================================================================
section "8. uninstall"
sx "uninstall tool" "$R/opt/$NAME/$NAME-uninstall"
expect "NAME-uninstall (root found from its own path): exit 0" 0 'removed'
check "uninstall: /opt/$NAME, the unit and the init script gone" bash -c \
    "test ! -e '$R/opt/$NAME' -a ! -e '$R/etc/systemd/system/$NAME.service' -a ! -e '$R/etc/init.d/$NAME'"
check "uninstall: /var/opt/$NAME (conf and logs) and /etc/opt/$NAME kept" bash -c \
    "cmp '$T/conf100/secrets.conf' '$R/var/opt/$NAME/conf/secrets.conf' &&
     test -d '$R/var/opt/$NAME/logs' -a -f '$R/etc/opt/$NAME/start-agent.ini'"
sx "uninstall again" "$A101" --uninstall --root "$R"
expect "--uninstall when not installed: refused" 1 'not installed'
sx "purge" "$A101" --uninstall --purge --root "$R"
expect "--uninstall --purge --root R: exit 0" 0
check "purge: /var/opt/$NAME and /etc/opt/$NAME gone too" bash -c \
    "test ! -e '$R/var/opt/$NAME' -a ! -e '$R/etc/opt/$NAME' -a ! -e '$R/opt/$NAME'"

# =============================================================================
if [ "$STATIC" = 1 ]; then
    section "9. an empty chroot"
    E=$T/empty
    mkdir "$E"
    cp "$A100" "$E/agent.bin"
    printf '%s\n' "$TOK_CHROOT" >"$E/tok"
    sx "empty chroot" chroot "$E" /agent.bin --accept-eula --token-file /tok --quiet
    expect "empty chroot (no /proc, /dev, /bin/sh): installs, warns the service was not started" 0 \
        'service was not started'
    check "empty chroot: the layout" layout "$E" 1.0.0-1
    check "empty chroot: the token in secrets.conf" test "$(conf "$E" secrets.conf token)" = "$TOK_CHROOT"
    sx "empty chroot config" chroot "$E" "/opt/$NAME/$NAME-config" show
    expect "empty chroot: NAME-config show (no /proc: the root is /)" 0 '^token=\*+$'
    sx "empty chroot uninstall" chroot "$E" "/opt/$NAME/$NAME-uninstall" --purge
    expect "empty chroot: NAME-uninstall --purge" 0
    check "empty chroot: nothing of $NAME left" bash -c \
        "test ! -e '$E/opt/$NAME' -a ! -e '$E/var/opt/$NAME' -a ! -e '$E/etc/opt/$NAME' &&
         test ! -e '$E/etc/init.d/$NAME' -a ! -e '$E/etc/systemd/system/$NAME.service'"
    check "empty chroot: no process left" test -z "$(procs_in "$E")"

    section "10. Debian 11 (glibc 2.31)"
    D=$T/bullseye
    # On a tmpfs: unpacking, the installer's syncfs and the removal stay fast.
    mkdir "$D"
    if mount -t tmpfs -o size=2g,mode=755 consign-e2e-sfx "$D"; then
        mounts+=("$D")
    fi
    if ! command -v mmdebstrap >/dev/null; then
        not_ok "bullseye: mmdebstrap is not installed"
    elif ! bash "$SRC/tests/lib/chroot.sh" "$CACHE" bullseye "$D" >"$T/chroot.log" 2>&1; then
        not_ok "bullseye: chroot" "$(tail -n 20 "$T/chroot.log")"
    else
        check_out "bullseye: glibc 2.31" '2\.31' chroot "$D" ldd --version
        mount -t proc proc "$D/proc"
        mounts+=("$D/proc")
        cp "$A100" "$D/root/agent.bin"
        printf '%s\n' "$TOK_CHROOT" >"$D/root/tok"
        chmod 600 "$D/root/tok"
        sx "bullseye install" chroot "$D" /root/agent.bin --accept-eula --token-file /root/tok
        expect "bullseye: installs as root, no --root" 0 '^  Logs: +/var/opt/example-agent/logs$'
        check_out "bullseye: says where the configuration lives" \
            "Configuration: +/etc/opt/$NAME .*/var/opt/$NAME/conf" cat "$T/o"
        echo "    (stderr: $(head -c 300 "$T/e" | tr '\n' ' '))"
        check "bullseye: the layout" layout "$D" 1.0.0-1
        check "bullseye: the token in secrets.conf" test "$(conf "$D" secrets.conf token)" = "$TOK_CHROOT"
        sx "bullseye config" chroot "$D" "/opt/$NAME/$NAME-config" show
        expect "bullseye: NAME-config show, token masked" 0 '^token=\*+$'
        if [ -x "$D/usr/sbin/update-rc.d" ]; then
            check "bullseye: update-rc.d registered the init script (rc2.d link)" \
                bash -c "ls '$D'/etc/rc2.d/S*$NAME"
        fi
        echo "    (service.log: $(head -c 300 "$D/var/opt/$NAME/logs/service.log" 2>/dev/null | tr '\n' ' '))"
        sx "bullseye stop" chroot "$D" "/etc/init.d/$NAME" stop
        expect "bullseye: /etc/init.d/$NAME stop" 0
        sx "bullseye uninstall" chroot "$D" "/opt/$NAME/$NAME-uninstall" --purge
        expect "bullseye: NAME-uninstall --purge" 0 'removed'
        check "bullseye: nothing of $NAME left (files, init script, rc links)" bash -c \
            "test ! -e '$D/opt/$NAME' -a ! -e '$D/var/opt/$NAME' -a ! -e '$D/etc/opt/$NAME' &&
             test ! -e '$D/etc/init.d/$NAME' -a ! -e '$D/etc/systemd/system/$NAME.service' &&
             ! ls '$D'/etc/rc?.d/*$NAME >/dev/null 2>&1"
        left=$(procs_in "$D" | paste -sd' ')
        check "bullseye: no process left in the chroot${left:+ (killing: $left)}" test -z "$left"
        for p in $left; do
            kill -9 "$p" 2>/dev/null || true
        done
        umount "$D/proc" && unset 'mounts[-1]'
    fi
    if mountpoint -q "$D"; then
        umount "$D" && unset 'mounts[-1]'
    fi
    rm -rf --one-file-system "$D"
fi

# =============================================================================
section "11. interactive install in a terminal (tmux)"
tm() { tmux -L "$TMUX_SOCK" "$@"; }
# screen TARGET: all the pane shows and showed.
screen() { tm capture-pane -p -J -S - -t "$1"; }
# wait_for TARGET REGEX [SECONDS [COUNT]]: until COUNT (1) lines of the pane
# match REGEX; what it saw goes to $T/wait.out when it times out.
wait_for() {
    local end=$((SECONDS + ${3:-20})) n
    while [ "$SECONDS" -lt "$end" ]; do
        n=$(screen "$1" | grep -Ec -- "$2" || true)
        if [ "$n" -ge "${4:-1}" ]; then
            return 0
        fi
        sleep 0.1
    done
    { echo "timed out waiting for: $2 (${4:-1} times)"; screen "$1" | tail -n 15; } >"$T/wait.out"
    return 1
}
# answer TARGET REGEX COUNT TEXT: wait for the COUNTth prompt, then type TEXT
# and Enter. A short pause first: the prompt is printed just before echo goes off.
answer() {
    wait_for "$1" "$2" 20 "$3" || return 1
    sleep 0.3
    [ -z "$4" ] || tm send-keys -t "$1" -l "$4"
    tm send-keys -t "$1" Enter
}
tty_ok=1
# step DESC CMD...: one step of the dialog; the first failure ends it.
step() {
    local desc=$1
    shift
    [ "$tty_ok" = 1 ] || return 0
    if "$@"; then
        return 0
    fi
    tty_ok=0
    not_ok "tty: $desc" "$(cat "$T/wait.out" 2>/dev/null)"
}
RT=$T/roots/tty
tm new-session -d -x 100 -y 30 -s sfx "$A101 --root $RT; echo \"[exit \$?]\"; sleep 3600"
MORE='^-- More -- \(Enter: next page, q: end\)'
step "the license's first page, then the pager's prompt" wait_for sfx:0 "$MORE"
if [ "$tty_ok" = 1 ]; then
    check "tty: the license is shown" bash -c \
        "tmux -L '$TMUX_SOCK' capture-pane -p -J -S - -t sfx:0 | grep -q '^EXAMPLE CORP END USER LICENSE AGREEMENT'"
fi
step "Enter: the next page" answer sfx:0 "$MORE" 1 ''
step "a second page" wait_for sfx:0 '^[0-9]+\. Clause 4[0-9] '
step "q ends the pager" answer sfx:0 "$MORE" 2 q
step "accept the license" answer sfx:0 '^Do you accept the license terms\? \[yes/no\]' 1 yes
step "the token" answer sfx:0 '^Install token:' 1 "$TOK_TTY"
step "proxy: manual" answer sfx:0 '^Proxy: \[n\]one, \[p\]AC URL, or \[m\]anual' 1 m
step "proxy host" answer sfx:0 '^Proxy host:' 1 proxy.tty.example.com
step "proxy port (out of range first)" answer sfx:0 '^Proxy port:' 1 99999
step "proxy port asked again" answer sfx:0 '^Proxy port:' 2 3128
step "proxy user" answer sfx:0 '^Proxy user \(Enter: none\):' 1 bob
step "proxy password" answer sfx:0 '^Proxy password:' 1 "$PW_TTY"
step "automatic updates" answer sfx:0 '^Enable automatic updates\? \[Y/n\]' 1 n
step "the end of the install" wait_for sfx:0 '^\[exit [0-9]+\]' 60
screen sfx:0 >"$T/tty.screen" || true
{ echo "### tmux: interactive install"; cat "$T/tty.screen"; } >>"$T/all-output"
if [ "$tty_ok" = 1 ]; then
    check_out "tty: exit 0, 'is installed'" "example-agent 1\.0\.1-1 is installed" \
        bash -c "grep -qx '\[exit 0\]' '$T/tty.screen' && cat '$T/tty.screen'"
    check "tty: the prompts were shown (token, proxy, password, updates)" bash -c \
        "for p in 'Install token:' 'Proxy host:' 'Proxy user' 'Proxy password:' 'Enable automatic updates'; do
             grep -qF \"\$p\" '$T/tty.screen' || { echo \"no \$p\"; exit 1; }
         done"
    check "tty: the bad port was refused with a message" grep -q '99999' "$T/tty.screen"
    check "tty: the token and the password are not on the screen" bash -c \
        "! grep -Fq -e '$TOK_TTY' -e '$PW_TTY' '$T/tty.screen'"
    check "tty: the answers are the settings" bash -c \
        "test \"\$(sed -n 's/^token=//p' '$RT/var/opt/$NAME/conf/secrets.conf')\" = '$TOK_TTY' &&
         test \"\$(sed -n 's/^proxy_password=//p' '$RT/var/opt/$NAME/conf/secrets.conf')\" = '$PW_TTY' &&
         grep -qx proxy_host=proxy.tty.example.com '$RT/var/opt/$NAME/conf/agent.conf' &&
         grep -qx proxy_port=3128 '$RT/var/opt/$NAME/conf/agent.conf' &&
         grep -qx proxy_user=bob '$RT/var/opt/$NAME/conf/agent.conf' &&
         grep -qx auto_update=no '$RT/var/opt/$NAME/conf/agent.conf'"
    check "tty: the layout" layout "$RT" 1.0.1-1
fi
RN=$T/roots/tty-no
tm new-window -t sfx -n no "$A100 --root $RN; echo \"[exit \$?]\"; sleep 3600"
tty_ok=1
step "declining: the question" answer sfx:no '^Do you accept the license terms\? \[yes/no\]' 1 no
step "declining: the end" wait_for sfx:no '^\[exit [0-9]+\]' 30
screen sfx:no >"$T/tty-no.screen" || true
{ echo "### tmux: declined"; cat "$T/tty-no.screen"; } >>"$T/all-output"
if [ "$tty_ok" = 1 ]; then
    check_out "tty: 'no' to the license: exit 1, nothing installed" 'license was not accepted' \
        bash -c "grep -qx '\[exit 1\]' '$T/tty-no.screen' && cat '$T/tty-no.screen'"
    check "tty: declined: no root made" test ! -e "$RN"
fi
tm kill-server 2>/dev/null || true

# =============================================================================
section "12. the file is read once"
# Every read of the .bin during an install, in both processes (strace -f):
# the bytes read from the descriptors opened on the installer itself.
if command -v strace >/dev/null; then
    RO=$T/roots/readonce
    rc=0
    # LeakSanitizer cannot run under ptrace (the sanitizer build).
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        strace -f -qq -e trace=openat,open,read,pread64,preadv,mmap -o "$T/readonce.strace" \
        "$A100" --root "$RO" --accept-eula --quiet --token-file "$TOKF" >"$T/readonce.out" 2>&1 ||
        rc=$?
    cat >"$T/readonce.py" <<'EOF'
import re, sys
log, path = sys.argv[1], sys.argv[2]
fds, total, mapped, pending = set(), 0, False, {}
for line in open(log):
    pid = line.split(None, 1)[0]
    m = re.search(r'open(?:at)?\(.*"(/proc/self/exe|%s)".*\) = (\d+)' % re.escape(path), line)
    if m:
        fds.add(int(m.group(2)))
        continue
    # strace -f splits calls of two processes: "<unfinished ...>", then "resumed".
    m = re.search(r'(?:pread64|read|preadv)\((\d+),.*<unfinished \.\.\.>', line)
    if m:
        pending[pid] = int(m.group(1))
        continue
    m = re.search(r'<\.\.\. (?:pread64|read|preadv) resumed>.*\) = (\d+)$', line)
    if m:
        if pending.pop(pid, None) in fds:
            total += int(m.group(1))
        continue
    m = re.search(r'(?:pread64|read|preadv)\((\d+),.*\) = (\d+)$', line)
    if m and int(m.group(1)) in fds:
        total += int(m.group(2))
    m = re.search(r'mmap\(.*, (\d+), 0x?[0-9a-f]+\) = ', line)
    if m and int(m.group(1)) in fds:
        mapped = True
print(total, "mapped" if mapped else "-")
EOF
    total=$(python3 "$T/readonce.py" "$T/readonce.strace" "$A100")
    size=$(stat -c %s "$A100")
    read_bytes=${total%% *}
    if [ "$rc" -eq 0 ] && [ "$read_bytes" -ge "$size" ] && [ "$read_bytes" -le $((size + 262144)) ] &&
        [ "${total#* }" = - ]; then
        ok "install read the $size-byte .bin once: $read_bytes bytes read from it"
    else
        not_ok "install read the .bin once" "exit $rc; read: $total; the file has $size bytes" \
            "$(tail -n 3 "$T/readonce.out")"
    fi
else
    skip "read once (strace is not installed)"
fi

# =============================================================================
section "secrets"
check "no token or password in any output ($(grep -c '^### ' "$T/all-output") runs)" bash -c \
    "! grep -Fn -e '$TOK_FILE' -e '$TOK_CLI' -e '$TOK_ENV' -e '$TOK_TTY' -e '$TOK_CHROOT' \
         -e '$PW_FILE' -e '$PW_ENV' -e '$PW_TTY' '$T/all-output'"
echo "# done in $((SECONDS - started)) s"
summary
