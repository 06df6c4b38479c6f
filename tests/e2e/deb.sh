#!/usr/bin/env bash
# End to end: the example product as .deb packages, checked with dpkg-deb and
# lintian, then installed, upgraded, removed and purged with the real dpkg of
# Debian 11, 12 and 13 (mmdebstrap chroots, cached by tests/lib/chroot.sh).
#
# Also: byte-for-byte reproducibility with SOURCE_DATE_EPOCH (whatever the
# number of compression threads, CONSIGN_COMPRESS_THREADS), zstd members
# (dpkg >= 1.21.18 reads them, bullseye's 1.20 must refuse them), and bad input
# (a source that is not a file, a full output file system) leaving nothing in
# the output directory.
#
# Usage: deb.sh BUILD_DIR SOURCE_DIR
# Needs root (chroot, mount). Chroots are cached in $CONSIGN_CHROOT_CACHE, else
# BUILD_DIR/chroots. The agent's jar and runtime come from $EXAMPLE_AGENT_BUILD,
# else BUILD_DIR/examples/agent, else the CONSIGN_EXAMPLE_AGENT_DIR of the cache.
set -euo pipefail

# shellcheck source=tests/lib/testlib.sh
. "$(dirname "$0")/../lib/testlib.sh"
e2e_args "$@"
CACHE=${CONSIGN_CHROOT_CACHE:-$BUILD/chroots}
NAME=example-agent
RT=example-agent-jre
SDE=1700000000
SUITES=${CONSIGN_DEB_SUITES:-bullseye bookworm trixie}

passed=0
failed=0
T=$(mktemp -d "${TMPDIR:-/tmp}/consign-e2e-deb.XXXXXX")

trap remove_scratch EXIT
trap 'exit 130' INT TERM

# --- prerequisites -------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "deb.sh needs root (chroot, mount)"
for tool in dpkg-deb lintian mmdebstrap ar md5sum; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
[ -x "$CONSIGN" ] || die "$CONSIGN is missing; build first"
"$CONSIGN" pkg deb --help >/dev/null 2>&1 || die "$CONSIGN has no 'pkg deb' command"

find_example_agent

copy_example "$T/copy100"
copy_example "$T/p101"
sed -i 's/^version: 1\.0\.0$/version: 1.0.1/' "$T/p101/product.yaml"
grep -q '^version: 1.0.1$' "$T/p101/product.yaml" || die "could not make the 1.0.1 product"
echo "# added in 1.0.1" >>"$T/p101/start-agent.ini"

# pkgdeb OUT PRODUCT [ARGS...]: consign pkg deb, output and errors in OUT.log.
pkgdeb() {
    local out=$1 product=$2
    shift 2
    "$CONSIGN" pkg deb --product "$product" --out "$out" \
        --define "EXAMPLE_AGENT_BUILD=$EXAMPLE_AGENT_BUILD" "$@" >"$out.log" 2>&1
}

