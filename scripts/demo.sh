#!/usr/bin/env bash
# make demo: a throwaway release key, then the example agent staged under a
# sandbox root, started by its launcher on the jlink runtime, its heartbeat
# and health check shown, and stopped with SIGTERM.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
consign=$build/cli/consign
name=example-agent
demo=$build/demo
root=$demo/root
keydir=$(mktemp -d /tmp/consign-demo.XXXXXX)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
  rm -rf "$keydir"
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }

rm -rf "$demo"
mkdir -p "$demo"

step "1. a throwaway release key (its own GnuPG home in $keydir/keys/gnupg)"
"$consign" keys generate --keydir "$keydir/keys" --name "Example Corp Release (demo)" \
  --email release@example.com --expire 30d >/dev/null
echo "fingerprint: $("$consign" keys fingerprint --keydir "$keydir/keys")"
"$consign" keys export --keydir "$keydir/keys" --format apt --out "$demo/example-archive-keyring.gpg"
"$consign" keys export --keydir "$keydir/keys" --format asc --out "$demo/RPM-GPG-KEY-example"
echo "customer's check: $(gpg --show-keys --with-colons "$demo/example-archive-keyring.gpg" 2>/dev/null |
  awk -F: '$1=="fpr"{print $10; exit}')"

step "2. the example agent, staged under $root"
"$consign" product check --define EXAMPLE_AGENT_BUILD="$build/examples/agent" \
  "$src/examples/agent/product.yaml"
"$consign" stage --product "$src/examples/agent/product.yaml" --root "$root" \
  --define EXAMPLE_AGENT_BUILD="$build/examples/agent"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18431)
cat >>"$root/etc/opt/$name/start-agent.ini" <<INI

# added by make demo
-Dagent.heartbeat.ms=500
-Dagent.health.port=$port
-Dagent.tag=demo
INI
echo "runtime: $(du -sh "$root/opt/$name/jre" | cut -f1) jlink image; options file:"
grep -v '^#' "$root/etc/opt/$name/start-agent.ini" | grep -v '^$' | sed 's/^/    /'

step "3. start: $root/opt/$name/bin/$name-launch --root $root"
"$root/opt/$name/bin/$name-launch" --root "$root" &
pid=$!
log=$root/var/opt/$name/logs/agent.log
for _ in $(seq 1 100); do
  [ "$(grep -c ' heartbeat ' "$log" 2>/dev/null || true)" -ge 3 ] 2>/dev/null && break
  sleep 0.1
done
sed 's/^/    /' "$log"
echo "health: $(curl -fsS "http://127.0.0.1:$port/health")"

step "4. stop with SIGTERM"
start=$(date +%s%N)
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=""
echo "exit status $status after $(( ($(date +%s%N) - start) / 1000000 )) ms"
tail -n 2 "$log" | sed 's/^/    /'
[ "$status" -eq 0 ] && grep -q ' stopped' "$log"
echo
echo "demo: ok"
