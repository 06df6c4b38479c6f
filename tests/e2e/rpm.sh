#!/usr/bin/env bash
# End to end: the example product as signed .rpm packages, checked with the
# host's rpm 4.18 and rpmlint, then verified with rpm 4.16 (Debian 11) and
# 4.20 (Debian 13) and installed, upgraded and erased with them in mmdebstrap
# chroots (cached by tests/lib/chroot.sh).
#
# Also: tampered headers and payloads, zstd payloads, an ed25519 key,
# byte-for-byte reproducibility with SOURCE_DATE_EPOCH (signed packages
# included), and bad input (a missing source file, a key directory without a
# key, a full output file system) leaving nothing in the output directory.
#
# Usage: rpm.sh BUILD_DIR SOURCE_DIR
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
SUITES=${CONSIGN_RPM_SUITES:-bullseye trixie}

passed=0
failed=0
# Short: the key directory's gpg-agent sockets must fit in sun_path.
T=$(mktemp -d /tmp/consign-rpm.XXXXXX)

trap remove_scratch EXIT

# flip FILE OFFSET: invert the lowest bit of one byte in place.
flip() {
    local b
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "\\$(printf '%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# Every line of rpm -K says "digests signatures OK".
all_ok() {
    local out=$1
    [ -s "$out" ] && ! grep -v ': digests signatures OK$' "$out" | grep -q .
}

# --- prerequisites -------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "rpm.sh needs root (chroot, mount)"
for tool in rpm rpmkeys rpmlint mmdebstrap od dd; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
[ -x "$CONSIGN" ] || die "$CONSIGN is missing; build first"
"$CONSIGN" pkg rpm --help >/dev/null 2>&1 || die "$CONSIGN has no 'pkg rpm' command"

find_example_agent

# --- keys and products -------------------------------------------------------------
"$CONSIGN" keys generate --keydir "$T/k" --name "consign e2e rpm" --email rpm@example.com \
    >"$T/keygen.log" 2>&1 || die "consign keys generate failed" "$(cat "$T/keygen.log")"
"$CONSIGN" keys export --keydir "$T/k" --format asc --out "$T/key.asc" >/dev/null 2>&1 ||
    die "consign keys export failed"
"$CONSIGN" keys generate --keydir "$T/ked" --name "consign e2e ed25519" --algo ed25519 \
    --email ed@example.com >"$T/keygen.log" 2>&1 || die "ed25519 key" "$(cat "$T/keygen.log")"
"$CONSIGN" keys export --keydir "$T/ked" --format asc --out "$T/ked.asc" >/dev/null 2>&1 ||
    die "consign keys export (ed25519) failed"
fpr=$("$CONSIGN" keys fingerprint --keydir "$T/k" --raw | tr 'A-F' 'a-f')
keyid=${fpr: -8}

copy_example "$T/copy100"
copy_example "$T/p101"
sed -i 's/^version: 1\.0\.0$/version: 1.0.1/' "$T/p101/product.yaml"
grep -q '^version: 1.0.1$' "$T/p101/product.yaml" || die "could not make the 1.0.1 product"
echo "# added in 1.0.1" >>"$T/p101/start-agent.ini"

# pkgrpm OUT PRODUCT [ARGS...]: consign pkg rpm, output and errors in OUT.log.
pkgrpm() {
    local out=$1 product=$2
    shift 2
    "$CONSIGN" pkg rpm --product "$product" --out "$out" \
        --define "EXAMPLE_AGENT_BUILD=$EXAMPLE_AGENT_BUILD" "$@" >"$out.log" 2>&1
}

# Two builds at a time (compression dominates and is single-threaded). The
# second build of each reproducible pair starts a second later, from another
# directory whose files are newer than SOURCE_DATE_EPOCH.
declare -A rc
run_pair() { # NAME1 'ENV ARGS' NAME2 'ENV ARGS'
    local p1 p2
    eval "$2" &
    p1=$!
    sleep 1
    eval "$4" &
    p2=$!
    rc[$1]=0
    rc[$3]=0
    wait "$p1" || rc[$1]=$?
    wait "$p2" || rc[$3]=$?
}
run_pair s100 "SOURCE_DATE_EPOCH=$SDE pkgrpm '$T/s100' '$SRC/examples/agent/product.yaml' --keydir '$T/k'" \
    s100b "SOURCE_DATE_EPOCH=$SDE pkgrpm '$T/s100b' '$T/copy100/product.yaml' --keydir '$T/k'"
run_pair u100 "SOURCE_DATE_EPOCH=$SDE pkgrpm '$T/u100' '$SRC/examples/agent/product.yaml' --no-sign" \
    u100b "SOURCE_DATE_EPOCH=$SDE pkgrpm '$T/u100b' '$T/copy100/product.yaml' --no-sign"
run_pair s101 "(unset SOURCE_DATE_EPOCH; pkgrpm '$T/s101' '$T/p101/product.yaml' --keydir '$T/k')" \
    zst "pkgrpm '$T/zst' '$SRC/examples/agent/product.yaml' --keydir '$T/k' --only agent --compress zstd &&
         pkgrpm '$T/ed' '$SRC/examples/agent/product.yaml' --keydir '$T/ked' --only agent"
for v in s100 s100b u100 u100b s101 zst; do
    [ "${rc[$v]}" -eq 0 ] || die "consign pkg rpm ($v) failed" "$(cat "$T/$v.log" "$T/ed.log" 2>/dev/null)"
done

A100=$T/s100/$NAME-1.0.0-1.x86_64.rpm
R100=$T/s100/$RT-1.0.0-1.x86_64.rpm
A101=$T/s101/$NAME-1.0.1-1.x86_64.rpm
R101=$T/s101/$RT-1.0.1-1.x86_64.rpm
AZST=$T/zst/$NAME-1.0.0-1.x86_64.rpm
AED=$T/ed/$NAME-1.0.0-1.x86_64.rpm
for f in "$A100" "$R100" "$A101" "$R101" "$AZST" "$AED" "$T/u100/${A100##*/}" \
    "$T/u100b/${R100##*/}"; do
    [ -f "$f" ] || die "consign pkg rpm did not write ${f#$T/}" "$(ls -R "$T" | head -n 40)"
done
ok "consign pkg rpm builds signed, unsigned, 1.0.1, zstd and ed25519 packages"
check "no temporary file is left in the output directories" \
    test -z "$(ls -A "$T"/s100 "$T"/s101 "$T"/zst "$T"/u100 | grep '^\.' || true)"

# --- 1. digests and signatures with the host's rpm -----------------------------------
rpm --dbpath "$T/db" --initdb
rpm --dbpath "$T/db0" --initdb
rpm --dbpath "$T/db" --import "$T/key.asc"
rpm --dbpath "$T/db" --import "$T/ked.asc"
hostv=$(rpm --version | awk '{print $3}')
for pkg in "$A100" "$R100" "$A101" "$R101" "$AZST" "$AED"; do
    rpm --dbpath "$T/db" -K "$pkg" >>"$T/host.K" 2>&1 || true
done
sed 's|^.*/||; s/^/    /' "$T/host.K"
check "rpm $hostv -K: digests signatures OK (1.0.0, 1.0.1, zstd, ed25519)" all_ok "$T/host.K"
check_out "rpm -Kv: RSA/SHA512 header and header+payload signatures by the key" \
    "^    V4 RSA/SHA512 Signature, key ID $keyid: OK" rpm --dbpath "$T/db" -Kv "$A100"
check_out "rpm -Kv: header SHA256, SHA1, payload SHA256 and MD5 digests" \
    "Payload SHA256 digest: OK" rpm --dbpath "$T/db" -Kv "$A100"
check_out "rpm -Kv: the header SHA256 digest" "Header SHA256 digest: OK" \
    rpm --dbpath "$T/db" -Kv "$R100"
check_fail "without the key: NOKEY" "Header V4 RSA/SHA512 Signature, key ID $keyid: NOKEY" \
    rpm --dbpath "$T/db0" -Kv "$A100"
check_out "without the key: digests OK" ": digests OK$" rpm --dbpath "$T/db0" -K --nosignature "$A100"
check_out "unsigned: digests OK" ": digests OK$" rpm --dbpath "$T/db0" -K "$T/u100/${A100##*/}"
check_out "ed25519: the header-only EdDSA signature verifies" \
    "Header V4 EdDSA/SHA512 Signature, key ID .*: OK" rpm --dbpath "$T/db" -Kv "$AED"

# Tampering: a byte of the description (main header), then one of the payload.
cp "$A100" "$T/badhdr.rpm"
cp "$A100" "$T/badpay.rpm"
off=$(grep -obUa "A small long-running agent" "$A100" | head -n 1 | cut -d: -f1)
flip "$T/badhdr.rpm" "$((off + 2))"
flip "$T/badpay.rpm" "$(($(stat -c %s "$A100") - 100))"
check_fail "a flipped byte in the main header: rpm -K fails, header digest BAD" \
    "Header SHA256 digest: BAD" rpm --dbpath "$T/db" -Kv "$T/badhdr.rpm"
check_fail "a flipped byte in the main header: the header signature BAD" \
    "Header V4 RSA/SHA512 Signature, key ID $keyid: BAD" rpm --dbpath "$T/db" -Kv "$T/badhdr.rpm"
check_fail "a flipped byte in the payload: rpm -K fails, payload digest BAD" \
    "Payload SHA256 digest: BAD" rpm --dbpath "$T/db" -Kv "$T/badpay.rpm"
check_fail "a flipped byte in the payload: rpm -K says NOT OK" "DIGESTS SIGNATURES NOT OK" \
    rpm --dbpath "$T/db" -K "$T/badpay.rpm"

# --- 2. what the header says --------------------------------------------------------------
q() { rpm --dbpath "$T/db" -qp "$@" 2>&1; }
q --info "$A100" >"$T/info"
while IFS='|' read -r field re; do
    check "rpm -qpi: $field" grep -Eq -- "^$(printf '%-12s' "$field"): $re$" "$T/info"
done <<EOF
Name|$NAME
Version|1\.0\.0
Release|1
Architecture|x86_64
License|Apache-2\.0
Vendor|Example Corp
URL|https://www\.example\.com/agent
Group|Applications/System
Packager|Example Packaging Team <packaging@example\.com>
Summary|Example network agent for consign
Source RPM|$NAME-1\.0\.0-1\.src\.rpm
Build Host|consign
Build Date|.*2023.*
Signature|RSA/SHA512, .*Key ID ${fpr: -16}
EOF
check "rpm -qpi: the description, line for line" \
    grep -qx "/var/opt/example-agent/logs and answers a local health check." "$T/info"
check "requires: the runtime at exactly 1.0.0-1, /bin/sh and rpmlib() features" \
    test "$(q --requires "$A100" | paste -sd'|')" = \
    "/bin/sh|$RT = 1.0.0-1|rpmlib(CompressedFileNames) <= 3.0.4-1|rpmlib(FileDigests) <= 4.6.0-1|rpmlib(PayloadFilesHavePrefix) <= 4.0-1|rpmlib(PayloadIsXz) <= 5.2-1"
check "requires of the zstd package: rpmlib(PayloadIsZstd)" \
    grep -qx 'rpmlib(PayloadIsZstd) <= 5.4.18-1' <(q --requires "$AZST")
check "provides: NAME, NAME(x86-64), config(NAME) = 1.0.0-1" \
    test "$(q --provides "$A100" | paste -sd'|')" = \
    "config($NAME) = 1.0.0-1|$NAME = 1.0.0-1|$NAME(x86-64) = 1.0.0-1"
check "the runtime requires only rpmlib() features" \
    test "$(q --requires "$R100" | grep -vc '^rpmlib(')" -eq 0
check "scriptlets: %post, %preun, %postun by /bin/sh" \
    test "$(q --scripts "$A100" | grep scriptlet | paste -sd'|')" = \
    "postinstall scriptlet (using /bin/sh):|preuninstall scriptlet (using /bin/sh):|postuninstall scriptlet (using /bin/sh):"
check_out "%post creates the state directories" 'chmod 0750 "\$VARDIR" "\$VARDIR/conf" "\$VARDIR/logs"' \
    q --scripts "$A100"
check "config files: the logrotate file and start-agent.ini (the init script is not %config in RPMs)" \
    test "$(q --configfiles "$A100" | paste -sd'|')" = "/etc/logrotate.d/$NAME|/etc/opt/$NAME/start-agent.ini"
check "start-agent.ini is %config(noreplace) (fflags cn)" \
    grep -qx "/etc/opt/$NAME/start-agent.ini cn" \
    <(q --qf '[%{FILENAMES} %{FILEFLAGS:fflags}\n]' "$A100")
q --dump "$A100" >"$T/dump"
check "--dump: the launcher 0100755 root root with its sha256" \
    grep -Eq "^/opt/$NAME/bin/$NAME-launch [0-9]+ [0-9]+ [0-9a-f]{64} 0100755 root root 0 0 0 X$" \
    "$T/dump"
check "--dump: start-agent.ini marked config" \
    grep -Eq "^/etc/opt/$NAME/start-agent\.ini [0-9]+ $SDE [0-9a-f]{64} 0100644 root root 1 0 0 X$" \
    "$T/dump"
check "--dump: the unit in /usr/lib/systemd/system" grep -q "^/usr/lib/systemd/system/$NAME.service " \
    "$T/dump"
check "--dump: owned directories only (/opt/NAME, /etc/opt/NAME), never /opt or /etc" \
    test "$(awk '$5 ~ /^040/ {print $1}' "$T/dump" | grep -Evc "^/(etc/)?opt/$NAME(/|$)")" -eq 0
check "payload: xz level 2, cpio" \
    test "$(q --qf '%{PAYLOADFORMAT} %{PAYLOADCOMPRESSOR} %{PAYLOADFLAGS}' "$A100")" = "cpio xz 2"
check "the runtime lists the JRE's files" grep -qx "/opt/$NAME/jre/bin/java" <(q -l "$R100")
check "the changelog names the release" grep -q -- "- Release 1.0.0-1, packaged by consign." \
    <(q --changelog "$A100")

# --- 4. rpmlint ---------------------------------------------------------------------------
# Deliberate, explained in docs/packages.md ("RPM packages: rpmlint").
cat >"$T/rpmlintrc" <<'EOF'
addFilter("dir-or-file-in-opt")
addFilter("unknown-key")
addFilter("missing-dependency-to-logrotate")
addFilter("logrotate-log-dir-not-packaged")
addFilter("example-agent-jre\.x86_64: E: (binary-or-shlib-defines-rpath|invalid-soname|missing-hash-section|shared-library-not-executable|non-versioned-file-in-library-package) ")
EOF
# The launcher is static in normal builds; a sanitizer build links it dynamically.
if file "${CONSIGN_LAUNCHER:-$BUILD/target/consign-launch}" | grep -q 'statically linked'; then
    echo 'addFilter("statically-linked-binary")' >>"$T/rpmlintrc"
fi
rpmlint -r "$T/rpmlintrc" "$A100" "$R100" >"$T/rpmlint" 2>&1 || true
grep -E 'packages and .* checked' "$T/rpmlint" | sed 's/^/    /'
check "rpmlint: 0 errors" grep -Eq ' 0 errors, ' "$T/rpmlint"
echo "    rpmlint warnings kept: $(grep -E ': W: ' "$T/rpmlint" | awk '{print $3}' | sort -u |
    paste -sd' ')"
