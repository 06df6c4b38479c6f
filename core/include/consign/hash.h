/* consign core: message digests (streaming). Two backends behind one API:
 * OpenSSL's EVP (hash.c) for consign, Nettle (hash_nettle.c) for the static
 * on-target programs. Backend errors are translated there and never reach callers. */
#ifndef CONSIGN_HASH_H
#define CONSIGN_HASH_H

#include <stddef.h>

#include "consign/error.h"

enum consign_hash_alg {
    CONSIGN_HASH_MD5,
    CONSIGN_HASH_SHA1,
    CONSIGN_HASH_SHA256,
    CONSIGN_HASH_SHA512,
};

#define CONSIGN_HASH_MAX 64 /* bytes of the largest digest (SHA-512) */

struct consign_hash;

/* Digest length in bytes, and the name used in repository indexes ("SHA256"). */
size_t consign_hash_len(enum consign_hash_alg alg);
const char *consign_hash_name(enum consign_hash_alg alg);

int consign_hash_new(struct consign_ctx *ctx, enum consign_hash_alg alg, struct consign_hash **out);
int consign_hash_update(struct consign_ctx *ctx, struct consign_hash *h, const void *p, size_t n);
/* Writes consign_hash_len(alg) bytes to out. The hash may be reused after final (it restarts). */
int consign_hash_final(struct consign_ctx *ctx, struct consign_hash *h,
                       unsigned char out[CONSIGN_HASH_MAX]);
void consign_hash_free(struct consign_hash *h);

/* One-shot helpers. */
int consign_hash_buf(struct consign_ctx *ctx, enum consign_hash_alg alg, const void *p, size_t n,
                     unsigned char out[CONSIGN_HASH_MAX]);
/* Streams the file in fixed-size blocks; never reads it whole. */
int consign_hash_file(struct consign_ctx *ctx, enum consign_hash_alg alg, const char *path,
                      unsigned char out[CONSIGN_HASH_MAX], unsigned long long *size);

/* Lower-case hex of n bytes into out, which must hold 2n+1 chars. */
void consign_hex(const unsigned char *in, size_t n, char *out);

#endif
