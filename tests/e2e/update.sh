#!/usr/bin/env bash
# End to end: an installed agent updates itself (NAME-update) from a TUF
# repository served by nginx over TLS, with the real example agent (Java,
# jlink runtime) answering its health check.
#
#  1. build: release key, TUF repository, four .bins of the example agent
#     (1.0.0, 1.1.0, 1.2.0 whose agent cannot start, 1.2.1), each carrying
#     update.conf and the TUF root; nginx over TLS with a test CA
#  2. install 1.0.0 from the .bin into a sandbox root; the tools and the
#     updater's timer are in place; the agent runs (a supervisor loop plays
#     the service manager) and answers /health
#  3. check with nothing newer: up to date; publish 1.1.0 at rollout 0%:
#     not yet for this agent, apply changes nothing; --now applies it
#  4. publish 1.2.0 (its agent does not start): apply installs it, the
#     health check fails, 1.1.0 runs again by itself, the failure is
#     recorded, and 1.2.0 is not tried again
#  5. publish 1.2.1: applied; status; manual rollback to 1.1.0 and forward
#  6. a kill -9 during probation is settled by the next run
#  7. auto-update off: --auto makes no request at all
#  8. NAME-config interactive in a terminal (tmux): a new token, a proxy
#     with a password, an invalid port asked again; modes; show masks; the
#     secrets in no file but secrets.conf and in no log; uninstall keeps
#     conf and logs, --purge removes them
#  9. kill -9 of NAME-update apply at 50 random moments within its run
#     time (a small agent, 1.0.2 ... 1.0.51): each time the old or the new version is whole and
#     current, the settings unchanged, and the next run completes
#     `NAME-update schedule` (the SysV fallback of the timer) applies 1.0.53.
#     The static NAME-update, NAME-config and uninstall inside a Debian 11
#     root (glibc 2.31), updating from https://localhost.
# 10. a server answering 503 with Retry-After: the timer's runs make no
#     request until then; an explicit check still asks
#
# Usage: update.sh BUILD_DIR SOURCE_DIR. Root, nginx, openssl, gpg, the
# example agent (CONSIGN_BUILD_EXAMPLES).
set -euo pipefail

# shellcheck source=tests/lib/testlib.sh
. "$(dirname "$0")/../lib/testlib.sh"
# shellcheck source=tests/lib/httpd.sh
. "$(dirname "$0")/../lib/httpd.sh"
e2e_args "$@"
T=$(mktemp -d /tmp/consign-upd.XXXXXX)
chmod 0711 "$T"
SUP=
cleanup() {
    [ -z "${TMUX_SOCK:-}" ] || tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
    touch "$T/stop" 2>/dev/null || true
    if [ -n "$SUP" ]; then
        kill "$SUP" 2>/dev/null || true
        [ -f "$T/agent.pid" ] && kill "$(cat "$T/agent.pid")" 2>/dev/null || true
        wait "$SUP" 2>/dev/null || true
    fi
    # Whatever still runs from the sandbox (the agent, even when its pid
    # file is gone).
    pkill -KILL -f -- "$T/root[0-9]*/opt/" 2>/dev/null || true
    httpd_stop
    remove_scratch
}
trap cleanup EXIT
trap 'exit 130' INT TERM
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
unset SOURCE_DATE_EPOCH

find_example_agent
AGENT=$EXAMPLE_AGENT_BUILD
NAME=example-agent

free_port() {
    local p hex
    while :; do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        hex=$(printf '%04X' "$p")
        awk -v p=":$hex" 'substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
            /proc/net/tcp /proc/net/tcp6 2>/dev/null || break
    done
    echo "$p"
}
HP=$(free_port)

# run DESC-PREFIX CMD...: exit code in $rc, output in $T/last.{out,err}.
run() {
    rc=0
    "$@" >"$T/last.out" 2>"$T/last.err" </dev/null || rc=$?
}
expect() { # DESC WANT [REGEX on stdout+stderr]
    local desc=$1 want=$2 re=${3:-}
    if [ "$rc" -eq "$want" ] && { [ -z "$re" ] || grep -Eq -- "$re" "$T/last.out" "$T/last.err"; }; then
        ok "$desc"
    else
        not_ok "$desc" "exit $rc (want $want${re:+, output matching $re})" \
            "$(tail -n 8 "$T/last.err" "$T/last.out" 2>/dev/null)"
    fi
}

