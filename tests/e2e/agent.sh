#!/usr/bin/env bash
# End to end: the example agent on its jlink runtime, started by the launcher.
#
# Stages the example product with `consign stage` into a sandbox root, starts
# the agent through the staged launcher and checks the runtime, the log, the
# options file, the health check and a clean stop on SIGTERM; then checks the
# launcher's rules (docs/launcher.md) with --print and broken input files.
#
# Usage: agent.sh BUILD_DIR SOURCE_DIR
# The agent's jar and runtime come from $EXAMPLE_AGENT_BUILD, else
# BUILD_DIR/examples/agent, else the CONSIGN_EXAMPLE_AGENT_DIR of BUILD_DIR's
# CMake cache (a sanitizer build reuses the normal build's agent).
set -euo pipefail

# shellcheck source=tests/lib/testlib.sh
. "$(dirname "$0")/../lib/testlib.sh"
e2e_args "$@"
PRODUCT=$SRC/examples/agent/product.yaml
NAME=example-agent

passed=0
failed=0
agent_pid=
T=$(mktemp -d "${TMPDIR:-/tmp}/consign-e2e-agent.XXXXXX")

cleanup() {
    if [ -n "$agent_pid" ] && kill -0 "$agent_pid" 2>/dev/null; then
        kill -KILL "$agent_pid" 2>/dev/null || true
        wait "$agent_pid" 2>/dev/null || true
    fi
    remove_scratch
}
trap cleanup EXIT

# expect_print DESC EXPECTED CMD...: the output (of a --print) and exit 0.
expect_print() {
    local desc=$1 exp=$2 out rc=0
    shift 2
    out=$("$@" 2>"$T/err") || rc=$?
    if [ "$rc" -eq 0 ] && [ "$out" = "$exp" ]; then
        ok "$desc"
    else
        not_ok "$desc" "exit $rc, stderr: $(cat "$T/err")" "expected:" "$exp" "got:" "$out"
    fi
}

# expect_fail DESC CODE REGEX CMD...: exit CODE, one line on stderr matching REGEX.
expect_fail() {
    local desc=$1 code=$2 re=$3 rc=0
    shift 3
    "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
    if [ "$rc" -eq "$code" ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -Eq -- "$re" "$T/err"; then
        ok "$desc"
    else
        not_ok "$desc" "exit $rc (want $code), stderr:" "$(cat "$T/err")" "want: $re"
    fi
}

# A process that has exited but is not yet reaped is not alive.
alive() {
    local st
    st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ $st != Z* ]]
}

# wait_for SECONDS CMD...: poll every 0.1 s until CMD succeeds.
wait_for() {
    local i n=$(($1 * 10))
    shift
    for ((i = 0; i < n; i++)); do
        if "$@"; then return 0; fi
        sleep 0.1
    done
    return 1
}

