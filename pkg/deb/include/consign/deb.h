/* consign deb: serialise a package model (consign/pkg.h) as a Debian binary
 * package, in-process, with no dpkg-deb.
 *
 * The file is an ar archive with debian-binary ("2.0\n"), control.tar.xz and
 * data.tar.xz (or .zst for both with CONSIGN_COMPRESS_ZSTD, which needs dpkg
 * >= 1.21.18). The tarballs are GNU tar, entries "./", "./etc/", ... owned by
 * root/root, in the model's order. control.tar holds control, md5sums (every
 * file but the conffiles, as debhelper writes it), conffiles and the
 * maintainer scripts. With SOURCE_DATE_EPOCH set the output is byte-for-byte
 * reproducible. See docs/packages.md. */
#ifndef CONSIGN_DEB_H
#define CONSIGN_DEB_H

#include "consign/error.h"
#include "consign/pkg.h"

/* Write pkg (made with format CONSIGN_PKG_DEB) as NAME_V-R_ARCH.deb into dir,
 * atomically: a temporary file in dir renamed when complete, so on failure no
 * package and no temporary file is left there. Computes the digests
 * (consign_pkg_digest). *out_path (may be NULL) receives the path of the
 * package, owned by the caller. */
int consign_deb_write(struct consign_ctx *ctx, struct consign_pkg *pkg, const char *dir,
                      char **out_path);

#endif