# =============================================================================
echo "# 1. build"
K=$T/keys
"$CONSIGN" -q keys generate --keydir "$K" --algo ed25519 --name "update e2e" \
    --email e2e@example.com >"$T/keygen.log" 2>&1 || die "keys generate" "$(cat "$T/keygen.log")"
"$CONSIGN" -q update init --keydir "$K" --repo "$T/www/repo" >"$T/init.log" 2>&1 ||
    die "update init" "$(cat "$T/init.log")"
mkdir -p "$T/pki"
(
    cd "$T/pki"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=consign update test CA" -keyout ca.key -out ca.pem \
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
echo "# nginx: $U; the agent's health check: 127.0.0.1:$HP"

mkproduct() { # VERSION MAIN_CLASS
    mkdir -p "$T/p$1"
    cp "$SRC/examples/agent/start-agent.ini" "$SRC/examples/agent/EULA.txt" "$T/p$1/"
    cat >"$T/p$1/product.yaml" <<EOF
consign: 1
name: $NAME
version: $1
summary: Example agent (update test)
description: The example agent, for the update test.
maintainer: T <t@example.com>
license: Apache-2.0
architecture: amd64
agent:
  files:
    - src: $AGENT/agent.jar
      dst: /opt/$NAME/lib/agent.jar
      mode: 0644
    - src: start-agent.ini
      dst: /etc/opt/$NAME/start-agent.ini
      config: true
runtime:
  package: $NAME-jre
  files:
    - src: $AGENT/runtime
      dst: /opt/$NAME/jre
service:
  exec:
    - /opt/$NAME/jre/bin/java
    - -Dagent.name=$NAME
    - -Dagent.health.port=$HP
    - -Dagent.heartbeat.ms=500
    - -cp
    - "{root}/opt/$NAME/lib/agent.jar"
    - $2
  health_url: http://127.0.0.1:$HP/health
  probation: 30
settings:
  token: required
  proxy: true
  auto_update: true
distribution:
  url: $U/repo
  channel: stable
EOF
    "$CONSIGN" -q sfx build --product "$T/p$1/product.yaml" --keydir "$K" --level 1 \
        --out "$T/$NAME-$1.bin" >"$T/sfx$1.log" 2>&1 || die "sfx build $1" "$(cat "$T/sfx$1.log")"
}
mkproduct 1.0.0 com.example.agent.Agent
mkproduct 1.1.0 com.example.agent.Agent
mkproduct 1.2.0 com.example.agent.NoSuchClass # exits at once: never healthy
mkproduct 1.2.1 com.example.agent.Agent
publish() { # VERSION [ARGS...]
    local v=$1
    shift
    "$CONSIGN" -q update publish --keydir "$K" --repo "$T/www/repo" \
        --product "$T/p$v/product.yaml" "$@" amd64="$T/$NAME-$v.bin" >"$T/pub$v.log" 2>&1 ||
        die "update publish $v" "$(cat "$T/pub$v.log")"
}
publish 1.0.0
ok "built four .bins with the updater's configuration; 1.0.0 published"

# =============================================================================
echo "# 2. install 1.0.0"
R=$T/root
TOKEN=tok-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
printf '%s\n' "$TOKEN" >"$T/token"
chmod 600 "$T/token"
run "$T/$NAME-1.0.0.bin" --root "$R" --accept-eula --token-file "$T/token" --quiet
expect "install 1.0.0 from the .bin (exit 0)" 0
UPD=$R/opt/$NAME/$NAME-update
check "update.conf and root.json in the version, update.conf names the repository" \
    grep -qx "url=$U/repo" "$R/opt/$NAME/current/lib/consign/update.conf"
check "update.conf carries the health check and the probation" bash -c \
    "grep -qx 'health_url=http://127.0.0.1:$HP/health' '$R/opt/$NAME/current/lib/consign/update.conf' &&
     grep -qx 'probation=30' '$R/opt/$NAME/current/lib/consign/update.conf'"
check "the TUF root shipped is the repository's" \
    cmp "$T/www/repo/metadata/1.root.json" "$R/opt/$NAME/current/lib/consign/root.json"
check "the updater's service and timer are installed" bash -c \
    "grep -q '^ExecStart=/opt/$NAME/$NAME-update --auto --quiet apply$' \
        '$R/etc/systemd/system/$NAME-update.service' &&
     grep -q '^OnUnitActiveSec=433min$' '$R/etc/systemd/system/$NAME-update.timer' &&
     grep -q '^RandomizedDelaySec=' '$R/etc/systemd/system/$NAME-update.timer'"
check "NAME-update, NAME-config, NAME-uninstall and uninstall are in /opt/NAME" bash -c \
    "for t in $NAME-update $NAME-config $NAME-uninstall uninstall; do
       [ -x '$R/opt/$NAME/'\$t ] || exit 1; done"
if command -v systemd-analyze >/dev/null && [ -d /lib/systemd/system ]; then
    # A root with the installed tree and this machine's systemd units
    # (sysinit.target and the rest the units are checked against).
    V=$T/vroot
    mkdir -p "$V/usr/lib/systemd" "$V/etc/systemd"
    cp -a /lib/systemd/system "$V/usr/lib/systemd/"
    cp -al "$R/opt" "$V/opt"
    cp -a "$R/etc/systemd/system" "$V/etc/systemd/"
    run systemd-analyze verify --root="$V" "$V/etc/systemd/system/$NAME.service" \
        "$V/etc/systemd/system/$NAME-update.timer" "$V/etc/systemd/system/$NAME-update.service"
    expect "systemd-analyze verify: the hardened unit, the update service and timer" 0
    check "systemd-analyze verify: no warning" bash -c \
        "! grep -Ei 'unknown|invalid|fail|ignoring' '$T/last.err'"
else
    skip "systemd-analyze is not installed"
fi

# The service manager's part: start the agent, restart it when it exits.
: >"$T/agent.log"
(
    while [ ! -e "$T/stop" ]; do
        "$R/opt/$NAME/bin/$NAME-launch" --root "$R" >>"$T/agent.log" 2>&1 &
        echo $! >"$T/agent.pid"
        wait $! || true
        sleep 0.3
    done
) &
SUP=$!
# Like systemctl restart, the command returns once the old process is gone.
RESTART="p=\$(cat $T/agent.pid); kill \$p; while kill -0 \$p 2>/dev/null; do sleep 0.1; done"
healthy() { curl -fsS --max-time 2 "http://127.0.0.1:$HP/health" 2>/dev/null; }
wait_health() { # VERSION
    local i
    for i in $(seq 60); do
        if healthy | grep -q "version=$1"; then return 0; fi
        sleep 0.5
    done
    return 1
}
check "the agent 1.0.0 answers its health check" wait_health 1.0.0
# The jar's own version is the same in every .bin (one build): the version
# the install runs is what `current` points to.
current() { readlink "$R/opt/$NAME/current"; }
check "current -> versions/1.0.0-1" test "$(current)" = versions/1.0.0-1

# =============================================================================
echo "# 3. check, rollout"
U_ARGS=(--root "$R" --ca-bundle "$CA" --restart-command "$RESTART")
run "$UPD" "${U_ARGS[@]}" check
expect "check with nothing newer: up to date" 0 "up to date"
check "the install kept its payload as the base of delta updates" bash -c \
    "grep -qx 'version=1.0.0-1' '$R/var/opt/$NAME/update/cache/payload.info' &&
     [ -s '$R/var/opt/$NAME/update/cache/payload.tar.zst' ]"
publish 1.1.0 --rollout 0 --delta-from "$T/$NAME-1.0.0.bin" --delta-level 3
PATCH=$(find "$T/www/repo/targets/$NAME/1.1.0/linux-amd64" -name '*.from-1.0.0-1.patch')
BIN110=$(stat -c %s "$T/$NAME-1.1.0.bin")
check "publish --delta-from: a patch target beside the .bin, under 10% of it" \
    test -n "$PATCH" -a "$(stat -c %s "$PATCH")" -lt $((BIN110 / 10))
run "$UPD" "${U_ARGS[@]}" check
expect "1.1.0 at rollout 0%: not yet for this agent" 0 "rolled out to 0%"
run "$UPD" "${U_ARGS[@]}" apply
expect "apply at rollout 0%: nothing installed" 0 "rolled out"
check "still on 1.0.0" test "$(current)" = versions/1.0.0-1
log_before=$(wc -l <"$HTTPD_LOG")
run "$UPD" "${U_ARGS[@]}" apply --now
expect "apply --now: 1.0.0 -> 1.1.0 through the patch, healthy (exit 0)" 0 \
    "updated from 1.0.0-1 to 1.1.0 \(delta: $(stat -c %s "$PATCH") bytes fetched\)"
check "the .bin of 1.1.0 was not fetched, the patch was" bash -c \
    "tail -n +$((log_before + 1)) '$HTTPD_LOG' > '$T/apply.log' &&
     ! grep -q '$NAME-1.1.0.bin' '$T/apply.log' && grep -q 'from-1.0.0-1.patch' '$T/apply.log'"
check "bytes served for the update: the patch and the metadata, under 10% of the .bin" bash -c \
    "[ \$(awk '{ s += \$10 } END { print s + 0 }' '$T/apply.log') -lt $((BIN110 / 10)) ]"
check "the base is now 1.1.0's" grep -qx "version=1.1.0-1" "$R/var/opt/$NAME/update/cache/payload.info"
check "current -> versions/1.1.0-1" test "$(current)" = versions/1.1.0-1
check "the agent runs again after the switch" wait_health 1.0.0
check "the previous version is kept for rollback" test -d "$R/opt/$NAME/versions/1.0.0-1"
check "the download is gone" bash -c "[ -z \"\$(ls -A '$R/var/opt/$NAME/update/downloads')\" ]"
publish 1.1.0 --rollout 100

# =============================================================================
echo "# 4. a version that fails its health check"
publish 1.2.0 --delta-from "$T/$NAME-1.1.0.bin" --delta-level 3
start=$(date +%s)
run "$UPD" "${U_ARGS[@]}" --probation 12 apply
expect "apply 1.2.0: unhealthy, switched back (exit 1)" 1 "1\.2\.0.*no healthy answer.*1\.1\.0-1 runs again"
check "took about the probation (12 s), not more than 40 s" \
    test $(($(date +%s) - start)) -ge 12 -a $(($(date +%s) - start)) -le 40
check "current -> versions/1.1.0-1 again" test "$(current)" = versions/1.1.0-1
check "1.1.0 answers its health check again" wait_health 1.0.0
run "$UPD" "${U_ARGS[@]}" status
expect "status: the failure recorded, 1.2.0 skipped" 0 "skipped: 1\.2\.0"
check "update.log: the rollback and why" bash -c \
    "grep -q 'switching back to 1.1.0-1' '$R/var/opt/$NAME/logs/update.log'"
run "$UPD" "${U_ARGS[@]}" apply
expect "apply again: 1.2.0 is not retried" 0 "failed here before and is skipped"
check "still on 1.1.0" test "$(current)" = versions/1.1.0-1

# =============================================================================
echo "# 5. a newer version after the failed one; a damaged base"
publish 1.2.1 --delta-from "$T/$NAME-1.1.0.bin" --delta-from "$T/$NAME-1.2.0.bin" --delta-level 3
check "the base kept is 1.2.0's (the failed version's, patched in)" \
    grep -qx "version=1.2.0-1" "$R/var/opt/$NAME/update/cache/payload.info"
B=$R/var/opt/$NAME/update/cache/payload.tar.zst
printf '\x5a' | dd of="$B" bs=1 seek=$(($(stat -c %s "$B") / 2)) conv=notrunc status=none
run "$UPD" "${U_ARGS[@]}" apply
expect "apply 1.2.1 with the base damaged: the patch is refused, the full .bin installs (exit 0)" 0 \
    "updated from 1.1.0-1 to 1.2.1 \(full download"
check "update.log says why the delta was not used" \
    grep -q "delta update failed" "$R/var/opt/$NAME/logs/update.log"
check "current -> versions/1.2.1-1" test "$(current)" = versions/1.2.1-1
check "only the current and the previous version are kept" bash -c \
    "[ \"\$(ls '$R/opt/$NAME/versions' | sort | paste -sd' ')\" = '1.1.0-1 1.2.1-1' ]"
run "$UPD" "${U_ARGS[@]}" status
expect "status: installed 1.2.1-1, last result" 0 "installed: 1\.2\.1-1"
run "$UPD" "${U_ARGS[@]}" rollback
expect "rollback: back to 1.1.0 (exit 0)" 0 "Rolled back"
check "current -> versions/1.1.0-1 after rollback" test "$(current)" = versions/1.1.0-1
check "the agent runs after the rollback" wait_health 1.0.0
run "$UPD" "${U_ARGS[@]}" apply
expect "1.2.1, rolled back by hand, is skipped afterwards" 0 "skipped"

# =============================================================================
echo "# 6. killed during probation"
mkproduct 1.3.0 com.example.agent.NoSuchClass
publish 1.3.0
"$UPD" "${U_ARGS[@]}" --probation 60 apply >"$T/k.out" 2>&1 &
kp=$!
for _ in $(seq 100); do
    grep -q '^pending=1.3.0' "$R/var/opt/$NAME/update/state" 2>/dev/null &&
        [ "$(current)" = versions/1.3.0-1 ] && break
    sleep 0.2
done
kill -9 "$kp" 2>/dev/null || true
wait "$kp" 2>/dev/null || true
check "killed on probation: 1.3.0 is current, pending recorded" bash -c \
    "[ \"\$(readlink '$R/opt/$NAME/current')\" = versions/1.3.0-1 ] &&
     grep -q '^pending=1.3.0' '$R/var/opt/$NAME/update/state'"
run "$UPD" "${U_ARGS[@]}" --probation 10 apply
expect "the next run restarts 1.3.0, finishes its probation: unhealthy, back to 1.1.0" 1 \
    "failed its probation"
check "current -> versions/1.1.0-1 after the settled probation" test "$(current)" = versions/1.1.0-1

# =============================================================================
echo "# 7. auto-update off"
"$R/opt/$NAME/$NAME-config" --root "$R" set auto_update=no >/dev/null
before=$(wc -l <"$HTTPD_LOG")
run "$UPD" "${U_ARGS[@]}" --auto apply
expect "--auto with auto_update=no: nothing checked (exit 0)" 0 "nothing was checked"
check "no request reached the server" test "$(wc -l <"$HTTPD_LOG")" -eq "$before"
run "$UPD" "${U_ARGS[@]}" check
expect "an explicit check still works" 0 "skipped|up to date|available"

# =============================================================================
echo "# 8. secrets, uninstall"
# NAME-config interactive in a real terminal: a new token, a proxy with a
# password (an invalid port first), auto-update on.
TOK2=tok2-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
PW2=pw2-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
if command -v tmux >/dev/null; then
    TMUX_SOCK=consign-upd-$$
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
        sleep 0.2
        [ -z "$3" ] || tm send-keys -t "$1" -l "$3"
        tm send-keys -t "$1" Enter
    }
    tm new-session -d -x 120 -y 40 -s cfg \
        "'$R/opt/$NAME/$NAME-config' --root '$R' interactive; echo \"[exit \$?]\"; sleep 3600"
    if answer cfg:0 '^Install token \(Enter keeps the current one\):' "$TOK2" &&
        answer cfg:0 '^Proxy: \[n\]one' m &&
        answer cfg:0 '^Proxy host:' proxy.example.com &&
        answer cfg:0 '^Proxy port:' 70000 &&
        answer cfg:0 "not a port number \\(1-65535\\)" 3128 &&
        answer cfg:0 '^Proxy user' alice &&
        answer cfg:0 '^Proxy password:' "$PW2" &&
        answer cfg:0 'automatic updates\? \[Y/n\]' y &&
        wait_for cfg:0 '^\[exit [0-9]+\]' 20; then
        screen cfg:0 >"$T/cfg.screen"
        check "NAME-config interactive in a terminal: saved (exit 0)" grep -q '^\[exit 0\]' "$T/cfg.screen"
        check "NAME-config interactive: port 70000 refused, asked again" \
            grep -q "proxy_port: '70000' is not a port number (1-65535)" "$T/cfg.screen"
        check "NAME-config interactive: neither the token nor the password on the screen" bash -c \
            "! grep -qF -e '$TOK2' -e '$PW2' '$T/cfg.screen'"
        check "NAME-config interactive: token and password in secrets.conf, proxy in agent.conf" bash -c \
            "grep -qx 'token=$TOK2' '$R/var/opt/$NAME/conf/secrets.conf' &&
             grep -qx 'proxy_password=$PW2' '$R/var/opt/$NAME/conf/secrets.conf' &&
             grep -qx 'proxy_host=proxy.example.com' '$R/var/opt/$NAME/conf/agent.conf' &&
             grep -qx 'proxy_port=3128' '$R/var/opt/$NAME/conf/agent.conf' &&
             grep -qx 'auto_update=yes' '$R/var/opt/$NAME/conf/agent.conf'"
    else
        not_ok "NAME-config interactive: the dialog" "$(cat "$T/wait.out" 2>/dev/null)"
    fi
    tm kill-server 2>/dev/null || true
