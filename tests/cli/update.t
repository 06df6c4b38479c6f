# The TUF repository: init, publish, refresh-timestamp, keys tuf-rotate.
# SOURCE_DATE_EPOCH fixes the times; key IDs (random keys) are not shown.
$ export SOURCE_DATE_EPOCH=1900000000; consign update init --keydir keys --repo repo --root-keys 3 --root-threshold 2
repo: TUF repository initialised (root: 3 keys, threshold 2)
$ printf 'amd64 payload\n' >agent-amd64.bin && printf 'arm64 payload\n' >agent-arm64.bin
$ export SOURCE_DATE_EPOCH=1900000000; consign update publish --keydir keys --repo repo --name tiny-agent --version 1.0.0 --channel beta --rollout 25 --min-version 0.9.0 amd64=agent-amd64.bin arm64=./agent-arm64.bin
tiny-agent 1.0.0 (channel beta, rollout 25%): 2 targets published
$ cd repo && find . -type f | sort
./.lock
./metadata/1.root.json
./metadata/1.snapshot.json
./metadata/1.targets.json
./metadata/2.snapshot.json
./metadata/2.targets.json
./metadata/root.json
./metadata/timestamp.json
./targets/tiny-agent/1.0.0/linux-amd64/f359ca221ac85623eb8f4a7ece8aa0bc96804514e93e2e183c54a52017558db3.agent-amd64.bin
./targets/tiny-agent/1.0.0/linux-arm64/babd18cddb67882257ee0600fbc897bee42e56494c9afe59deacc2cb7930388a.agent-arm64.bin
$ stat -c '%a %n' keys keys/tuf keys/tuf/*.pem | sed 's/-[0-9a-f]*\.pem$/-KEYID.pem/' | sort
600 keys/tuf/root-KEYID.pem
600 keys/tuf/root-KEYID.pem
600 keys/tuf/root-KEYID.pem
600 keys/tuf/snapshot-KEYID.pem
600 keys/tuf/targets-KEYID.pem
600 keys/tuf/timestamp-KEYID.pem
700 keys
700 keys/tuf
$ grep -o '"targets":{"tiny-agent[^}]*}[^}]*}[^}]*}' repo/metadata/2.targets.json
"targets":{"tiny-agent/1.0.0/linux-amd64/agent-amd64.bin":{"custom":{"channel":"beta","min_version":"0.9.0","rollout":25,"version":"1.0.0"},"hashes":{"sha256":"f359ca221ac85623eb8f4a7ece8aa0bc96804514e93e2e183c54a52017558db3"},"length":14}
$ export SOURCE_DATE_EPOCH=1900086400; consign update refresh-timestamp --keydir keys --repo repo && grep -o '"expires":"[^"]*"\|"version":[0-9]*' repo/metadata/timestamp.json
"expires":"2030-03-19T17:46:40Z"
"version":2
"version":3
$ consign keys tuf-rotate --keydir keys --repo repo timestamp && ls repo/metadata keys/tuf/retired | sed 's/-[0-9a-f]*\.pem$/-KEYID.pem/'
repo: timestamp keys replaced, root version 2
keys/tuf/retired:
timestamp-KEYID.pem

repo/metadata:
1.root.json
1.snapshot.json
1.targets.json
2.root.json
2.snapshot.json
2.targets.json
root.json
timestamp.json
$ consign keys tuf-rotate --keydir keys --repo repo root && ls keys/tuf/retired | sed 's/-[0-9a-f]*\.pem$/-KEYID.pem/' | sort | uniq -c
repo: root keys replaced, root version 3
      3 root-KEYID.pem
      1 timestamp-KEYID.pem
# Errors.
$ consign update init --keydir keys --repo repo
consign: update init: repo: already a TUF repository
[1]
$ consign update publish --keydir keys --repo repo --name tiny-agent --version 1.0.1 --rollout 101 amd64=agent-amd64.bin
consign: update publish: --rollout: expected a percentage from 0 to 100, got '101' (see 'consign update publish --help')
[2]
$ consign update publish --keydir keys --repo repo --name tiny-agent --version ../x amd64=agent-amd64.bin
consign: update publish: version: expected 1 to 128 of letters, digits and '._+~-' (not starting with '.' or '-'), got '../x'
[2]
$ consign update publish --keydir keys --repo repo --name tiny-agent --version 1.0.1 agent-amd64.bin
consign: update publish: agent-amd64.bin: no architecture (ARCH=FILE, --arch or --product) (see 'consign update publish --help')
[2]
$ consign update publish --keydir keys --repo repo --name tiny-agent --version 1.0.1 amd64=missing.bin
consign: update publish: missing.bin: No such file or directory
[1]
$ consign update refresh-timestamp --keydir keys --repo nowhere
consign: update refresh-timestamp: nowhere: not a TUF repository (run 'init' first)
[1]
$ consign update refresh-timestamp --repo repo
consign: update refresh-timestamp: --keydir is required (see 'consign update refresh-timestamp --help')
[2]
$ consign keys tuf-rotate --keydir keys --repo repo mirror
consign: keys tuf-rotate: expected root, targets, snapshot or timestamp, not 'mirror' (see 'consign keys tuf-rotate --help')
[2]
$ consign keys tuf-rotate --keydir keys --repo repo --root-keys 2 targets
consign: keys tuf-rotate: --root-keys and --root-threshold are for the root role (see 'consign keys tuf-rotate --help')
[2]
$ consign update frobnicate
consign: update: unknown command 'frobnicate' (see 'consign update --help')
[2]
$ consign update
Usage: consign update COMMAND [OPTIONS]

Maintain the TUF repository (The Update Framework 1.0) that agents update
from: roles root, targets, snapshot and timestamp, Ed25519 keys kept in
KEYDIR/tuf/, consistent snapshots.

Commands:
  init                create the keys and the repository's first metadata
  publish             add a release's .bin payloads as targets
  refresh-timestamp   sign a new timestamp (run it from cron, daily or more)

Keys are rotated with 'consign keys tuf-rotate ROLE'.
Run 'consign update COMMAND --help' for the options of a command.
[2]
