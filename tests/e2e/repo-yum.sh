#!/usr/bin/env bash
# End to end: a YUM repository made by `consign repo yum add|publish` from the
# example's signed .rpm packages, served by nginx on 127.0.0.1
# (tests/lib/httpd.sh), used by the host's dnf 4 the way a customer sets it up:
# the published NAME.repo (gpgcheck=1, repo_gpgcheck=1, gpgkey on the server),
# `dnf makecache`, `dnf install example-agent`, keys imported without a question
# (-y), into an installroot; the host's rpm database is never touched.
#
# The installroot is an unpacked Debian tree (tests/lib/chroot.sh, the plain
# bookworm one deb.sh and repo-apt.sh use): the agent requires /bin/sh and its
# %post runs mkdir, chown, chmod under it. On an RPM distribution bash provides
# /bin/sh; here dash does, so a file-less stub package, built with rpmbuild
# and installed with rpm, tells rpm's database "Provides: /bin/sh". dnf then
# resolves and installs for real, scriptlets included: no --nodeps, no noscripts.
#
# Also: repomd.xml and its data files, the signature with gpg, a second publish
# with nothing changed leaving every file as it was; dnf refusing a repomd.xml
# altered after signing and one signed by another key; and publish killed
# with SIGKILL at $CONSIGN_REPO_KILLS (20) random points while the content
# changes, `dnf makecache --refresh` succeeding after each.
#
# Usage: repo-yum.sh BUILD_DIR SOURCE_DIR
# Needs root (the installroot belongs to root), nginx, dnf, rpm, rpmbuild.
# Chroots are cached in $CONSIGN_CHROOT_CACHE, else BUILD_DIR/chroots. The
# agent's jar and runtime come from $EXAMPLE_AGENT_BUILD, else
# BUILD_DIR/examples/agent, else the CONSIGN_EXAMPLE_AGENT_DIR of the cache.
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
BASE=bookworm
KILLS=${CONSIGN_REPO_KILLS:-20}
unset SOURCE_DATE_EPOCH

passed=0
failed=0
# Short: the key directories' gpg-agent sockets must fit in sun_path.
T=$(mktemp -d /tmp/consign-ryum.XXXXXX)
bgpid=

