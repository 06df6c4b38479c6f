/* Fuzz target: OpenPGP keyring lookup and signature verification together.
 * Input: 2 bytes, big-endian, the keyring's length (cut to what there is);
 * 1 byte of flags (bit 0: the next 20 bytes are the fingerprint to find,
 * else the first primary key is taken; bit 1: the data is streamed, in
 * pieces of (flags >> 2) + 1 bytes); the keyring; the signature, the rest.
 * The signed data is fixed, so the seeds, real gpg signatures of it, verify
 * and every check down to the public-key operation is reached. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "consign/pgpverify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char signed_data[] = "consign pgpverify fuzz data\n";

struct pieces {
    size_t off, step;
};

/* Hands out signed_data step bytes at a time. */
static int
read_pieces(struct consign_ctx *ctx, void *user, void *buf, size_t n, size_t *got)
{
    struct pieces *p = user;
    size_t left = sizeof(signed_data) - 1 - p->off, k = p->step < n ? p->step : n;

    (void)ctx;
    if (k > left)
        k = left;
    memcpy(buf, signed_data + p->off, k);
    p->off += k;
    *got = k;
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct consign_pgp_key *key = NULL;
    struct consign_pgp_sig_info info;
    const unsigned char *fpr = NULL;
    struct consign_ctx ctx;
    struct pieces pc;
    size_t ringlen;
    unsigned flags;

    if (size < 3)
        return 0;
    ringlen = (size_t)data[0] << 8 | data[1];
    flags = data[2];
    data += 3;
    size -= 3;
    if (flags & 1) {
        if (size < CONSIGN_PGP_FPR_LEN)
            return 0;
        fpr = data;
        data += CONSIGN_PGP_FPR_LEN;
        size -= CONSIGN_PGP_FPR_LEN;
    }
    if (ringlen > size)
        ringlen = size;
    consign_ctx_init(&ctx, NULL, NULL);
    if (consign_pgp_keyring_find(&ctx, data, ringlen, fpr, &key) != 0)
        return 0;
    if (flags & 2) {
        pc.off = 0;
        pc.step = (flags >> 2) + 1;
        consign_pgp_verify_stream(&ctx, key, data + ringlen, size - ringlen, read_pieces, &pc,
                                  &info);
    } else {
        consign_pgp_verify(&ctx, key, data + ringlen, size - ringlen, signed_data,
                           sizeof(signed_data) - 1, &info);
    }
    consign_pgp_key_free(key);
    return 0;
}
