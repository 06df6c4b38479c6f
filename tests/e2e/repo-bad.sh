#!/usr/bin/env bash
# End to end: bad input and bad conditions leave a published repository as it
# was. For an APT and a YUM repository, each of these fails with one message
# naming the cause, and afterwards every file of the repository (indexes,
# signatures, pool, database) is byte for byte what it was:
#   a truncated or corrupt package, alone or beside a good one;
#   a package whose name, version and architecture are already there with
#   other bytes (APT and YUM);
#   a pool file replaced by hand since it was added (publish refuses it);
#   a key directory without a key;
#   a read-only repository file system, and a full one (no temporary file left).
# Also: concurrent add+publish runs are serialised by the lock and leave a
# repository whose Release matches its indexes; --keep drops the oldest.
#
# Usage: repo-bad.sh BUILD_DIR SOURCE_DIR   (needs root: mount)
set -euo pipefail

# shellcheck source=tests/lib/testlib.sh
. "$(dirname "$0")/../lib/testlib.sh"
e2e_args "$@"

T=$(mktemp -d "${TMPDIR:-/tmp}/consign-e2e-repo-bad.XXXXXX")
trap remove_scratch EXIT
trap 'exit 130' INT TERM
unset SOURCE_DATE_EPOCH

for tool in dpkg-deb rpmbuild gpgv sha256sum mount; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
[ -x "$CONSIGN" ] || die "$CONSIGN is missing; build first"

# --- small packages -------------------------------------------------------------------
# mkdeb NAME VERSION CONTENT: a tiny .deb in $T/debs.
mkdeb() {
    local d=$T/debsrc/$1-$2-$3
    mkdir -p "$d/DEBIAN" "$d/usr/share/$1" "$T/debs"
    printf 'Package: %s\nVersion: %s\nArchitecture: amd64\nMaintainer: T <t@example.invalid>\nDescription: test\n' \
        "$1" "$2" >"$d/DEBIAN/control"
    echo "$3" >"$d/usr/share/$1/data"
    dpkg-deb --root-owner-group -Zxz -b "$d" "$T/debs/$1_$2_$3.deb" >/dev/null
}
# mkrpm NAME VERSION CONTENT: a tiny .rpm in $T/rpms.
mkrpm() {
    local top=$T/rpmbuild
    mkdir -p "$top/SPECS" "$T/rpms"
    cat >"$top/SPECS/$1.spec" <<EOF
Name: $1
Version: $2
Release: 1
Summary: test
License: MIT
BuildArch: noarch
%description
test $3
%install
mkdir -p %{buildroot}/usr/share/$1
echo $3 >%{buildroot}/usr/share/$1/data
%files
/usr/share/$1/data
EOF
    rpmbuild --quiet --define "_topdir $top" -bb "$top/SPECS/$1.spec" >/dev/null 2>&1
    mv "$top/RPMS/noarch/$1-$2-1.noarch.rpm" "$T/rpms/$1-$2-1.noarch.$3.rpm"
}
mkdeb good 1.0 a
mkdeb good 1.0 b # same name, version, arch; other bytes
mkdeb other 2.0 a
mkdeb other 2.1 a
mkdeb other 2.2 a
mkrpm goodr 1.0 a
mkrpm goodr 1.0 b
ok "small .deb and .rpm packages"

"$CONSIGN" keys generate --keydir "$T/k" --name "consign e2e" --email e2e@example.invalid \
    >"$T/k.log" 2>&1 || die "keys generate" "$(cat "$T/k.log")"
mkdir -p "$T/nokey"