# dnf (librepo) verifies repomd.xml with a gpg-agent of its own per
# repository, homed in the cache (CACHEDIR/REPO-HASH/pubring), and leaves it
# running: stopped here, before the cache goes.
stop_dnf_agents() {
    local d
    for d in "$T"/dnfcache/*/pubring; do
        [ -d "$d" ] && gpgconf --homedir "$d" --kill gpg-agent >/dev/null 2>&1
    done
    return 0
}
cleanup() {
    local d
    [ -z "$bgpid" ] || kill -9 -- "-$bgpid" 2>/dev/null || true
    httpd_stop
    stop_dnf_agents
    for d in "$T"/k*/gnupg; do
        [ -d "$d" ] && gpgconf --homedir "$d" --kill gpg-agent >/dev/null 2>&1
    done
    remove_scratch
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- prerequisites -------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "repo-yum.sh needs root (the installroot)"
for tool in dnf rpm rpmbuild mmdebstrap gpg gpgv gpgconf curl xmllint sha256sum setsid \
    gzip xz zstd bzip2; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || die "nginx is not installed"
[ -x "$CONSIGN" ] || die "$CONSIGN is missing; build first"
"$CONSIGN" repo yum publish --help >/dev/null 2>&1 || die "$CONSIGN has no 'repo yum' command"
find_example_agent

# --- the packages and the keys -------------------------------------------------------------
keygen() { # DIR NAME
    "$CONSIGN" keys generate --keydir "$1" --name "$2" --email repo@example.com \
        >"$1.log" 2>&1
}
keygen "$T/k" "consign e2e yum repository" || die "consign keys generate failed" "$(cat "$T/k.log")"
keygen "$T/k2" "consign e2e another key" || die "consign keys generate failed" "$(cat "$T/k2.log")"
fpr=$("$CONSIGN" keys fingerprint --keydir "$T/k" --raw | tr -d ' ' | tr 'a-f' 'A-F')
keyid=${fpr: -8}

copy_example "$T/p101"
sed -i 's/^version: 1\.0\.0$/version: 1.0.1/' "$T/p101/product.yaml"
grep -q '^version: 1.0.1$' "$T/p101/product.yaml" || die "could not make the 1.0.1 product"
pkgrpm() { # OUT PRODUCT
    "$CONSIGN" pkg rpm --product "$2" --out "$1" --keydir "$T/k" \
        --define "EXAMPLE_AGENT_BUILD=$EXAMPLE_AGENT_BUILD" >"$1.log" 2>&1
}
b100=0 b101=0
pkgrpm "$T/r100" "$SRC/examples/agent/product.yaml" &
p1=$!
pkgrpm "$T/r101" "$T/p101/product.yaml" &
p2=$!
# Meanwhile: the installroot, and the stub that tells rpm it has /bin/sh.
IR=$T/root
bash "$SRC/tests/lib/chroot.sh" "$CACHE" "$BASE" "$IR" >"$T/chroot.log" 2>&1 ||
    die "chroot $BASE" "$(tail -n 20 "$T/chroot.log")"
cat >"$T/sh.spec" <<'EOF'
Name:      consign-e2e-sh
Version:   1
Release:   1
Summary:   The /bin/sh of the Debian tree this installroot is
License:   Apache-2.0
BuildArch: noarch
Provides:  /bin/sh

%description
consign's end-to-end test installs into an unpacked Debian tree: its /bin/sh
(dash) is there, but not in rpm's database.

%files
EOF
rpmbuild -bb --quiet --define "_topdir $T/rpmbuild" --define "_rpmdir $T/stub" \
    --define '_build_name_fmt %%{NAME}.rpm' "$T/sh.spec" >"$T/stub.log" 2>&1 ||
    die "rpmbuild of the /bin/sh stub failed" "$(cat "$T/stub.log")"
wait "$p1" || b100=$?
wait "$p2" || b101=$?
[ "$b100" -eq 0 ] || die "consign pkg rpm (1.0.0) failed" "$(tail -n 5 "$T/r100.log")"
[ "$b101" -eq 0 ] || die "consign pkg rpm (1.0.1) failed" "$(tail -n 5 "$T/r101.log")"
A100=$T/r100/$NAME-1.0.0-1.x86_64.rpm
R100=$T/r100/$RT-1.0.0-1.x86_64.rpm
A101=$T/r101/$NAME-1.0.1-1.x86_64.rpm
R101=$T/r101/$RT-1.0.1-1.x86_64.rpm
for f in "$A100" "$R100" "$A101" "$R101"; do
    [ -f "$f" ] || die "consign pkg rpm did not write ${f#"$T"/}"
done
ok "signed 1.0.0 and 1.0.1 packages, two keys, the installroot"

# --- the web server ------------------------------------------------------------------------
W=$T/www
mkdir -p "$W"
httpd_start "$W" 2>"$T/httpd.err" || die "nginx does not start" "$(cat "$T/httpd.err")"
ok "nginx serves $W at $HTTPD_URL"

repo() { # ROOT COMMAND ARGS...
    local root=$1 cmd=$2
    shift 2
    "$CONSIGN" repo yum "$cmd" --root "$root" "$@"
}
publish() { # ROOT KEYDIR [ARGS...]: with the URL and name customers get.
    local root=$1 keydir=$2
    shift 2
    repo "$root" publish --keydir "$keydir" --url "$HTTPD_URL/${root#"$W"/}" --name "$REPO" "$@"
}
matches() { # STRING REGEX
    [[ $1 =~ $2 ]]
}

# --- 1. the repository -----------------------------------------------------------------------
Y=$W/yum
check "repo yum add 1.0.0" repo "$Y" add "$A100" "$R100"
check "repo yum add 1.0.1" repo "$Y" add "$A101" "$R101"
# Published at a fixed time (SOURCE_DATE_EPOCH, a minute ago), so that
# publishing again with nothing changed must give the same bytes.
export SOURCE_DATE_EPOCH=$(($(date +%s) - 60))
check "repo yum publish" publish "$Y" "$T/k"
[ -f "$Y/repodata/repomd.xml" ] || die "publish wrote no repodata/repomd.xml" \
    "$(cd "$Y" && find . -maxdepth 3 | head -n 30)"
# names_all OUTPUT: both packages, both versions (whatever the layout of the list).
names_all() {
    grep -q "$NAME" <<<"$1" && grep -q "$RT" <<<"$1" && grep -q '1\.0\.0-1' <<<"$1" &&
        grep -q '1\.0\.1-1' <<<"$1"
}
check "repo yum list: both packages, both versions" names_all "$(repo "$Y" list 2>&1)"
check "the packages: Packages/e/NAME-V-R.ARCH.rpm, byte for byte" \
    cmp "$A101" "$Y/Packages/e/$NAME-1.0.1-1.x86_64.rpm"
for f in "$REPO.repo" "RPM-GPG-KEY-$REPO" "$REPO.fingerprint" repodata/repomd.xml.asc; do
    check "$f is published" test -s "$Y/$f"
done
check "$REPO.fingerprint is the key's fingerprint" \
    test "$(tr -d ' \n' <"$Y/$REPO.fingerprint" | tr 'a-f' 'A-F')" = "$fpr"
check_out "$REPO.repo: [$REPO]" "^\[$REPO\]$" cat "$Y/$REPO.repo"
while IFS='|' read -r key re; do
    check_out "$REPO.repo: $key" "^$key ?= ?$re$" cat "$Y/$REPO.repo"
done <<EOF
baseurl|$HTTPD_URL/yum/?
gpgcheck|1
repo_gpgcheck|1
gpgkey|$HTTPD_URL/yum/RPM-GPG-KEY-$REPO
enabled|1
EOF
mkdir -m 0700 "$T/gh"
check_out "RPM-GPG-KEY-$REPO is exactly the key, armored" "^fpr:+$fpr:" \
    gpg --homedir "$T/gh" --batch --with-colons --show-keys "$Y/RPM-GPG-KEY-$REPO"
gpg --homedir "$T/gh" --batch --dearmor <"$Y/RPM-GPG-KEY-$REPO" >"$T/key.gpg"
check_out "gpgv verifies repomd.xml.asc with the published key" "Good signature" \
    gpgv --homedir "$T/gh" --keyring "$T/key.gpg" "$Y/repodata/repomd.xml.asc" "$Y/repodata/repomd.xml"
check "repomd.xml.asc is armored" grep -q -- '-----BEGIN PGP SIGNATURE-----' "$Y/repodata/repomd.xml.asc"
check "repomd.xml is well-formed XML" xmllint --noout "$Y/repodata/repomd.xml"

# xp FILE XPATH: the string value of XPATH in FILE, namespaces ignored.
xp() {
    xmllint --xpath "string($2)" "$1" 2>/dev/null || true
}
# check_repomd ROOT: every <data> of repomd.xml: its file, size and SHA256,
# and the SHA256 and size of its content decompressed (open-checksum, open-size).
check_repomd() {
    local root=$1 md=$1/repodata/repomd.xml bad='' types type d href f dc
    types=$(xmllint --xpath '//*[local-name()="data"]/@type' "$md" 2>/dev/null |
        sed 's/ *type="\([^"]*\)"/\1 /g' | tr -s '\n ' '  ')
    echo "types: $types"
    for type in $types; do
        d="//*[local-name()='data'][@type='$type']"
        href=$(xp "$md" "$d/*[local-name()='location']/@href")
        f=$root/$href
        case $f in
        *.gz) dc="gzip -dc" ;;
        *.xz) dc="xz -dc" ;;
        *.zst) dc="zstd -qdc" ;;
        *.bz2) dc="bzip2 -dc" ;;
        *) dc="cat" ;;
        esac
        if [ ! -f "$f" ]; then
            bad="$bad $type:missing"
        elif [ "$(sha256sum <"$f" | cut -c1-64) $(stat -c %s "$f")" != \
            "$(xp "$md" "$d/*[local-name()='checksum']") $(xp "$md" "$d/*[local-name()='size']")" ]; then
            bad="$bad $type:checksum"
        elif [ -n "$(xp "$md" "$d/*[local-name()='open-checksum']")" ] &&
            [ "$($dc <"$f" | sha256sum | cut -c1-64) $($dc <"$f" | wc -c)" != \
                "$(xp "$md" "$d/*[local-name()='open-checksum']") $(xp "$md" "$d/*[local-name()='open-size']")" ]; then
            bad="$bad $type:open-checksum"
        fi
    done
    [ -z "$bad" ] || { echo "wrong:$bad"; return 1; }
    matches " $types" " primary " && matches " $types" " filelists " && matches " $types" " other "
}
check_out "repomd.xml: primary, filelists, other; every file's size and SHA256, compressed and not, right" \
    "primary" check_repomd "$Y"
echo "    $(check_repomd "$Y" | head -n 1)"
echo "    repodata: $(cd "$Y/repodata" && find . -maxdepth 1 -type f -printf '%f\n' | sed 's/^[0-9a-f]\{64\}-/HEX-/' | sort | paste -sd' ')"

# snapshot ROOT: every served file (symbolic links followed) with its SHA256.
snapshot() {
    (cd "$1" && find -L . -path ./.consign -prune -o -type f -print | LC_ALL=C sort |
        xargs -d '\n' sha256sum)
}
snapshot "$Y" >"$T/snap1"
sleep 1
check "a second publish with nothing changed succeeds" publish "$Y" "$T/k"
snapshot "$Y" >"$T/snap2"
check "a second publish with nothing changed leaves every file as it was" diff "$T/snap1" "$T/snap2"
unset SOURCE_DATE_EPOCH

# --- 2. the broken repositories ---------------------------------------------------------------
# repomd.xml altered after signing: one more space in <revision>.
P=$W/tampered
mkdir -p "$P"
cp -rL "$Y/repodata" "$Y/Packages" "$P/"
sed -i 's|<revision>\([^<]*\)</revision>|<revision> \1</revision>|' "$P/repodata/repomd.xml"
sed "s|$HTTPD_URL/yum|$HTTPD_URL/tampered|" "$Y/$REPO.repo" >"$P/$REPO.repo"
check "the altered copy: repomd.xml differs, its signature does not" bash -c \
    "! cmp -s '$P/repodata/repomd.xml' '$Y/repodata/repomd.xml' &&
     cmp '$P/repodata/repomd.xml.asc' '$Y/repodata/repomd.xml.asc'"
# Signed by another key; the customer's gpgkey is still the good one.
X=$W/otherkey
check "another repository: add" repo "$X" add "$A101" "$R101"
check "another repository: publish, signed by another key" publish "$X" "$T/k2"

# --- 3. the customer: dnf with an installroot --------------------------------------------------
host_db=$(rpm --eval '%{_dbpath}')
host_state() {
    rpm -qa | LC_ALL=C sort
    sha256sum "$host_db"/rpmdb.sqlite "$host_db"/Packages 2>/dev/null || true
    ls -la --time-style=+%s /var/lib/dnf /var/cache/dnf /var/log/dnf.log /var/log/dnf.rpm.log \
        /var/log/hawkey.log /etc/yum.repos.d 2>&1 || true
}
host_state >"$T/host1"

check_out "rpm --root: the /bin/sh stub goes into the installroot's database" "consign-e2e-sh-1-1" \
    bash -c "rpm --root '$IR' -i '$T/stub/consign-e2e-sh.rpm' && rpm --root '$IR' -q consign-e2e-sh"
# Our own dnf.conf: the host's (Debian's says skip_if_unavailable=True) would
# turn a repository that fails into a warning and exit 0.
cat >"$T/dnf.conf" <<'EOF'
[main]
gpgcheck=1
installonly_limit=3
clean_requirements_on_remove=True
best=True
skip_if_unavailable=False
EOF
mkdir -p "$T/repos.d"
# use_repo ROOT: its published NAME.repo, alone, with a fresh cache.
use_repo() {
    rm -f "$T"/repos.d/*
    cp "$1/$REPO.repo" "$T/repos.d/$REPO.repo"
    grep -q '^skip_if_unavailable' "$T/repos.d/$REPO.repo" ||
        echo "skip_if_unavailable=False" >>"$T/repos.d/$REPO.repo"
    stop_dnf_agents
    rm -rf "$T/dnfcache"
}
# dnf_in LOG ARGS...: dnf on the installroot, output in LOG and on standard output.
dnf_in() {
    local log=$1 rc=0
    shift
    LC_ALL=C.UTF-8 dnf -y --installroot="$IR" --config="$T/dnf.conf" \
        --setopt=reposdir="$T/repos.d" --setopt=cachedir="$T/dnfcache" \
        --releasever=1 --noplugins "$@" >"$log" 2>&1 </dev/null || rc=$?
    cat "$log"
    return "$rc"
}
no_error() { # LOG
    ! grep -Eiq '^(error|warning)|Ignoring repositories|curl error' "$1"
}
# makecache_clean: dnf makecache --refresh succeeds without a word of error.
makecache_clean() {
    dnf_in "$T/kill-mc.log" makecache --refresh >/dev/null && no_error "$T/kill-mc.log"
}

# Not dnf --version: that writes the host's /var/log/hawkey.log.
dnfv=$(dpkg-query -W -f='${Version}' dnf 2>/dev/null || echo 4)
use_repo "$Y"
check_out "dnf $dnfv makecache: the repository's key imported (0x$keyid), the cache made" \
    "Importing GPG key 0x$keyid" dnf_in "$T/mc.log" makecache
check_out "dnf makecache: Metadata cache created, no error" "Metadata cache created" cat "$T/mc.log"
check "dnf makecache: no error, no warning, no repository ignored" no_error "$T/mc.log"
sed "s|$HTTPD_URL|URL|g; s/^/    # /" "$T/mc.log"
check "dnf kept its cache where it was told" test -d "$T/dnfcache"
check "the repodata came over nginx" grep -q 'GET /yum/repodata/repomd.xml.asc' "$HTTPD_LOG"
check_out "dnf list --showduplicates: 1.0.0-1 and 1.0.1-1" "$NAME\.x86_64 +1\.0\.0-1 .*
.*$NAME\.x86_64 +1\.0\.1-1" bash -c "LC_ALL=C.UTF-8 dnf -y --installroot='$IR' --config='$T/dnf.conf' \
    --setopt=reposdir='$T/repos.d' --setopt=cachedir='$T/dnfcache' --releasever=1 \
    --noplugins -C list --showduplicates '$NAME' 2>&1 | tr -s ' ' | grep '^$NAME'"
check_out "dnf install -y $NAME: the agent and its runtime, 1.0.1-1, %post run" \
    "Configure it with: sudo /opt/$NAME/$NAME-config interactive" \
    dnf_in "$T/inst.log" install "$NAME"
check_out "dnf install: the package key imported" "Importing GPG key 0x$keyid" cat "$T/inst.log"
check_out "dnf install: Complete!" "^Complete!" cat "$T/inst.log"
check "dnf install: no error, no warning, no scriptlet failure" \
    bash -c "! grep -Eiq '^(error|warning)|scriptlet failed|non-fatal' '$T/inst.log'"
check "both installed, 1.0.1-1" test "$(rpm --root "$IR" -q "$NAME" "$RT" | paste -sd' ')" = \
    "$NAME-1.0.1-1.x86_64 $RT-1.0.1-1.x86_64"
check "the key is in the installroot's rpm database (gpg-pubkey-$keyid)" \
    rpm --root "$IR" -q "gpg-pubkey-${keyid,,}"
check "rpm -V: the installed files as the headers say" \
    rpm --root "$IR" -V "$NAME" "$RT"
check "%post made /var/opt/$NAME/logs 0750" \
    test "$(stat -c %a "$IR/var/opt/$NAME/logs" 2>/dev/null)" = 750
check "the launcher and java are there" \
    test -x "$IR/opt/$NAME/bin/$NAME-launch" -a -x "$IR/opt/$NAME/jre/bin/java"
check_out "dnf downgrade to 1.0.0-1" "Complete!" \
    dnf_in "$T/inst.log" downgrade "$NAME-1.0.0-1" "$RT-1.0.0-1"
check "both 1.0.0-1" test "$(rpm --root "$IR" -q "$NAME" "$RT" | paste -sd' ')" = \
    "$NAME-1.0.0-1.x86_64 $RT-1.0.0-1.x86_64"
echo "token=tok-yum" >"$IR/var/opt/$NAME/conf/secrets.conf"
check_out "dnf remove $NAME $RT: Complete!" "Complete!" dnf_in "$T/rm.log" remove "$NAME" "$RT"
check "dnf remove: program files, unit, init script and logrotate file gone; /var/opt/$NAME kept" \
    bash -c "[ ! -e '$IR/opt/$NAME/bin' ] && [ ! -e '$IR/usr/lib/systemd/system/$NAME.service' ] &&
             [ ! -e '$IR/etc/rc.d/init.d/$NAME' ] && [ ! -e '$IR/etc/logrotate.d/$NAME' ] &&
             grep -qx token=tok-yum '$IR/var/opt/$NAME/conf/secrets.conf'"

# dnf_fails DESC REGEX: dnf makecache fails saying REGEX; prints what it said.
dnf_fails() {
    local desc=$1 re=$2 rc=0
    dnf_in "$T/mc.log" makecache >/dev/null || rc=$?
    if [ "$rc" -ne 0 ] && grep -Eq -- "$re" "$T/mc.log"; then
        ok "$desc"
        grep -Ei 'error|warn|fail' "$T/mc.log" | sed "s|$HTTPD_URL|URL|g; s/^/    # /"
    else
        not_ok "$desc" "exit $rc (want non-zero), want output matching: $re" "$(cat "$T/mc.log")"
    fi
}
use_repo "$P"
sed -i "s|$HTTPD_URL/tampered/RPM-GPG-KEY|$HTTPD_URL/yum/RPM-GPG-KEY|" "$T/repos.d/$REPO.repo"
dnf_fails "dnf refuses a repomd.xml altered after signing" \
    "repomd.xml GPG signature verification error: Bad GPG signature"
use_repo "$X"
sed -i "s|^gpgkey=.*|gpgkey=$HTTPD_URL/yum/RPM-GPG-KEY-$REPO|" "$T/repos.d/$REPO.repo"
dnf_fails "dnf refuses a repomd.xml signed by another key" \
    "repomd.xml GPG signature verification error"

# --- 4. kill -9 during publish ---------------------------------------------------------------------
K=$W/kill
check "kill: repo yum add both versions" repo "$K" add "$A100" "$R100" "$A101" "$R101"
check "kill: publish" publish "$K" "$T/k"
# How long a publish takes: the longer of two, each after a change. The kills
# land anywhere in a publish, the switch at its end included, and a few just
# after it.
ms=0
for op in remove add; do
    if [ "$op" = remove ]; then
        repo "$K" remove "$NAME=1.0.0-1"
    else
        repo "$K" add "$A100"
    fi >/dev/null 2>&1 || true
    t0=$(date +%s%N)
    publish "$K" "$T/k" >/dev/null 2>&1 || true
    t1=$((($(date +%s%N) - t0) / 1000000))
    [ "$t1" -le "$ms" ] || ms=$t1
done
maxms=$((ms * 11 / 10 + 5))
use_repo "$K"
check "kill: dnf makecache before any kill" makecache_clean
i=0 mid=0 early=0 bad=0
while [ "$mid" -lt "$KILLS" ] && [ "$i" -lt $((KILLS * 4)) ]; do
    i=$((i + 1))
    if [ $((i % 2)) -eq 0 ]; then
        timeout 60 "$CONSIGN" repo yum add --root "$K" "$A100" >"$T/kill-add.log" 2>&1
    else
        timeout 60 "$CONSIGN" repo yum remove --root "$K" "$NAME=1.0.0-1" >"$T/kill-add.log" 2>&1
    fi || { bad=$((bad + 1)); not_ok "kill $i: add/remove after a kill" "$(cat "$T/kill-add.log")"; }
    setsid "$CONSIGN" repo yum publish --root "$K" --keydir "$T/k" --url "$HTTPD_URL/kill" \
        --name "$REPO" >"$T/kill-pub.log" 2>&1 </dev/null &
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
    if ! makecache_clean; then
        bad=$((bad + 1))
        not_ok "kill $i: dnf makecache --refresh after the kill" "$(cat "$T/kill-mc.log")"
    fi
done
check "kill: $mid kills during a publish (after 0 to $maxms ms, every other one in its last third; a whole publish: $ms ms), $early publishes done before the kill, dnf makecache clean after each" \
    test "$mid" -ge "$KILLS" -a "$bad" -eq 0
check "kill: publish after the last kill" publish "$K" "$T/k"
want="1.0.1-1"
[ $((i % 2)) -eq 0 ] && want="1.0.0-1 1.0.1-1"
dnf_in "$T/kill-mc.log" makecache --refresh >/dev/null || true
got=$(LC_ALL=C.UTF-8 dnf -y --installroot="$IR" --config="$T/dnf.conf" --setopt=reposdir="$T/repos.d" \
    --setopt=cachedir="$T/dnfcache" --releasever=1 --noplugins -C \
    list --available --showduplicates "$NAME" 2>/dev/null | awk -v n="$NAME.x86_64" '$1 == n {print $2}' |
    sort -V | paste -sd' ')
check "kill: dnf sees what was published last ($want; dnf: $got)" test "$got" = "$want"

host_state >"$T/host2"
check "the host's rpm database, dnf state, cache and logs are untouched" diff "$T/host1" "$T/host2"
stop_dnf_agents
check "no gpg-agent of dnf's is left running" bash -c \
    "for i in \$(seq 20); do pgrep -f '[g]pg-agent.*$T/dnfcache' >/dev/null || exit 0; sleep 0.1; done; exit 1"

summary
