#!/usr/bin/env bash
# End to end: the static libcurl of scripts/static-curl.sh, through a fully
# static program (tests/lib/curlsmoke.c) that fetches over HTTPS from a
# server on 127.0.0.1 (openssl s_server -WWW, a test CA made here).
#
#  1. the script builds (or finds in its cache) BUILD/static-curl, and a
#     second run is a no-op under a second
#  2. curlsmoke links with `cc -static`: file(1) says statically linked, ldd
#     says not a dynamic executable; its sizes are printed
#  3. on the host: https://localhost:PORT/file with --cacert, same bytes
#  4. in an empty chroot (the binary, /etc/hosts, /etc/resolv.conf, the CA:
#     no libc, no NSS module, no shell): by "localhost" and by a name that
#     only the chroot's /etc/hosts knows; host name verification; an unknown
#     name fails cleanly (when nothing listens on 127.0.0.1:53)
#  5. no NSS (with strace, when installed): with an nsswitch.conf naming
#     modules that are not there, the fetch works and opens no libnss_*,
#     /etc/services, /etc/gai.conf nor any openssl.cnf
#  6. failures: a wrong CA, a missing file (HTTP 404) give non-zero and
#     curl's message, nothing on stdout
#  7. proxy (with tinyproxy, when installed): HTTPS through an HTTP proxy
#     (CONNECT) with Basic proxy authentication, on the host and in the
#     chroot by a proxy name from its /etc/hosts; without credentials: 407
#  8. optional: inside a Debian 11 root from the chroot cache
#     ($CONSIGN_CHROOT_CACHE, else BUILD/chroots: bullseye-*.tar, unpacked
#     into the scratch directory; none is made here)
#
# Usage: static-curl.sh BUILD_DIR SOURCE_DIR
# Needs root (chroot) and the packages of scripts/static-curl.deps (the
# build script installs them). CONSIGN_KEEP_TMP=1 keeps the scratch directory.
set -euo pipefail

# shellcheck source=tests/lib/testlib.sh
. "$(dirname "$0")/../lib/testlib.sh"
# shellcheck source=tests/lib/httpd.sh
. "$(dirname "$0")/../lib/httpd.sh"
e2e_args "$@"
OUT=$BUILD/static-curl
CACHE=${CONSIGN_CHROOT_CACHE:-$BUILD/chroots}

passed=0
failed=0
T=$(mktemp -d /tmp/consign-scurl.XXXXXX)
pids=()

cleanup() {
    local p
    httpd_stop
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    remove_scratch
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# No proxy from the environment: the checks say which proxy they use.
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

# port_busy PORT: something listens on TCP PORT.
port_busy() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 }
        END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# listening PORT: a TCP connection to 127.0.0.1:PORT succeeds.
listening() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# start_server NAME CMD...: runs CMD (which must listen on $port) in the
# background, at up to 10 random free ports; sets $port, or returns 1.
start_server() {
    local name=$1 pid _ try
    shift
    for try in 1 2 3 4 5 6 7 8 9 10; do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        port_busy "$port" && continue
        # The command line is eval'd so that it sees the new $port.
        eval "$*" >"$T/$name.out" 2>&1 </dev/null &
        pid=$!
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            if listening "$port"; then
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

# fetch DESC WANT_FILE CMD...: CMD exits 0 and prints exactly WANT_FILE's bytes.
fetch() {
    local desc=$1 want=$2 rc=0
    shift 2
    "$@" >"$T/got" 2>"$T/err" </dev/null || rc=$?
    if [ "$rc" -eq 0 ] && cmp -s "$want" "$T/got"; then
        ok "$desc"
    else
        not_ok "$desc" "exit $rc, $(wc -c <"$T/got") of $(wc -c <"$want") bytes, stderr:" \
            "$(tail -n 5 "$T/err")"
    fi
}

# fetch_fails DESC REGEX CMD...: CMD exits non-zero, prints nothing on stdout
# and one line on stderr that matches REGEX.
fetch_fails() {
    local desc=$1 re=$2 rc=0
    shift 2
    "$@" >"$T/got" 2>"$T/err" </dev/null || rc=$?
    if [ "$rc" -ne 0 ] && [ ! -s "$T/got" ] && [ "$(wc -l <"$T/err")" -eq 1 ] &&
        grep -Eq -- "$re" "$T/err"; then
        ok "$desc ($(cat "$T/err"))"
    else
        not_ok "$desc" "exit $rc (want non-zero), $(wc -c <"$T/got") bytes on stdout, stderr:" \
            "$(tail -n 5 "$T/err")" "want: $re"
    fi
}

# --- 1. the build, then the cache -------------------------------------------------------
[ "$(id -u)" -eq 0 ] || die "needs root (apt-get, chroot)"
t0=$(now_ms)
if "$SRC/scripts/static-curl.sh" "$OUT" >"$T/build.log" 2>&1; then
    ok "scripts/static-curl.sh $OUT ($(($(now_ms) - t0)) ms)"
else
    die "scripts/static-curl.sh $OUT" "$(tail -n 20 "$T/build.log")"
fi
t0=$(now_ms)
STATIC_CURL_QUIET=1 "$SRC/scripts/static-curl.sh" "$OUT" >"$T/build2.log" 2>&1
ms=$(($(now_ms) - t0))
if [ "$ms" -lt 1000 ] && [ ! -s "$T/build2.log" ]; then
    ok "second run from the cache: nothing to do ($ms ms)"
else
    not_ok "second run from the cache: nothing to do" "$ms ms (want < 1000)" "$(cat "$T/build2.log")"
fi
sed -n 's/^\(static libcurl\|time\|libcurl.a\|libcares.a\)/# &/p' "$OUT/static-curl.info"

# --- 2. a static program ------------------------------------------------------------------
# shellcheck source=/dev/null
. "$OUT/static-curl.env"
SMOKE=$T/curlsmoke
# shellcheck disable=SC2086 # flag lists
if cc -std=c11 -Os -Wall -Wextra -Werror $STATIC_CURL_CFLAGS -o "$SMOKE" \
    "$SRC/tests/lib/curlsmoke.c" $STATIC_CURL_LDFLAGS $STATIC_CURL_LIBS >"$T/cc.log" 2>&1; then
    ok "curlsmoke links with cc -static"
else
    die "curlsmoke links with cc -static" "$(grep -v 'statically linked applications' "$T/cc.log" |
        tail -n 20)"
