# consign repo: help, usage errors (exit 2), bad input refused with the file's
# name and nothing added (exit 2), missing repositories (exit 1).
$ consign repo --help
Usage: consign repo apt|yum COMMAND [OPTIONS]

Build and keep signed APT and YUM repositories in a directory that a web
server serves as it is.

Commands (for both):
  add       copy packages into the repository
  remove    take packages out (by name, or name=version)
  list      show what the repository holds
  publish   write, sign and switch in the indexes; write the files customers add

Run 'consign repo apt COMMAND --help' for the options of a command.
$ consign repo apt --help
Usage: consign repo apt add|remove|list|publish [OPTIONS]

A Debian repository: dists/SUITE/{InRelease,Release,Release.gpg}, Packages
indexes (plain, .gz, .xz) with by-hash copies, and the pool.

Run 'consign repo apt COMMAND --help' for the options of a command.
$ consign repo apt add --help
Usage: consign repo apt add --root DIR --suite CODENAME [--component NAME]
                            [--keep N] PACKAGE.deb...

Copy .deb files into the pool (pool/COMPONENT/n/NAME/) and list them in the
suite. Nothing is published until 'consign repo apt publish'. A package whose
name, version and architecture are already in the repository with other
content is refused; one with the same content is listed again.

      --root DIR          the repository (created if missing)
      --suite CODENAME    the distribution codename, e.g. bookworm
      --component NAME    default: main
      --keep N            keep the newest N versions of each package in the
                          suite and component (0: all; default 0)
  -h, --help              this help
$ consign repo apt publish --help
Usage: consign repo apt publish --root DIR --keydir DIR [--suite CODENAME]...
                                [--origin TEXT] [--label TEXT] [--description TEXT]
                                [--architectures "amd64 arm64"] [--valid-for TIME]
                                [--sha512|--no-sha512] [--by-hash-keep N]
                                [--url URL --name NAME]
                                [--passphrase-file FILE | --passphrase-env VAR]

Write the Packages indexes of every suite (or of the --suite ones), sign
Release as InRelease and Release.gpg with the key directory's active key
(SHA-512), and switch them in atomically. Settings given once are recorded
and kept by later publishes. With SOURCE_DATE_EPOCH set, Date and the
signatures use it, so the same repository gives the same bytes.

      --origin, --label   Release fields (default: --name, else consign);
                          apt refuses a repository whose Origin or Label
                          changes, so choose them once
      --architectures     default "amd64 arm64"; packages of architecture all
                          appear in each
      --valid-for TIME    Valid-Until = Date + TIME (days, or Nd, Nw, Nm, Ns; 0: no
                          Valid-Until); default 30d. Publish again before then
      --sha512            also SHA512 in Release and Packages
      --by-hash-keep N    index generations kept under by-hash (default 3, min 2)
      --url URL --name NAME
                          also write NAME.sources, NAME.list, NAME.gpg (keyring
                          for Signed-By), NAME.asc and NAME.fingerprint in DIR
$ consign repo yum publish --help
Usage: consign repo yum publish --root DIR --keydir DIR [--compat] [--keep-metadata N]
                                [--url URL --name NAME]
                                [--passphrase-file FILE | --passphrase-env VAR]

Write repodata/ (primary, filelists, other; zstd, or gzip with --compat for
RHEL 7's yum) under checksum-prefixed names, sign repomd.xml (repomd.xml.asc,
armored) and switch it in. --keep-metadata N keeps N generations of old
repodata files (default 3). With --url and --name, also write NAME.repo,
RPM-GPG-KEY-NAME and NAME.fingerprint in DIR.
$ consign repo apt add --root r x.deb
consign: repo apt add: give one --suite (see 'consign repo apt add --help')
[2]
$ consign repo apt add --root r --suite bookworm
consign: repo apt add: no .deb files given (see 'consign repo apt add --help')
[2]
$ consign repo apt add --root r --suite "book worm" x.deb
consign: repo apt add: suite book worm: use letters, digits, '.', '_', '-'
[2]
$ consign repo apt publish --root r
consign: repo apt publish: --keydir DIR is required (see 'consign repo apt publish --help')
[2]
$ consign repo apt publish --root r --keydir k --url https://example.com
consign: repo apt publish: --url and --name go together (see 'consign repo apt publish --help')
[2]
$ consign repo apt publish --root r --keydir k --valid-for soon
consign: repo apt publish: --valid-for: use e.g. 30d, 2w, 3600s or 0: soon (see 'consign repo apt publish --help')
[2]
$ consign repo apt add --root r --suite bookworm --bogus x.deb
consign: repo apt add: unknown option '--bogus' (see 'consign repo apt add --help')
[2]
# a file that is not a package: refused, nothing recorded
$ printf 'not an ar archive' > bad.deb; consign repo apt add --root r --suite bookworm bad.deb
consign: repo apt add: bad.deb: not a .deb: no ar magic '!<arch>'
[2]
$ consign repo apt list --root r
$ printf '!<arch>\n' > trunc.deb; consign repo apt add --root r --suite bookworm trunc.deb
consign: repo apt add: trunc.deb: no debian-binary member of format 2.x
[2]
$ consign repo apt add --root r --suite bookworm missing.deb
consign: repo apt add: missing.deb: No such file or directory
[1]
$ consign repo apt remove --root r --suite bookworm hello
consign: repo apt remove: hello: not in suite bookworm
[1]
$ consign repo apt publish --root r --keydir k
consign: repo apt publish: r: nothing to publish (add packages first)
[1]
$ consign repo apt list --root nowhere
consign: repo apt list: nowhere: no repository here
[1]
$ printf 'junk' > bad.rpm; consign repo yum add --root y bad.rpm
consign: repo yum add: bad.rpm: truncated (4 bytes, ends inside the lead)
[2]
$ consign repo yum list --root y
$ consign repo yum remove --root y hello=1.0
consign: repo yum remove: hello=1.0: not in the repository
[1]
