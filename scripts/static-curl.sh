#!/usr/bin/env bash
# A minimal static libcurl for fully static programs (the bootstrap
# downloader), built from Debian's own curl source package.
#
#   scripts/static-curl.sh OUTDIR
#
# Makes, in OUTDIR:
#   lib/libcurl.a          HTTP and HTTPS only, proxies (HTTP, HTTPS, SOCKS),
#                          Basic/Digest/NTLM auth, OpenSSL, zlib, c-ares
#   lib/libcares.a         a copy of Debian's (libc-ares-dev), the resolver
#                          libcurl.a was configured against
#   include/curl/*.h       the public headers
#   lib/pkgconfig/libcurl.pc   relocatable (${pcfiledir}); use --static
#   static-curl.env        STATIC_CURL_CFLAGS, STATIC_CURL_LIBS, ...: sh syntax
#   static-curl.cmake      an imported target static_curl::libcurl
#   static-curl.info       what was built, the configure flags, build time
#   static-curl.stamp      the cache key (see below)
#   src/                   Debian's source package and its unpacked tree
#   build/                 the configure/make tree and their logs
#
# Cache: the stamp holds this script's sha256, the deps file's, the curl
# source version (the candidate version of libcurl4 in apt's lists) and the
# installed versions of libssl-dev, libc-ares-dev, zlib1g-dev and the
# compiler. When OUTDIR's stamp says the same, the script does nothing (no
# apt, no network, well under a second). Otherwise it installs what
# scripts/static-curl.deps lists and is missing, adds a deb-src entry for the
# Debian archive when there is none (/etc/apt/sources.list.d/debian-src.sources,
# a copy of debian.sources with Types: deb-src), runs apt-get update only when
# the source index is missing or lacks the version, and rebuilds. Concurrent
# runs on one OUTDIR are serialised with flock.
#
# Environment: STATIC_CURL_JOBS (make -j, default 2, at most 2 on this
# project's machines), STATIC_CURL_QUIET=1 (no progress lines).
set -euo pipefail

PROG=static-curl
say() { [ "${STATIC_CURL_QUIET:-}" = 1 ] || echo "$PROG: $*" >&2; }
fail() {
    echo "$PROG: $*" >&2
    exit 1
}

[ $# -eq 1 ] || {
    echo "usage: $0 OUTDIR" >&2
    exit 2
}
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
SELF=$(readlink -f "$0")
DEPS_FILE=$(dirname "$SELF")/static-curl.deps
STAMP=$OUT/static-curl.stamp
JOBS=${STATIC_CURL_JOBS:-2}

# The packages whose installed version goes into the stamp: their headers or
# archives end up in what programs link.
STAMP_PKGS=(libssl-dev libc-ares-dev zlib1g-dev libc6-dev gcc)

# installed_version PACKAGE: its version, empty when not installed.
installed_version() {
    dpkg-query -W -f='${db:Status-Status} ${Version}' "$1" 2>/dev/null |
        sed -n 's/^installed //p'
}

# curl_version: the version of Debian's curl source package to build: the
# candidate of the binary package libcurl4 (source curl), less a binNMU
# suffix. Empty when apt's lists do not know it.
curl_version() {
    local v
    v=$(apt-cache policy libcurl4 2>/dev/null | sed -n 's/^ *Candidate: *//p')
    [ "$v" = "(none)" ] && v=
    printf '%s' "${v%+b[0-9]*}"
}

# apt_lists_key: changes whenever apt-get update brings new lists (the
# Release files' names, sizes and times), without asking apt, which takes
# half a second here.
apt_lists_key() {
    stat -c '%n %s %Y' /var/lib/apt/lists/*Release 2>/dev/null | sha256sum | cut -c1-16
}

# stamp_text CURL_VERSION LISTS_KEY: the cache key, as written to the stamp.
stamp_text() {
    echo "script $(sha256sum <"$SELF" | cut -d' ' -f1)"
    echo "deps $(sha256sum <"$DEPS_FILE" | cut -d' ' -f1)"
    echo "curl-source ${1:-unknown}"
    dpkg-query -W -f='${Package} ${db:Status-Status} ${Version}\n' "${STAMP_PKGS[@]}" \
        2>/dev/null | sed -e 's/ installed / /' -e 's/ not-installed .*/ none/'
    echo "apt-lists $2"
}