fi
strip -o "$SMOKE.stripped" "$SMOKE"
echo "# curlsmoke: $(stat -c %s "$SMOKE") bytes, stripped $(stat -c %s "$SMOKE.stripped") bytes"
echo "# $("$SMOKE" --version)"
check_out "file(1): statically linked" 'statically linked' file "$SMOKE"
ldd_out=$(ldd "$SMOKE" 2>&1 || true)
if grep -q 'not a dynamic executable' <<<"$ldd_out"; then
    ok "ldd: not a dynamic executable"
else
    not_ok "ldd: not a dynamic executable" "$ldd_out"
fi
if readelf -lW "$SMOKE" >"$T/readelf.out" 2>&1 && ! grep -qi 'interp' "$T/readelf.out"; then
    ok "no ELF interpreter (PT_INTERP)"
else
    not_ok "no ELF interpreter (PT_INTERP)" "$(grep -i 'interp' "$T/readelf.out")"
fi

# --- a CA, a server certificate, an HTTPS server --------------------------------------------
mkdir -p "$T/pki" "$T/www"
(
    cd "$T/pki"
    ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
    openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 2 \
        -subj "/CN=consign curlsmoke test CA" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req -x509 "${ec[@]}" -keyout other-ca.key -out other-ca.pem -days 2 \
        -subj "/CN=consign curlsmoke other CA" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req "${ec[@]}" -keyout server.key -out server.csr -subj "/CN=localhost"
    printf '%s\n' "basicConstraints=CA:FALSE" "extendedKeyUsage=serverAuth" \
        "subjectAltName=DNS:localhost,DNS:curlsmoke.test,IP:127.0.0.1" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 2 \
        -extfile server.ext -out server.pem
) >"$T/pki.log" 2>&1 || die "test CA and server certificate" "$(tail -n 10 "$T/pki.log")"
CA=$T/pki/ca.pem
head -c 300000 /dev/urandom >"$T/www/file"
# s_server -WWW serves files relative to its working directory.
# shellcheck disable=SC2016 # $port is expanded by start_server
start_server s_server cd "'$T/www'" '&&' exec openssl s_server -WWW -quiet \
    -accept '127.0.0.1:$port' -cert "'$T/pki/server.pem'" -key "'$T/pki/server.key'" ||
    die "openssl s_server on 127.0.0.1" "$(tail -n 5 "$T/s_server.out")"
PORT=$port
echo "# HTTPS server: openssl s_server -WWW on 127.0.0.1:$PORT"

# --- 3. on the host -----------------------------------------------------------------------------
fetch "host: https://localhost:$PORT/file with --cacert, same bytes" "$T/www/file" \
    "$SMOKE" --cacert "$CA" "https://localhost:$PORT/file"

fetch "host: the CA from \$SSL_CERT_FILE when no --cacert" "$T/www/file" \
    env "SSL_CERT_FILE=$CA" "$SMOKE" "https://localhost:$PORT/file"

