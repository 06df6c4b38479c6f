#!/usr/bin/env bash
# Debian chroots for end-to-end tests, made with mmdebstrap and cached.
#
#   tests/lib/chroot.sh CACHE_DIR SUITE DEST [PACKAGE...]
#
# Makes (once) CACHE_DIR/SUITE-<hash of the package list>.tar with mmdebstrap
# (--variant=apt plus PACKAGEs), then unpacks a fresh copy into DEST, so each
# test starts from a clean tree. Concurrent callers are serialised by flock.
# SUITE: bullseye (Debian 11), bookworm (12), trixie (13).
set -euo pipefail
cache=$1 suite=$2 dest=$3
shift 3
pkgs=$(printf '%s\n' "$@" | sort -u | paste -sd, -)
key=$(printf '%s' "$suite:$pkgs" | sha256sum | cut -c1-12)
tar="$cache/$suite-$key.tar"
mirror=${CONSIGN_DEBIAN_MIRROR:-http://deb.debian.org/debian}

mkdir -p "$cache"
exec 9>"$tar.lock"
flock 9
if [ ! -s "$tar" ]; then
  echo "chroot: creating $suite ${pkgs:+with $pkgs }(cached in $tar)" >&2
  args=(--quiet --variant=apt --mode=root --format=tar)
  [ -n "$pkgs" ] && args+=(--include="$pkgs")
  # The mirror sometimes fails a run (a Release changing under apt, a reset
  # connection): try three times before giving up.
  for attempt in 1 2 3; do
    if mmdebstrap "${args[@]}" "$suite" "$tar.tmp" "$mirror" >&2; then
      break
    fi
    rm -f "$tar.tmp"
    if [ "$attempt" = 3 ]; then
      echo "chroot: mmdebstrap $suite failed (3 attempts)" >&2
      exit 1
    fi
    echo "chroot: mmdebstrap $suite failed, trying again in $((attempt * 10)) s" >&2
    sleep $((attempt * 10))
  done
  mv "$tar.tmp" "$tar"
fi
flock -u 9
mkdir -p "$dest"
tar -C "$dest" -xf "$tar"