else
    skip "NAME-config interactive (tmux is not installed)"
fi
check "conf modes: secrets.conf 0600, agent.conf 0640, conf/ 0750" bash -c \
    "[ \"\$(stat -c %a '$R/var/opt/$NAME/conf/secrets.conf') \$(stat -c %a '$R/var/opt/$NAME/conf/agent.conf') \$(stat -c %a '$R/var/opt/$NAME/conf')\" = '600 640 750' ]"
run "$R/opt/$NAME/$NAME-config" --root "$R" show
expect "NAME-config show masks the token and the password" 0 '^proxy_password=\*+$'
check "show: neither secret printed" bash -c "! grep -qF -e '$TOK2' -e '$PW2' '$T/last.out'"
check "after the install and every update: the token and the password in no file but secrets.conf" bash -c \
    "[ \"\$(grep -rlF -e '$TOK2' -e '$PW2' -e '$TOKEN' '$R' | paste -sd' ')\" = '$R/var/opt/$NAME/conf/secrets.conf' ]"
check "no log mentions a secret" bash -c \
    "! grep -rqF -e '$TOKEN' -e '$TOK2' -e '$PW2' '$R/var/opt/$NAME/logs' '$T/agent.log'"
# Log rotation: the installed logrotate file, its paths moved into the sandbox.
if command -v logrotate >/dev/null; then
    check "the logrotate file is installed" test -f "$R/etc/logrotate.d/$NAME"
    sed "s|/var/opt/|$R/var/opt/|" "$R/etc/logrotate.d/$NAME" >"$T/logrotate.conf"
    size=$(stat -c %s "$R/var/opt/$NAME/logs/update.log")
    run logrotate -s "$T/logrotate.state" -f "$T/logrotate.conf"
    expect "logrotate -f with the installed configuration (exit 0)" 0
    check "update.log rotated (copytruncate: update.log.1 holds it, update.log is empty)" bash -c \
        "[ \"\$(stat -c %s '$R/var/opt/$NAME/logs/update.log.1')\" = '$size' ] &&
         [ ! -s '$R/var/opt/$NAME/logs/update.log' ]"
