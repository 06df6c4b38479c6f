#!/usr/bin/env bash
# End to end: the bootstrap downloader against real servers on 127.0.0.1.
#
#  1. build: release key, TUF repository (consign update), tiny 1.0.0 .bin,
#     the bootstrap (consign bootstrap build) and its .asc; consign verify
#     and gpg --verify; static in the release build
#  2. nginx with TLS from a test CA serves the repository: install into a
#     --root sandbox directly; through tinyproxy with Basic auth given as
#     PROPERTY_PROXY_HOST/PORT/USER/PASSWORD; through a PAC file served by
#     nginx; a wrong proxy password: 1603, nothing installed; settings,
#     modes, install.log without a secret
#  3. command line: an unknown property and a quiet install without a token
#     are 1639; another bootstrap holding the lock: 1618; /x keeps
#     /var/opt/NAME
#  4. TUF attacks against an installed 1.0.0, each refused with the install
#     unchanged: target bytes changed, oversized target, oversized
#     timestamp, expired timestamp (freeze; also under faketime with the
#     dynamic build), rollback to older metadata, snapshot/targets
#     mix-and-match, metadata signed by a key not in root, a root signed only
#     by its new keys; a root rotated v1 -> v2 -> v3 is walked and 1.0.1
#     installed; a mirror with bad bytes then a good one; a trickling server
#     times out
#  5. a download cut mid-file resumes with Range
#  6. release build: the static bootstrap installs inside a Debian 11 root
#     (chroot cache), resolving localhost by name
#  7. without /q, in a terminal (tmux): the token (no echo), proxy and
#     auto-update questions, a progress bar
#
# Usage: bootstrap.sh BUILD_DIR SOURCE_DIR. Root (chroot), nginx, openssl,
# python3, tinyproxy (when present), gpg.
set -euo pipefail

# shellcheck source=tests/lib/testlib.sh
. "$(dirname "$0")/../lib/testlib.sh"
# shellcheck source=tests/lib/httpd.sh
. "$(dirname "$0")/../lib/httpd.sh"
e2e_args "$@"
CACHE=${CONSIGN_CHROOT_CACHE:-$BUILD/chroots}
passed=0
failed=0
T=$(mktemp -d /tmp/consign-boot.XXXXXX)
chmod 0711 "$T"
pids=()
cleanup() {
    local p
    [ -z "${TMUX_SOCK:-}" ] || tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
    httpd_stop
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    remove_scratch
}
trap cleanup EXIT
trap 'exit 130' INT TERM
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
unset SOURCE_DATE_EPOCH

port_busy() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 }
        END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
# start_server NAME CMD...: CMD (eval'd, it sees $port) must listen on $port.
start_server() {
    local name=$1 pid _ try
    shift
    for try in 1 2 3 4 5 6 7 8 9 10; do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        port_busy "$port" && continue
        eval "$*" >"$T/$name.out" 2>&1 </dev/null &
        pid=$!
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            if timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
                pids+=("$pid")
                return 0
            fi
            sleep 0.1
        done
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    echo "$name did not start (try $try): $(tail -n 3 "$T/$name.out")" >&2
    return 1
}

# A listing of a root with hashes: what "unchanged" compares (the update
# state and the logs change by design).
listing() {
    (cd "$1" && find . -path ./var/opt/tiny/update -prune -o -path ./var/opt/tiny/logs -prune -o \
        -printf '%y %m %p %l\n' | sort &&
        find . -path ./var/opt/tiny/update -prune -o -path ./var/opt/tiny/logs -prune -o -type f \
            -print0 | sort -z | xargs -0 -r sha256sum)
}

# boot OUT_PREFIX BOOTSTRAP ARGS...: run it, exit code in $rc, output in OUT_PREFIX.{out,err}.
boot() {
    local out=$1 prog=$2
    shift 2
    rc=0
    "$prog" "$@" >"$out.out" 2>"$out.err" </dev/null || rc=$?
}
expect_rc() { # DESC WANT [REGEX]
    local desc=$1 want=$2 re=${3:-}
    if [ "$rc" -eq "$want" ] && { [ -z "$re" ] || grep -Eq -- "$re" "$last.err"; }; then
        ok "$desc"
    else
        not_ok "$desc" "exit $rc (want $want${re:+, stderr matching $re})" \
            "$(tail -n 5 "$last.err" "$last.out" 2>/dev/null)"
    fi
}

