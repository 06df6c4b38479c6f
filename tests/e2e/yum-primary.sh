#!/usr/bin/env bash
# End to end: the YUM metadata consign writes for .rpm files
# (consign_rpm_info_*_xml, through the test-only repo-tools/consign-rpminfo)
# is byte for byte createrepo_c's: primary.xml, filelists.xml and other.xml
# of a repository holding the example product's packages (consign pkg rpm:
# signed with xz, unsigned with zstd) and packages built with rpmbuild (an
# epoch, "~" and "^" in versions, Requires(pre) and Requires(post),
# conflicts, obsoletes, versioned provides, weak dependencies, ghost files,
# directories, symlinks, a long changelog with entries on one day, & < > and
# UTF-8 in the text, Latin-1 text, an ELF program with automatic libc.so.6
# requirements). A truncated .rpm and a source package are refused with one
# message naming the file.
#
# Usage: yum-primary.sh BUILD_DIR SOURCE_DIR
# The agent's jar and runtime come from $EXAMPLE_AGENT_BUILD, else
# BUILD_DIR/examples/agent, else the CONSIGN_EXAMPLE_AGENT_DIR of the cache.
set -euo pipefail

# shellcheck source=tests/lib/testlib.sh
. "$(dirname "$0")/../lib/testlib.sh"
e2e_args "$@"
RPMINFO=$BUILD/repo-tools/consign-rpminfo
MTIME=1700000000

passed=0
failed=0
# Short: the key directory's gpg-agent sockets must fit in sun_path.
T=$(mktemp -d /tmp/consign-yum.XXXXXX)

trap remove_scratch EXIT
trap 'exit 130' INT TERM

# --- prerequisites -------------------------------------------------------------
for tool in createrepo_c rpmbuild gcc cmp diff; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
[ -x "$CONSIGN" ] || die "$CONSIGN is missing; build first"
[ -x "$RPMINFO" ] || die "$RPMINFO is missing; build first"
find_example_agent
echo "    $(createrepo_c --version | head -n 1)"

mkdir -p "$T/repo"

# --- the example product, with consign --------------------------------------------
"$CONSIGN" keys generate --keydir "$T/k" --name "consign e2e yum" --email yum@example.com \
    >"$T/keygen.log" 2>&1 || die "consign keys generate failed" "$(cat "$T/keygen.log")"
if "$CONSIGN" pkg rpm --product "$SRC/examples/agent/product.yaml" --out "$T/signed" \
    --define "EXAMPLE_AGENT_BUILD=$EXAMPLE_AGENT_BUILD" --keydir "$T/k" >"$T/pkg.log" 2>&1 &&
    "$CONSIGN" pkg rpm --product "$SRC/examples/agent/product.yaml" --out "$T/zst" \
        --define "EXAMPLE_AGENT_BUILD=$EXAMPLE_AGENT_BUILD" --no-sign --only agent \
        --compress zstd >>"$T/pkg.log" 2>&1; then
    ok "consign pkg rpm builds the example's packages (signed; unsigned with zstd)"
else
    die "consign pkg rpm failed" "$(tail -n 20 "$T/pkg.log")"
fi
cp "$T"/signed/*.rpm "$T/repo/"
for f in "$T"/zst/*.rpm; do
    cp "$f" "$T/repo/zst-${f##*/}"
done

# --- packages from rpmbuild ---------------------------------------------------------
mkdir -p "$T/specs"
cat >"$T/specs/weird.spec" <<'EOF'
Name:           yumtest-weird
Epoch:          3
Version:        1.2~rc1
Release:        4^git5
Summary:        Weird & <wonderful> "quoted" 'package' café ☃
License:        MIT & BSD
URL:            https://example.com/?a=1&b=<2>
Group:          Applications/<Test>
Vendor:         ACME "Corp" & Sons
Packager:       Joe <joe@example.com>
BuildArch:      noarch
Requires(pre):  /usr/sbin/useradd
Requires(post): coreutils
Requires:       bash >= 4.0, libfoo.so.1()(64bit), yumtest-data = %{epoch}:%{version}-%{release}
Requires:       /etc/yumtest.conf, /usr/bin/yumtest, /opt/yumtest/data.txt, /usr/sbin/missing
Requires:       dup >= 1, dup >= 1, dup < 9
Requires(pre):  dup >= 1
Provides:       yumtest-api = 2.0, yumtest-virt, yumtest(x) < 3:1-2
Conflicts:      yumtest-old < 1.0, conflict-thing
Obsoletes:      yumtest-legacy <= 0.9-1
Recommends:     rec-pkg >= 1
Suggests:       sug-pkg
Supplements:    sup-pkg
Enhances:       enh-pkg > 2