# --- 4. an empty chroot -------------------------------------------------------------------------
R=$T/root
mkdir -p "$R/etc"
cp "$SMOKE.stripped" "$R/curlsmoke"
cp "$CA" "$R/ca.pem"
cp "$T/pki/other-ca.pem" "$R/other-ca.pem"
printf '%s\n' "127.0.0.1 localhost curlsmoke.test proxy.test wrongname.test" \
    "::1 localhost ip6-localhost" >"$R/etc/hosts"
# No DNS server is asked: a query goes to 127.0.0.1:53, once, 1 s at most.
printf '%s\n' "nameserver 127.0.0.1" "options timeout:1 attempts:1" >"$R/etc/resolv.conf"
contents=$(cd "$R" && find . -mindepth 1 | sort | tr '\n' ' ')
if [ "$contents" = "./ca.pem ./curlsmoke ./etc ./etc/hosts ./etc/resolv.conf ./other-ca.pem " ]; then
    ok "chroot holds only the binary, two CA files, /etc/hosts, /etc/resolv.conf"
else
    not_ok "chroot holds only the binary, two CA files, /etc/hosts, /etc/resolv.conf" "$contents"
fi
fetch "chroot: https://localhost:$PORT/file, no libc, no NSS" "$T/www/file" \
    chroot "$R" /curlsmoke --cacert /ca.pem "https://localhost:$PORT/file"
fetch "chroot: https://curlsmoke.test:$PORT/file (a name only in the chroot's /etc/hosts)" \
    "$T/www/file" chroot "$R" /curlsmoke --cacert /ca.pem "https://curlsmoke.test:$PORT/file"
fetch_fails "chroot: a name the certificate does not cover is refused" \
    "no alternative certificate subject name matches target host name 'wrongname.test'" \
    chroot "$R" /curlsmoke --cacert /ca.pem "https://wrongname.test:$PORT/file"
if awk '$2 ~ /:0035$/ { found = 1 } END { exit !found }' /proc/net/udp /proc/net/udp6 \
    2>/dev/null; then
    skip "chroot: unknown host name (something listens on UDP port 53 here)"
else
    fetch_fails "chroot: an unknown name fails cleanly" "Could not resolve host: nosuchhost.invalid" \
        timeout 20 chroot "$R" /curlsmoke --cacert /ca.pem "https://nosuchhost.invalid:$PORT/file"
fi

# --- 5. no NSS, no OpenSSL configuration ---------------------------------------------------
if command -v strace >/dev/null; then
    R2=$T/root-nss
    cp -a "$R" "$R2"
    # What an Ubuntu or a CentOS host may have: modules a static glibc
    # would try to load from the host (of another glibc version).
    printf '%s\n' "passwd: files sss" "hosts: files mdns4_minimal [NOTFOUND=return] dns myhostname" \
        "services: files sss" >"$R2/etc/nsswitch.conf"
    fetch "strace: fetch in a chroot whose nsswitch.conf names missing modules" "$T/www/file" \
        strace -f -qq -o "$T/strace.log" -e trace=open,openat,execve \
        chroot "$R2" /curlsmoke --cacert /ca.pem "https://curlsmoke.test:$PORT/file"
    # Only what the binary opened, after chroot(1) exec'd it.
    sed -n '/execve("\/curlsmoke"/,$p' "$T/strace.log" >"$T/strace.smoke"
    bad=$(grep -E 'libnss_|/etc/services|/etc/gai\.conf|openssl\.cnf|\.so[."]' "$T/strace.smoke" ||
        true)
    if [ -s "$T/strace.smoke" ] && [ -z "$bad" ]; then
        ok "strace: opens no libnss_*, /etc/services, /etc/gai.conf, openssl.cnf nor any .so"
    else
        not_ok "strace: opens no libnss_*, /etc/services, /etc/gai.conf, openssl.cnf nor any .so" \
            "${bad:-no trace of /curlsmoke}"
    fi
    echo "# files it opened: $(grep -o '"/[^"]*"' "$T/strace.smoke" | sort -u | tr -d '"' |
        tr '\n' ' ')"
else
    skip "no NSS (strace is not installed)"
fi

# --- 6. failures ---------------------------------------------------------------------------------
fetch_fails "host: a wrong CA is refused" "SSL certificate problem" \
    "$SMOKE" --cacert "$T/pki/other-ca.pem" "https://localhost:$PORT/file"
fetch_fails "chroot: a wrong CA is refused" "SSL certificate problem" \
    chroot "$R" /curlsmoke --cacert /other-ca.pem "https://localhost:$PORT/file"
# Plain HTTP and a real 404 (s_server -WWW answers 200 with an error text).
if httpd_start "$T/www" 2>"$T/httpd.err"; then
    fetch "host: plain http://127.0.0.1:$HTTPD_PORT/file (nginx)" "$T/www/file" \
        "$SMOKE" "$HTTPD_URL/file"
    fetch_fails "host: a missing file is HTTP 404, the error page not written" "HTTP status 404" \
        "$SMOKE" "$HTTPD_URL/no-such-file"