# =============================================================================
echo "# 1. build"
K=$T/keys
"$CONSIGN" -q keys generate --keydir "$K" --algo ed25519 --name "bootstrap e2e" \
    --email e2e@example.com >"$T/keygen.log" 2>&1 || die "keys generate" "$(cat "$T/keygen.log")"
"$CONSIGN" -q update init --keydir "$K" --repo "$T/www/repo" >"$T/init.log" 2>&1 ||
    die "update init" "$(cat "$T/init.log")"
mkproduct() { # DIR VERSION
    mkdir -p "$1"
    printf 'tiny agent %s\n' "$2" >"$1/tiny.txt"
    cat >"$1/product.yaml" <<EOF
consign: 1
name: tiny
version: $2
summary: Tiny agent
description: A tiny agent for the bootstrap test.
maintainer: T <t@example.com>
license: MIT
architecture: amd64
agent:
  files:
    - src: tiny.txt
      dst: /opt/tiny/lib/tiny.txt
service:
  exec: [/opt/tiny/bin/tiny]
EOF
}
mkproduct "$T/p100" 1.0.0
mkproduct "$T/p101" 1.0.1
for v in 100 101; do
    "$CONSIGN" -q sfx build --product "$T/p$v/product.yaml" --keydir "$K" --level 3 \
        --out "$T/tiny-$v.bin" >"$T/sfx$v.log" 2>&1 || die "sfx build $v" "$(cat "$T/sfx$v.log")"
done
"$CONSIGN" -q update publish --keydir "$K" --repo "$T/www/repo" --product "$T/p100/product.yaml" \
    amd64="$T/tiny-100.bin" >"$T/pub.log" 2>&1 || die "update publish 1.0.0" "$(cat "$T/pub.log")"
cp -a "$T/www/repo" "$T/www/old" # the repository as it was with 1.0.0 only

# The test CA and nginx over TLS.
mkdir -p "$T/pki"
(
    cd "$T/pki"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=consign bootstrap test CA" -keyout ca.key -out ca.pem \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
        -keyout srv.key -out srv.csr
    printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "extendedKeyUsage=serverAuth" \
        >srv.ext
    openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile srv.ext -out srv.pem
) >"$T/pki.log" 2>&1 || die "openssl: a test CA" "$(tail -n 5 "$T/pki.log")"
CA=$T/pki/ca.pem
HTTPD_TLS_CERT=$T/pki/srv.pem HTTPD_TLS_KEY=$T/pki/srv.key httpd_start "$T/www" ||
    die "nginx over TLS"
U=$HTTPD_URL
echo "# nginx: $U"

mkboot() { # OUT URL...
    local out=$1 a=() u
    shift
    for u in "$@"; do a+=(--url "$u"); done
    "$CONSIGN" -q bootstrap build --product "$T/p100/product.yaml" --keydir "$K" "${a[@]}" \
        --out "$out" >"$out.log" 2>&1
}
B=$T/tiny-bootstrap
mkboot "$B" "$U/repo" || die "bootstrap build" "$(cat "$B.log")"
check_out "consign verify: good, kind bootstrap" "good: tiny 1\.0\.0-1 \(bootstrap\)" \
    "$CONSIGN" verify "$B"
cp "$B" "$T/bad-boot"
printf '\x42' | dd of="$T/bad-boot" bs=1 seek=$(($(stat -c %s "$B") / 2)) conv=notrunc status=none
if ! "$CONSIGN" verify "$T/bad-boot" >"$T/v.out" 2>&1; then
    ok "consign verify: one byte changed in the middle: refused ($(tail -n 1 "$T/v.out"))"
else
    not_ok "consign verify: one byte changed: refused"
fi
mkdir -m 700 "$T/gnupg"
"$CONSIGN" keys export --keydir "$K" --format asc --out "$T/key.asc" >/dev/null 2>&1
gpg --homedir "$T/gnupg" --batch --import "$T/key.asc" >/dev/null 2>&1 || true
check "gpg --verify NAME-bootstrap.asc NAME-bootstrap" \
    gpg --homedir "$T/gnupg" --batch --verify "$B.asc" "$B"
STATIC=
if file -L "$BUILD/bootstrap/consign-bootstrap" | grep -q "statically linked"; then
    STATIC=1
    check "the bootstrap is static (ldd)" bash -c "! ldd '$B' >/dev/null 2>&1"
else
    skip "static checks (a sanitizer build links the bootstrap dynamically)"
fi