free_port() {
    local p i
    for ((i = 0; i < 100; i++)); do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

# --- the agent build ---------------------------------------------------------
find_example_agent
for tool in curl ps; do
    command -v "$tool" >/dev/null || die "tools present" "$tool is missing"
done
want_version=$(sed -n 's/^version:[[:space:]]*//p' "$PRODUCT")

# --- stage ---------------------------------------------------------------------
R=$T/root
if ! "$CONSIGN" stage --product "$PRODUCT" --root "$R" >"$T/stage.out" 2>&1; then
    die "consign stage" "$(cat "$T/stage.out")"
fi
ok "consign stage"

LAUNCH=$R/opt/$NAME/bin/$NAME-launch
JRE=$R/opt/$NAME/jre
INI=$R/etc/opt/$NAME/start-agent.ini
CONF=$R/var/opt/$NAME/conf
LOG=$R/var/opt/$NAME/logs/agent.log
check "staged launcher is executable" test -x "$LAUNCH"
check "staged launch file" test -f "$R/opt/$NAME/lib/consign/launch.conf"
check "staged runtime" test -x "$JRE/bin/java"
check "staged options file" test -f "$INI"
if [ ! -x "$LAUNCH" ] || [ ! -x "$JRE/bin/java" ]; then
    die "staged layout usable"
fi

# The shipped options file: -Xmx64m right after the program, nothing commented.
expect_print "shipped options file" "$(printf '%s\n' "$JRE/bin/java" -Xmx64m \
    -Dagent.name=$NAME -cp "$R/opt/$NAME/lib/agent.jar" com.example.agent.Agent)" \
    "$LAUNCH" --root "$R" --print

out=$("$LAUNCH" --root "$R" -- --version 2>&1) || true
check "agent --version through the launcher is the product version ($want_version)" \
    test "$out" = "$want_version"

# --- run the agent -------------------------------------------------------------
PORT=$(free_port) || die "free port"
cat >"$INI" <<EOF
# written by tests/e2e/agent.sh
-Xmx64m
  -Dagent.tag=from-ini
-Dagent.heartbeat.ms=200
# -Dagent.tag=commented-out
; -Dagent.heartbeat.ms=999

-Dagent.health.port=$PORT
-Djdk.http.auth.proxying.disabledSchemes=""
EOF
cat >"$CONF/agent.conf" <<'EOF'
# the options file overrides this
heartbeat_ms=5000
colour=blue
EOF
secret="tok-$RANDOM$RANDOM-do-not-log"
(umask 077 && printf 'token=%s\n' "$secret" >"$CONF/secrets.conf")

"$LAUNCH" --root "$R" >"$T/agent.out" 2>&1 &
agent_pid=$!

exe_is_jlink_java() {
    [ "$(readlink "/proc/$agent_pid/exe" 2>/dev/null)" = "$JRE/bin/java" ]
}
check "the launcher execs the jlink runtime in place (/proc/PID/exe)" wait_for 10 exe_is_jlink_java
check "the runtime's modules are java.base and jdk.httpserver only" \
    test "$("$JRE/bin/java" --list-modules | sed 's/@.*//' | sort | tr '\n' ' ')" = \
    "java.base jdk.httpserver "
check "CONSIGN_ROOT exported to the agent" \
    grep -qzxF "CONSIGN_ROOT=$R" "/proc/$agent_pid/environ"
check "option from the ini on the command line" \
    grep -qzxF -- "-Dagent.tag=from-ini" "/proc/$agent_pid/cmdline"
check "quoted ini value unquoted on the command line" \
    grep -qzxF -- "-Djdk.http.auth.proxying.disabledSchemes=" "/proc/$agent_pid/cmdline"

has_heartbeat() { grep -q ' INFO heartbeat seq=' "$LOG" 2>/dev/null; }
if wait_for 10 has_heartbeat; then
    ok "heartbeat logged within 10 s"
else
    not_ok "heartbeat logged within 10 s" "agent output: $(cat "$T/agent.out")"
fi
check "starting line" grep -Eq \
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z INFO starting name=$NAME version=$want_version pid=$agent_pid java=17\.[^ ]* configured=yes maxheap_mb=[0-9]+$" \
    "$LOG"
check "heartbeat honours the ini (interval_ms=200 tag=from-ini)" \
    grep -Eq " INFO heartbeat seq=[0-9]+ interval_ms=200 tag=from-ini$" "$LOG"
check "commented-out options ignored" bash -c "! grep -Eq 'commented-out|interval_ms=(999|5000)' '$LOG'"
check "unknown conf key reported by name" grep -q "WARN conf: agent.conf line 3: unknown key colour" "$LOG"
check "the token is never logged" bash -c "! grep -qF -- '$secret' '$LOG' '$T/agent.out'"
two_beats() { [ "$(grep -c ' INFO heartbeat ' "$LOG")" -ge 3 ]; }
check "heartbeats repeat" wait_for 5 two_beats

body=$(curl -sS --max-time 5 "http://127.0.0.1:$PORT/health" 2>&1) || body="curl failed: $body"
if [[ $body =~ ^ok\ version=$want_version\ seq=[1-9][0-9]*$ ]]; then
    ok "health check answers: $body"
else
    not_ok "health check answers" "got: $body"
fi
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/other") || true
check "health server: other paths are 404" test "$code" = 404
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST "http://127.0.0.1:$PORT/health") || true
check "health server: POST is 405" test "$code" = 405

# SIGTERM: gone within 5 s, exit status 0, stop logged.
t0=$(now_ms)
kill -TERM "$agent_pid"
stopped_in_time=0
not_alive() { ! alive "$agent_pid"; }
if wait_for 5 not_alive; then stopped_in_time=1; fi
elapsed=$(($(now_ms) - t0))
status=0
if [ "$stopped_in_time" = 1 ]; then
    wait "$agent_pid" || status=$?
    agent_pid=
    ok "SIGTERM: agent gone in ${elapsed} ms"
    check "SIGTERM: exit status 0 (got $status)" test "$status" -eq 0
