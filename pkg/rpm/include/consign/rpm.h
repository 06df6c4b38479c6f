/* consign rpm: signed v4 .rpm packages written in-process.
 *
 * The package model (consign/pkg.h) is serialised as rpm 4.11 (RHEL 7)
 * through 4.20 read it: a 96-byte lead, a signature header (header SHA1 and
 * SHA256, MD5 and size of header+payload, and with a key an OpenPGP signature
 * of the header and one of header+payload), the main header (metadata, file
 * lists, dependencies, scriptlets, payload digest) and a cpio payload
 * compressed with xz or zstd. The layout is described in docs/packages.md. */
#ifndef CONSIGN_RPM_H
#define CONSIGN_RPM_H

#include "consign/error.h"
#include "consign/pkg.h"
#include "consign/secret.h"

struct consign_rpm_sign {
    const char *keydir;                      /* NULL: unsigned (digests only) */
    const struct consign_secret *passphrase; /* may be NULL */
};

/* Write pkg (format CONSIGN_PKG_RPM) as NAME-V-R.ARCH.rpm into dir,
 * atomically: on failure nothing is left in dir. The file digests in pkg are
 * (re)computed from the bytes that go into the payload. *out_path (out_path
 * may be NULL) receives the path, owned by the caller. */
int consign_rpm_write(struct consign_ctx *ctx, struct consign_pkg *pkg,
                      const struct consign_rpm_sign *sign, const char *dir, char **out_path);

#endif