# =============================================================================
echo "# 2. installs"
TOKEN=tok-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
PW=pw-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
R1=$T/r1
last=$T/i1
boot "$last" "$B" /i /q PROPERTY_TOKEN="$TOKEN" PROPERTY_AUTOUPDATE=0 --root "$R1" --ca-bundle "$CA"
expect_rc "direct: /i /q installs 1.0.0 (exit 0)" 0
check "direct: tiny 1.0.0 in place" grep -q "tiny agent 1.0.0" "$R1/opt/tiny/lib/tiny.txt"
check "direct: token in secrets.conf (0600), auto_update=no" bash -c \
    "[ \"\$(stat -c %a '$R1/var/opt/tiny/conf/secrets.conf')\" = 600 ] &&
     grep -qx 'token=$TOKEN' '$R1/var/opt/tiny/conf/secrets.conf' &&
     grep -qx 'auto_update=no' '$R1/var/opt/tiny/conf/agent.conf'"
check "direct: install.log written, no secret in it" bash -c \
    "grep -q 'tiny 1.0.0-1 installed' '$R1/var/opt/tiny/logs/install.log' &&
     ! grep -q '$TOKEN' '$R1/var/opt/tiny/logs/install.log'"
check "direct: /q printed nothing" test ! -s "$last.out"
check "direct: the download is removed after the install" bash -c \
    "[ -z \"\$(ls -A '$R1/var/opt/tiny/update/downloads')\" ]"

# A pinned server key: the right one installs, another is refused.
pin=$(openssl x509 -in "$T/pki/srv.pem" -pubkey -noout | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | base64)
badpin=$(openssl x509 -in "$CA" -pubkey -noout | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | base64)
"$CONSIGN" -q bootstrap build --product "$T/p100/product.yaml" --keydir "$K" --url "$U/repo" \
    --pin "sha256//$pin" --out "$T/boot-pin" >"$T/pin.log" 2>&1 || die "bootstrap build --pin"
"$CONSIGN" -q bootstrap build --product "$T/p100/product.yaml" --keydir "$K" --url "$U/repo" \
    --pin "sha256//$badpin" --out "$T/boot-badpin" >"$T/pin.log" 2>&1 ||
    die "bootstrap build --pin (wrong)"
last=$T/i5
boot "$last" "$T/boot-pin" /i /q PROPERTY_TOKEN="$TOKEN" --root "$T/r12" --ca-bundle "$CA"
expect_rc "pin: the server's public key pinned: installed (exit 0)" 0
last=$T/i6
boot "$last" "$T/boot-badpin" /i /q PROPERTY_TOKEN="$TOKEN" --root "$T/r13" --ca-bundle "$CA"
expect_rc "pin: another key pinned: refused (1603)" 67 "TLS|pin|public key"
check "pin: refused: nothing installed" test ! -e "$T/r13/opt/tiny"

