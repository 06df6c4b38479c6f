#!/usr/bin/env bash
# bench/update.sh BUILD [SECONDS]: what an installed agent's updates cost.
#
#  1. a patch release of the example agent (its jar rebuilt with one more
#     class file and a new version in the manifest; the 35 MB runtime
#     unchanged): bytes NAME-update fetches through the patch against the
#     full .bin (--no-delta), from nginx over TLS on 127.0.0.1
#  2. a check when nothing is new: requests and bytes on the wire at the
#     HTTP level (request and response, headers included, as nginx counts
#     them: $request_length and $bytes_sent)
#  3. update checks per second nginx serves on one worker (one core), the
#     timestamp.json every check fetches, with wrk (SECONDS long, default 10)
#
# Not a test: numbers for bench/README.md. Root (sandbox roots), nginx, wrk,
# zip, the example agent built (BUILD/examples/agent).
set -euo pipefail

BUILD=$(cd "${1:?usage: bench/update.sh BUILD [SECONDS]}" && pwd)
SECS=${2:-10}
SRC=$(cd "$(dirname "$0")/.." && pwd)
CONSIGN=$BUILD/cli/consign
AGENT=$BUILD/examples/agent
T=$(mktemp -d /tmp/consign-bench-upd.XXXXXX)
chmod 0711 "$T"
# shellcheck source=tests/lib/httpd.sh
. "$SRC/tests/lib/httpd.sh"
trap 'httpd_stop; rm -rf "$T"' EXIT
die() {
    echo "bench/update.sh: $*" >&2
    exit 1
}
[ -f "$AGENT/agent.jar" ] || die "the example agent is not built ($AGENT)"
command -v wrk >/dev/null || die "wrk is not installed (make deps)"
command -v zip >/dev/null || die "zip is not installed (make deps)"
unset SOURCE_DATE_EPOCH http_proxy https_proxy

"$CONSIGN" -q keys generate --keydir "$T/k" --algo ed25519 --name bench --email b@example.com \
    >/dev/null 2>&1 || die "keys generate"
"$CONSIGN" -q update init --keydir "$T/k" --repo "$T/www/repo" >/dev/null 2>&1 || die "update init"
mkdir -p "$T/pki"
(
    cd "$T/pki"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=bench CA" -keyout ca.key -out ca.pem \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
        -keyout srv.key -out srv.csr
    printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" >srv.ext
    openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile srv.ext -out srv.pem
) >/dev/null 2>&1 || die "openssl"
HTTPD_LOG_FORMAT='$request_length $bytes_sent $status $request_uri' \
    HTTPD_TLS_CERT=$T/pki/srv.pem HTTPD_TLS_KEY=$T/pki/srv.key httpd_start "$T/www" ||
    die "nginx"
U=$HTTPD_URL

# The patch release's jar: one more class-sized entry, a new version.
mkdir -p "$T/jar101/META-INF"
cp "$AGENT/agent.jar" "$T/agent-1.0.1.jar"
(cd "$T/jar101" && unzip -q -o "$AGENT/agent.jar" META-INF/MANIFEST.MF &&
    sed -i 's/^Implementation-Version: .*/Implementation-Version: 1.0.1\r/' META-INF/MANIFEST.MF &&
    mkdir -p com/example/agent && head -c 2500 /dev/urandom >com/example/agent/Fix.class &&
    zip -q -X "$T/agent-1.0.1.jar" META-INF/MANIFEST.MF com/example/agent/Fix.class)
mkproduct() { # VERSION JAR
    mkdir -p "$T/p$1"
    cp "$SRC/examples/agent/start-agent.ini" "$SRC/examples/agent/EULA.txt" "$T/p$1/"
    sed -e "s|^version: .*|version: $1|" -e "s|\${EXAMPLE_AGENT_BUILD}/agent.jar|$2|" \
        -e "s|\${EXAMPLE_AGENT_BUILD}|$AGENT|" -e "s|^  url: .*|  url: $U/repo|" \
        -e "/^  mirrors:/,+1d" "$SRC/examples/agent/product.yaml" >"$T/p$1/product.yaml"
    "$CONSIGN" -q sfx build --product "$T/p$1/product.yaml" --keydir "$T/k" \
        --out "$T/a-$1.bin" >"$T/sfx.log" 2>&1 || die "sfx build $1: $(cat "$T/sfx.log")"
}
mkproduct 1.0.0 "$AGENT/agent.jar"
mkproduct 1.0.1 "$T/agent-1.0.1.jar"
"$CONSIGN" -q update publish --keydir "$T/k" --repo "$T/www/repo" --product "$T/p1.0.0/product.yaml" \
    amd64="$T/a-1.0.0.bin" >/dev/null 2>&1 || die "publish 1.0.0"