else
    skip "log rotation (logrotate is not installed)"
fi
touch "$T/stop"
kill "$(cat "$T/agent.pid")" 2>/dev/null || true
wait "$SUP" 2>/dev/null || true
SUP=
run "$R/opt/$NAME/uninstall" --root "$R"
expect "/opt/NAME/uninstall: removed, settings kept (exit 0)" 0 "kept"
check "uninstall: /opt/NAME, the units and the logrotate file are gone" bash -c \
    "[ ! -e '$R/opt/$NAME' ] && [ ! -e '$R/etc/systemd/system/$NAME-update.timer' ] &&
     [ ! -e '$R/etc/systemd/system/$NAME.service' ] && [ ! -e '$R/etc/logrotate.d/$NAME' ]"
check "uninstall: conf and logs are kept" bash -c \
    "[ -f '$R/var/opt/$NAME/conf/secrets.conf' ] && [ -f '$R/var/opt/$NAME/logs/update.log' ]"
run "$T/$NAME-1.0.0.bin" --uninstall --purge --root "$R"
expect "NAME.bin --uninstall --purge: exit 0" 0
check "purge: /var/opt/NAME and /etc/opt/NAME are gone" bash -c \
    "[ ! -e '$R/var/opt/$NAME' ] && [ ! -e '$R/etc/opt/$NAME' ]"