if command -v tinyproxy >/dev/null; then
    mkdir -p "$T/proxy"
    chmod 0777 "$T/proxy"
    proxy_conf() {
        printf '%s\n' "Port $port" "Listen 127.0.0.1" "Timeout 30" "MaxClients 8" \
            "Allow 127.0.0.1" "ConnectPort $HTTPD_PORT" "BasicAuth consign $PW" \
            "LogLevel Connect" "LogFile \"$T/proxy/tinyproxy.log\"" >"$T/proxy/tinyproxy.conf"
        if [ "$(id -u)" -eq 0 ]; then
            printf '%s\n' "User nobody" "Group nogroup" >>"$T/proxy/tinyproxy.conf"
        fi
    }
    # shellcheck disable=SC2016 # $port is expanded by start_server
    if start_server tinyproxy proxy_conf '&&' exec tinyproxy -d -c "'$T/proxy/tinyproxy.conf'"; then
        PX=$port
        last=$T/i2
        boot "$last" "$B" /i /q PROPERTY_TOKEN="$TOKEN" PROPERTY_USE_PROXY=1 \
            PROPERTY_PROXY_HOST=127.0.0.1 PROPERTY_PROXY_PORT="$PX" PROPERTY_PROXY_USER=consign \
            PROPERTY_PROXY_PASSWORD="$PW" --root "$T/r2" --ca-bundle "$CA"
        expect_rc "proxy: through tinyproxy with Basic auth (exit 0)" 0
        check "proxy: tinyproxy carried the CONNECT" grep -q "CONNECT localhost" \
            "$T/proxy/tinyproxy.log"
        check "proxy: settings saved, password in secrets.conf only" bash -c \
            "grep -qx 'proxy_host=127.0.0.1' '$T/r2/var/opt/tiny/conf/agent.conf' &&
             grep -qx 'proxy_password=$PW' '$T/r2/var/opt/tiny/conf/secrets.conf' &&
             ! grep -rq '$PW' '$T/r2/var/opt/tiny/conf/agent.conf' '$T/r2/var/opt/tiny/logs'"
        check "proxy: the token and the proxy password in no file under the root but secrets.conf" \
            bash -c "[ \"\$(grep -rlF -e '$TOKEN' -e '$PW' '$T/r2' | paste -sd' ')\" = \
                      '$T/r2/var/opt/tiny/conf/secrets.conf' ]"
        last=$T/i3
        boot "$last" "$B" /i /q PROPERTY_TOKEN="$TOKEN" PROPERTY_USE_PROXY=1 \
            PROPERTY_PROXY_HOST=127.0.0.1 PROPERTY_PROXY_PORT="$PX" PROPERTY_PROXY_USER=consign \
            PROPERTY_PROXY_PASSWORD="wrong-$PW" --root "$T/r3" --ca-bundle "$CA"
        expect_rc "proxy: a wrong password: 1603 (exit status 67), the message says so" 67 \
            "proxy.*(credentials|407)"
        check "proxy: wrong password: nothing installed, no password in the output" bash -c \
            "[ ! -e '$T/r3/opt/tiny' ] && ! grep -q '$PW' '$last.err' '$last.out'"
        # A PAC file names its own proxies (no credentials go with a PAC
        # URL): a second tinyproxy, without authentication.
        proxy_conf() {
            printf '%s\n' "Port $port" "Listen 127.0.0.1" "Timeout 30" "MaxClients 8" \
                "Allow 127.0.0.1" "ConnectPort $HTTPD_PORT" "LogLevel Connect" \
                "LogFile \"$T/proxy/pac-proxy.log\"" >"$T/proxy/pac-proxy.conf"
            if [ "$(id -u)" -eq 0 ]; then
                printf '%s\n' "User nobody" "Group nogroup" >>"$T/proxy/pac-proxy.conf"
            fi
        }
        # shellcheck disable=SC2016
        if start_server pacproxy proxy_conf '&&' exec tinyproxy -d -c "'$T/proxy/pac-proxy.conf'"; then
            PX2=$port
            printf 'function FindProxyForURL(url, host) {\n  if (shExpMatch(url, "https://localhost:*"))\n    return "PROXY 127.0.0.1:%s; DIRECT";\n  return "DIRECT";\n}\n' \
                "$PX2" >"$T/www/proxy.pac"
            last=$T/i4
            boot "$last" "$B" /i /q PROPERTY_TOKEN="$TOKEN" PROPERTY_USE_PROXY=1 \
                PROPERTY_PROXY_PAC_URL="$U/proxy.pac" --root "$T/r4" --ca-bundle "$CA" \
                /l*v "$T/i4.log"
            expect_rc "PAC: the PAC file from nginx names a proxy; installed (exit 0)" 0
            check "PAC: the install went through that proxy" grep -q "CONNECT localhost" \
                "$T/proxy/pac-proxy.log"
            check "PAC: the PAC file was fetched directly (not through a proxy)" bash -c \
                "! grep -q 'proxy.pac' '$T/proxy/pac-proxy.log' '$T/proxy/tinyproxy.log' &&
                 grep -q 'PAC: http://127.0.0.1:$PX2' '$T/i4.log' &&
                 grep -q 'GET /proxy.pac' '$HTTPD_LOG'"
            check "PAC: proxy_pac_url saved" grep -q "proxy_pac_url=$U/proxy.pac" \
                "$T/r4/var/opt/tiny/conf/agent.conf"
        else
            not_ok "a second tinyproxy on 127.0.0.1" "$(tail -n 5 "$T/pacproxy.out")"
        fi
    else
        not_ok "tinyproxy on 127.0.0.1" "$(tail -n 5 "$T/tinyproxy.out")"
    fi
else
    skip "proxy and PAC (tinyproxy is not installed: Debian package tinyproxy-bin)"
fi

