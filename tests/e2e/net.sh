#!/bin/bash
# End to end: consign_net (tests/lib/netget.c drives it) and `consign
# tuf-client`, against real servers on 127.0.0.1:
#  1. a small python3 server (written below) with misbehaving paths: a
#     connection dropped mid-file (then Range honoured: resume), a trickle
#     (low-speed abort), a body longer than allowed (with and without a
#     Content-Length), wrong bytes (then the next mirror), 503 then 200
#     (retry), 404, a redirect from https to http
#  2. the same server over TLS with a throw-away CA: a bundle of two CAs where
#     the second anchors, a wrong CA, a public-key pin (right and wrong),
#     http:// refused unless allowed
#  3. tinyproxy with Basic authentication (when installed): the right
#     password, https_proxy from the environment, a wrong password (a clear
#     error that does not show it)
#  4. consign tuf-client init/refresh/download against a repository signed
#     here (python3's cryptography, ed25519) and served by python3 http.server
#
# Usage: net.sh BUILD_DIR SOURCE_DIR. CONSIGN_KEEP_TMP=1 keeps the scratch directory.
set -euo pipefail

# shellcheck source=tests/lib/testlib.sh
. "$(dirname "$0")/../lib/testlib.sh"
e2e_args "$@"
# CONSIGN_NETGET: another build of netget (e.g. linked with the static libcurl).
NETGET=${CONSIGN_NETGET:-$BUILD/tests/netget}

T=$(mktemp -d /tmp/consign-net.XXXXXX)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    remove_scratch
}
trap cleanup EXIT
trap 'exit 130' INT TERM
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

port_busy() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 }
        END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
listening() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}
# start_server NAME CMD...: CMD (eval'd, it sees $port) must listen on $port.
start_server() {
    local name=$1 pid _ try
    shift
    for try in 1 2 3 4 5 6 7 8 9 10; do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        port_busy "$port" && continue
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

# get DESC WANT_FILE NETGET_ARGS...: netget succeeds and prints WANT_FILE's bytes.
get() {
    local desc=$1 want=$2 rc=0
    shift 2
    "$NETGET" "$@" >"$T/got" 2>"$T/err" </dev/null || rc=$?
    if [ "$rc" -eq 0 ] && cmp -s "$want" "$T/got"; then
        ok "$desc"
    else
        not_ok "$desc" "exit $rc, $(wc -c <"$T/got") of $(wc -c <"$want") bytes, stderr:" \
            "$(tail -n 5 "$T/err")"
    fi
}
# get_fails DESC REGEX NETGET_ARGS...: exit 1, nothing on stdout, the last
# stderr line matches REGEX.
get_fails() {
    local desc=$1 re=$2 rc=0
    shift 2
    "$NETGET" "$@" >"$T/got" 2>"$T/err" </dev/null || rc=$?
    if [ "$rc" -eq 1 ] && [ ! -s "$T/got" ] && tail -n 1 "$T/err" | grep -Eq -- "$re"; then
        ok "$desc ($(tail -n 1 "$T/err"))"
    else
        not_ok "$desc" "exit $rc (want 1), $(wc -c <"$T/got") bytes on stdout, stderr:" \
            "$(tail -n 5 "$T/err")" "want: $re"
    fi
}

[ -x "$NETGET" ] || die "no $NETGET (build the netget target)"
command -v python3 >/dev/null || die "python3 is not installed"

# --- the test server ----------------------------------------------------------------------------
mkdir -p "$T/www"
head -c 300000 /dev/urandom >"$T/www/file"
head -c 300000 /dev/urandom >"$T/www/other"
cat >"$T/server.py" <<'EOF'
# A misbehaving HTTP(S) server for net.sh. Paths:
#   /good/NAME      the file www/NAME, with Range support
#   /drop/NAME      first request: the Content-Length of the whole file, half
#                   of it, then the connection is cut; later ones: as /good
#   /trickle/NAME   100 bytes a second
#   /biglen/NAME    announces 100 MB (Content-Length), sends a little
#   /stream/NAME    2 MB without a Content-Length (closed at the end)
#   /bad/NAME       as many bytes as the file, all wrong
#   /flaky/NAME     503 on the first request, then as /good
#   /redirect/NAME  302 to the URL in the X-To file (for https -> http)
# Each request is logged to LOG as "PATH RANGE".
import os, ssl, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, root, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
cert = sys.argv[4] if len(sys.argv) > 4 else None
redirect_to = sys.argv[5] if len(sys.argv) > 5 else None
seen = {}

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_file(self, data):
        rng = self.headers.get("Range")
        start = 0
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % len(data))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])

    def do_GET(self):
        with open(log, "a") as f:
            f.write("%s %s\n" % (self.path, self.headers.get("Range", "-")))
        parts = self.path.split("/", 2)
        if len(parts) != 3:
            return self.send_error(404)
        kind, name = parts[1], parts[2]
        n = seen.get(self.path, 0)
        seen[self.path] = n + 1
        path = os.path.join(root, os.path.basename(name))
        if kind == "redirect":
            self.send_response(302)
            self.send_header("Location", redirect_to + "/good/" + name)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if not os.path.isfile(path):
            return self.send_error(404)
        data = open(path, "rb").read()
        if kind == "good" or (kind in ("drop", "flaky") and n > 0):
            return self.send_file(data)
        if kind == "flaky":
            return self.send_error(503)
        if kind == "drop":
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if kind == "trickle":
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            for i in range(0, len(data), 100):
                self.wfile.write(data[i : i + 100])
                self.wfile.flush()
                time.sleep(1)
            return
        if kind == "biglen":
            self.send_response(200)
            self.send_header("Content-Length", str(100 * 1024 * 1024))
            self.end_headers()
            self.wfile.write(data[:1000])
            return
        if kind == "stream":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            for _ in range(32):
                self.wfile.write(b"x" * 65536)
            return
        if kind == "bad":
            return self.send_file(bytes(len(data)))
        self.send_error(404)