else
    skip "plain HTTP and 404 (nginx: $(head -n 1 "$T/httpd.err"))"
fi
fetch_fails "host: nothing listening" "Failed to connect to localhost port|Couldn't connect" \
    "$SMOKE" --cacert "$CA" "https://localhost:1/file"

# --- 7. a proxy -------------------------------------------------------------------------------------
if command -v tinyproxy >/dev/null; then
    mkdir -p "$T/proxy"
    chmod 0777 "$T/proxy"
    chmod 0711 "$T"
    # A throw-away credential for this run only; never printed.
    pass=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
    proxy_conf() {
        printf '%s\n' "Port $port" "Listen 127.0.0.1" "Timeout 30" "MaxClients 8" \
            "Allow 127.0.0.1" "ConnectPort $PORT" "BasicAuth consign $pass" \
            "LogLevel Connect" "LogFile \"$T/proxy/tinyproxy.log\"" \
            "PidFile \"$T/proxy/tinyproxy.pid\"" "User nobody" "Group nogroup" \
            >"$T/proxy/tinyproxy.conf"
    }
    # shellcheck disable=SC2016 # $port is expanded by start_server
    if start_server tinyproxy proxy_conf '&&' exec tinyproxy -d -c "'$T/proxy/tinyproxy.conf'"; then
        PPORT=$port
        echo "# HTTP proxy: tinyproxy on 127.0.0.1:$PPORT (Basic authentication)"
        fetch "proxy: host, CONNECT through http://127.0.0.1:$PPORT with Basic auth" "$T/www/file" \
            "$SMOKE" --cacert "$CA" --proxy "http://consign:$pass@127.0.0.1:$PPORT" \
            "https://localhost:$PORT/file"
        # The proxy resolves the server's name (on the host); the chroot, the proxy's.
        fetch "proxy: chroot, by a proxy name from its /etc/hosts" "$T/www/file" \
            chroot "$R" /curlsmoke --cacert /ca.pem --proxy "http://consign:$pass@proxy.test:$PPORT" \
            "https://localhost:$PORT/file"
        fetch_fails "proxy: no credentials, 407" "CONNECT tunnel failed, response 407" \
            "$SMOKE" --cacert "$CA" --proxy "http://127.0.0.1:$PPORT" "https://localhost:$PORT/file"
        # https_proxy from the environment, as a customer's host may set it.
        fetch "proxy: https_proxy from the environment" "$T/www/file" \
            env "https_proxy=http://consign:$pass@127.0.0.1:$PPORT" \
            "$SMOKE" --cacert "$CA" "https://localhost:$PORT/file"
        n=$(grep -c 'CONNECT' "$T/proxy/tinyproxy.log" 2>/dev/null || true)
        if [ "${n:-0}" -ge 3 ]; then
            ok "proxy: its log shows the CONNECTs ($n)"
        else
            not_ok "proxy: its log shows the CONNECTs" "${n:-0} CONNECT lines (want 3 or more)"
        fi
    else
        not_ok "tinyproxy on 127.0.0.1" "$(tail -n 5 "$T/tinyproxy.out")"
    fi
else
    skip "proxy (tinyproxy is not installed: Debian package tinyproxy-bin)"
fi

# --- 8. a Debian 11 root ------------------------------------------------------------------------
# The smallest one: any package set will do.
tar11=$(find "$CACHE" -maxdepth 1 -name 'bullseye-*.tar' -size +1M -printf '%s %p\n' 2>/dev/null |
    sort -n | head -n 1 | cut -d' ' -f2- || true)
if [ -n "$tar11" ]; then
    D=$T/bullseye
    mkdir -p "$D"
    # Read only: a shared lock keeps tests/lib/chroot.sh from rewriting it meanwhile.
    lock=/dev/null
    [ -f "$tar11.lock" ] && lock=$tar11.lock
    if (flock -s 8 && tar -C "$D" -xf "$tar11") 8<"$lock" 2>"$T/tar.log"; then
        cp "$SMOKE.stripped" "$D/curlsmoke"
        cp "$CA" "$D/ca.pem"
        printf '%s\n' "127.0.0.1 localhost curlsmoke.test" >"$D/etc/hosts"
        echo "# Debian 11 root from $(basename "$tar11"), its libc: $(basename \
            "$(readlink "$D/lib/x86_64-linux-gnu/libc.so.6" || echo '?')")"
        fetch "Debian 11 root: https://curlsmoke.test:$PORT/file" "$T/www/file" \
            chroot "$D" /curlsmoke --cacert /ca.pem "https://curlsmoke.test:$PORT/file"
    else
        not_ok "unpack $tar11" "$(tail -n 3 "$T/tar.log")"
    fi
else
    skip "Debian 11 root (no bullseye-*.tar in $CACHE)"
fi

summary
