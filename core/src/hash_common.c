/* The parts of consign/hash.h that do not depend on the digest library:
 * lengths, names, the one-shot helpers and hex. Shared by the OpenSSL
 * backend (hash.c, in consign_core) and the Nettle one (hash_nettle.c, in
 * consign_core_static); each backend supplies new/update/final/free. */
#include "consign/fileio.h"
#include "consign/hash.h"

size_t
consign_hash_len(enum consign_hash_alg alg)
{
    switch (alg) {
    case CONSIGN_HASH_MD5:
        return 16;
    case CONSIGN_HASH_SHA1:
        return 20;
    case CONSIGN_HASH_SHA256:
        return 32;
    case CONSIGN_HASH_SHA512:
        return 64;
    }
    return 0;
}

const char *
consign_hash_name(enum consign_hash_alg alg)
{
    switch (alg) {
    case CONSIGN_HASH_MD5:
        return "MD5Sum";
    case CONSIGN_HASH_SHA1:
        return "SHA1";
    case CONSIGN_HASH_SHA256:
        return "SHA256";
    case CONSIGN_HASH_SHA512:
        return "SHA512";
    }
    return "?";
}

int
consign_hash_buf(struct consign_ctx *ctx, enum consign_hash_alg alg, const void *p, size_t n,
                 unsigned char out[CONSIGN_HASH_MAX])
{
    struct consign_hash *h = NULL;
    int rc;

    if ((rc = consign_hash_new(ctx, alg, &h)))
        goto out;
    if ((rc = consign_hash_update(ctx, h, p, n)))
        goto out;
    rc = consign_hash_final(ctx, h, out);
out:
    consign_hash_free(h);
    return rc;
}

static int
hash_block(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    return consign_hash_update(ctx, user, p, n);
}

int
consign_hash_file(struct consign_ctx *ctx, enum consign_hash_alg alg, const char *path,
                  unsigned char out[CONSIGN_HASH_MAX], unsigned long long *size)
{
    struct consign_hash *h = NULL;
    int rc;

    if ((rc = consign_hash_new(ctx, alg, &h)) ||
        (rc = consign_file_stream(ctx, path, hash_block, h, size)))
        goto out;
    rc = consign_hash_final(ctx, h, out);
out:
    consign_hash_free(h);
    return rc;
}

void
consign_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}
