# consign bootstrap build and consign verify: a small product, an Ed25519
# release key, a TUF repository; the bootstrap verifies, a flipped byte does
# not, the same inputs give the same bytes. Fingerprints are random (hidden).
$ consign bootstrap --help
Usage: consign bootstrap build --product FILE --keydir DIR --url URL --out FILE

Commands:
  build     build the signed bootstrap downloader
$ consign bootstrap build --product p.yaml --keydir k
consign: bootstrap build: --product, --keydir and --out are required (see 'consign bootstrap build --help')
[2]
$ consign bootstrap build --product p.yaml --keydir k --out b --channel 'a b'
consign: bootstrap build: --channel: letters, digits and ._+~- expected (see 'consign bootstrap build --help')
[2]
$ consign verify
consign: verify: no file to verify (see 'consign verify --help')
[2]
$ consign -q keys generate --keydir k --algo ed25519 --name "bootstrap test" --email t@example.com >/dev/null 2>&1 && consign -q update init --keydir k --repo repo >/dev/null && echo ok
ok
$ printf 'consign: 1\nname: tiny\nversion: 1.0.0\nsummary: Tiny agent\ndescription: A tiny agent.\nmaintainer: T <t@example.com>\nlicense: MIT\narchitecture: amd64\nagent:\n  files:\n    - src: p.yaml\n      dst: /opt/tiny/p.yaml\nservice:\n  exec: [/opt/tiny/bin/tiny]\n' >p.yaml && echo ok
ok
$ consign bootstrap build --product p.yaml --keydir k --out tiny-bootstrap
consign: bootstrap build: bootstrap: no repository URL (--url, or distribution.url in the product file)
[2]
$ consign bootstrap build --product p.yaml --keydir k --url http://dl.example.com/tiny --out tiny-bootstrap
consign: bootstrap build: bootstrap: bootstrap.conf: line 4: url: https:// expected (http:// only to a loopback address)
[2]
$ consign bootstrap build --product p.yaml --keydir k --url https://dl.example.com/tiny --tuf-root p.yaml --out tiny-bootstrap
consign: bootstrap build: bootstrap: p.yaml: json: byte 0: unexpected character
[2]
$ date +%s >sde && export SOURCE_DATE_EPOCH=$(cat sde); consign bootstrap build --product p.yaml --keydir k --url https://dl.example.com/tiny --url https://mirror.example.net/tiny/ --out tiny-bootstrap && test -x tiny-bootstrap && head -c 4 tiny-bootstrap | od -c | head -1 && head -1 tiny-bootstrap.asc
0000000 177   E   L   F
-----BEGIN PGP SIGNATURE-----
$ consign verify tiny-bootstrap | sed 's/signed by .*/signed by FPR/'
tiny-bootstrap: good: tiny 1.0.0-1 (bootstrap), signed by FPR
$ consign verify --expect-signer "$(consign keys fingerprint --keydir k | head -1)" tiny-bootstrap >/dev/null && echo ok
ok
$ consign verify --expect-signer 0123456789ABCDEF0123456789ABCDEF01234567 tiny-bootstrap 2>&1 | sed 's/signed by [0-9A-F ]*,/signed by FPR,/'
consign: verify: tiny-bootstrap: signed by FPR, not by 0123456789ABCDEF0123456789ABCDEF01234567
[1]
$ cp tiny-bootstrap again && export SOURCE_DATE_EPOCH=$(cat sde) && consign bootstrap build --product p.yaml --keydir k --url https://dl.example.com/tiny --url https://mirror.example.net/tiny/ --out tiny-bootstrap && cmp tiny-bootstrap again && echo reproducible
reproducible
$ for off in 100 20000 $(( $(stat -c %s tiny-bootstrap) - 300 )) $(( $(stat -c %s tiny-bootstrap) - 40 )); do cp tiny-bootstrap t; printf '\x55' | dd of=t bs=1 seek=$off conv=notrunc status=none; consign verify t >/dev/null 2>&1; echo "byte $off changed: exit $?"; done | sed 's/byte [0-9]* /byte N /'
byte N changed: exit 1
byte N changed: exit 1
byte N changed: exit 1
byte N changed: exit 1
$ ./tiny-bootstrap /q /i PROPERTY_NOPE=1
tiny-bootstrap: error: unknown property 'PROPERTY_NOPE'
Try 'tiny-bootstrap /?'.
[103]
$ ./tiny-bootstrap --version
tiny-bootstrap (consign 0.1.0)