# snapshot DIR: every file with its digest (the database and lock included).
snapshot() {
    (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
}
# unchanged DESC ROOT: the repository is what $T/snap holds.
unchanged() {
    if snapshot "$2" | diff "$T/snap" - >"$T/diff" 2>&1; then
        ok "$1: the repository is unchanged"
    else
        not_ok "$1: the repository changed" "$(head -n 10 "$T/diff")"
    fi
}
# fails_one_line DESC REGEX CMD...: exit non-zero, one line on stderr matching REGEX.
fails_one_line() {
    local desc=$1 re=$2 rc=0
    shift 2
    "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
    if [ "$rc" -ne 0 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -Eq -- "$re" "$T/err"; then
        ok "$desc (exit $rc)"
    else
        not_ok "$desc" "exit $rc, want one line matching: $re" "$(head -n 5 "$T/err")"
    fi
}

# --- APT ------------------------------------------------------------------------------
A=$T/apt
check "apt: add and publish" bash -c "'$CONSIGN' repo apt add --root '$A' --suite bookworm \
    '$T/debs/good_1.0_a.deb' '$T/debs/other_2.0_a.deb' && '$CONSIGN' repo apt publish --root '$A' --keydir '$T/k'"
snapshot "$A" >"$T/snap"

head -c 300 "$T/debs/other_2.1_a.deb" >"$T/trunc.deb"
fails_one_line "apt: a truncated .deb is refused, named" "trunc\.deb: .*(truncated|claims .* bytes)" \
    "$CONSIGN" repo apt add --root "$A" --suite bookworm "$T/trunc.deb"
unchanged "apt: truncated" "$A"
cp "$T/debs/other_2.1_a.deb" "$T/corrupt.deb"
printf 'XXXXXXXX' | dd of="$T/corrupt.deb" bs=1 seek=0 conv=notrunc 2>/dev/null
fails_one_line "apt: a corrupt .deb beside a good one: nothing added" "corrupt\.deb: " \
    "$CONSIGN" repo apt add --root "$A" --suite bookworm "$T/debs/other_2.1_a.deb" "$T/corrupt.deb"
unchanged "apt: corrupt" "$A"
fails_one_line "apt: same name, version and architecture with other bytes is refused" \
    "good_1\.0_b\.deb: good 1\.0 amd64 is already in the repository .* other content" \
    "$CONSIGN" repo apt add --root "$A" --suite bookworm "$T/debs/good_1.0_b.deb"
unchanged "apt: clash" "$A"
fails_one_line "apt: the clash is found in another suite too" "already in the repository" \
    "$CONSIGN" repo apt add --root "$A" --suite trixie "$T/debs/good_1.0_b.deb"
unchanged "apt: clash, another suite" "$A"
check "apt: the same bytes again is fine (listed once)" bash -c \
    "'$CONSIGN' repo apt add --root '$A' --suite bookworm '$T/debs/good_1.0_a.deb' &&
     test \$('$CONSIGN' repo apt list --root '$A' | grep -c ' good ') -eq 1"
snapshot "$A" >"$T/snap"
fails_one_line "apt: publish with a key directory without a key" "nokey" \
    "$CONSIGN" repo apt publish --root "$A" --keydir "$T/nokey"
unchanged "apt: no key" "$A"

# A pool file replaced by hand: publish reads it again and refuses it.
pool=$A/pool/main/o/other/other_2.0_amd64.deb
cp -p "$pool" "$T/pool.save"
cp "$T/debs/other_2.1_a.deb" "$pool"
snapshot "$A" >"$T/snap"
fails_one_line "apt: a pool file replaced by hand is refused by publish" \
    "other_2\.0_amd64\.deb: changed since it was added" \
    "$CONSIGN" repo apt publish --root "$A" --keydir "$T/k"
unchanged "apt: replaced pool file" "$A"
cp -p "$T/pool.save" "$pool"

# --keep 2: the oldest of three versions goes, from the index and (after publish) the pool.
check "apt: --keep 2 keeps the newest two" bash -c \
    "'$CONSIGN' repo apt add --root '$A' --suite bookworm --keep 2 '$T/debs/other_2.1_a.deb' '$T/debs/other_2.2_a.deb' &&
     '$CONSIGN' repo apt publish --root '$A' --keydir '$T/k' &&
     ! grep -q '^Version: 2.0$' '$A/dists/bookworm/main/binary-amd64/Packages' &&
     grep -q '^Version: 2.2$' '$A/dists/bookworm/main/binary-amd64/Packages' &&
     test ! -e '$pool'"

# Concurrent runs: serialised by the lock; the result is consistent.
for i in 1 2 3 4; do
    mkdeb "conc$i" 1.0 a
done
pids=()
for i in 1 2 3 4; do
    ("$CONSIGN" repo apt add --root "$A" --suite bookworm "$T/debs/conc${i}_1.0_a.deb" &&
        "$CONSIGN" repo apt publish --root "$A" --keydir "$T/k") >"$T/conc$i.log" 2>&1 &
    pids+=($!)
done
conc_rc=0
for p in "${pids[@]}"; do wait "$p" || conc_rc=1; done
check "apt: four concurrent add+publish runs all succeed" test "$conc_rc" -eq 0
"$CONSIGN" keys export --keydir "$T/k" --format apt --out "$T/k.gpg" >/dev/null 2>&1
check "apt: after them InRelease verifies" gpgv --keyring "$T/k.gpg" "$A/dists/bookworm/InRelease"
check "apt: and lists all four packages, with the hashes Release gives" bash -c "
    cd '$A/dists/bookworm' && for i in 1 2 3 4; do grep -q \"^Package: conc\$i\$\" main/binary-amd64/Packages || exit 1; done &&
    awk '/^SHA256:/ {f=1; next} /^[^ ]/ {f=0} f {print \$1 \"  \" \$3}' Release | sha256sum -c --quiet -"

# Read-only and full file systems.
M=$T/mnt
mkdir -p "$M"
mount -t tmpfs -o size=2m tmpfs "$M" && mounts+=("$M") || die "mount tmpfs"
cp -a "$A" "$M/apt"
snapshot "$M/apt" >"$T/snap"
mount -o remount,ro "$M"
fails_one_line "apt: add on a read-only file system" "Read-only file system" \
    "$CONSIGN" repo apt add --root "$M/apt" --suite bookworm "$T/debs/other_2.1_a.deb"
fails_one_line "apt: publish on a read-only file system" "Read-only file system" \
    "$CONSIGN" repo apt publish --root "$M/apt" --keydir "$T/k"
unchanged "apt: read-only" "$M/apt"
mount -o remount,rw "$M"
# Fill the file system but for a little, then add a package larger than that.
avail=$(df --output=avail -B1 "$M" | tail -n 1)
head -c $((avail - 8192)) /dev/zero >"$M/filler" 2>/dev/null || true
snapshot "$M/apt" >"$T/snap"
head -c 65536 /dev/urandom >"$T/big.bin"
d=$T/debsrc/big
mkdir -p "$d/DEBIAN" "$d/usr/share/big"
printf 'Package: big\nVersion: 1\nArchitecture: amd64\nMaintainer: T <t@example.invalid>\nDescription: big\n' >"$d/DEBIAN/control"
cp "$T/big.bin" "$d/usr/share/big/"
dpkg-deb --root-owner-group -Znone -b "$d" "$T/big.deb" >/dev/null
fails_one_line "apt: add on a full file system" "No space left on device" \
    "$CONSIGN" repo apt add --root "$M/apt" --suite bookworm "$T/big.deb"
unchanged "apt: full" "$M/apt"
check "apt: no temporary file left on the full file system" \
    bash -c "! find '$M/apt' -name '.consign-tmp*' -o -name '*.tmp' | grep -q ."
rm -f "$M/filler"

# --- YUM ------------------------------------------------------------------------------
Y=$T/yum
check "yum: add and publish" bash -c "'$CONSIGN' repo yum add --root '$Y' '$T/rpms/goodr-1.0-1.noarch.a.rpm' &&
    '$CONSIGN' repo yum publish --root '$Y' --keydir '$T/k'"
snapshot "$Y" >"$T/snap"
head -c 1000 "$T/rpms/goodr-1.0-1.noarch.a.rpm" >"$T/trunc.rpm"
fails_one_line "yum: a truncated .rpm is refused, named" "trunc\.rpm: " \
    "$CONSIGN" repo yum add --root "$Y" "$T/trunc.rpm"
unchanged "yum: truncated" "$Y"
fails_one_line "yum: same name, EVR and arch with other bytes is refused" \
    "goodr-1\.0-1\.noarch\.b\.rpm: goodr 1\.0-1 noarch is already in the repository" \
    "$CONSIGN" repo yum add --root "$Y" "$T/rpms/goodr-1.0-1.noarch.b.rpm"
unchanged "yum: clash" "$Y"
fails_one_line "yum: publish with a key directory without a key" "nokey" \
    "$CONSIGN" repo yum publish --root "$Y" --keydir "$T/nokey"
unchanged "yum: no key" "$Y"
cp -a "$Y" "$M/yum"
snapshot "$M/yum" >"$T/snap"
mount -o remount,ro "$M"
fails_one_line "yum: publish on a read-only file system" "Read-only file system" \
    "$CONSIGN" repo yum publish --root "$M/yum" --keydir "$T/k"
unchanged "yum: read-only" "$M/yum"
mount -o remount,rw "$M"

summary
