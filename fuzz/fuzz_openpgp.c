/* Fuzz target: the OpenPGP pieces that read outside bytes. The first byte
 * picks one: 0 gpg-agent's PKSIGN answer for an RSA key, 1 for an Ed25519
 * key (each parsed value is then written as a signature packet), 2 the text
 * of a cleartext signature (fed in pieces of the second byte's size). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../keys/src/openpgp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The canonical text goes nowhere; its framing is what is exercised. */
static int
sink_none(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    (void)ctx;
    (void)user;
    (void)p;
    (void)n;
    return 0;
}

static void
sexp(const uint8_t *data, size_t size, int algo)
{
    struct consign__pgp_sig sig;
    struct consign__pgp_mpi mpi[2];
    struct consign_ctx ctx;
    struct consign_buf out;
    size_t n = 0;

    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&out, 1u << 16);
    memset(&sig, 0, sizeof(sig));
    sig.pk_algo = (unsigned char)algo;
    if (consign__pgp_sexp_sig(&ctx, data, size, algo, mpi, &n) == 0)
        consign__pgp_sig_packet(&ctx, &sig, (const unsigned char *)"\0\0", mpi, n, &out);
    consign_buf_free(&out);
}

static void
clear(const uint8_t *data, size_t size)
{
    struct consign__pgp_clear c;
    struct consign_ctx ctx;
    struct consign_buf out;
    size_t step, i;

    if (!size)
        return;
    step = data[0] ? data[0] : 1;
    data++;
    size--;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&out, 1u << 20);
    consign__pgp_clear_init(&c, &out, sink_none, NULL);
    for (i = 0; i < size; i += step)
        if (consign__pgp_clear_feed(&ctx, &c, data + i, size - i < step ? size - i : step))
            break;
    consign__pgp_clear_end(&ctx, &c);
    consign_buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!size)
        return 0;
    switch (data[0] % 3) {
    case 0:
        sexp(data + 1, size - 1, CONSIGN__PGP_PK_RSA);
        break;
    case 1:
        sexp(data + 1, size - 1, CONSIGN__PGP_PK_EDDSA);
        break;
    default:
        clear(data + 1, size - 1);
        break;
    }
    return 0;
}
