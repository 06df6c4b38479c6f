# consign tuf-client: help, usage errors (exit 1, as the conformance protocol wants), init.
$ consign tuf-client --help
Usage: consign tuf-client --metadata-dir DIR init ROOT_FILE
       consign tuf-client --metadata-dir DIR --metadata-url URL refresh
       consign tuf-client --metadata-dir DIR --metadata-url URL --target-name PATH...
                          --target-base-url URL --target-dir DIR download

A client of The Update Framework (specification 1.0). init trusts ROOT_FILE as
DIR/root.json (no request is made); refresh updates root, timestamp, snapshot
and targets; download refreshes, then fetches and verifies each target (in the
order given, stopping at the first failure) into the target directory, named
by its percent-encoded target path. A target already there with the right
length and hashes is not downloaded again.

  -d, --metadata-dir DIR     trusted metadata (root.json, timestamp.json, ...)
  -m, --metadata-url URL     the repository's metadata base URL
  -n, --target-name PATH     a target path (repeatable)
  -b, --target-base-url URL  the repository's targets base URL
  -t, --target-dir DIR       where verified targets are written
      --ca-file FILE         trusted CAs for https (repeatable; default: the system's)
      --https-only           refuse http:// URLs (allowed by default)

The proxy comes from https_proxy, http_proxy and no_proxy.
Exit status: 0 success, 1 any failure (usage errors included).
$ consign tuf-client
consign: tuf-client: a command is required: init, refresh or download (see 'consign tuf-client --help')
[1]
$ consign tuf-client --metadata-dir md refresh
consign: tuf-client: --metadata-url is required (see 'consign tuf-client --help')
[1]
$ consign tuf-client --metadata-dir md --metadata-url http://127.0.0.1:1/m frobnicate
consign: tuf-client: unknown command (init, refresh or download) (see 'consign tuf-client --help')
[1]
$ consign tuf-client --metadata-dir md init
consign: tuf-client: init takes one argument: the trusted root file (see 'consign tuf-client --help')
[1]
$ consign tuf-client --metadata-dir md init missing.json
consign: tuf-client: missing.json: No such file or directory
[1]
# init copies the root (no request, no check yet), creating the directory.
$ printf '{"signed": {}}' > r.json && consign tuf-client --metadata-dir md/sub init r.json && cat md/sub/root.json
trusted root: md/sub/root.json
{"signed": {}}
# refresh with a root that is no root: exit 1, nothing fetched.
$ consign -q tuf-client --metadata-dir md/sub --metadata-url http://127.0.0.1:1/m refresh
consign: tuf-client: tuf: md/sub/root.json: metadata: 'signatures' is missing
[1]
$ consign tuf-client --metadata-dir md --bogus x refresh
consign: tuf-client: unknown or incomplete option '--bogus' (see 'consign tuf-client --help')
[1]
# https only: an http:// repository is refused (the sigstore root as the trusted one).
$ consign tuf-client --metadata-dir sg init "$SRC/tests/fixtures/tuf/sigstore/client/root.json" >/dev/null && consign tuf-client --https-only --metadata-dir sg --metadata-url http://127.0.0.1:1/m refresh
consign: warning: GET http://127.0.0.1:1/m/11.root.json: only https:// URLs are allowed
consign: tuf-client: tuf: metadata/11.root.json: download failed (invalid usage)
[1]