# up_to_date: the stamp matches. When only apt's lists changed since, apt is
# asked for the candidate: the same version only refreshes the stamp.
up_to_date() {
    local built lists now
    [ -f "$STAMP" ] && [ -f "$OUT/lib/libcurl.a" ] && [ -f "$OUT/static-curl.env" ] ||
        return 1
    built=$(sed -n 's/^curl-source //p' "$STAMP")
    lists=$(sed -n 's/^apt-lists //p' "$STAMP")
    now=$(apt_lists_key)
    [ "$(cat "$STAMP")" = "$(stamp_text "$built" "$now")" ] && return 0
    [ "$(cat "$STAMP")" = "$(stamp_text "$built" "$lists")" ] || return 1
    [ "$(curl_version)" = "$built" ] || return 1
    stamp_text "$built" "$now" >"$STAMP.tmp" && mv "$STAMP.tmp" "$STAMP"
}

# --- the cache -----------------------------------------------------------------
[ -f "$DEPS_FILE" ] || fail "missing $DEPS_FILE"
if up_to_date; then
    say "up to date in $OUT"
    exit 0
fi
exec 9>"$OUT/.lock"
flock 9
# Another run may have built it while this one waited for the lock.
if up_to_date; then
    say "up to date in $OUT"
    exit 0
fi
rm -f "$STAMP"
start=$(date +%s)

[ "$(id -u)" -eq 0 ] || fail "must run as root (apt-get install, apt-get update, deb-src entry)"
export DEBIAN_FRONTEND=noninteractive
APT=(apt-get -q -o DPkg::Lock::Timeout=600)

# --- packages ------------------------------------------------------------------
mapfile -t deps < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$DEPS_FILE")
missing=()
for p in "${deps[@]}"; do
    [ -n "$(installed_version "$p")" ] || missing+=("$p")
done
updated=
APT_LOG=$OUT/apt.log
apt_update() {
    say "apt-get update"
    "${APT[@]}" update -qq >"$APT_LOG" 2>&1 || fail "apt-get update failed: $(tail -n 3 "$APT_LOG")"
    updated=1
}
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    if ! "${APT[@]}" install -y -qq --no-install-recommends "${missing[@]}" >"$APT_LOG" 2>&1; then
        apt_update
        "${APT[@]}" install -y -qq --no-install-recommends "${missing[@]}" >"$APT_LOG" 2>&1 ||
            fail "apt-get install ${missing[*]} failed: $(tail -n 3 "$APT_LOG")"
    fi
fi
CARES_A=$(dpkg -L libc-ares-dev | grep '/libcares\.a$' | head -n 1 || true)
[ -f "${CARES_A:-/nonexistent}" ] ||
    fail "libc-ares-dev has no static libcares.a (build c-ares from source instead)"

# --- a deb-src entry, then the source index -----------------------------------
SRC_LIST=/etc/apt/sources.list.d/debian-src.sources
sources_targets() {
    # shellcheck disable=SC2016 # apt's own $(...) syntax
    apt-get indextargets --format '$(FILENAME)' 'Created-By: Sources' 2>/dev/null || true
}
if [ -z "$(sources_targets)" ]; then
    [ -f /etc/apt/sources.list.d/debian.sources ] ||
        fail "no deb-src entry and no /etc/apt/sources.list.d/debian.sources to copy one from"
    say "adding $SRC_LIST (deb-src for the entries of debian.sources)"
    {
        echo "# Source packages (deb-src) for the entries of debian.sources."
        echo "# Added by consign's scripts/static-curl.sh, for apt-get source curl."
        sed 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources
    } >"$SRC_LIST.tmp"
    mv "$SRC_LIST.tmp" "$SRC_LIST"
fi
index_missing=
while read -r f; do
    [ -e "$f" ] || index_missing=1
done < <(sources_targets)
CURL_VER=$(curl_version)
if [ -n "$index_missing" ] || [ -z "$CURL_VER" ]; then
    apt_update
    CURL_VER=$(curl_version)
