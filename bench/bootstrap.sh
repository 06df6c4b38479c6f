#!/usr/bin/env bash
# The bootstrap downloader against the plain route it replaces: `curl -o` of
# the same .bin over the same HTTPS server, then the .bin's own unattended
# install. Both install the example agent (with its jlink runtime) into a
# fresh --root each run, from nginx on 127.0.0.1 over TLS (a throw-away CA),
# in one run, alternating. Prints the median wall time of each route and
# the ratio bootstrap / (curl + .bin); the target is <= 1.2.
#
#   bench/bootstrap.sh BUILD [RUNS]        (make bench runs it)
#
# The bootstrap's time includes what curl's does not: the TUF metadata
# (root chain, timestamp, snapshot, targets), the signed length and SHA-256
# of the download, and the check of its own signature at start.
set -euo pipefail
export LC_ALL=C
if [ $# -lt 1 ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
build=$(cd "$1" && pwd)
runs=${2:-5}
src=$(cd "$(dirname "$0")/.." && pwd)
consign=$build/cli/consign
agent=$build/examples/agent
[ -x "$consign" ] || { echo "bench/bootstrap.sh: build first (make build)" >&2; exit 1; }
[ -f "$agent/agent.jar" ] || { echo "bench/bootstrap.sh: no example agent in $agent" >&2; exit 1; }
unset SOURCE_DATE_EPOCH http_proxy https_proxy HTTPS_PROXY no_proxy

T=$(mktemp -d /tmp/consign-bench-boot.XXXXXX)
chmod 0711 "$T"
# shellcheck source=tests/lib/httpd.sh
. "$src/tests/lib/httpd.sh"
trap 'httpd_stop; rm -rf "$T"' EXIT

export EXAMPLE_AGENT_BUILD=$agent
product=$src/examples/agent/product.yaml
"$consign" -q keys generate --keydir "$T/keys" --algo ed25519 --name "bench" \
  --email bench@example.com >/dev/null 2>&1
"$consign" -q sfx build --product "$product" --keydir "$T/keys" --out "$T/agent.bin" >/dev/null
"$consign" -q update init --keydir "$T/keys" --repo "$T/www/repo" >/dev/null
"$consign" -q update publish --keydir "$T/keys" --repo "$T/www/repo" --product "$product" \
  amd64="$T/agent.bin" >/dev/null
cp "$T/agent.bin" "$T/www/agent.bin"
(
  cd "$T"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=consign bench CA" -keyout ca.key -out ca.pem \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout srv.key -out srv.csr
  printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" >srv.ext
  openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile srv.ext -out srv.pem
) >/dev/null 2>&1
HTTPD_TLS_CERT=$T/srv.pem HTTPD_TLS_KEY=$T/srv.key httpd_start "$T/www"
"$consign" -q bootstrap build --product "$product" --keydir "$T/keys" --url "$HTTPD_URL/repo" \
  --out "$T/agent-bootstrap" >/dev/null
printf 'bench-token\n' >"$T/token"
chmod 600 "$T/token"

now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
: >"$T/boot.times"
: >"$T/curl.times"
for i in $(seq "$runs"); do
  rm -rf "$T/r1" "$T/r2" "$T/dl.bin"
  t0=$(now)
  "$T/agent-bootstrap" /i /q --token-file "$T/token" --root "$T/r1" --ca-bundle "$T/ca.pem"
  t1=$(now)
  curl -s --cacert "$T/ca.pem" -o "$T/dl.bin" "$HTTPD_URL/agent.bin"
  chmod +x "$T/dl.bin"
  "$T/dl.bin" --root "$T/r2" --accept-eula --quiet --token-file "$T/token"
  t2=$(now)
  echo "$t1 - $t0" | bc -l >>"$T/boot.times"
  echo "$t2 - $t1" | bc -l >>"$T/curl.times"
  [ -f "$T/r1/opt/example-agent/lib/agent.jar" ] && [ -f "$T/r2/opt/example-agent/lib/agent.jar" ] ||
    { echo "bench/bootstrap.sh: an install failed" >&2; exit 1; }
done
b=$(median <"$T/boot.times")
c=$(median <"$T/curl.times")
printf '\n== bootstrap vs curl -o + .bin (example agent, %s bytes, %s runs, nginx TLS on 127.0.0.1)\n' \
  "$(stat -c %s "$T/agent.bin")" "$runs"
printf '%-34s %10s\n' "route" "median s"
printf '%-34s %10.3f\n' "NAME-bootstrap /i /q" "$b"
printf '%-34s %10.3f\n' "curl -o NAME.bin && ./NAME.bin" "$c"
printf 'ratio bootstrap / (curl + .bin): %.2f (target <= 1.20)\n' "$(echo "$b / $c" | bc -l)"
