# consign sfx: help and usage errors (exit 2), a missing product (exit 1 or 2).
$ consign sfx --help
Usage: consign sfx build --product FILE --keydir DIR --out FILE

Commands:
  build     build a signed self-extracting installer (.bin)
$ consign sfx build
consign: sfx build: --product, --keydir and --out are required (see 'consign sfx build --help')
[2]
$ consign sfx build --product nope.yaml
consign: sfx build: --product, --keydir and --out are required (see 'consign sfx build --help')
[2]
$ consign sfx build --product nope.yaml --keydir k --out x.bin --level 20
consign: sfx build: --level takes 1 to 19, not '20' (see 'consign sfx build --help')
[2]
$ consign sfx build --product nope.yaml --keydir k --out x.bin --threads 0
consign: sfx build: --threads takes 1 to 256, not '0' (see 'consign sfx build --help')
[2]
$ consign sfx build --product nope.yaml --keydir k --out x.bin extra
consign: sfx build: unexpected argument 'extra' (see 'consign sfx build --help')
[2]
$ consign sfx build --product nope.yaml --keydir k --out x.bin --passphrase-file a --passphrase-env B
consign: sfx build: give --passphrase-file or --passphrase-env, not both (see 'consign sfx build --help')
[2]
$ consign sfx build --product nope.yaml --keydir k --out x.bin
consign: sfx build: nope.yaml: No such file or directory
[1]
$ consign sfx frobnicate
consign: sfx: unknown command 'frobnicate' (see 'consign sfx --help')
[2]