fi
[ -n "$CURL_VER" ] || fail "apt knows no candidate for libcurl4"
has_source() {
    local versions
    versions=$(apt-cache showsrc --only-source curl 2>/dev/null | sed -n 's/^Version: //p')
    grep -qxF -e "$CURL_VER" <<<"$versions"
}
if ! has_source; then
    [ -n "$updated" ] || apt_update
    has_source || fail "no source package curl $CURL_VER in apt's deb-src lists"
fi

# --- the source package ----------------------------------------------------------
SRCDIR=$OUT/src
mkdir -p "$SRCDIR"
DSC=$SRCDIR/curl_${CURL_VER#*:}.dsc
TREE=$SRCDIR/curl-${CURL_VER#*:}
if [ ! -f "$DSC" ]; then
    # Another version's files go: one source package is kept.
    rm -rf "${SRCDIR:?}"/curl[_-]*
    say "apt-get source curl=$CURL_VER"
    # The sandbox user _apt may not write here: download as root, as apt
    # would anyway (after a warning).
    (cd "$SRCDIR" && "${APT[@]}" -o APT::Sandbox::User=root source --download-only \
        "curl=$CURL_VER" >"$SRCDIR/apt-source.log" 2>&1) ||
        fail "apt-get source curl=$CURL_VER failed: $(tail -n 3 "$SRCDIR/apt-source.log")"
fi
# Unpacked anew each time: dpkg-source checks every file against the .dsc.
rm -rf "$TREE"
dpkg-source --skip-patches -x "$DSC" "$TREE" >"$SRCDIR/dpkg-source.log" 2>&1 ||
    fail "dpkg-source -x $DSC failed: $(tail -n 3 "$SRCDIR/dpkg-source.log")"
# Debian's patches in series order (security fixes included), as Debian's
# OpenSSL flavour has them: 90_gnutls and 99_nss only rename the library for
# the other two flavours. Only Makefile.am/configure.ac of packaging patches
# (zsh completion, Kerberos and LDAP flags) are left stale in the generated
# configure and Makefile.in: none matters with the options below, and
# AM_MAINTAINER_MODE keeps make from running autoconf/automake.
applied=0
while read -r name opt; do
    case $name in 90_gnutls.patch | 99_nss.patch) continue ;; esac
    strip=-p1
    case ${opt:-} in -p[0-9]) strip=$opt ;; esac
    patch -d "$TREE" "$strip" -s -N --fuzz=0 --no-backup-if-mismatch \
        <"$TREE/debian/patches/$name" >>"$SRCDIR/dpkg-source.log" 2>&1 ||
        fail "patch $name does not apply: $(tail -n 3 "$SRCDIR/dpkg-source.log")"
    applied=$((applied + 1))
done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$TREE/debian/patches/series")
say "curl $CURL_VER unpacked, $applied Debian patches applied"

# --- configure and build ---------------------------------------------------------
# Each option is explained in docs/internals/static-curl.md.
CONFIGURE_FLAGS=(
    --prefix=/
    --disable-shared --enable-static
    --disable-dependency-tracking --enable-silent-rules
    --disable-debug --disable-curldebug --enable-symbol-hiding
    # protocols: HTTP and HTTPS only
    --enable-http
    --disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp
    --disable-dict --disable-telnet --disable-tftp --disable-pop3 --disable-imap
    --disable-smb --disable-smtp --disable-gopher --disable-mqtt --disable-websockets
    # proxies and authentication
    --enable-proxy --enable-http-auth --enable-crypto-auth --enable-ntlm
    --disable-ntlm-wb --disable-tls-srp
    # name resolution in-process, no NSS: c-ares reads /etc/hosts and resolv.conf
    --enable-ares --disable-threaded-resolver --enable-ipv6
    # keep error messages
    --enable-verbose
    # what a downloader does not use
    --disable-cookies --disable-alt-svc --disable-hsts --disable-doh --disable-mime
    --disable-netrc --disable-unix-sockets --disable-progress-meter
    --disable-get-easy-options --disable-manual --disable-libcurl-option
    # TLS: OpenSSL, never the host's openssl.cnf, no compiled-in CA path
    --with-openssl --disable-openssl-auto-load-config
    --without-ca-bundle --without-ca-path --without-ca-fallback
    # compression: zlib (gzip/deflate) only
    --with-zlib --without-brotli --without-zstd
    --without-libpsl --without-libidn2 --without-nghttp2 --without-ngtcp2
    --without-nghttp3 --without-quiche --without-msh3 --without-hyper
    --without-libssh2 --without-libssh --without-wolfssh --without-librtmp
    --without-libgsasl --without-gssapi
    --without-zsh-functions-dir --without-fish-functions-dir
)
BUILD_CFLAGS="-Os -ffunction-sections -fdata-sections -fstack-protector-strong"
BUILD_CFLAGS+=" -fstack-clash-protection -fcf-protection -Wformat -Werror=format-security"
BUILD_CPPFLAGS="-D_FORTIFY_SOURCE=2"