# =============================================================================
echo "# 9. kill -9 during apply, 50 times"
R2=$T/root2
# A second repository, its root made with the same keys (KEYDIR/tuf/root.json
# now pins it: the .bins below carry it).
"$CONSIGN" -q update init --keydir "$K" --repo "$T/www/tinyrepo" >"$T/tinit.log" 2>&1 ||
    die "update init (tiny)" "$(cat "$T/tinit.log")"
mktiny() { # VERSION
    mkdir -p "$T/t$1"
    printf 'tiny %s\n' "$1" >"$T/t$1/tiny.txt"
    head -c 3000000 /dev/urandom >"$T/t$1/blob" # bytes to write: a wider window
    cat >"$T/t$1/product.yaml" <<EOF
consign: 1
name: tiny
version: $1
summary: Tiny agent
description: A tiny agent for the kill test.
maintainer: T <t@example.com>
license: MIT
architecture: amd64
agent:
  files:
    - src: tiny.txt
      dst: /opt/tiny/lib/tiny.txt
    - src: blob
      dst: /opt/tiny/lib/blob
service:
  exec: [/opt/tiny/bin/tiny]
distribution:
  url: $U/tinyrepo
EOF
    "$CONSIGN" -q sfx build --product "$T/t$1/product.yaml" --keydir "$K" --level 1 \
        --out "$T/tiny-$1.bin" >"$T/tsfx.log" 2>&1 || die "sfx build tiny $1" "$(cat "$T/tsfx.log")"
    "$CONSIGN" -q update publish --keydir "$K" --repo "$T/www/tinyrepo" \
        --product "$T/t$1/product.yaml" amd64="$T/tiny-$1.bin" >"$T/tpub.log" 2>&1 ||
        die "publish tiny $1" "$(cat "$T/tpub.log")"
}
mktiny 1.0.0
printf 'tok-kill\n' >"$T/ktoken"
chmod 600 "$T/ktoken"
run "$T/tiny-1.0.0.bin" --root "$R2" --accept-eula --token-file "$T/ktoken" --quiet
expect "tiny 1.0.0 installed" 0
TUPD=$R2/opt/tiny/tiny-update
conf_sum() { cat "$R2/var/opt/tiny/conf/agent.conf" "$R2/var/opt/tiny/conf/secrets.conf" | sha256sum; }
SUM=$(conf_sum)
whole() { # VERSION: current names it and its files are complete
    [ "$(readlink "$R2/opt/tiny/current")" = "versions/$1-1" ] &&
        [ "$(cat "$R2/opt/tiny/current/lib/tiny.txt")" = "tiny $1" ] &&
        cmp -s "$T/t$1/blob" "$R2/opt/tiny/current/lib/blob" &&
        [ -x "$R2/opt/tiny/current/bin/tiny-launch" ] &&
        [ "$(cat "$R2/opt/tiny/current/.version")" = "$1-1" ]
}
# How long a whole apply takes here: the kills land anywhere within it.
mktiny 1.0.1
t0=$(date +%s%N)
run "$TUPD" --root "$R2" --ca-bundle "$CA" --quiet apply
D=$((($(date +%s%N) - t0) / 1000000))
expect "tiny 1.0.0 -> 1.0.1 without a kill (${D} ms)" 0
bad=0 newer=0 older=0 prev=1.0.1
for i in $(seq 2 51); do
    v=1.0.$i
    mktiny "$v"
    "$TUPD" --root "$R2" --ca-bundle "$CA" --quiet apply >/dev/null 2>&1 &
    kp=$!
    ms=$(((RANDOM * 32768 + RANDOM) % (D * 3 / 2 + 1))) # a few land after the end
    sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
    kill -9 "$kp" 2>/dev/null || true
    wait "$kp" 2>/dev/null || true
    if whole "$v"; then
        newer=$((newer + 1))
    elif whole "$prev"; then
        older=$((older + 1))
    else
        bad=$((bad + 1))
        echo "    # kill $i: neither $prev nor $v is whole: $(readlink "$R2/opt/tiny/current")" >&2
    fi
    [ "$(conf_sum)" = "$SUM" ] || {
        bad=$((bad + 1))
        echo "    # kill $i: the settings changed" >&2
    }
    # The next run completes the update (or finds it done).
    if ! "$TUPD" --root "$R2" --ca-bundle "$CA" --quiet apply >"$T/after.log" 2>&1 ||
        ! whole "$v"; then
        bad=$((bad + 1))
        echo "    # kill $i: the next run did not reach $v: $(tail -n 2 "$T/after.log")" >&2
    fi
    prev=$v