t0=$(date +%s.%N)
"$CONSIGN" update publish --keydir "$T/k" --repo "$T/www/repo" --product "$T/p1.0.1/product.yaml" \
    --delta-from "$T/a-1.0.0.bin" amd64="$T/a-1.0.1.bin" >"$T/pub.log" 2>&1 || die "publish 1.0.1"
t_patch=$(echo "$(date +%s.%N) - $t0" | bc)

fetch_once() { # ROOT [ARGS]: install 1.0.0, update, print the bytes NAME-update reports
    local r=$1
    shift
    printf 'tok\n' >"$T/tok"
    chmod 600 "$T/tok"
    "$T/a-1.0.0.bin" --root "$r" --accept-eula --token-file "$T/tok" --quiet >/dev/null 2>&1 ||
        die "install 1.0.0"
    : >"$HTTPD_LOG"
    "$r/opt/example-agent/example-agent-update" --root "$r" --ca-bundle "$T/pki/ca.pem" "$@" \
        apply --now >"$T/apply.out" 2>&1 || die "apply: $(cat "$T/apply.out")"
    awk '{ s += $2 } END { print s + 0 }' "$HTTPD_LOG"
}
full_bin=$(stat -c %s "$T/a-1.0.1.bin")
patch=$(find "$T/www/repo/targets" -name '*.patch' -printf '%s\n')
wire_delta=$(fetch_once "$T/r1")
grep -q "delta:" "$T/apply.out" || die "the delta was not used: $(cat "$T/apply.out")"
wire_full=$(fetch_once "$T/r2" --no-delta)
grep -q "full download" "$T/apply.out" || die "the full download was not used"

# A check with nothing new, on the updated install.
: >"$HTTPD_LOG"
"$T/r1/opt/example-agent/example-agent-update" --root "$T/r1" --ca-bundle "$T/pki/ca.pem" check \
    >/dev/null 2>&1 || die "check"
check_req=$(wc -l <"$HTTPD_LOG")
check_in=$(awk '{ s += $1 } END { print s + 0 }' "$HTTPD_LOG")
check_out=$(awk '{ s += $2 } END { print s + 0 }' "$HTTPD_LOG")
check_list=$(awk '{ printf "%s%s %s (%s B)", (NR > 1 ? ", " : ""), $3, $4, $2 }' "$HTTPD_LOG")

# Update checks per second on one nginx worker.
wrk -t1 -c32 -d"${SECS}s" "$U/repo/metadata/timestamp.json" >"$T/wrk.out" 2>&1 || die "wrk"
rps=$(awk '/^Requests\/sec/ { print $2 }' "$T/wrk.out")

pct() { echo "scale=3; 100 * $1 / $2" | bc | sed "s/^\./0./"; }
cat <<EOF

Updates of the example agent, $(nproc) cores, nginx over TLS on 127.0.0.1 (one worker)

patch release 1.0.0 -> 1.0.1 (jar changed, runtime unchanged)
  full .bin                               $full_bin bytes
  patch (zstd --patch-from, level 19)     $patch bytes ($(pct "$patch" "$full_bin")% of the .bin; made in ${t_patch%.*} s)
  bytes served for NAME-update apply:
    through the patch                     $wire_delta  ($(pct "$wire_delta" "$wire_full")% of the full route; target <= 10%)
    full download (--no-delta)            $wire_full

a check when nothing is new
  requests                                $check_req: $check_list
  bytes on the wire (HTTP)                $((check_in + check_out)) ($check_in request + $check_out response; target <= 1024)

update checks per second, one nginx worker (wrk -t1 -c32 -d${SECS}s, GET timestamp.json over TLS)
  $rps requests/s
EOF
