#!/usr/bin/env bash
# Install the build and test dependencies that are missing, from Debian's packages.
# Idempotent: when everything is present it only asks dpkg, quietly.
set -euo pipefail

PACKAGES=(
  # build
  gcc make cmake ninja-build pkg-config
  libarchive-dev libgpgme-dev libssl-dev libzstd-dev liblzma-dev libcurl4-openssl-dev libyaml-dev
  # the static on-target programs: signature checks through Nettle, linked statically
  nettle-dev libgmp-dev
  # tests
  zlib1g-dev
  libcmocka-dev gnupg gpgv rpm curl file procps util-linux
  mmdebstrap lintian rpmlint dpkg-dev xz-utils zstd bc apt-utils
  # repository tests: a throw-away web server, the YUM client, repomd.xml checks
  nginx dnf libxml2-utils
  # bench/repo.sh: the peers and peak RSS
  createrepo-c time
  # e2e.net: the misbehaving test servers and the TUF repository signer, a test CA, a proxy
  python3 python3-cryptography openssl tinyproxy-bin
  # e2e.bootstrap: a client clock moved forward (freeze attack)
  faketime
  # the .bin: interactive install in a real terminal; bench/sfx.sh's peer
  tmux makeself strace
  # the example agent: javac, jar, jlink
  openjdk-17-jdk-headless
  # bootstrap: proxy auto-config evaluation by Duktape, built from its source (docs/internals/pac.md)
  duktape-dev
  # e2e.update: systemd-analyze verify of the units; bench/update.sh: a patch release's jar, wrk
  systemd zip wrk logrotate
)
if [ "${1:-}" = "--fuzz" ]; then
  PACKAGES+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq >/dev/null
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