# =============================================================================
echo "# 3. command line, lock, uninstall"
last=$T/c1
boot "$last" "$B" /i /q PROPERTY_TOKEN=x PROPERTY_NOPE=1 --root "$T/c1r"
expect_rc "an unknown property: 1639 (exit status 103)" 103 "unknown property 'PROPERTY_NOPE'"
last=$T/c2
boot "$last" "$B" /i /q --root "$T/c2r"
expect_rc "/q without a token: 1639" 103 "without a token"
check "command-line errors: nothing made" bash -c "[ ! -e '$T/c1r' ] && [ ! -e '$T/c2r' ]"
mkdir -p "$T/r5/var/opt/tiny/update"
(flock 9 && sleep 20) 9>"$T/r5/var/opt/tiny/update/.lock" &
holder=$!
pids+=("$holder")
sleep 0.3
last=$T/c3
boot "$last" "$B" /i /q PROPERTY_TOKEN="$TOKEN" --root "$T/r5" --ca-bundle "$CA"
expect_rc "another bootstrap holds the lock: 1618 (exit status 82)" 82 "another install"
kill "$holder" 2>/dev/null || true
last=$T/c4
boot "$last" "$B" /x /q --root "$T/r2"
expect_rc "/x: uninstalled (exit 0)" 0
check "/x: /opt/tiny gone, /var/opt/tiny kept" bash -c \
    "[ ! -e '$T/r2/opt/tiny' ] && [ -f '$T/r2/var/opt/tiny/conf/secrets.conf' ]"

# =============================================================================
echo "# 4. TUF attacks against an installed 1.0.0"
"$CONSIGN" -q update publish --keydir "$K" --repo "$T/www/repo" --product "$T/p101/product.yaml" \
    amd64="$T/tiny-101.bin" >"$T/pub2.log" 2>&1 || die "update publish 1.0.1" "$(cat "$T/pub2.log")"
T101=$(find "$T/www/repo/targets/tiny/1.0.1" -type f | head -n 1)
# A repository copy per attack, each with its own bootstrap.
attack() { # NAME: copy the repository to www/NAME, build bootstrap $T/boot-NAME
    rm -rf "$T/www/$1"
    cp -a "$T/www/repo" "$T/www/$1"
    mkboot "$T/boot-$1" "$U/$1" || die "bootstrap build ($1)" "$(cat "$T/boot-$1.log")"
}
# refused NAME DESC REGEX: against a copy of R1 (1.0.0 installed, its TUF state).
refused() {
    local name=$1 desc=$2 re=$3 R=$T/ra-$1
    rm -rf "$R"
    cp -a "$R1" "$R"
    listing "$R" >"$T/before"
    last=$T/a-$name
    boot "$last" "$T/boot-$name" /i /q PROPERTY_TOKEN="$TOKEN" --root "$R" --ca-bundle "$CA"
    expect_rc "$desc: refused with 1603" 67 "$re"
    listing "$R" >"$T/after"
    if cmp -s "$T/before" "$T/after"; then
        ok "$desc: the install is unchanged"
    else
        not_ok "$desc: the install is unchanged" "$(diff "$T/before" "$T/after" | head -n 5)"
    fi
}
# Arbitrary installation: other bytes of the same length under the signed name.
attack arbitrary
f=$T/www/arbitrary/targets/tiny/1.0.1/linux-amd64/$(basename "$T101")
head -c "$(stat -c %s "$f")" /dev/urandom >"$f"
refused arbitrary "arbitrary installation (target bytes changed)" "sha256 differs"
# Endless data: a target longer than signed; a huge timestamp.
attack longtarget
head -c 100000 /dev/urandom >>"$T/www/longtarget/targets/tiny/1.0.1/linux-amd64/$(basename "$T101")"
refused longtarget "endless data: target longer than signed" "more than|bytes"
attack bigts
head -c 3000000 /dev/zero | tr '\0' ' ' >>"$T/www/bigts/metadata/timestamp.json"
refused bigts "endless data: a 3 MB timestamp.json" "timestamp.json.*more than"
# Freeze: a timestamp signed three days ago (expired after one).
attack frozen
SOURCE_DATE_EPOCH=$(($(date +%s) - 3 * 86400)) "$CONSIGN" -q update refresh-timestamp \
    --keydir "$K" --repo "$T/www/frozen" >"$T/frozen.log" 2>&1 ||
    die "refresh-timestamp in the past" "$(cat "$T/frozen.log")"