else
    not_ok "SIGTERM: agent gone within 5 s"
fi
check "SIGTERM: stopping logged" grep -q ' INFO stopping signal=TERM$' "$LOG"
check "SIGTERM: stopped logged last" bash -c "tail -n 1 '$LOG' | grep -q ' INFO stopped$'"

# --- the launcher's rules, with --print ------------------------------------------
U=$T/u
mkdir -p "$U/root/etc" "$U/root/bin"
LF=$U/launch.conf
OPT=$U/root/etc/opts.ini

cat >"$LF" <<'EOF'
# test launch file
name=demo

options_file=/etc/opts.ini
arg=/bin/prog
arg=first
arg={options}
arg=--home={root}/x:{root}/y
arg=last
EOF
printf '%s\n' '   -Dspaced=a b c  ' '-Dq=""' '-Dq2="x y"' '"-Dwhole=1 2"' '-Dmid="a"b' \
    '# -Dcomment' '; -Dsemicolon' '' $'\t-Dtab\t' >"$OPT"
expect_print "options: quoting, trimming, comments; placed at {options}; {root} expanded" \
    "$(printf '%s\n' "$U/root/bin/prog" first -Dspaced=a\ b\ c -Dq= '-Dq2=x y' '-Dwhole=1 2' \
        '-Dmid="a"b' -Dtab "--home=$U/root/x:$U/root/y" last)" \
    "$LAUNCH" --launch-file "$LF" --root "$U/root" --print

expect_print "CONSIGN_ROOT from the environment when no --root" \
    "$(printf '%s\n' "$U/root/bin/prog" first -Dspaced=a\ b\ c -Dq= '-Dq2=x y' '-Dwhole=1 2' \
        '-Dmid="a"b' -Dtab "--home=$U/root/x:$U/root/y" last)" \
    env CONSIGN_ROOT="$U/root" "$LAUNCH" --launch-file "$LF" --print

printf '%s\n' -Done -Dtwo >"$OPT"
sed -i '/^arg={options}$/d' "$LF"
expect_print "options right after the program when there is no {options}" \
    "$(printf '%s\n' "$U/root/bin/prog" -Done -Dtwo first "--home=$U/root/x:$U/root/y" last)" \
    "$LAUNCH" --launch-file "$LF" --root "$U/root" --print

expect_print "--root overrides CONSIGN_ROOT" \
    "$(printf '%s\n' "$U/root/bin/prog" -Done -Dtwo first "--home=$U/root/x:$U/root/y" last)" \
    env CONSIGN_ROOT=/nonexistent "$LAUNCH" --launch-file "$LF" --root "$U/root" --print

printf 'name=demo\noptions_file=/nonexistent-consign-e2e/opts.ini\narg=/bin/prog\narg={root}/x\n' \
    >"$U/sys.conf"
expect_print "empty root: real system paths" "$(printf '%s\n' /bin/prog /x)" \
    env CONSIGN_ROOT= "$LAUNCH" --launch-file "$U/sys.conf" --print

expect_print "arguments after -- appended" \
    "$(printf '%s\n' "$U/root/bin/prog" -Done -Dtwo first "--home=$U/root/x:$U/root/y" last \
        --version 'a b')" \
    "$LAUNCH" --launch-file "$LF" --root "$U/root" --print -- --version 'a b'

rm -f "$OPT"
expect_print "missing options file: no options" \
    "$(printf '%s\n' "$U/root/bin/prog" first "--home=$U/root/x:$U/root/y" last)" \
    "$LAUNCH" --launch-file "$LF" --root "$U/root" --print

printf 'name=demo\noptions_file=\narg=relative-prog\narg={root}\n' >"$U/norm.conf"
expect_print "empty options_file; a relative program is not prefixed" \
    "$(printf '%s\n' relative-prog "$U/root")" \
    "$LAUNCH" --launch-file "$U/norm.conf" --root "$U/root" --print

# Failures: one line "NAME-launch: ..." on stderr; 2 for bad input, 1 otherwise.
P="^$NAME-launch: "
printf '# c\nname=demo\nbogus=1\narg=/bin/prog\n' >"$U/bad.conf"
expect_fail "unknown key in the launch file: exit 2 with the line number" 2 \
    "${P}$U/bad.conf: line 3: unknown key 'bogus'$" \
    "$LAUNCH" --launch-file "$U/bad.conf" --root "$U/root" --print