%description
A description with & and < and > and "quotes"
and	a tab, a second line, and UTF-8: Ünïcödé ☃ 𝄞.

  An indented line.

%install
mkdir -p %{buildroot}/etc %{buildroot}/usr/bin %{buildroot}/opt/yumtest/sub
mkdir -p %{buildroot}/usr/lib %{buildroot}/var/log/yumtest %{buildroot}/opt/yumtest/sbin/x
echo conf >%{buildroot}/etc/yumtest.conf
printf '#!/bin/sh\n' >%{buildroot}/usr/bin/yumtest
chmod 0755 %{buildroot}/usr/bin/yumtest
echo data >%{buildroot}/opt/yumtest/data.txt
echo x >"%{buildroot}/opt/yumtest/sub/a&b<c>é.txt"
ln -s ../../usr/bin/yumtest %{buildroot}/opt/yumtest/link
echo m >%{buildroot}/usr/lib/sendmail
touch %{buildroot}/opt/yumtest/sbin/x/tool

%files
%config(noreplace) /etc/yumtest.conf
/usr/bin/yumtest
%dir /opt/yumtest
/opt/yumtest/data.txt
/opt/yumtest/sub
/opt/yumtest/link
/opt/yumtest/sbin
/usr/lib/sendmail
%dir /var/log/yumtest
%ghost /var/log/yumtest/yumtest.log
%ghost %dir /var/log/yumtest/old

%changelog
* Wed Jan 03 2024 Joe <joe@example.com>   - 3:1.2~rc1-4
- Third entry of the day & <markup>.
* Wed Jan 03 2024 Ann <ann@example.com> - 3:1.2~rc1-3
- Second entry of the day.
* Wed Jan 03 2024 Bob <bob@example.com> - 3:1.2~rc1-2
- First entry of the day.
* Mon Jan 01 2024 Ann <ann@example.com> - 1.1-1
- entry 4
* Sun Dec 31 2023 A <a@example.com> - 1
- e5
* Sat Dec 30 2023 A <a@example.com> - 1
- e6
* Fri Dec 29 2023 A <a@example.com> - 1
- e7
* Thu Dec 28 2023 A <a@example.com> - 1
- e8
* Wed Dec 27 2023 A <a@example.com> - 1
- e9
* Tue Dec 26 2023 A <a@example.com> - 1
- e10
* Mon Dec 25 2023 A <a@example.com> - 1
- e11 (beyond the ten createrepo_c keeps)
* Sun Dec 24 2023 A <a@example.com> - 1
- e12
EOF

# Latin-1 text, which createrepo_c converts (rpmbuild wants a macro to allow it).
printf '%s\n' 'Name: yumtest-latin' 'Version: 2.0' 'Release: 1' \
    "Summary: Caf$(printf '\351') na$(printf '\357')ve" 'License: GPL' 'BuildArch: noarch' \
    "Requires: caf$(printf '\351')-lib" "Provides: d$(printf '\351')j$(printf '\340') = 1.0" '' \
    '%description' "Latin-1: $(printf '\351\350\205') end." '' '%files' '' '%changelog' \
    "* Mon Jan 01 2024 Andr$(printf '\351') <a@example.com> - 2.0-1" \
    "- caf$(printf '\351')" >"$T/specs/latin.spec"

cat >"$T/specs/elf.spec" <<'EOF'
%global debug_package %{nil}
Name:           yumtest-elf
Version:        3.1
Release:        1
Summary:        A compiled program and library
License:        MIT

%description
ELF files: automatic requirements on libc.so.6 and libm.so.6.

%build
cat >hello.c <<'C'
#include <math.h>
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    char b[64];
    strncpy(b, argv[0], sizeof b - 1);
    b[63] = 0;
    printf("%s %f\n", b, sqrt((double)argc));
    return 0;
}
C
gcc -O2 -o hello hello.c -lm
gcc -O2 -shared -fPIC -Wl,-soname,libyumtest.so.1 -o libyumtest.so.1 hello.c -lm

%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/usr/lib64
install -m 0755 hello %{buildroot}/usr/bin/yumtest-hello
install -m 0755 libyumtest.so.1 %{buildroot}/usr/lib64/libyumtest.so.1

%files
/usr/bin/yumtest-hello
/usr/lib64/libyumtest.so.1
EOF

for spec in weird latin elf; do
    rpmbuild --define "_topdir $T/rpmbuild" --define "_invalid_encoding_terminates_build 0" \
        -bb "$T/specs/$spec.spec" >"$T/rpmbuild-$spec.log" 2>&1 ||
        die "rpmbuild $spec.spec failed" "$(tail -n 20 "$T/rpmbuild-$spec.log")"