refused frozen "freeze: an expired timestamp" "expired"
# Rollback: R1 trusts newer metadata after an update of its TUF state; the
# repository as it was before 1.0.1 is older.
R6=$T/r6
cp -a "$R1" "$R6"
last=$T/a-up
boot "$last" "$B" /i /q PROPERTY_TOKEN="$TOKEN" --root "$R6" --ca-bundle "$CA"
expect_rc "upgrade: 1.0.0 -> 1.0.1 from the same bootstrap (exit 0)" 0
check "upgrade: current is 1.0.1, the token kept" bash -c \
    "grep -q '1.0.1' '$R6/opt/tiny/lib/tiny.txt' && grep -qx 'token=$TOKEN' '$R6/var/opt/tiny/conf/secrets.conf'"
mkboot "$T/boot-old" "$U/old" || die "bootstrap build (old)"
listing "$R6" >"$T/before"
last=$T/a-rollback
boot "$last" "$T/boot-old" /i /q PROPERTY_TOKEN="$TOKEN" --root "$R6" --ca-bundle "$CA"
expect_rc "rollback: the older repository is refused" 67 "older|rollback|version"
listing "$R6" >"$T/after"
if cmp -s "$T/before" "$T/after"; then ok "rollback: the install is unchanged"; else
    not_ok "rollback: the install is unchanged"
fi
# Mix-and-match: the targets file the snapshot names holds another version.
attack mix
tv=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['signed']['meta']['targets.json']['version'])" \
    "$(ls "$T/www/mix/metadata/"*.snapshot.json | sort -V | tail -n 1)")
cp "$T/www/mix/metadata/$((tv - 1)).targets.json" "$T/www/mix/metadata/$tv.targets.json"
refused mix "mix-and-match: targets does not match the snapshot" "targets"
# Metadata signed by a key not in root: another repository's timestamp.
"$CONSIGN" -q update init --keydir "$T/otherkeys" --repo "$T/otherrepo" >/dev/null 2>&1 ||
    die "update init (other keys)"
attack foreign
cp "$T/otherrepo/metadata/timestamp.json" "$T/www/foreign/metadata/timestamp.json"
refused foreign "a timestamp signed by a key not in root" "timestamp.json.*(not signed|signature)"
# A root signed only by its new keys (the old keys' signature removed).
attack newonly
cp -a "$K" "$T/keys-newonly" # this rotation must not move the real key directory on
"$CONSIGN" -q keys tuf-rotate --keydir "$T/keys-newonly" --repo "$T/www/newonly" root \
    >"$T/rot0.log" 2>&1 || die "tuf-rotate (newonly)" "$(cat "$T/rot0.log")"
python3 - "$T/www/newonly/metadata" <<'EOF'
import json, sys
d = sys.argv[1]
old = json.load(open(d + "/1.root.json"))
old_ids = set(old["signed"]["roles"]["root"]["keyids"])
new = json.load(open(d + "/2.root.json"))
new["signatures"] = [s for s in new["signatures"] if s["keyid"] not in old_ids]
json.dump(new, open(d + "/2.root.json", "w"), separators=(",", ":"), sort_keys=True)
EOF
refused newonly "a root signed only by its new keys" "root"
# Root rotation walk: v1 -> v2 -> v3 in the real repository, then 1.0.1.
"$CONSIGN" -q keys tuf-rotate --keydir "$K" --repo "$T/www/repo" root >"$T/rot1.log" 2>&1 &&
    "$CONSIGN" -q keys tuf-rotate --keydir "$K" --repo "$T/www/repo" root >"$T/rot2.log" 2>&1 ||
    not_ok "tuf-rotate twice" "$(cat "$T/rot1.log" "$T/rot2.log" 2>/dev/null)"
R7=$T/r7
cp -a "$R1" "$R7"
last=$T/a-walk
boot "$last" "$B" /i /q PROPERTY_TOKEN="$TOKEN" --root "$R7" --ca-bundle "$CA"
expect_rc "root v1 -> v2 -> v3: walked, 1.0.1 installed (exit 0)" 0
check "root walk: the trusted root is version 3 or later, 1.0.1 in place" bash -c \
    "grep -q '1.0.1' '$R7/opt/tiny/lib/tiny.txt' &&
     python3 -c \"import json,sys; sys.exit(json.load(open('$R7/var/opt/tiny/update/metadata/root.json'))['signed']['version'] < 3)\""