srv = ThreadingHTTPServer(("127.0.0.1", port), H)
if cert:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
EOF
LOG=$T/requests.log
: >"$LOG"
# shellcheck disable=SC2016 # $port is expanded by start_server
start_server plain 'exec python3 "$T/server.py" $port "$T/www" "$LOG"' || die "python3 server"
P=$port
U=http://127.0.0.1:$P
echo "# plain server: $U"

# --- 1. plain HTTP ------------------------------------------------------------------------------
get "GET over http:// (allowed)" "$T/www/file" --allow-http "$U/good/file"
get_fails "http:// refused unless allowed" "only https:// URLs are allowed.*CONSIGN_E_USAGE" \
    "$U/good/file"
get_fails "404: not found" "not found \(HTTP 404\).*CONSIGN_E_NOTFOUND" --allow-http "$U/good/nothing"
: >"$LOG"
get "dropped connection: retried and complete (memory)" "$T/www/file" --allow-http \
    --backoff-ms 50 "$U/drop/file"
rm -f "$T/dl"
: >"$LOG"
"$NETGET" --allow-http --backoff-ms 50 --out "$T/dl" "$U/drop/other" >"$T/err" 2>&1 || true
if cmp -s "$T/dl" "$T/www/other" && grep -q "^/drop/other bytes=150000-$" "$LOG" &&
    [ ! -e "$T/dl.part" ]; then
    ok "dropped connection: resumed with Range: bytes=150000- (file), length checked"
else
    not_ok "dropped connection: resumed to a file" "$(cat "$T/err")" "$(cat "$LOG")"
fi
# A partial file left by an earlier run is resumed.
rm -f "$T/dl2"
head -c 100000 "$T/www/file" >"$T/dl2.part"
: >"$LOG"
"$NETGET" --allow-http --expect 300000 --out "$T/dl2" "$U/good/file" >"$T/err" 2>&1 || true
if cmp -s "$T/dl2" "$T/www/file" && grep -q "bytes=100000-" "$LOG"; then
    ok "an existing .part is resumed (bytes=100000-)"
else
    not_ok "an existing .part is resumed" "$(cat "$T/err")" "$(cat "$LOG")"