done
echo "# killed 50 times: $older left the old version current, $newer the new one"
check "kill -9 x 50: always the old or the new version, whole; settings intact; the next run completes" \
    test "$bad" -eq 0
check "the kills hit both sides of the switch" test "$older" -gt 0 -a "$newer" -gt 0
mktiny 1.0.52
run "$TUPD" --root "$R2" --ca-bundle "$CA" --quiet apply
expect "an update after the kills (exit 0)" 0
check "no staging directory of a killed run is left behind" bash -c \
    "! ls -a '$R2/opt/tiny/versions' | grep -q '^\\.stage'"

# The SysV fallback of the timer: `NAME-update schedule` (the init script
# starts it where systemd does not run) makes --auto rounds by itself.
mktiny 1.0.53
"$TUPD" --root "$R2" --ca-bundle "$CA" schedule --first-check 1 >"$T/sched.out" 2>&1 &
sp=$!
for _ in $(seq 150); do
    [ "$(readlink "$R2/opt/tiny/current")" = versions/1.0.53-1 ] && break
    sleep 0.2
done
kill "$sp" 2>/dev/null || true
wait "$sp" 2>/dev/null || true
check "NAME-update schedule: its first round applies 1.0.53 by itself" whole 1.0.53
check "NAME-update schedule: logged the next round (433 min + up to 30)" bash -c \
    "grep -Eq 'schedule: next check in (2[5-7][0-9]{3}) s' '$R2/var/opt/tiny/logs/update.log'"