BDIR=$OUT/build/curl
rm -rf "$BDIR"
mkdir -p "$BDIR"
say "configure (log: $BDIR/configure.log)"
t0=$(date +%s)
(cd "$BDIR" && CFLAGS=$BUILD_CFLAGS CPPFLAGS=$BUILD_CPPFLAGS nice -n 10 \
    "$TREE/configure" "${CONFIGURE_FLAGS[@]}" >configure.log 2>&1) || {
    tail -n 20 "$BDIR/configure.log" >&2
    fail "configure failed (log: $BDIR/configure.log)"
}
t1=$(date +%s)
say "make -j$JOBS (log: $BDIR/make.log)"
(cd "$BDIR" && nice -n 10 make -j"$JOBS" -C lib >make.log 2>&1) || {
    tail -n 20 "$BDIR/make.log" >&2
    fail "make failed (log: $BDIR/make.log)"
}
t2=$(date +%s)

# --- install into OUTDIR ------------------------------------------------------------
STAGE=$OUT/.stage
rm -rf "$STAGE"
(cd "$BDIR" && make -C lib DESTDIR="$STAGE" install-libLTLIBRARIES &&
    make -C include DESTDIR="$STAGE" install &&
    make DESTDIR="$STAGE" install-pkgconfigDATA) >"$BDIR/install.log" 2>&1 || {
    tail -n 20 "$BDIR/install.log" >&2
    fail "make install failed (log: $BDIR/install.log)"
}
rm -f "$STAGE/lib/libcurl.la"
cp "$CARES_A" "$STAGE/lib/libcares.a"
# The .pc file relative to itself, so OUTDIR may move.
# shellcheck disable=SC2016 # pkg-config's own ${...} syntax
sed -i -e 's|^prefix=.*|prefix=${pcfiledir}/../..|' "$STAGE/lib/pkgconfig/libcurl.pc"
rm -rf "${OUT:?}/lib" "${OUT:?}/include"
mv "$STAGE/lib" "$STAGE/include" "$OUT/"
rm -rf "$STAGE"

# --- the link line ---------------------------------------------------------------------
# libcurl first, then what it needs, then what those need: OpenSSL's static
# dependencies come from its own .pc file (-ldl -pthread on Debian 12).
ssl_extra=$(pkg-config --static --libs-only-l --libs-only-other libcrypto |
    tr ' ' '\n' | grep -v -x -e '-lcrypto' -e '' | tr '\n' ' ')
CURL_LIBS="-L$OUT/lib -lcurl -lcares -lssl -lcrypto -lz ${ssl_extra% }"
CURL_CFLAGS="-I$OUT/include -DCURL_STATICLIB"
# Program sections that nothing references go at link time.
CURL_LDFLAGS="-static -Wl,--gc-sections"

# A link check: the line above must make a static program that runs.
cat >"$BDIR/linkcheck.c" <<'EOF'
#include <curl/curl.h>
#include <stdio.h>

