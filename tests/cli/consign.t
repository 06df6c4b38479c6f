# The front end: version, help at every level, usage errors exit 2.
$ consign --version
consign 0.1.0
$ consign --help
Usage: consign [--verbose|--quiet] COMMAND [ARGS...]

Build, sign and ship a long-running agent and its bundled runtime.

Commands:
  bootstrap build the signed bootstrap downloader
  keys      generate, export, list and use release signing keys
  pkg       build the agent's and the runtime's .deb and .rpm packages
  product   check and show a product file
  repo      build and publish signed APT and YUM repositories
  sfx       build the self-extracting installer (.bin)
  stage     lay out a product's files under a sandbox root
  tuf-client  fetch and verify files from a TUF repository (HTTP/HTTPS)
  update    maintain the TUF repository agents update from
  verify    check the signature of a .bin or a bootstrap

Options:
  -v, --verbose   more messages on stderr
  -q, --quiet     only errors on stderr
  -h, --help      this help; 'consign COMMAND --help' for a command
  -V, --version   print the version

Exit status: 0 success, 1 failure, 2 usage error or bad input.
$ consign
Usage: consign [--verbose|--quiet] COMMAND [ARGS...]

Build, sign and ship a long-running agent and its bundled runtime.

Commands:
  bootstrap build the signed bootstrap downloader
  keys      generate, export, list and use release signing keys
  pkg       build the agent's and the runtime's .deb and .rpm packages
  product   check and show a product file
  repo      build and publish signed APT and YUM repositories
  sfx       build the self-extracting installer (.bin)
  stage     lay out a product's files under a sandbox root
  tuf-client  fetch and verify files from a TUF repository (HTTP/HTTPS)
  update    maintain the TUF repository agents update from
  verify    check the signature of a .bin or a bootstrap

Options:
  -v, --verbose   more messages on stderr
  -q, --quiet     only errors on stderr
  -h, --help      this help; 'consign COMMAND --help' for a command
  -V, --version   print the version

Exit status: 0 success, 1 failure, 2 usage error or bad input.
[2]
$ consign frobnicate
consign: unknown command 'frobnicate' (see 'consign --help')
[2]
$ consign --bogus
consign: unknown option '--bogus' (see 'consign --help')
[2]
$ consign product --help
Usage: consign product COMMAND [ARGS...]

Commands:
  check   validate a product file (and its source files)
  show    print every field, defaults filled in

The format is described in docs/product-file.md.
$ consign product check --help
Usage: consign product check [--define NAME=VALUE]... [--no-files] FILE

Parse and validate a product file; unless --no-files, also check that every
source file and the EULA exist. Errors name file, line and field.

  -D, --define NAME=VALUE   value for ${NAME} in source paths (else the environment)
      --no-files            do not look at the source files
$ consign product nope
consign: product: unknown command 'nope' (see 'consign product --help')
[2]
$ consign stage --help
Usage: consign stage --product FILE --root DIR [--define NAME=VALUE]...

Copy every file of the agent and its runtime to DIR + its target path, write the
launch file and the launcher (/opt/NAME/bin/NAME-launch), and create
/var/opt/NAME/{conf,logs}. No service is installed: start the agent with
DIR/opt/NAME/bin/NAME-launch --root DIR. For tests, demos and image builds.

  -p, --product FILE        the product file
  -r, --root DIR            the sandbox root (created if missing)
  -D, --define NAME=VALUE   value for ${NAME} in source paths (else the environment)
      --launcher PATH       the launcher binary to install (default: the one built
                            with consign, or $CONSIGN_LAUNCHER)
$ consign stage --product x.yaml
consign: stage: --product and --root are required (see 'consign stage --help')
[2]
$ consign keys --help
Usage: consign keys COMMAND [OPTIONS]

Create and use the release signing keys kept in a key directory. Each key
directory has its own GnuPG home; ~/.gnupg and $GNUPGHOME are never used.

Commands:
  generate      create a signing key and make it the active key
  export        write a public key for apt (binary) or rpm and .asc (armored)
  fingerprint   print the active key's fingerprint
  list          list every key of the key directory
  sign          sign a file with the active key
  tuf-rotate    replace a TUF role's keys (see 'consign update')

Run 'consign keys COMMAND --help' for the options of a command.