# The static tools where customers run: a Debian 11 root (glibc 2.31).
CACHE=${CONSIGN_CHROOT_CACHE:-$BUILD/chroots}
if ! file -L "$BUILD/agenttools/consign-target" | grep -q "statically linked"; then
    skip "Debian 11 root (the sanitizer build's tools are dynamic)"
else
    D=$T/bullseye
    if bash "$SRC/tests/lib/chroot.sh" "$CACHE" bullseye "$D" >"$T/tar.log" 2>&1; then
        cp "$T/tiny-1.0.52.bin" "$D/tiny.bin"
        cp "$CA" "$D/ca.pem"
        cp "$T/ktoken" "$D/tok"
        printf '%s\n' "127.0.0.1 localhost" >"$D/etc/hosts"
        run chroot "$D" /tiny.bin --root /sandbox --accept-eula --token-file /tok --quiet
        expect "Debian 11 root: the .bin installs tiny 1.0.52" 0
        run chroot "$D" /sandbox/opt/tiny/tiny-update --root /sandbox --ca-bundle /ca.pem apply
        expect "Debian 11 root: NAME-update (static) updates to 1.0.53 from https://localhost" 0 \
            "updated from 1.0.52-1 to 1.0.53"
        run chroot "$D" /sandbox/opt/tiny/tiny-config --root /sandbox show
        expect "Debian 11 root: NAME-config (static) shows the settings, token masked" 0 '^token=\*+$'
        run chroot "$D" /sandbox/opt/tiny/uninstall --root /sandbox --purge
        expect "Debian 11 root: /opt/NAME/uninstall (static) --purge" 0 "removed"
    else
        not_ok "Debian 11 root (tests/lib/chroot.sh)" "$(tail -n 5 "$T/tar.log")"
    fi
