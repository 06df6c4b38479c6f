/* Shared between the rpm writer's files. */
#ifndef CONSIGN_RPM_PRIVATE_H
#define CONSIGN_RPM_PRIVATE_H

#include "consign/hash.h"
#include "consign/pkg.h"

/* The compressed cpio payload, kept in an unlinked temporary file. */
struct consign__rpm_payload {
    int fd;                      /* read/write, at offset len when written */
    unsigned long long len;      /* compressed bytes */
    unsigned long long cpio_len; /* uncompressed bytes (PAYLOADSIZE) */
    char sha256[2 * 32 + 1];     /* hex of the compressed bytes (PAYLOADDIGEST) */
    const char *compressor;      /* PAYLOADCOMPRESSOR */
    const char *flags;           /* PAYLOADFLAGS: the compression level */
};

/* Does the rpm list this entry? Only the directories the package owns. */
int consign__rpm_listed(const struct consign_pkg_entry *e);

/* Write the payload of pkg to a new unlinked temporary file in dir. Every
 * listed entry goes in as "./path", in the package's (sorted) order, with
 * inode number = its 1-based position among the listed entries; the SHA-256
 * of each file's bytes is stored into its entry as they are archived. */
int consign__rpm_payload_write(struct consign_ctx *ctx, struct consign_pkg *pkg, const char *dir,
                               struct consign__rpm_payload *out);

#endif
