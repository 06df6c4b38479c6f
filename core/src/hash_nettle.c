/* Digest adapter for the static on-target programs (consign_core_static):
 * the same consign/hash.h as hash.c, through Nettle instead of OpenSSL, so a
 * -static executable needs only libnettle.a. Debian builds Nettle "fat": the
 * SHA-NI and other CPU-specific code is picked at startup, also when static.
 * Nettle's digests cannot fail; nothing here reaches callers as an error but
 * allocation and an unknown algorithm. */
#include <stdlib.h>

#include <nettle/md5.h>
#include <nettle/nettle-meta.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include "consign/hash.h"

struct consign_hash {
    const struct nettle_hash *nh;
    union {
        struct md5_ctx md5;
        struct sha1_ctx sha1;
        struct sha256_ctx sha256;
        struct sha512_ctx sha512;
    } u;
};

static const struct nettle_hash *
alg_hash(enum consign_hash_alg alg)
{
    switch (alg) {
    case CONSIGN_HASH_MD5:
        return &nettle_md5;
    case CONSIGN_HASH_SHA1:
        return &nettle_sha1;
    case CONSIGN_HASH_SHA256:
        return &nettle_sha256;
    case CONSIGN_HASH_SHA512:
        return &nettle_sha512;
    }
    return NULL;
}

int
consign_hash_new(struct consign_ctx *ctx, enum consign_hash_alg alg, struct consign_hash **out)
{
    struct consign_hash *h = NULL;
    const struct nettle_hash *nh = alg_hash(alg);
    int rc = 0;

    *out = NULL;
    if (!nh) {
        rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "unknown digest algorithm %d", (int)alg);
        goto out;
    }
    if (!(h = calloc(1, sizeof(*h)))) {
        rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
        goto out;
    }
    h->nh = nh;
    nh->init(&h->u);
    *out = h;
    h = NULL;
out:
    consign_hash_free(h);
    return rc;
}

int
consign_hash_update(struct consign_ctx *ctx, struct consign_hash *h, const void *p, size_t n)
{
    (void)ctx;
    if (n)
        h->nh->update(&h->u, n, p);
    return 0;
}

/* Nettle's digest call also re-initialises the context, as hash.h promises. */
int
consign_hash_final(struct consign_ctx *ctx, struct consign_hash *h,
                   unsigned char out[CONSIGN_HASH_MAX])
{
    (void)ctx;
    h->nh->digest(&h->u, h->nh->digest_size, out);
    return 0;
}

void
consign_hash_free(struct consign_hash *h)
{
    free(h);
}