done
rpmbuild --define "_topdir $T/rpmbuild" -bs "$T/specs/weird.spec" >"$T/rpmbuild-src.log" 2>&1 ||
    die "rpmbuild -bs weird.spec failed" "$(tail -n 20 "$T/rpmbuild-src.log")"
find "$T/rpmbuild/RPMS" -name '*.rpm' -exec cp -t "$T/repo" {} +
count=$(find "$T/repo" -name '*.rpm' | wc -l)
[ "$count" -ge 6 ] || die "want 6 packages, have $count" "$(ls "$T/repo")"
ok "rpmbuild builds weird, latin and elf packages ($count packages in all)"

# --- createrepo_c and ours ---------------------------------------------------------------
# The same file times for both (<time file=...>), and the C locale (the
# summary and description translation createrepo_c picks).
touch -d "@$MTIME" "$T"/repo/*.rpm
env -i PATH="$PATH" LC_ALL=C createrepo_c --no-database "$T/repo" >"$T/createrepo.log" 2>&1 ||
    die "createrepo_c failed" "$(tail -n 20 "$T/createrepo.log")"
# createrepo_c's order: by file name, bytewise.
mapfile -t rpms < <(cd "$T/repo" && find . -maxdepth 1 -name '*.rpm' -printf '%f\n' | LC_ALL=C sort)

# unpack FILE: the document, whatever createrepo_c compressed it with.
unpack() {
    case $1 in
    *.gz) gzip -dc "$1" ;;
    *.zst) zstd -qdc "$1" ;;
    *.xz) xz -dc "$1" ;;
    *.bz2) bzip2 -dc "$1" ;;
    *) cat "$1" ;;
    esac
}

for kind in primary filelists other; do
    file=$(find "$T/repo/repodata" -name "*$kind.xml*" ! -name '*.sqlite*' | head -n 1)
    if [ -z "$file" ]; then
        not_ok "$kind.xml: createrepo_c wrote none" "$(ls "$T/repo/repodata")"
        continue
    fi
    unpack "$file" >"$T/$kind.createrepo.xml"
    if ! (cd "$T/repo" && "$RPMINFO" "$kind" "${rpms[@]}") >"$T/$kind.ours.xml" 2>"$T/$kind.err"; then
        not_ok "$kind.xml: consign-rpminfo failed" "$(cat "$T/$kind.err")"
    elif cmp -s "$T/$kind.createrepo.xml" "$T/$kind.ours.xml"; then
        ok "$kind.xml: ${#rpms[@]} packages, byte for byte createrepo_c's"
    else
        diff -u "$T/$kind.createrepo.xml" "$T/$kind.ours.xml" >"$T/$kind.diff" || true
        not_ok "$kind.xml differs from createrepo_c's (- createrepo_c, + ours)" \
            "$(head -n 40 "$T/$kind.diff")"
    fi
done

# What the comparison covered (so that a vacuous match shows).
check "primary.xml: requires with pre=\"1\"" grep -q 'pre="1"' "$T/primary.ours.xml"
check "primary.xml: yumtest-weird's epoch" grep -q '<version epoch="3" ver="1.2~rc1" rel="4^git5"/>' \
    "$T/primary.ours.xml"
check "primary.xml: one libc.so.6 requirement for the ELF package, the highest" \
    test "$(grep -c 'name="libc.so.6' "$T/primary.ours.xml")" -eq 1
check "filelists.xml: ghost files and directories" \
    grep -q '<file type="ghost">/var/log/yumtest/yumtest.log</file>' "$T/filelists.ours.xml"
check "other.xml: ten changelog entries of yumtest-weird, the same day made distinct" \
    test "$(grep -c 'author="A &lt;a@example.com&gt; - 1"' "$T/other.ours.xml")" -eq 6
check "primary.xml: Latin-1 converted" grep -q '<summary>Café naïve</summary>' \
    "$T/primary.ours.xml"

# --- refused packages -------------------------------------------------------------------------
head -c 1000 "$T/repo/${rpms[0]}" >"$T/cut.rpm"
check_fail "a truncated .rpm is refused, naming the file" "^consign-rpminfo: $T/cut.rpm: " \
    "$RPMINFO" primary "$T/cut.rpm"
srpm=$(find "$T/rpmbuild/SRPMS" -name '*.src.rpm' | head -n 1)
check_fail "a source package is refused, naming the file" \
    "^consign-rpminfo: $T/.*/yumtest-weird-[^/]*\.src\.rpm: a source package" \
    "$RPMINFO" primary "$srpm"

summary
