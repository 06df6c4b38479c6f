# consign pkg: help and usage errors (exit 2), missing inputs (exit 1 or 2),
# and nothing left in the output directory after a failure.
$ consign pkg --help
Usage: consign pkg COMMAND [ARGS...]

Commands:
  deb   build the agent's and the runtime's .deb packages
  rpm   build the agent's and the runtime's signed .rpm packages

See docs/packages.md.
$ consign pkg deb --help
Usage: consign pkg deb --product FILE --out DIR [OPTIONS]

Build NAME_V-R_ARCH.deb and, when the product has a runtime, RUNTIME_V-R_ARCH.deb
(the agent depends on exactly that runtime version). Both appear in DIR only
when both were built.

  -p, --product FILE        the product file
  -o, --out DIR             where the packages go (created if missing)
  -D, --define NAME=VALUE   value for ${NAME} in source paths (else the environment)
      --compress xz|zstd    payload compression (default xz; zstd needs dpkg >= 1.21.18)
      --only agent|runtime  build one of the two
      --launcher PATH       the launcher to ship (default: the one built with consign)

SOURCE_DATE_EPOCH, when set, makes the output byte-for-byte reproducible.
$ consign pkg rpm --help
Usage: consign pkg rpm --product FILE --keydir DIR --out DIR [OPTIONS]

Build NAME-V-R.ARCH.rpm and, when the product has a runtime, RUNTIME-V-R.ARCH.rpm
(the agent requires exactly that runtime version), signed by the key directory's
active key. Both appear in DIR only when both were built.

  -p, --product FILE        the product file
  -k, --keydir DIR          the release key directory (consign keys generate)
  -o, --out DIR             where the packages go (created if missing)
      --no-sign             leave the packages unsigned (digests only)
      --passphrase-file F   the key's passphrase, from a file
      --passphrase-env VAR  the key's passphrase, from an environment variable
  -D, --define NAME=VALUE   value for ${NAME} in source paths (else the environment)
      --compress xz|zstd    payload compression (default xz, which RHEL 7 reads;
                            zstd needs rpm >= 4.14)
      --only agent|runtime  build one of the two
      --launcher PATH       the launcher to ship (default: the one built with consign)

SOURCE_DATE_EPOCH, when set, makes the output byte-for-byte reproducible.
$ consign pkg deb --product p.yaml
consign: pkg deb: --product and --out are required (see 'consign pkg deb --help')
[2]
$ consign pkg rpm --product p.yaml --out o
consign: pkg rpm: --keydir is required (or --no-sign) (see 'consign pkg rpm --help')
[2]
$ consign pkg deb --product p.yaml --out o --compress lz4
consign: pkg deb: --compress takes xz or zstd, not 'lz4' (see 'consign pkg deb --help')
[2]
$ consign pkg deb --product p.yaml --out o --only both
consign: pkg deb: --only takes agent or runtime, not 'both' (see 'consign pkg deb --help')
[2]
$ consign pkg deb --product p.yaml --out o --keydir k
consign: pkg deb: '--keydir' is an option of consign pkg rpm only (see 'consign pkg deb --help')
[2]
$ consign pkg deb --product missing.yaml --out o
consign: pkg deb: missing.yaml: No such file or directory
[1]
$ cp "$SRC"/tests/fixtures/product/good-minimal.yaml p.yaml && consign pkg deb --product p.yaml --out o
consign: pkg deb: p.yaml:11: agent.files[0].src: bin/tiny: no such file or directory
[1]
# A runtime tree with a FIFO fails after the agent's package was built: neither
# package may appear in the output directory.
$ mkdir -p bin rt && echo x >bin/tiny && echo y >rt/a && mkfifo rt/pipe
$ printf 'runtime:\n  files:\n    - {src: rt, dst: /opt/tiny-agent/rt}\n' >>p.yaml
$ consign pkg deb --product p.yaml --out o --launcher bin/tiny 2>&1 | sed "s|$PWD|CWD|"
consign: pkg deb: tiny-agent-runtime: runtime.files[0]: rt/pipe: not a regular file, directory or symlink
[2]
$ ls -A o
$ consign pkg deb --product p.yaml --out o --launcher bin/tiny --only agent | sed "s|$PWD|CWD|"
o/tiny-agent_0.1-1_amd64.deb
$ ls -A o
tiny-agent_0.1-1_amd64.deb