fi
# A complete .part and no expected length: the server answers 416, the
# download starts over at once.
rm -f "$T/dl5"
cp "$T/www/file" "$T/dl5.part"
: >"$LOG"
"$NETGET" --allow-http --retries -1 --out "$T/dl5" "$U/good/file" >"$T/err" 2>&1 || true
if cmp -s "$T/dl5" "$T/www/file" && [ "$(grep -c '^/good/file' "$LOG")" -eq 2 ]; then
    ok "a complete .part: 416, started over (two requests)"
else
    not_ok "a complete .part: 416, started over" "$(cat "$T/err")" "$(cat "$LOG")"
fi
# A .part that is no prefix of the file: the final check refuses it, nothing at dest.
rm -f "$T/dl3"
head -c 100000 /dev/zero >"$T/dl3.part"
rc=0
"$NETGET" --allow-http --expect 300000 --sha256 "$(sha256sum "$T/www/file" | cut -d' ' -f1)" \
    --out "$T/dl3" "$U/good/file" >"$T/err" 2>&1 || rc=$?
if [ "$rc" -eq 1 ] && [ ! -e "$T/dl3" ] && grep -q "CONSIGN_E_MISMATCH" "$T/err"; then
    ok "a wrong .part is caught by the check and not renamed into place"
else
    not_ok "a wrong .part is caught" "exit $rc" "$(cat "$T/err")"
fi
get_fails "length cap: Content-Length above it, refused up front" \
    "more than the 1048576 bytes allowed.*CONSIGN_E_TOOBIG" --allow-http "$U/biglen/file"
get_fails "length cap: a stream without Content-Length, cut at the cap" \
    "more than the 1048576 bytes allowed.*CONSIGN_E_TOOBIG" --allow-http "$U/stream/file"
get_fails "length cap: a 300000-byte file with --max 1000" "CONSIGN_E_TOOBIG" --allow-http \
    --max 1000 "$U/good/file"
t0=$(date +%s)
get_fails "low speed: a trickle is abandoned" "too slow|Operation too slow.*CONSIGN_E_NETWORK" \
    --allow-http --retries -1 --low-speed-limit 1024 --low-speed-time 2 "$U/trickle/file"
t1=$(date +%s)
if [ $((t1 - t0)) -le 10 ]; then ok "low speed: gave up in $((t1 - t0)) s"; else
    not_ok "low speed: gave up in $((t1 - t0)) s (want <= 10)"
fi
: >"$LOG"
get "503, then 200: retried with backoff" "$T/www/file" --allow-http --backoff-ms 50 \
    "$U/flaky/file"
if [ "$(grep -c '^/flaky/file' "$LOG")" -eq 2 ]; then
    ok "503: two requests"
else
    not_ok "503: two requests" "$(cat "$LOG")"
fi
get_fails "503 without retries: fails" "HTTP 503.*CONSIGN_E_NETWORK" --allow-http --retries -1 \
    "$U/flaky/other"
sum=$(sha256sum "$T/www/file" | cut -d' ' -f1)
get "mirrors: wrong bytes, then a good mirror" "$T/www/file" --allow-http --sha256 "$sum" \
    --name file "$U/bad" "$U/good"
get "mirrors: a dead one (connection refused), then a good one" "$T/www/file" --allow-http \
    --retries -1 --name file "http://127.0.0.1:1" "$U/good"
get_fails "mirrors: all bad" "sha256 .*CONSIGN_E_MISMATCH" --allow-http --sha256 "$sum" \
    --name file "$U/bad" "$U/bad"

# --- 2. HTTPS with a throw-away CA -------------------------------------------------------------
mkdir -p "$T/pki"
(
    cd "$T/pki"
    for ca in ca1 ca2; do
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
            -subj "/CN=consign test $ca" -keyout $ca.key -out $ca.pem \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
    done
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
        -keyout srv.key -out srv.csr
    printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "extendedKeyUsage=serverAuth" \
        >srv.ext
    openssl x509 -req -in srv.csr -CA ca2.pem -CAkey ca2.key -CAcreateserial -days 2 \
        -extfile srv.ext -out srv.pem
    cat srv.pem srv.key >srv.both
    cat ca1.pem ca2.pem >bundle.pem
    openssl x509 -in srv.pem -pubkey -noout | openssl pkey -pubin -outform der |
        openssl dgst -sha256 -binary | base64 >pin
) >"$T/pki.log" 2>&1 || die "openssl: a test CA" "$(tail -n 5 "$T/pki.log")"
# shellcheck disable=SC2016
start_server tls 'exec python3 "$T/server.py" $port "$T/www" "$LOG" "$T/pki/srv.both" "$U"' ||
    die "python3 TLS server"
