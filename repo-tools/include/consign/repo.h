/* consign repo: the building blocks of signed APT and YUM repositories.
 *
 * consign_deb_info reads one Debian binary package the way a repository
 * indexer must: bounded (every size is checked against the file, every
 * buffer is capped), streamed once for its size and digests, and with any
 * well-formed .deb accepted (GNU or BSD ar names, control.tar with gzip, xz,
 * zstd or no compression, "./control" or "control"). consign_deb_info_stanza
 * then writes its Packages stanza exactly as apt-ftparchive does. See
 * docs/internals/debinfo.md. */
#ifndef CONSIGN_REPO_H
#define CONSIGN_REPO_H

#include "consign/buf.h"
#include "consign/error.h"
#include "consign/hash.h"

/* Caps of the reader. */
#define CONSIGN_DEB_CONTROL_TAR_MAX (16u << 20) /* control.tar, compressed or not */
#define CONSIGN_DEB_CONTROL_MAX     (1u << 20)  /* the control file */
#define CONSIGN_DEB_LINE_MAX        (64u << 10) /* one line of the control file */
#define CONSIGN_DEB_NAME_MAX        128         /* one field name */
#define CONSIGN_DEB_FIELDS_MAX      1024        /* fields of the control file */

/* The control stanza's fields in their order, plus the size and digests of the .deb. */
struct consign_deb_info;

/* Read the .deb at path. Format errors are CONSIGN_E_SYNTAX, a control file
 * without Package, Version or Architecture CONSIGN_E_INVALID, a cap exceeded
 * CONSIGN_E_TOOBIG; the message starts with the path ("x.deb: control: line 3:
 * ..."). *out is freed with consign_deb_info_free. */
int consign_deb_info_read(struct consign_ctx *ctx, const char *path, struct consign_deb_info **out);
/* The same, computing only the digests in hashes (bits 1 << CONSIGN_HASH_x);
 * the others are absent from the stanza and consign_deb_info_digest. */
#define CONSIGN_DEB_HASH_ALL                                                                       \
    ((1u << CONSIGN_HASH_MD5) | (1u << CONSIGN_HASH_SHA1) | (1u << CONSIGN_HASH_SHA256) |          \
     (1u << CONSIGN_HASH_SHA512))
int consign_deb_info_read_ext(struct consign_ctx *ctx, const char *path, unsigned hashes,
                              struct consign_deb_info **out);
void consign_deb_info_free(struct consign_deb_info *info);

/* A field's value (case-insensitive name), as apt reads it: leading blanks
 * and trailing white space dropped, continuation lines verbatim. NULL if absent. */
const char *consign_deb_info_get(const struct consign_deb_info *info, const char *field);
/* The fields in the control file's order (name and value borrowed); i < count. */
size_t consign_deb_info_count(const struct consign_deb_info *info);
const char *consign_deb_info_name(const struct consign_deb_info *info, size_t i);
const char *consign_deb_info_value(const struct consign_deb_info *info, size_t i);
/* Size in bytes, and the lower-case hex digest of the whole file (NULL when
 * that digest was not computed). */
unsigned long long consign_deb_info_size(const struct consign_deb_info *info);
const char *consign_deb_info_digest(const struct consign_deb_info *info, enum consign_hash_alg alg);

/* Append the Packages stanza (ending with one newline, no blank line) to out:
 * the control fields reordered as apt-ftparchive writes them (apt's
 * TFRewritePackageOrder, then the unknown fields in their order), with
 * Filename, Size and the computed digests among MD5sum, SHA1, SHA256 (and
 * SHA512 when with_sha512) set and
 * Status, Optional and an empty Priority or Section dropped. */
int consign_deb_info_stanza(struct consign_ctx *ctx, const struct consign_deb_info *info,
                            const char *filename, int with_sha512, struct consign_buf *out);

#endif