fi

# =============================================================================
echo "# 10. a server that asks to come back later (Retry-After)"
RAP=$(free_port)
cat >"$T/ra.py" <<EOF
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open("$T/ra.count", "a") as f:
            f.write(self.path + "\n")
        self.send_response(503)
        self.send_header("Retry-After", "3600")
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", $RAP), H).serve_forever()
EOF
: >"$T/ra.count"
python3 "$T/ra.py" &
RAPID=$!
for _ in $(seq 50); do
    timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$RAP" 2>/dev/null && break
    sleep 0.1
done
"$CONSIGN" -q sfx build --product "$T/t1.0.0/product.yaml" --keydir "$K" --level 1 \
    --update-url "http://127.0.0.1:$RAP" --out "$T/tiny-ra.bin" >"$T/ra.log" 2>&1 ||
    die "sfx build (Retry-After)" "$(cat "$T/ra.log")"
R3=$T/root3
run "$T/tiny-ra.bin" --root "$R3" --accept-eula --token-file "$T/ktoken" --quiet
expect "tiny installed, updating from a server that answers 503" 0
run "$R3/opt/tiny/tiny-update" --root "$R3" --auto apply
expect "--auto: 503 with Retry-After: 3600: a clear error" 1 "HTTP 503.*|retry after 3600"
n1=$(wc -l <"$T/ra.count")
check "one request, not retried against the server's wish" test "$n1" -eq 1
run "$R3/opt/tiny/tiny-update" --root "$R3" --auto apply
expect "--auto again within the hour: deferred, exit 0" 0 "come back later"
check "no request made while deferred" test "$(wc -l <"$T/ra.count")" -eq "$n1"
run "$R3/opt/tiny/tiny-update" --root "$R3" status
expect "status names the server's request" 0 "retry after 3600"
run "$R3/opt/tiny/tiny-update" --root "$R3" check
expect "an explicit check asks anyway" 1 "503"
check "the explicit check made a request" test "$(wc -l <"$T/ra.count")" -gt "$n1"
kill "$RAPID" 2>/dev/null || true
wait "$RAPID" 2>/dev/null || true

summary
