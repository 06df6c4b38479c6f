/* Digest adapter: the only file that talks to OpenSSL's EVP digests (the
 * backend-independent rest is in hash_common.c). */
#include <stdlib.h>

#include <openssl/evp.h>

#include "consign/hash.h"

struct consign_hash {
    enum consign_hash_alg alg;
    EVP_MD_CTX *md;
};

static const EVP_MD *
alg_md(enum consign_hash_alg alg)
{
    switch (alg) {
    case CONSIGN_HASH_MD5:
        return EVP_md5();
    case CONSIGN_HASH_SHA1:
        return EVP_sha1();
    case CONSIGN_HASH_SHA256:
        return EVP_sha256();
    case CONSIGN_HASH_SHA512:
        return EVP_sha512();
    }
    return NULL;
}

int
consign_hash_new(struct consign_ctx *ctx, enum consign_hash_alg alg, struct consign_hash **out)
{
    struct consign_hash *h = NULL;
    const EVP_MD *md = alg_md(alg);
    int rc = 0;

    *out = NULL;
    if (!md) {
        rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "unknown digest algorithm %d", (int)alg);
        goto out;
    }
    h = calloc(1, sizeof(*h));
    if (!h || !(h->md = EVP_MD_CTX_new())) {
        rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
        goto out;
    }
    h->alg = alg;
    if (EVP_DigestInit_ex(h->md, md, NULL) != 1) {
        rc = consign_fail(ctx, CONSIGN_E_CRYPTO, "digest %s unavailable", consign_hash_name(alg));
        goto out;
    }
    *out = h;
    h = NULL;
out:
    consign_hash_free(h);
    return rc;
}

int
consign_hash_update(struct consign_ctx *ctx, struct consign_hash *h, const void *p, size_t n)
{
    if (EVP_DigestUpdate(h->md, p, n) != 1)
        return consign_fail(ctx, CONSIGN_E_CRYPTO, "digest update failed");
    return 0;
}

int
consign_hash_final(struct consign_ctx *ctx, struct consign_hash *h,
                   unsigned char out[CONSIGN_HASH_MAX])
{
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(h->md, out, &n) != 1 ||
        EVP_DigestInit_ex(h->md, alg_md(h->alg), NULL) != 1)
        return consign_fail(ctx, CONSIGN_E_CRYPTO, "digest final failed");
    return 0;
}

void
consign_hash_free(struct consign_hash *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->md);
    free(h);
}