# Two builds at a time. The second reproducible build starts a second later,
# from another directory whose files are newer than SOURCE_DATE_EPOCH, and
# compresses on another number of threads (the output must not depend on it).
b100=0 b100b=0 b101=0 bzst=0
SOURCE_DATE_EPOCH=$SDE pkgdeb "$T/out100" "$SRC/examples/agent/product.yaml" &
p1=$!
sleep 1
SOURCE_DATE_EPOCH=$SDE CONSIGN_COMPRESS_THREADS=4 pkgdeb "$T/out100b" "$T/copy100/product.yaml" &
p2=$!
wait "$p1" || b100=$?
wait "$p2" || b100b=$?
(unset SOURCE_DATE_EPOCH && pkgdeb "$T/out101" "$T/p101/product.yaml") &
p1=$!
SOURCE_DATE_EPOCH=$SDE pkgdeb "$T/outzst" "$SRC/examples/agent/product.yaml" --compress zstd &
p2=$!
wait "$p1" || b101=$?
wait "$p2" || bzst=$?
# More thread counts: xz on 2 (1.0.0 above ran on the default and on 4), zstd on 1 and 3.
for t in xz:2 zstd:1 zstd:3; do
    SOURCE_DATE_EPOCH=$SDE CONSIGN_COMPRESS_THREADS=${t#*:} pkgdeb "$T/out-${t/:/-}" \
        "$SRC/examples/agent/product.yaml" --compress "${t%:*}" ||
        die "consign pkg deb failed ($t threads)" "$(cat "$T/out-${t/:/-}.log")"
done

A100=$T/out100/${NAME}_1.0.0-1_amd64.deb
R100=$T/out100/${RT}_1.0.0-1_amd64.deb
A101=$T/out101/${NAME}_1.0.1-1_amd64.deb
R101=$T/out101/${RT}_1.0.1-1_amd64.deb
AZST=$T/outzst/${NAME}_1.0.0-1_amd64.deb
RZST=$T/outzst/${RT}_1.0.0-1_amd64.deb
built() { # RC LOG
    [ "$1" -eq 0 ] || die "consign pkg deb failed (${2##*/})" "$(cat "$2" 2>/dev/null)"
}
built "$b100" "$T/out100.log"
built "$b100b" "$T/out100b.log"
built "$b101" "$T/out101.log"
built "$bzst" "$T/outzst.log"
for deb in "$A100" "$R100" "$A101" "$R101" "$AZST" "$RZST"; do
    [ -f "$deb" ] || die "consign pkg deb did not write $deb" "$(ls -R "$T")"
done
ok "consign pkg deb builds 1.0.0, 1.0.1 and zstd packages"

# --- 1. the format, with dpkg-deb ---------------------------------------------------
check "ar members: debian-binary, control.tar.xz, data.tar.xz" \
    test "$(ar t "$A100" | paste -sd' ')" = "debian-binary control.tar.xz data.tar.xz"
check "zstd ar members: debian-binary, control.tar.zst, data.tar.zst" \
    test "$(ar t "$AZST" | paste -sd' ')" = "debian-binary control.tar.zst data.tar.zst"
check "debian-binary is 2.0" test "$(ar p "$A100" debian-binary)" = "2.0"

dpkg-deb --info "$A100" >"$T/info" 2>&1 || die "dpkg-deb --info failed" "$(cat "$T/info")"
fields=$(dpkg-deb -f "$A100" | sed -n 's/^\([A-Za-z-]*\):.*/\1/p' | paste -sd' ')
check "control fields in order" test "$fields" = \
    "Package Version Architecture Maintainer Installed-Size Depends Section Priority Homepage Description"
f() { dpkg-deb -f "$1" "$2"; }
check "Package, Version, Architecture" \
    test "$(f "$A100" Package) $(f "$A100" Version) $(f "$A100" Architecture)" = \
    "$NAME 1.0.0-1 amd64"
check "Depends: the runtime, exactly this version" \
    test "$(f "$A100" Depends)" = "$RT (= 1.0.0-1)"
check "Maintainer, Section, Priority, Homepage" \
    test "$(f "$A100" Maintainer)|$(f "$A100" Section)|$(f "$A100" Priority)|$(f "$A100" Homepage)" \
    = "Example Packaging Team <packaging@example.com>|net|optional|https://www.example.com/agent"
check_out "Description: summary, then the text with one leading space" \
    '^ Description: Example network agent for consign$' cat "$T/info"
check_out "the long description keeps its lines" \
    '^  /var/opt/example-agent/logs and answers a local health check\.$' cat "$T/info"
check "the runtime has no Depends" test -z "$(f "$R100" Depends)"
check_out "dpkg-deb -I control md5sums conffiles" '^/etc/opt/example-agent/start-agent\.ini$' \
    dpkg-deb -I "$A100" control md5sums conffiles
check "conffiles: the init script, the logrotate file and start-agent.ini" \
    test "$(dpkg-deb -I "$A100" conffiles)" = \
    "$(printf '/etc/init.d/%s\n/etc/logrotate.d/%s\n/etc/opt/%s/start-agent.ini' "$NAME" "$NAME" "$NAME")"
check "control.tar: ./ and the control files, 0755 scripts, root/root" \
    test "$(dpkg-deb --ctrl-tarfile "$A100" | tar tv | awk '{print $1, $2, $NF}' | paste -sd,)" = \
    "drwxr-xr-x root/root ./,-rw-r--r-- root/root ./conffiles,-rw-r--r-- root/root ./control,-rw-r--r-- root/root ./md5sums,-rwxr-xr-x root/root ./postinst,-rwxr-xr-x root/root ./postrm,-rwxr-xr-x root/root ./prerm"

dpkg-deb --contents "$A100" >"$T/contents"
check "data.tar: every entry owned by root/root" \
    test "$(awk '$2 != "root/root"' "$T/contents" | wc -l)" -eq 0
check "data.tar: entries start with ./, directories end with /" \
    test "$(awk '{ p = ($1 ~ /^l/) ? $(NF - 2) : $NF }
                 p !~ /^\.\// || ($1 ~ /^d/ && p !~ /\/$/)' "$T/contents" | wc -l)" -eq 0
check_out "data.tar: the launcher 0755" \
    "^-rwxr-xr-x root/root .* \./opt/$NAME/bin/$NAME-launch$" cat "$T/contents"
check_out "data.tar: the settings tool 0755" \
    "^-rwxr-xr-x root/root .* \./opt/$NAME/bin/consign-config$" cat "$T/contents"
check_out "data.tar: /opt/NAME/NAME-config links to it" \
    "^lrwxrwxrwx root/root .* \./opt/$NAME/$NAME-config -> bin/$NAME-config$" cat "$T/contents"
check_out "data.tar: the jar 0644" "^-rw-r--r-- root/root .* \./opt/$NAME/lib/agent\.jar$" \
    cat "$T/contents"
check_out "data.tar: the systemd unit" "\./lib/systemd/system/$NAME\.service$" cat "$T/contents"
check_out "data.tar: the init script 0755" "^-rwxr-xr-x root/root .* \./etc/init\.d/$NAME$" \
    cat "$T/contents"
check_out "runtime data.tar: java 0755" "^-rwxr-xr-x root/root .* \./opt/$NAME/jre/bin/java$" \
    dpkg-deb --contents "$R100"

for deb in "$A100" "$R100"; do
    x=$T/x.${deb##*/}
    mkdir -p "$x"
    dpkg-deb -x "$deb" "$x"
    check "md5sums verify (${deb##*/})" \
        bash -c "cd '$x' && dpkg-deb -I '$deb' md5sums | md5sum --quiet -c -"
    # dpkg-gencontrol's rule: KiB rounded up per file and symlink, 1 per other object.
    want=$(find "$x" -printf '%y %s\n' |
        awk '{ if ($1 == "f" || $1 == "l") n += int(($2 + 1023) / 1024); else n += 1 } END { print n }')
    check "Installed-Size as dpkg-gencontrol counts (${deb##*/}: $want)" \
        test "$(f "$deb" Installed-Size)" = "$want"
done

# --- 2. lintian --------------------------------------------------------------------
lintian -I "$A100" "$R100" >"$T/lintian" 2>&1 || true
check "lintian: no errors" test "$(grep -c '^E:' "$T/lintian")" -eq 0
echo "    lintian tags kept: $(grep -E '^[WI]:' "$T/lintian" | awk '{print $1, $3}' | sort -u |
    paste -sd' ')"
undocumented=
while read -r tag; do
    grep -q -- "\`$tag\`" "$SRC/docs/packages.md" || undocumented="$undocumented $tag"
done < <(grep -E '^[WI]:' "$T/lintian" | awk '{print $3}' | sort -u)
check "every lintian warning and info is explained in docs/packages.md${undocumented:+:$undocumented}" \
    test -z "$undocumented"
grep '^E:' "$T/lintian" | head -n 20 | sed 's/^/    /' || true

# --- 4. reproducibility -----------------------------------------------------------------
check "SOURCE_DATE_EPOCH: agent byte-for-byte the same from another directory, later" \
    cmp "$A100" "$T/out100b/${A100##*/}"
check "SOURCE_DATE_EPOCH: runtime byte-for-byte the same" cmp "$R100" "$T/out100b/${R100##*/}"
for t in xz-2 zstd-1 zstd-3; do
    ref=$T/out100
    [ "$t" = xz-2 ] || ref=$T/outzst
    for p in "${A100##*/}" "${R100##*/}"; do
        check "CONSIGN_COMPRESS_THREADS=${t#*-}: $p byte-for-byte the same (${t%-*})" \
            cmp "$ref/$p" "$T/out-$t/$p"
    done
done
check "without SOURCE_DATE_EPOCH: control.tar valid" dpkg-deb --info "$A101" control
check_out "without SOURCE_DATE_EPOCH: data.tar valid" "\./opt/$NAME/lib/agent\.jar" \
    dpkg-deb --contents "$A101"

# --- 6. bad input ---------------------------------------------------------------------
copy_example "$T/bad"
mkfifo "$T/bad/fifo.jar"
sed -i "s|\${EXAMPLE_AGENT_BUILD}/agent.jar|$T/bad/fifo.jar|" "$T/bad/product.yaml"
mkdir "$T/outbad"
expect_fail_clean "a source that is not a regular file: one line, nothing written" \
    "$T/outbad" 'fifo\.jar' \
    "$CONSIGN" pkg deb --product "$T/bad/product.yaml" --out "$T/outbad" \
    --define "EXAMPLE_AGENT_BUILD=$EXAMPLE_AGENT_BUILD"
mkdir "$T/full"
if mount -t tmpfs -o size=2m consign-e2e-deb "$T/full"; then
    mounts+=("$T/full")
    expect_fail_clean "a full output file system: one line, nothing left" "$T/full" \
        'No space left on device' \
        "$CONSIGN" pkg deb --product "$SRC/examples/agent/product.yaml" --out "$T/full" \
        --define "EXAMPLE_AGENT_BUILD=$EXAMPLE_AGENT_BUILD"
    umount "$T/full" && unset 'mounts[-1]'
else
    skip "a full output file system (cannot mount a tmpfs here)"
fi

version_of() {
    # shellcheck disable=SC2016 # dpkg-query's own ${field} syntax
    in_root dpkg-query -W -f='${Version} ${db:Status-Abbrev}' "$1" 2>/dev/null
}

# The runtime was cut from the build host's JDK: it runs only where glibc is
# at least as new as the one it was linked against.
glibc_needed=$(find "$EXAMPLE_AGENT_BUILD/runtime" -type f \( -name '*.so' -o -perm -u+x \) \
    -exec objdump -T {} + 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' |
    sort -V | tail -n 1 || true)

for suite in $SUITES; do
    R=$T/root-$suite
    echo "# $suite"
    if ! bash "$SRC/tests/lib/chroot.sh" "$CACHE" "$suite" "$R" >"$T/chroot.log" 2>&1; then
        not_ok "$suite: chroot" "$(tail -n 20 "$T/chroot.log")"
        continue
    fi
    mkdir -p "$R/tmp/zst"
    cp "$A100" "$R100" "$A101" "$R101" "$R/tmp/"
    cp "$AZST" "$RZST" "$R/tmp/zst/"
    # shellcheck disable=SC2016 # dpkg-query's own ${field} syntax
    dpkg_version=$(in_root dpkg-query -W -f='${Version}' dpkg)

    check_out "$suite: dpkg -i runtime and agent 1.0.0; postinst prints the configure hint" \
        "Configure it with: sudo /opt/$NAME/$NAME-config interactive" \
        in_root dpkg -i "/tmp/${R100##*/}" "/tmp/${A100##*/}"
    check "$suite: both installed, 1.0.0-1" \
        test "$(version_of $NAME)|$(version_of $RT)" = "1.0.0-1 ii |1.0.0-1 ii "
    check "$suite: launcher 0755 root" stat_is "/opt/$NAME/bin/$NAME-launch" "755 root:root"
    check "$suite: jar 0644 root" stat_is "/opt/$NAME/lib/agent.jar" "644 root:root"
    check "$suite: java 0755 root" stat_is "/opt/$NAME/jre/bin/java" "755 root:root"
    check "$suite: systemd unit" in_root test -f "/lib/systemd/system/$NAME.service"
    check "$suite: init script 0755" stat_is "/etc/init.d/$NAME" "755 root:root"
    check "$suite: /var/opt/$NAME and conf, logs 0750 root" bash -c \
        "for d in /var/opt/$NAME /var/opt/$NAME/conf /var/opt/$NAME/logs; do
             test \"\$(chroot '$R' stat -c '%a %U' \$d)\" = '750 root' || exit 1; done"

    # The JVM finds its libraries through $ORIGIN, which glibc resolves with /proc.
    mount -t proc proc "$R/proc"
    mounts+=("$R/proc")
    rc=0
    in_root "/opt/$NAME/jre/bin/java" -version >"$T/java.out" 2>&1 || rc=$?
    if [ "$rc" -eq 0 ] && grep -q 'version' "$T/java.out"; then
        # First configuration of a package install starts the service: no
        # systemd in a chroot, so through the SysV init script.
        tok=tok-deb-$suite-$RANDOM
        check_out "$suite: NAME-config set token=... (first configuration) starts the service" \
            "Starting $NAME" in_root "/opt/$NAME/$NAME-config" set "token=$tok"
        check "$suite: secrets.conf 0600 root with the token; agent_id set" bash -c \
            "test \"\$(chroot '$R' stat -c '%a %U' /var/opt/$NAME/conf/secrets.conf)\" = '600 root' &&
             grep -qx 'token=$tok' '$R/var/opt/$NAME/conf/secrets.conf' &&
             grep -Eq '^agent_id=[0-9a-f]{32}$' '$R/var/opt/$NAME/conf/agent.conf'"
        check_out "$suite: NAME-config show masks the token" '^token=\*+$' \
            in_root "/opt/$NAME/$NAME-config" show
        check_out "$suite: init script status: running (exit 0)" "is running" \
            in_root "/etc/init.d/$NAME" status
        for _ in $(seq 50); do
            grep -q "heartbeat" "$R/var/opt/$NAME/logs/agent.log" 2>/dev/null && break
            sleep 0.2
        done
        check "$suite: the agent runs from the init script (heartbeat in its log)" \
            grep -q "heartbeat" "$R/var/opt/$NAME/logs/agent.log"
        check_out "$suite: init script restart" "Starting $NAME" in_root "/etc/init.d/$NAME" restart
        check_out "$suite: init script stop" "Stopping $NAME" in_root "/etc/init.d/$NAME" stop
        rc3=0
        in_root "/etc/init.d/$NAME" status >/dev/null 2>&1 || rc3=$?
        check "$suite: init script status after stop: not running (LSB exit 3)" test "$rc3" -eq 3
        check "$suite: the token is in no log" bash -c "! grep -rqF '$tok' '$R/var/opt/$NAME/logs'"
        check "$suite: the token in no file of the root but secrets.conf" bash -c \
            "[ \"\$(grep -rlF '$tok' '$R/etc' '$R/opt' '$R/var' '$R/tmp' '$R/root' '$R/run' 2>/dev/null |
                  paste -sd' ')\" = '$R/var/opt/$NAME/conf/secrets.conf' ]"
    fi
    umount "$R/proc" && unset 'mounts[-1]'
    if [ "$rc" -eq 0 ] && grep -q 'version' "$T/java.out"; then
        ok "$suite: the packaged runtime runs (java -version)"
    elif grep -q "GLIBC_.* not found" "$T/java.out"; then
        skip "$suite: the example runtime needs glibc $glibc_needed, newer than $suite's" \
            "(it is cut from the build host's JDK)"
    else
        not_ok "$suite: the packaged runtime runs (java -version)" "$(cat "$T/java.out")"
    fi

    # A customer edit of the conffile survives the upgrade.
    echo "-Dcustomer.edit=$suite" >>"$R/etc/opt/$NAME/start-agent.ini"
    check "$suite: upgrade to 1.0.1 with --force-confdef --force-confold" \
        in_root dpkg -i --force-confdef --force-confold "/tmp/${R101##*/}" "/tmp/${A101##*/}"
    check "$suite: both 1.0.1-1" \
        test "$(version_of $NAME)|$(version_of $RT)" = "1.0.1-1 ii |1.0.1-1 ii "
    check "$suite: the customer's start-agent.ini is kept" \
        grep -qx -- "-Dcustomer.edit=$suite" "$R/etc/opt/$NAME/start-agent.ini"
    check "$suite: the new default is beside it (.dpkg-dist)" \
        grep -qx -- "# added in 1.0.1" "$R/etc/opt/$NAME/start-agent.ini.dpkg-dist"

    check "$suite: dpkg -r $NAME" in_root dpkg -r "$NAME"
    check "$suite: program files removed" bash -c \
        "! test -e '$R/opt/$NAME/bin' && ! test -e '$R/opt/$NAME/lib' &&
         ! chroot '$R' test -e /lib/systemd/system/$NAME.service"
    check "$suite: /var/opt/$NAME and the conffile kept" bash -c \
        "test -d '$R/var/opt/$NAME/conf' && test -f '$R/etc/opt/$NAME/start-agent.ini'"
    check "$suite: $NAME left as config-files" test "$(version_of $NAME)" = "1.0.1-1 rc "
    check "$suite: dpkg -r $RT on its own" in_root dpkg -r "$RT"
    check "$suite: the runtime is gone" test ! -e "$R/opt/$NAME"
    check "$suite: dpkg -P $NAME" in_root dpkg -P "$NAME"
    check "$suite: purge removes /var/opt/$NAME and the conffiles" bash -c \
        "! test -e '$R/var/opt/$NAME' && ! test -e '$R/etc/opt/$NAME/start-agent.ini' &&
         ! test -e '$R/etc/init.d/$NAME'"
    check_fail "$suite: the agent without its runtime fails on the dependency" \
        "depends on $RT \(= 1\.0\.0-1\)" in_root dpkg -i "/tmp/${A100##*/}"
    in_root dpkg -P "$NAME" >/dev/null 2>&1 || true

    if dpkg --compare-versions "$dpkg_version" ge 1.21.18; then
        check_out "$suite: zstd packages install (dpkg $dpkg_version)" "Setting up $NAME " \
            in_root dpkg -i "/tmp/zst/${RZST##*/}" "/tmp/zst/${AZST##*/}"
        check "$suite: zstd agent installed" test "$(version_of $NAME)" = "1.0.0-1 ii "
    else
        check_fail "$suite: dpkg $dpkg_version refuses zstd members" "control\.tar\.zst" \
            in_root dpkg -i "/tmp/zst/${RZST##*/}"
    fi
    rm -rf --one-file-system "$R"
done

summary