S=https://localhost:$port
echo "# TLS server: $S"
get "https: a bundle of two CAs, the second anchors" "$T/www/file" --ca "$T/pki/bundle.pem" \
    "$S/good/file"
get "https: two CA files, the second anchors (a CA blob)" "$T/www/file" --ca "$T/pki/ca1.pem" \
    --ca "$T/pki/ca2.pem" "$S/good/file"
get_fails "https: the wrong CA" "TLS: .*CONSIGN_E_CRYPTO" --ca "$T/pki/ca1.pem" "$S/good/file"
get_fails "https: the system CAs do not know it" "CONSIGN_E_CRYPTO" "$S/good/file"
get "https: the right public-key pin" "$T/www/file" --ca "$T/pki/bundle.pem" \
    --pin "sha256//$(cat "$T/pki/pin")" "$S/good/file"
get_fails "https: a wrong public-key pin" "CONSIGN_E_CRYPTO" --ca "$T/pki/bundle.pem" \
    --pin "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" "$S/good/file"
get_fails "https: a redirect to http:// is refused (even with http allowed)" \
    "redirect to another scheme.*CONSIGN_E_USAGE" --allow-http --ca "$T/pki/bundle.pem" \
    "$S/redirect/file"
rm -f "$T/dl4"
"$NETGET" --ca "$T/pki/bundle.pem" --backoff-ms 50 --out "$T/dl4" "$S/drop/file" \
    >"$T/err" 2>&1 || true
if cmp -s "$T/dl4" "$T/www/file"; then
    ok "https: dropped connection resumed to a file"
else
    not_ok "https: dropped connection resumed to a file" "$(cat "$T/err")"
fi

