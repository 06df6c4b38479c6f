# Shared helpers of the end-to-end scripts (sourced, not run). The caller runs
# `e2e_args "$@"` (BUILD, SRC, CONSIGN), sets T (its scratch directory), counts
# with `passed` and `failed`, and ends with `summary`, whose last line
# "N passed, N failed" is what CI reads.
# shellcheck shell=bash

passed=${passed:-0}
failed=${failed:-0}
mounts=()

# e2e_args BUILD_DIR SOURCE_DIR: sets BUILD, SRC and CONSIGN, or exits 2.
e2e_args() {
    if [ $# -ne 2 ]; then
        echo "usage: $0 BUILD_DIR SOURCE_DIR" >&2
        exit 2
    fi
    BUILD=$(cd "$1" && pwd)
    SRC=$(cd "$2" && pwd)
    CONSIGN=$BUILD/cli/consign
}

# remove_scratch: unmount whatever "mounts" lists, then remove $T (kept, and
# named, with CONSIGN_KEEP_TMP=1).
remove_scratch() {
    local m
    for m in "${mounts[@]}"; do
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
    if [ "${CONSIGN_KEEP_TMP:-}" = 1 ]; then
        echo "kept $T" >&2
    else
        rm -rf --one-file-system "$T"
    fi
}

ok() {
    passed=$((passed + 1))
    echo "ok - $1"
}

# not_ok DESC [DETAIL...]: a failed check, with detail lines indented below it.
not_ok() {
    failed=$((failed + 1))
    echo "not ok - $1"
    shift
    local line
    for line in "$@"; do
        echo "    $line"
    done
}

skip() {
    echo "skip - $*"
}

summary() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

# A failure that makes the remaining checks meaningless.
die() {
    not_ok "$@"
    summary || true
    exit 1
}

# check DESC CMD...: the command's success is the check.
check() {
    local desc=$1
    shift
    if "$@" >"$T/check.out" 2>&1 </dev/null; then
        ok "$desc"
    else
        not_ok "$desc" "failed: $*" "$(tail -n 20 "$T/check.out")"
    fi
}

# check_out DESC REGEX CMD...: the command succeeds and its output matches REGEX.
check_out() {
    local desc=$1 re=$2 rc=0
    shift 2
    "$@" >"$T/check.out" 2>&1 </dev/null || rc=$?
    if [ "$rc" -eq 0 ] && grep -Eq -- "$re" "$T/check.out"; then
        ok "$desc"
    else
        not_ok "$desc" "exit $rc, want output matching: $re" "$(tail -n 20 "$T/check.out")"
    fi
}

# check_fail DESC REGEX CMD...: the command fails and its output matches REGEX.
check_fail() {
    local desc=$1 re=$2 rc=0
    shift 2
    "$@" >"$T/check.out" 2>&1 </dev/null || rc=$?
    if [ "$rc" -ne 0 ] && grep -Eq -- "$re" "$T/check.out"; then
        ok "$desc"
    else
        not_ok "$desc" "exit $rc (want non-zero), want output matching: $re" \
            "$(tail -n 20 "$T/check.out")"
    fi
}

# expect_fail_clean DESC OUTDIR REGEX CMD...: exit non-zero with one line on
# stderr matching REGEX, and OUTDIR holds nothing at all (no package, no temporary file).
expect_fail_clean() {
    local desc=$1 out=$2 re=$3 rc=0 left
    shift 3
    "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
    left=$(ls -A "$out" 2>/dev/null || true)
    if [ "$rc" -ne 0 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -Eq -- "$re" "$T/err" &&
        [ -z "$left" ]; then
        ok "$desc"
    else
        not_ok "$desc" "exit $rc (want non-zero), stderr:" "$(cat "$T/err")" "want: $re" \
            "left in $out: ${left:-nothing}"
    fi
}

# The example agent's jar and runtime: $EXAMPLE_AGENT_BUILD, else BUILD's own,
# else the CONSIGN_EXAMPLE_AGENT_DIR of BUILD's CMake cache (a sanitizer build
# reuses the normal build's agent). Exports EXAMPLE_AGENT_BUILD or dies.
find_example_agent() {
    if [ -z "${EXAMPLE_AGENT_BUILD:-}" ]; then
        if [ -f "$BUILD/examples/agent/agent.jar" ]; then
            EXAMPLE_AGENT_BUILD=$BUILD/examples/agent
        else
            EXAMPLE_AGENT_BUILD=$(sed -n 's/^CONSIGN_EXAMPLE_AGENT_DIR:[A-Z]*=//p' \
                "$BUILD/CMakeCache.txt" 2>/dev/null || true)
        fi
    fi
    if [ -z "$EXAMPLE_AGENT_BUILD" ] || [ ! -f "$EXAMPLE_AGENT_BUILD/agent.jar" ] ||
        [ ! -x "$EXAMPLE_AGENT_BUILD/runtime/bin/java" ]; then
        die "no example agent build (agent.jar, runtime/); set EXAMPLE_AGENT_BUILD"
    fi
    EXAMPLE_AGENT_BUILD=$(cd "$EXAMPLE_AGENT_BUILD" && pwd)
    export EXAMPLE_AGENT_BUILD
}

# copy_example DIR: the example's product file with its neighbours, elsewhere.
copy_example() {
    mkdir -p "$1"
    cp "$SRC/examples/agent/product.yaml" "$SRC/examples/agent/start-agent.ini" \
        "$SRC/examples/agent/EULA.txt" "$1/"
}

# in_root CMD...: run CMD inside the chroot $R, no input.
in_root() {
    chroot "$R" "$@" </dev/null
}

# stat_is PATH "MODE USER:GROUP": inside the chroot $R.
stat_is() {
    test "$(chroot "$R" stat -c '%a %U:%G' "$1")" = "$2"
}