undocumented=
for tag in $(grep -E ': [WE]: ' "$T/rpmlint" | awk '{print $3}' | sort -u) \
    dir-or-file-in-opt unknown-key statically-linked-binary; do
    grep -q -- "\`$tag\`" "$SRC/docs/packages.md" || undocumented="$undocumented $tag"
done
check "every kept rpmlint warning and filter is explained in docs/packages.md${undocumented:+:$undocumented}" \
    test -z "$undocumented"
grep ': E: ' "$T/rpmlint" | head -n 20 | sed 's/^/    /' || true

# --- 5. reproducibility -------------------------------------------------------------------
check "SOURCE_DATE_EPOCH, unsigned: agent byte-for-byte the same from another directory, later" \
    cmp "$T/u100/${A100##*/}" "$T/u100b/${A100##*/}"
check "SOURCE_DATE_EPOCH, unsigned: runtime byte-for-byte the same" \
    cmp "$T/u100/${R100##*/}" "$T/u100b/${R100##*/}"
# The signatures carry SOURCE_DATE_EPOCH as their time (the key's creation
# time when that is later, as here), and RSA signatures are deterministic: a
# signed package is byte-for-byte reproducible too.
# The key's creation time: the RELEASE of rpm's gpg-pubkey, in hex.
kc=$((16#$(rpm --dbpath "$T/db" -q "gpg-pubkey-$keyid" --qf '%{RELEASE}')))
for f in "$A100" "$R100"; do
    n=$(q --qf '%{SIGSIZE}' "$f")
    check "SOURCE_DATE_EPOCH, signed: ${f##*/} byte-for-byte the same from another directory, later" \
        cmp "$f" "$T/s100b/${f##*/}"
    check "signed and unsigned: ${f##*/}: main header and payload the same" \
        cmp <(tail -c "$n" "$f") <(tail -c "$n" "$T/u100/${f##*/}")
done
check "SOURCE_DATE_EPOCH before the key's creation: the signatures date from the key's creation" \
    test "$(LC_ALL=C q --qf '%{RSAHEADER:pgpsig}|%{SIGPGP:pgpsig}' "$A100" |
        grep -o ', [^,]*, Key ID' | sort -u)" = \
    ", $(LC_ALL=C date -d "@$kc" '+%a %b %e %H:%M:%S %Y'), Key ID"
check "without SOURCE_DATE_EPOCH: the signatures date from now" \
    test "$(LC_ALL=C q --qf '%{RSAHEADER:pgpsig}' "$A101" | grep -c ", $(LC_ALL=C date '+%a %b %e') ")" = 1
check "without SOURCE_DATE_EPOCH: the build host and time are recorded" \
    test "$(q --qf '%{BUILDHOST}' "$A101")" != consign -a "$(q --qf '%{BUILDTIME}' "$A101")" -gt $SDE

# --- 6. bad input ---------------------------------------------------------------------------
copy_example "$T/bad"
sed -i "s|\${EXAMPLE_AGENT_BUILD}/agent.jar|$T/bad/missing.jar|" "$T/bad/product.yaml"
mkdir "$T/outbad"
expect_fail_clean "a missing source file: one line, nothing written" "$T/outbad" 'missing\.jar' \
    "$CONSIGN" pkg rpm --product "$T/bad/product.yaml" --keydir "$T/k" --out "$T/outbad" \
    --define "EXAMPLE_AGENT_BUILD=$EXAMPLE_AGENT_BUILD"
mkdir -m 0700 "$T/nokey"
expect_fail_clean "a key directory without a key: one line, nothing written" "$T/outbad" \
    'nokey.*(not a key directory|no active key)' \
    "$CONSIGN" pkg rpm --product "$SRC/examples/agent/product.yaml" --keydir "$T/nokey" \
    --out "$T/outbad" --define "EXAMPLE_AGENT_BUILD=$EXAMPLE_AGENT_BUILD"
mkdir "$T/full"
if mount -t tmpfs -o size=2m consign-e2e-rpm "$T/full"; then
    mounts+=("$T/full")
    expect_fail_clean "a full output file system: one line, nothing left" "$T/full" \
        'No space left on device' \
        "$CONSIGN" pkg rpm --product "$SRC/examples/agent/product.yaml" --no-sign --out "$T/full" \
        --define "EXAMPLE_AGENT_BUILD=$EXAMPLE_AGENT_BUILD"
    umount "$T/full" && unset 'mounts[-1]'
else
    echo "skip - a full output file system (cannot mount a tmpfs here)"
fi

# rpm 4.20's unshare plugin cannot remount / in a chroot; no plugin is needed here.
rpm_root() {
    in_root rpm --noplugins "$@"
}

for suite in $SUITES; do
    R=$T/root-$suite
    echo "# $suite"
    if ! bash "$SRC/tests/lib/chroot.sh" "$CACHE" "$suite" "$R" rpm >"$T/chroot.log" 2>&1; then
        not_ok "$suite: chroot" "$(tail -n 20 "$T/chroot.log")"
        continue
    fi
    mkdir -p "$R/tmp/p/zst" "$R/tmp/p/ed"
    cp "$A100" "$R100" "$A101" "$R101" "$T/key.asc" "$T/ked.asc" "$T/badhdr.rpm" \
        "$T/badpay.rpm" "$R/tmp/p/"
    cp "$AZST" "$R/tmp/p/zst/"
    cp "$AED" "$R/tmp/p/ed/"
    v=$(in_root rpm --version | awk '{print $3}')
    in_root rpm --initdb
    check_fail "$suite: rpm $v without the key: NOKEY" "Header V4 RSA/SHA512 Signature, key ID $keyid: NOKEY" \
        in_root rpm -Kv "/tmp/p/${A100##*/}"
    check "$suite: rpm --import the release key" in_root rpm --import /tmp/p/key.asc
    : >"$T/K"
    for f in "${A100##*/}" "${R100##*/}" "${A101##*/}" "${R101##*/}" "zst/${AZST##*/}"; do
        in_root rpm -K "/tmp/p/$f" >>"$T/K" 2>&1 || true
    done
    sed 's|^.*/||; s/^/    /' "$T/K"
    check "$suite: rpm $v -K: digests signatures OK (1.0.0, 1.0.1, zstd)" all_ok "$T/K"
    # rpm 4.16 and 4.17 built with libgcrypt (Debian 11) report EdDSA signatures BAD (rpm#1877).
    if [ "$(printf '%s\n' 4.18 "$v" | sort -V | head -n 1)" = 4.18 ]; then
        in_root rpm --import /tmp/p/ked.asc
        check_out "$suite: rpm $v: the ed25519 package verifies" "digests signatures OK" \
            in_root rpm -K "/tmp/p/ed/${AED##*/}"
    else
        echo "skip - $suite: rpm $v cannot verify EdDSA signatures (rpm#1877)"
    fi
    check_fail "$suite: rpm $v: a flipped header byte fails" "Header SHA256 digest: BAD" \
        in_root rpm -Kv /tmp/p/badhdr.rpm
    check_fail "$suite: rpm $v: a flipped payload byte fails" "Payload SHA256 digest: BAD" \
        in_root rpm -Kv /tmp/p/badpay.rpm

    # /bin/sh comes from dpkg here, not from rpm's database: --nodeps for that
    # only, after checking that the runtime requirement is enforced.
    check_fail "$suite: the agent alone fails on the runtime requirement" \
        "$RT = 1\.0\.0-1 is needed by $NAME-1\.0\.0-1\.x86_64" \
        rpm_root -i --test "/tmp/p/${A100##*/}"
    check_out "$suite: rpm -i runtime and agent 1.0.0; %post prints the configure hint" \
        "Configure it with: sudo /opt/$NAME/$NAME-config interactive" \
        rpm_root -i --nodeps "/tmp/p/${R100##*/}" "/tmp/p/${A100##*/}"
    check "$suite: both installed, 1.0.0-1" \
        test "$(in_root rpm -q "$NAME" "$RT" | paste -sd' ')" = "$NAME-1.0.0-1.x86_64 $RT-1.0.0-1.x86_64"
    check "$suite: rpm -V: files as the header describes them" rpm_root -V --nodeps "$NAME" "$RT"
    check "$suite: launcher 0755 root" stat_is "/opt/$NAME/bin/$NAME-launch" "755 root:root"
    check "$suite: jar 0644 root" stat_is "/opt/$NAME/lib/agent.jar" "644 root:root"
    check "$suite: java 0755 root" stat_is "/opt/$NAME/jre/bin/java" "755 root:root"
    check "$suite: systemd unit" in_root test -f "/usr/lib/systemd/system/$NAME.service"
    check "$suite: init script 0755" stat_is "/etc/rc.d/init.d/$NAME" "755 root:root"
    check "$suite: /var/opt/$NAME and conf, logs 0750 root (made by %post)" bash -c \
        "for d in /var/opt/$NAME /var/opt/$NAME/conf /var/opt/$NAME/logs; do
             test \"\$(chroot '$R' stat -c '%a %U' \$d)\" = '750 root' || exit 1; done"

    # A customer edit of the %config(noreplace) file survives the upgrade.
    echo "-Dcustomer.edit=$suite" >>"$R/etc/opt/$NAME/start-agent.ini"
    check_out "$suite: rpm -U to 1.0.1: the new default goes to .rpmnew" \
        "start-agent\.ini created as /etc/opt/$NAME/start-agent\.ini\.rpmnew" \
        rpm_root -U --nodeps "/tmp/p/${R101##*/}" "/tmp/p/${A101##*/}"
    check "$suite: both 1.0.1-1" \
        test "$(in_root rpm -q "$NAME" "$RT" | paste -sd' ')" = "$NAME-1.0.1-1.x86_64 $RT-1.0.1-1.x86_64"
    check "$suite: the customer's start-agent.ini is kept" \
        grep -qx -- "-Dcustomer.edit=$suite" "$R/etc/opt/$NAME/start-agent.ini"
    check "$suite: the new default is beside it" \
        grep -qx -- "# added in 1.0.1" "$R/etc/opt/$NAME/start-agent.ini.rpmnew"

    check_fail "$suite: the runtime cannot go while the agent needs it" \
        "$RT = 1\.0\.1-1 is needed by \(installed\) $NAME-1\.0\.1-1\.x86_64" \
        rpm_root -e --test "$RT"
    check "$suite: rpm -e $NAME" rpm_root -e "$NAME"
    check "$suite: program files removed" bash -c \
        "! test -e '$R/opt/$NAME/bin' && ! test -e '$R/opt/$NAME/lib' &&
         ! test -e '$R/usr/lib/systemd/system/$NAME.service' && ! test -e '$R/etc/rc.d/init.d/$NAME'"
    check "$suite: /var/opt/$NAME kept, the edited config saved as .rpmsave" bash -c \
        "test -d '$R/var/opt/$NAME/conf' && test -f '$R/etc/opt/$NAME/start-agent.ini.rpmsave'"
    check "$suite: rpm -e $RT on its own" rpm_root -e "$RT"
    check "$suite: the runtime is gone" test ! -e "$R/opt/$NAME"
    check "$suite: nothing of ours left in the database" \
        test "$(in_root rpm -qa | grep -c "^$NAME")" -eq 0

    check_out "$suite: the zstd package installs" "Configure it with" \
        rpm_root -i --nodeps "/tmp/p/zst/${AZST##*/}"
    check "$suite: the zstd package verifies after install (rpm -V)" rpm_root -V --nodeps "$NAME"
    check "$suite: and erases" rpm_root -e "$NAME"
    rm -rf --one-file-system "$R"
done

summary