# --- 3. a proxy with Basic authentication ---------------------------------------------------------
if command -v tinyproxy >/dev/null; then
    mkdir -p "$T/proxy"
    chmod 0777 "$T/proxy"
    chmod 0711 "$T"
    SPORT=${S##*:}
    # A throw-away credential for this run only; never printed.
    pass=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
    export NET_PROXY_PASS=$pass NET_WRONG_PASS=wrong-$pass
    proxy_conf() {
        printf '%s\n' "Port $port" "Listen 127.0.0.1" "Timeout 30" "MaxClients 8" \
            "Allow 127.0.0.1" "ConnectPort $SPORT" "BasicAuth consign $pass" \
            "LogLevel Connect" "LogFile \"$T/proxy/tinyproxy.log\"" \
            "PidFile \"$T/proxy/tinyproxy.pid\"" >"$T/proxy/tinyproxy.conf"
        # As root it drops to nobody; otherwise it runs as the caller.
        if [ "$(id -u)" -eq 0 ]; then
            printf '%s\n' "User nobody" "Group nogroup" >>"$T/proxy/tinyproxy.conf"
        fi
    }
    # shellcheck disable=SC2016 # $port is expanded by start_server
    if start_server tinyproxy proxy_conf '&&' exec tinyproxy -d -c "'$T/proxy/tinyproxy.conf'"; then
        X=http://127.0.0.1:$port
        echo "# proxy: tinyproxy at $X (Basic authentication)"
        get "proxy: CONNECT with user and password (from the environment)" "$T/www/file" \
            --ca "$T/pki/bundle.pem" --proxy "$X" --proxy-user consign \
            --proxy-password-env NET_PROXY_PASS "$S/good/file"
        get "proxy: https_proxy from the environment" "$T/www/file" --ca "$T/pki/bundle.pem" \
            "$S/good/file"
        get_fails "proxy: a wrong password, a clear error" \
            "the proxy refused the credentials \(HTTP 40[17]\).*CONSIGN_E_PERM" \
            --ca "$T/pki/bundle.pem" --proxy "$X" --proxy-user consign \
            --proxy-password-env NET_WRONG_PASS "$S/good/file"
        if grep -q -- "$pass" "$T/err"; then
            not_ok "proxy: the password is not in the message"
        else
            ok "proxy: the password is not in the message"
        fi
        get_fails "proxy: no credentials" "requires authentication.*\(HTTP 407\)" \
            --ca "$T/pki/bundle.pem" --proxy "$X" "$S/good/file"
        get_fails "proxy: --no-env-proxy ignores https_proxy (so the wrong CA shows)" \
            "CONSIGN_E_CRYPTO" --no-env-proxy --ca "$T/pki/ca1.pem" "$S/good/file"
        # The environment's proxy with credentials in its URL: they never show.
        rc=0
        https_proxy="http://consign:wrong-$pass@127.0.0.1:$port" "$NETGET" \
            --ca "$T/pki/bundle.pem" "$S/good/file" >/dev/null 2>"$T/err" || rc=$?
        if [ "$rc" -eq 1 ] && grep -Eq "HTTP 40[17]" "$T/err" && ! grep -q -- "$pass" "$T/err"; then
            ok "proxy: wrong credentials in https_proxy: 407, not shown"
        else
            not_ok "proxy: wrong credentials in https_proxy" "exit $rc" "$(cat "$T/err")"
        fi
        n=$(grep -c 'CONNECT' "$T/proxy/tinyproxy.log" 2>/dev/null || true)
        if [ "${n:-0}" -ge 2 ]; then
            ok "proxy: its log shows the CONNECTs ($n)"
        else
            not_ok "proxy: its log shows the CONNECTs" "${n:-0}"
        fi
    else
        not_ok "tinyproxy on 127.0.0.1" "$(tail -n 5 "$T/tinyproxy.out")"
    fi
else
    skip "proxy (tinyproxy is not installed: Debian package tinyproxy-bin)"
fi
# The https_proxy test above sets it only for one command; the CLI tests want none.
unset https_proxy

# --- 4. consign tuf-client ----------------------------------------------------------------------
if ! python3 -c 'import cryptography.hazmat.primitives.asymmetric.ed25519' 2>/dev/null; then
    skip "tuf-client (python3 cryptography is not installed)"
    summary
    exit $?
fi
cat >"$T/mkrepo.py" <<'EOF'
# A TUF repository signed with ed25519: mkrepo.py DIR STEP
#   init: root v1, timestamp, snapshot, targets v1 (file.txt, dir/b c.txt),
#         consistent snapshots; keys kept in DIR/keys.json
#   rotate: root v2 (a new timestamp key), timestamp re-signed
#   tamper: dir/b c.txt's bytes replaced on the server (metadata unchanged)
#   newtarget: targets v2 with file.txt changed, snapshot v2, timestamp v3
import hashlib, json, os, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives import serialization as ser

d, step = sys.argv[1], sys.argv[2]
md, td = os.path.join(d, "metadata"), os.path.join(d, "targets")
EXP = "2099-01-01T00:00:00Z"

def canon(o):
    return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

def raw_pub(k):
    return k.public_key().public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw).hex()