/* Checks that the archives link statically and that the features are in. */
int main(void)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    CURL *h;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    h = curl_easy_init();
    if (h == NULL)
        return 1;
    curl_easy_cleanup(h);
    puts(curl_version());
    if (!(v->features & CURL_VERSION_SSL) || !(v->features & CURL_VERSION_ASYNCHDNS) ||
        !(v->features & CURL_VERSION_NTLM) || !(v->features & CURL_VERSION_HTTPS_PROXY))
        return 2;
    curl_global_cleanup();
    return 0;
}
EOF
# shellcheck disable=SC2086 # flag lists
cc -Os $CURL_CFLAGS -o "$BDIR/linkcheck" "$BDIR/linkcheck.c" $CURL_LDFLAGS $CURL_LIBS \
    >"$BDIR/linkcheck.log" 2>&1 || {
    cat "$BDIR/linkcheck.log" >&2
    fail "a static program does not link with: $CURL_LIBS"
}
VERSION_LINE=$("$BDIR/linkcheck") || fail "the link check program failed: ${VERSION_LINE:-}"
# What a static link of glibc warns about (NSS, dlopen), kept for the record.
LINK_WARNINGS=$(grep -o "Using '[a-z_]*'" "$BDIR/linkcheck.log" | sort -u | tr '\n' ' ' || true)

# --- the description files ---------------------------------------------------------------
{
    echo "# Generated by scripts/static-curl.sh: a static libcurl, sh syntax."
    echo "STATIC_CURL_PREFIX='$OUT'"
    echo "STATIC_CURL_VERSION='$CURL_VER'"
    echo "STATIC_CURL_CFLAGS='$CURL_CFLAGS'"
    echo "STATIC_CURL_LDFLAGS='$CURL_LDFLAGS'"
    echo "STATIC_CURL_LIBS='$CURL_LIBS'"
} >"$OUT/static-curl.env"
{
    echo "# Generated by scripts/static-curl.sh: a static libcurl as an imported target."
    echo "#   include(<OUTDIR>/static-curl.cmake)"
    echo "#   target_link_libraries(prog PRIVATE static_curl::libcurl)"
    echo "#   target_link_options(prog PRIVATE -static -Wl,--gc-sections)"
    echo "if(NOT TARGET static_curl::libcurl)"
    echo "  add_library(static_curl::libcurl INTERFACE IMPORTED)"
    echo "  set_target_properties(static_curl::libcurl PROPERTIES"
    echo "    INTERFACE_INCLUDE_DIRECTORIES \"$OUT/include\""
    echo "    INTERFACE_COMPILE_DEFINITIONS CURL_STATICLIB"
    rest=${CURL_LIBS#*-lcares }
    echo "    INTERFACE_LINK_LIBRARIES \"$OUT/lib/libcurl.a;$OUT/lib/libcares.a;${rest// /;}\")"
    echo "endif()"
} >"$OUT/static-curl.cmake"
end=$(date +%s)
{
    echo "static libcurl from Debian's curl $CURL_VER ($applied Debian patches)"
    echo "version: $VERSION_LINE"
    echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores, make -j$JOBS"
    echo "time: configure $((t1 - t0)) s, make $((t2 - t1)) s, whole run $((end - start)) s"
    echo "libcurl.a: $(stat -c %s "$OUT/lib/libcurl.a") bytes"
    echo "libcares.a: $(stat -c %s "$OUT/lib/libcares.a") bytes (from $CARES_A)"
    echo "link check program (static, unstripped): $(stat -c %s "$BDIR/linkcheck") bytes"
    echo "static glibc link warnings: ${LINK_WARNINGS:-none}"
    echo "CFLAGS: $BUILD_CFLAGS"
    echo "CPPFLAGS: $BUILD_CPPFLAGS"
    echo "configure flags:"
    printf '  %s\n' "${CONFIGURE_FLAGS[@]}"
    echo "features: $(grep -E '^ *(SSL|Protocols|Features|Protocols):' "$BDIR/configure.log" | tr -s ' ' | tr '\n' ';')"
} >"$OUT/static-curl.info"

stamp_text "$CURL_VER" "$(apt_lists_key)" >"$STAMP.tmp"
mv "$STAMP.tmp" "$STAMP"
say "built in $((end - start)) s: $OUT/lib/libcurl.a ($VERSION_LINE)"