# A mirror with bad bytes, then a good one.
attack badmirror
f=$T/www/badmirror/targets/tiny/1.0.1/linux-amd64/$(basename "$T101")
head -c "$(stat -c %s "$f")" /dev/zero >"$f"
mkboot "$T/boot-mirrors" "$U/badmirror" "$U/repo" || die "bootstrap build (mirrors)"
R8=$T/r8
cp -a "$R1" "$R8"
last=$T/a-mirrors
boot "$last" "$T/boot-mirrors" /i /q PROPERTY_TOKEN="$TOKEN" --root "$R8" --ca-bundle "$CA"
expect_rc "bad mirror then good mirror: installed from the second (exit 0)" 0
check "bad mirror: the first mirror's bytes were refused and the second used" bash -c \
    "grep -q '1.0.1' '$R8/opt/tiny/lib/tiny.txt' && grep -q 'next mirror' '$R8/var/opt/tiny/logs/install.log'"

# Servers that misbehave on purpose (plain HTTP on 127.0.0.1, which a
# bootstrap accepts for loopback addresses only).
cat >"$T/server.py" <<'EOF'
# /drop/...: the first GET of a path sends the headers and half the body,
# then cuts the connection; later ones honour Range. /trickle/...: 50 bytes
# a second. Files come from ROOT (a TUF repository).
import os, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port, root, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
seen = {}
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_GET(self):
        with open(log, "a") as f:
            f.write("%s %s\n" % (self.path, self.headers.get("Range", "-")))
        parts = self.path.split("/", 2)
        path = os.path.join(root, parts[2]) if len(parts) == 3 else ""
        if ".." in self.path or not os.path.isfile(path):
            return self.send_error(404)
        data = open(path, "rb").read()
        n = seen.get(self.path, 0)
        seen[self.path] = n + 1
        if parts[1] == "trickle":
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            for i in range(0, len(data), 50):
                self.wfile.write(data[i : i + 50]); self.wfile.flush(); time.sleep(1)
            return
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        if parts[1] == "drop" and n == 0 and "/targets/" in self.path:
            self.wfile.write(data[: len(data) // 2]); self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(data[start:])
srv = ThreadingHTTPServer(("127.0.0.1", port), H)
srv.serve_forever()
EOF
: >"$T/py.log"
# shellcheck disable=SC2016
if start_server py 'exec python3 "$T/server.py" $port "$T/www/repo" "$T/py.log"'; then
    P=http://127.0.0.1:$port
    mkboot "$T/boot-trickle" "$P/trickle" || die "bootstrap build (trickle)"
    R9=$T/r9
    cp -a "$R1" "$R9"
    listing "$R9" >"$T/before"
    last=$T/a-trickle
    t0=$(date +%s)
    CONSIGN_LOW_SPEED_TIME=2 boot "$last" "$T/boot-trickle" /i /q PROPERTY_TOKEN="$TOKEN" --root "$R9"
    t1=$(date +%s)
    expect_rc "slow retrieval: a trickling server is abandoned (1603)" 67 "slow|too slow|timed out|Timeout"
    if [ $((t1 - t0)) -le 40 ] && listing "$R9" | cmp -s "$T/before" -; then
        ok "slow retrieval: gave up in $((t1 - t0)) s, the install unchanged"
    else
        not_ok "slow retrieval: gave up in $((t1 - t0)) s (want <= 40), install unchanged"
    fi
    # 5. resume
    mkboot "$T/boot-drop" "$P/drop" || die "bootstrap build (drop)"
    R10=$T/r10
    cp -a "$R1" "$R10"
    last=$T/a-drop
    boot "$last" "$T/boot-drop" /i /q PROPERTY_TOKEN="$TOKEN" --root "$R10"
    expect_rc "a download cut mid-file: resumed, installed (exit 0)" 0
    check "resume: the second request asked for the rest (Range: bytes=N-)" \
        grep -Eq "^/drop/targets/.* bytes=[1-9][0-9]*-$" "$T/py.log"
else
    not_ok "python3 test server"
fi

# Freeze, seen from the client's clock: the dynamic build under faketime.
if [ -z "$STATIC" ] && command -v faketime >/dev/null; then
    R11=$T/r11
    cp -a "$R1" "$R11"
    last=$T/a-faketime
    rc=0
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
        faketime -f '+10d' "$B" /i /q PROPERTY_TOKEN="$TOKEN" --root "$R11" --ca-bundle "$CA" >"$last.out" 2>"$last.err" \
        </dev/null || rc=$?
    expect_rc "freeze under faketime +10 days: the repository's metadata has expired" 67 "expired"
else
    skip "faketime (the static bootstrap does not load libfaketime; checked in the sanitizer build)"
fi

# =============================================================================
echo "# 7. interactive, in a terminal (tmux)"
if command -v tmux >/dev/null; then
    TMUX_SOCK=consign-boot-$$
    tm() { tmux -L "$TMUX_SOCK" "$@"; }
    screen() { tm capture-pane -p -J -S - -t "$1"; }
    wait_for() { # TARGET REGEX [SECONDS]
        local end=$((SECONDS + ${3:-20}))
        while [ "$SECONDS" -lt "$end" ]; do
            screen "$1" | grep -Eq -- "$2" && return 0
            sleep 0.1
        done
        { echo "timed out waiting for: $2"; screen "$1" | grep -v "^$" | tail -n 15; } >"$T/wait.out"
        return 1
    }
    answer() { # TARGET REGEX TEXT
        wait_for "$1" "$2" || return 1
        sleep 0.3
        [ -z "$3" ] || tm send-keys -t "$1" -l "$3"
        tm send-keys -t "$1" Enter
    }
    RT=$T/r-tty
    TOK_TTY=tty-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
    tm new-session -d -x 100 -y 30 -s boot \
        "'$B' /i --root '$RT' --ca-bundle '$CA'; echo \"[exit \$?]\"; sleep 3600"
    if answer boot:0 '^Install token:' "$TOK_TTY" &&
        answer boot:0 '^Proxy: \[n\]one, \[p\]AC URL, or \[m\]anual' '' &&
        answer boot:0 '^Enable automatic updates\? \[Y/n\]' n &&
        wait_for boot:0 '^\[exit [0-9]+\]' 60; then
        screen boot:0 >"$T/tty.screen"
        check "tty: asked for the token, proxy and updates, then installed (exit 0)" \
            grep -q '^\[exit 0\]' "$T/tty.screen"
        check "tty: a progress bar, the signer, where things live" bash -c \
            "grep -q '100%' '$T/tty.screen' && grep -q '^Verified tiny 1.0.1-1: signed by' '$T/tty.screen' &&
             grep -q 'Settings tool:' '$T/tty.screen'"
        check "tty: the token never on the screen; saved, auto_update=no" bash -c \
            "! grep -q '$TOK_TTY' '$T/tty.screen' &&
             grep -qx 'token=$TOK_TTY' '$RT/var/opt/tiny/conf/secrets.conf' &&
             grep -qx 'auto_update=no' '$RT/var/opt/tiny/conf/agent.conf'"
    else
        not_ok "tty: the dialog" "$(cat "$T/wait.out" 2>/dev/null)"
    fi
    tm kill-server 2>/dev/null || true
else
    skip "interactive (tmux is not installed)"
fi

# =============================================================================
echo "# 6. a Debian 11 root"
tar11=$(find "$CACHE" -maxdepth 1 -name 'bullseye-*.tar' -size +1M -printf '%s %p\n' 2>/dev/null |
    sort -n | head -n 1 | cut -d' ' -f2- || true)
if [ -z "$STATIC" ]; then
    skip "Debian 11 root (the sanitizer build's bootstrap is dynamic)"
elif [ -n "$tar11" ]; then
    D=$T/bullseye
    mkdir -p "$D"
    lock=/dev/null
    [ -f "$tar11.lock" ] && lock=$tar11.lock
    if (flock -s 8 && tar -C "$D" -xf "$tar11") 8<"$lock" 2>"$T/tar.log"; then
        cp "$B" "$D/tiny-bootstrap"
        cp "$CA" "$D/ca.pem"
        printf '%s\n' "127.0.0.1 localhost" >"$D/etc/hosts"
        last=$T/d11
        rc=0
        chroot "$D" /tiny-bootstrap /i /q PROPERTY_TOKEN="$TOKEN" --root /sandbox \
            --ca-bundle /ca.pem >"$last.out" 2>"$last.err" </dev/null || rc=$?
        expect_rc "Debian 11 root ($(basename "$(readlink "$D/lib/x86_64-linux-gnu/libc.so.6" ||
            echo glibc)")): installed from https://localhost (exit 0)" 0
        check "Debian 11 root: the agent is in /sandbox/opt/tiny" test -f "$D/sandbox/opt/tiny/lib/tiny.txt"
    else
        not_ok "unpack $tar11" "$(tail -n 3 "$T/tar.log")"
    fi
else
    skip "Debian 11 root (no bullseye-*.tar in $CACHE)"
fi

summary