def keyobj(k):
    return {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": raw_pub(k)}}

def keyid(k):
    return hashlib.sha256(canon(keyobj(k))).hexdigest()

def load_keys():
    with open(os.path.join(d, "keys.json")) as f:
        return {n: Ed25519PrivateKey.from_private_bytes(bytes.fromhex(h)) for n, h in json.load(f).items()}

def save_keys(keys):
    with open(os.path.join(d, "keys.json"), "w") as f:
        json.dump({n: k.private_bytes(ser.Encoding.Raw, ser.PrivateFormat.Raw,
                   ser.NoEncryption()).hex() for n, k in keys.items()}, f)

def write(name, signed, signers):
    sigs = [{"keyid": keyid(k), "sig": k.sign(canon(signed)).hex()} for k in signers]
    with open(os.path.join(md, name), "wb") as f:
        f.write(json.dumps({"signed": signed, "signatures": sigs}, indent=1).encode())

def root(keys, version):
    roles = {r: {"keyids": [keyid(keys[r])], "threshold": 1}
             for r in ("root", "timestamp", "snapshot", "targets")}
    return {"_type": "root", "spec_version": "1.0.31", "version": version, "expires": EXP,
            "consistent_snapshot": True, "keys": {keyid(k): keyobj(k) for k in keys.values()},
            "roles": roles}

def put_target(path, data):
    h = hashlib.sha256(data).hexdigest()
    dn, bn = os.path.split(path)
    os.makedirs(os.path.join(td, dn), exist_ok=True)
    with open(os.path.join(td, dn, h + "." + bn), "wb") as f:
        f.write(data)
    return {"length": len(data), "hashes": {"sha256": h}}

def publish(keys, tver, sver, tsver, files):
    targets = {p: put_target(p, b) for p, b in files.items()}
    write("%d.targets.json" % tver, {"_type": "targets", "spec_version": "1.0.31",
          "version": tver, "expires": EXP, "targets": targets}, [keys["targets"]])
    write("%d.snapshot.json" % sver, {"_type": "snapshot", "spec_version": "1.0.31",
          "version": sver, "expires": EXP, "meta": {"targets.json": {"version": tver}}},
          [keys["snapshot"]])
    write("timestamp.json", {"_type": "timestamp", "spec_version": "1.0.31", "version": tsver,
          "expires": EXP, "meta": {"snapshot.json": {"version": sver}}}, [keys["timestamp"]])

FILES = {"file.txt": b"hello from the repository\n", "dir/b c.txt": b"a target with a space\n"}
if step == "init":
    os.makedirs(md, exist_ok=True)
    keys = {r: Ed25519PrivateKey.generate() for r in ("root", "timestamp", "snapshot", "targets")}
    save_keys(keys)
    write("1.root.json", root(keys, 1), [keys["root"]])
    publish(keys, 1, 1, 1, FILES)
elif step == "rotate":
    keys = load_keys()
    keys["timestamp"] = Ed25519PrivateKey.generate()
    save_keys(keys)
    write("2.root.json", root(keys, 2), [keys["root"]])
    publish(keys, 1, 1, 2, FILES)
elif step == "tamper":
    data = FILES["dir/b c.txt"]
    h = hashlib.sha256(data).hexdigest()
    with open(os.path.join(td, "dir", h + ".b c.txt"), "wb") as f:
        f.write(b"A target with a space\n")
elif step == "newtarget":
    keys = load_keys()
    files = dict(FILES)
    files["file.txt"] = b"hello again, version 2\n"
    publish(keys, 2, 2, 3, files)
EOF
R=$T/repo
python3 "$T/mkrepo.py" "$R" init >"$T/mkrepo.log" 2>&1 || die "mkrepo.py init" "$(cat "$T/mkrepo.log")"
# shellcheck disable=SC2016
start_server repohttp 'exec python3 -m http.server --bind 127.0.0.1 --directory "$R" $port' ||
    die "python3 -m http.server"
RU=http://127.0.0.1:$port
echo "# TUF repository: $RU (python3 http.server)"
M=$T/client/metadata
TD=$T/client/targets
tc() {
    "$CONSIGN" tuf-client --metadata-dir "$M" "$@"
}
# tc_ok DESC ARGS... / tc_fails DESC ARGS...: exit 0 / exit 1.
tc_ok() {
    local desc=$1 rc=0
    shift
    tc "$@" >"$T/tc.out" 2>&1 </dev/null || rc=$?
    if [ "$rc" -eq 0 ]; then
        ok "$desc"
    else
        not_ok "$desc" "exit $rc" "$(tail -n 5 "$T/tc.out")"
    fi
}
tc_fails() {
    local desc=$1 rc=0
    shift
    tc "$@" >"$T/tc.out" 2>&1 </dev/null || rc=$?
    if [ "$rc" -eq 1 ]; then
        ok "$desc ($(tail -n 1 "$T/tc.out"))"
    else
        not_ok "$desc" "exit $rc (want 1)" "$(tail -n 5 "$T/tc.out")"
    fi
}
version_of() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["signed"]["version"])' "$1"
}
tc_ok "tuf-client init" init "$R/metadata/1.root.json"
if cmp -s "$M/root.json" "$R/metadata/1.root.json"; then
    ok "init: root.json in the metadata dir"
