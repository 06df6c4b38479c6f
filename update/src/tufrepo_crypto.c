/* Signing adapter: the only file of the repository writer that talks to
 * OpenSSL. Ed25519 private keys are made, stored as unencrypted PKCS#8 PEM
 * (mode 0600, buffers wiped after use) and used for signing. OpenSSL's
 * errors are cleared here and become consign codes. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "consign/buf.h"
#include "consign/fileio.h"
#include "consign/hash.h"

#include "tufrepo_internal.h"

#define PEM_MAX 4096

struct consign__tufrepo_sk {
    EVP_PKEY *pkey;
};

static int
ossl_fail(struct consign_ctx *ctx, int code, const char *why)
{
    ERR_clear_error();
    return consign_fail(ctx, code, "%s", why);
}

/* A key file is never encrypted: refuse to prompt for a pass phrase. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

int
consign__tufrepo_sk_generate(struct consign_ctx *ctx, struct consign__tufrepo_sk **out)
{
    struct consign__tufrepo_sk *k = NULL;
    int rc = 0;

    *out = NULL;
    if (!(k = consign_calloc(ctx, 1, sizeof(*k)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if (!(k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"))) {
        rc = ossl_fail(ctx, CONSIGN_E_CRYPTO, "Ed25519 key generation failed");
        goto out;
    }
    *out = k;
    k = NULL;
out:
    ERR_clear_error();
    consign__tufrepo_sk_free(k);
    return rc;
}

int
consign__tufrepo_sk_load(struct consign_ctx *ctx, const char *pem, size_t len, const char *what,
                         struct consign__tufrepo_sk **out)
{
    struct consign__tufrepo_sk *k = NULL;
    BIO *bio = NULL;
    int rc = 0;

    *out = NULL;
    if (len > PEM_MAX) {
        rc = consign_fail(ctx, CONSIGN_E_KEY, "%s: too large for an Ed25519 key", what);
        goto out;
    }
    if (!(k = consign_calloc(ctx, 1, sizeof(*k)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if (!(bio = BIO_new_mem_buf(pem, (int)len))) {
        rc = ossl_fail(ctx, CONSIGN_E_NOMEM, "out of memory");
        goto out;
    }
    if (!(k->pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)) ||
        !EVP_PKEY_is_a(k->pkey, "ED25519")) {
        ERR_clear_error();
        rc = consign_fail(ctx, CONSIGN_E_KEY, "%s: not an unencrypted Ed25519 private key", what);
        goto out;
    }
    *out = k;
    k = NULL;
out:
    ERR_clear_error();
    BIO_free(bio);
    consign__tufrepo_sk_free(k);
    return rc;
}

int
consign__tufrepo_sk_save(struct consign_ctx *ctx, const struct consign__tufrepo_sk *k,
                         const char *path)
{
    BIO *bio = NULL;
    char *p = NULL;
    long n;
    int rc = 0;

    if (!(bio = BIO_new(BIO_s_secmem())) ||
        PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL) != 1) {
        rc = ossl_fail(ctx, CONSIGN_E_CRYPTO, "could not encode the private key");
        goto out;
    }
    n = BIO_get_mem_data(bio, &p);
    if (n <= 0 || !p) {
        rc = ossl_fail(ctx, CONSIGN_E_CRYPTO, "could not encode the private key");
        goto out;
    }
    rc = consign_file_write_atomic(ctx, path, p, (size_t)n, 0600);
out:
    ERR_clear_error();
    BIO_free(bio); /* secure memory: wiped */
    return rc;
}

int
consign__tufrepo_sk_public_hex(struct consign_ctx *ctx, const struct consign__tufrepo_sk *k,
                               char out[65])
{
    unsigned char raw[32];
    size_t n = sizeof(raw);

    if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &n) != 1 || n != sizeof(raw))
        return ossl_fail(ctx, CONSIGN_E_CRYPTO, "could not read the Ed25519 public key");
    consign_hex(raw, sizeof(raw), out);
    return 0;
}

int
consign__tufrepo_sk_sign(struct consign_ctx *ctx, const struct consign__tufrepo_sk *k,
                         const void *data, size_t len, unsigned char sig[CONSIGN_TUFREPO_SIG_LEN])
{
    EVP_MD_CTX *md = NULL;
    size_t n = CONSIGN_TUFREPO_SIG_LEN;
    int rc = 0;

    if (!(md = EVP_MD_CTX_new())) {
        rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
        goto out;
    }
    if (EVP_DigestSignInit(md, NULL, NULL, NULL, k->pkey) != 1 ||
        EVP_DigestSign(md, sig, &n, data, len) != 1 || n != CONSIGN_TUFREPO_SIG_LEN) {
        rc = ossl_fail(ctx, CONSIGN_E_CRYPTO, "Ed25519 signing failed");
        goto out;
    }
out:
    ERR_clear_error();
    EVP_MD_CTX_free(md);
    return rc;
}

void
consign__tufrepo_sk_free(struct consign__tufrepo_sk *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}