printf 'name=demo\narg=/bin/prog\nno equals sign\n' >"$U/bad.conf"
expect_fail "line without '=' in the launch file: exit 2" 2 "${P}.*: line 3: expected key=value$" \
    "$LAUNCH" --launch-file "$U/bad.conf" --root "$U/root" --print
printf 'name=demo\narg=/bin/prog\narg={options}\narg={options}\n' >"$U/bad.conf"
expect_fail "{options} twice: exit 2" 2 "${P}.*: line 4: .*more than once" \
    "$LAUNCH" --launch-file "$U/bad.conf" --root "$U/root" --print
printf 'name=demo\nname=again\narg=/bin/prog\n' >"$U/bad.conf"
expect_fail "duplicate name: exit 2" 2 "${P}.*: line 2: duplicate key 'name'" \
    "$LAUNCH" --launch-file "$U/bad.conf" --root "$U/root" --print
printf 'name=demo\noptions_file=/etc/opts.ini\n' >"$U/bad.conf"
expect_fail "no arg: exit 2" 2 "${P}.*: no arg" \
    "$LAUNCH" --launch-file "$U/bad.conf" --root "$U/root" --print
printf 'name=demo\narg=/bin/prog\narg=a\001b\n' >"$U/bad.conf"
expect_fail "control character in the launch file: exit 2" 2 "${P}.*: line 3: .*control character" \
    "$LAUNCH" --launch-file "$U/bad.conf" --root "$U/root" --print
{ echo name=demo; for i in $(seq 1 257); do echo "arg=/a$i"; done; } >"$U/bad.conf"
expect_fail "more than 256 args: exit 2" 2 "${P}.*: line 258: more than 256 args" \
    "$LAUNCH" --launch-file "$U/bad.conf" --root "$U/root" --print
head -c 70000 /dev/zero | tr '\0' '#' >"$U/bad.conf"
expect_fail "launch file over 64 KiB: exit 2" 2 "${P}.*larger than" \
    "$LAUNCH" --launch-file "$U/bad.conf" --root "$U/root" --print
expect_fail "missing launch file: exit 1" 1 "${P}$U/nope.conf: " \
    "$LAUNCH" --launch-file "$U/nope.conf" --root "$U/root" --print

printf 'name=demo\noptions_file=/etc/opts.ini\narg=/bin/prog\n' >"$LF"
printf -- '-Dok=1\n-Dbad=a\001b\n' >"$OPT"
expect_fail "control character in the options file: exit 2 naming file and line" 2 \
    "${P}$OPT: line 2: .*control character 0x01" \
    "$LAUNCH" --launch-file "$LF" --root "$U/root" --print
printf -- '-Dok=1\n-Dnul=a\000b\n' >"$OPT"
expect_fail "NUL in the options file: exit 2" 2 "${P}$OPT: line 2: .*NUL" \
    "$LAUNCH" --launch-file "$LF" --root "$U/root" --print
{ printf -- '-Dlong='; head -c 5000 /dev/zero | tr '\0' x; echo; } >"$OPT"
expect_fail "options line over 4 KiB: exit 2" 2 "${P}$OPT: line 1: longer than 4096" \
    "$LAUNCH" --launch-file "$LF" --root "$U/root" --print
for i in $(seq 1 257); do echo "-Do$i=1"; done >"$OPT"
expect_fail "more than 256 options: exit 2" 2 "${P}$OPT: line 257: more than 256 options" \
    "$LAUNCH" --launch-file "$LF" --root "$U/root" --print
printf -- '-Dok=1\n' >"$OPT"
chmod 0666 "$OPT"
expect_fail "world-writable options file refused: exit 2" 2 "${P}$OPT: writable by every user" \
    "$LAUNCH" --launch-file "$LF" --root "$U/root" --print
chmod 0644 "$OPT"

expect_fail "unknown option: exit 2" 2 "${P}unknown option '--bogus'" "$LAUNCH" --bogus
expect_fail "positional argument: exit 2" 2 "${P}unexpected argument 'x'" "$LAUNCH" x
expect_fail "--root without a value: exit 2" 2 "${P}option '--root' needs a value" \
    "$LAUNCH" --root
expect_fail "program missing: exit 1" 1 "${P}cannot run $U/root/bin/prog: " \
    "$LAUNCH" --launch-file "$LF" --root "$U/root"
out=$("$LAUNCH" --help) || true
if [[ $out == "Usage: $NAME-launch "* ]]; then ok "--help"; else not_ok "--help" "$out"; fi

summary