else
    not_ok "init: root.json in the metadata dir"
fi
tc_ok "tuf-client refresh" --metadata-url "$RU/metadata" refresh
for f in timestamp snapshot targets; do
    if [ -f "$M/$f.json" ]; then
        ok "refresh: $f.json (non-versioned name)"
    else
        not_ok "refresh: $f.json"
    fi
done
tc_ok "tuf-client download (two targets, options after the command's place)" \
    --metadata-url "$RU/metadata" --target-name file.txt --target-name "dir/b c.txt" \
    --target-base-url "$RU/targets" --target-dir "$TD" download
printf 'hello from the repository\n' >"$T/want1"
printf 'a target with a space\n' >"$T/want2"
if cmp -s "$TD/file.txt" "$T/want1" && cmp -s "$TD/dir%2Fb%20c.txt" "$T/want2"; then
    ok "download: both targets verified in the target dir"
else
    not_ok "download: both targets" "$(ls "$TD")"
fi
n0=$(grep -c 'GET /targets/' "$T/repohttp.out" || true)
tc_ok "download again" --metadata-url "$RU/metadata" --target-name file.txt \
    --target-base-url "$RU/targets" --target-dir "$TD" download
n1=$(grep -c 'GET /targets/' "$T/repohttp.out" || true)
if [ "$n0" -eq "$n1" ]; then
    ok "download again: cached, no target request"
else
    not_ok "download again: cached" "$n0 -> $n1 target requests"
fi
python3 "$T/mkrepo.py" "$R" rotate >>"$T/mkrepo.log" 2>&1
tc_ok "refresh after a root rotation" --metadata-url "$RU/metadata" refresh
if [ "$(version_of "$M/root.json")" = 2 ]; then
    ok "root.json is version 2"
else
    not_ok "root.json is version 2"
fi
python3 "$T/mkrepo.py" "$R" tamper >>"$T/mkrepo.log" 2>&1
rm -f "$TD/dir%2Fb%20c.txt"
tc_fails "download of a tampered target fails" --metadata-url "$RU/metadata" \
    --target-name "dir/b c.txt" --target-base-url "$RU/targets" --target-dir "$TD" download
if [ ! -e "$TD/dir%2Fb%20c.txt" ]; then
    ok "tampered target: nothing written"
else
    not_ok "tampered target: nothing written"
fi
tc_fails "download of an unknown target fails" --metadata-url "$RU/metadata" \
    --target-name nothing --target-base-url "$RU/targets" --target-dir "$TD" download
python3 "$T/mkrepo.py" "$R" newtarget >>"$T/mkrepo.log" 2>&1
tc_ok "download after the target changed" --metadata-url "$RU/metadata" \
    --target-name file.txt --target-base-url "$RU/targets" --target-dir "$TD" download
if grep -q "again, version 2" "$TD/file.txt"; then
    ok "the same file name, the new content"
else
    not_ok "the new content"
fi
# A repository that serves a timestamp signed by an unknown key.
cp "$R/metadata/timestamp.json" "$T/ts.good"
python3 - "$R/metadata/timestamp.json" <<'EOF'
import json, sys
p = sys.argv[1]
m = json.load(open(p))
m["signed"]["version"] += 1
json.dump(m, open(p, "w"))
EOF
tc_fails "refresh: a timestamp whose signature no longer matches" --metadata-url "$RU/metadata" \
    refresh
cp "$T/ts.good" "$R/metadata/timestamp.json"
tc_fails "refresh: a server that is not there" --metadata-url "http://127.0.0.1:1/metadata" refresh
tc_fails "usage error exits 1" refresh
tc_fails "https-only refuses the http:// repository" --https-only --metadata-url "$RU/metadata" \
    refresh

summary
