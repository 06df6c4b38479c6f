/* Signature adapter: the only file of the TUF client that talks to OpenSSL.
 * Public keys are loaded from their TUF encoding (hex for ed25519, PEM
 * SubjectPublicKeyInfo for ecdsa and rsa) and signatures checked through
 * EVP_DigestVerify. OpenSSL's errors are cleared here and become consign
 * codes; nothing of OpenSSL reaches the callers. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "consign/bytes.h"
#include "tuf_internal.h"

enum scheme {
    SCHEME_ED25519,
    SCHEME_ECDSA_P256,
    SCHEME_RSA_PSS_SHA256,
};

struct consign_tuf_pkey {
    enum scheme scheme;
    EVP_PKEY *pkey;
};

#define RSA_MIN_BITS 2048

/* A public key never has a pass phrase: refuse to prompt for one. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

static EVP_PKEY *
load_pem(const char *pem)
{
    static const char head[] = "-----BEGIN PUBLIC KEY-----";
    EVP_PKEY *pkey = NULL;
    BIO *bio;

    if (strncmp(pem, head, sizeof(head) - 1) != 0)
        return NULL;
    if (!(bio = BIO_new_mem_buf(pem, (int)strlen(pem))))
        return NULL;
    pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    return pkey;
}

static int
key_fail(struct consign_ctx *ctx, const char *why)
{
    ERR_clear_error();
    return consign_fail(ctx, CONSIGN_E_KEY, "%s", why);
}

int
consign__tuf_pkey_load(struct consign_ctx *ctx, const char *keytype, const char *scheme,
                       const char *public_value, struct consign_tuf_pkey **out)
{
    struct consign_tuf_pkey *k = NULL;
    unsigned char raw[32];
    char group[64];
    size_t glen = 0;
    int rc = 0;

    *out = NULL;
    if (strlen(public_value) > CONSIGN_TUF_PUBLIC_MAX) {
        rc = key_fail(ctx, "public key value too long");
        goto out;
    }
    if (!(k = consign_calloc(ctx, 1, sizeof(*k)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if (strcmp(scheme, "ed25519") == 0 && strcmp(keytype, "ed25519") == 0) {
        k->scheme = SCHEME_ED25519;
        if (consign_unhex(public_value, strlen(public_value), raw, sizeof(raw))) {
            rc = key_fail(ctx, "ed25519 public key is not 64 hex digits");
            goto out;
        }
        if (!(k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, sizeof(raw)))) {
            rc = key_fail(ctx, "ed25519 public key refused");
            goto out;
        }
    } else if (strcmp(scheme, "ecdsa-sha2-nistp256") == 0 &&
               (strcmp(keytype, "ecdsa") == 0 || strcmp(keytype, "ecdsa-sha2-nistp256") == 0)) {
        k->scheme = SCHEME_ECDSA_P256;
        if (!(k->pkey = load_pem(public_value)) || !EVP_PKEY_is_a(k->pkey, "EC") ||
            EVP_PKEY_get_utf8_string_param(k->pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                           sizeof(group), &glen) != 1 ||
            strcmp(group, "prime256v1") != 0) {
            rc = key_fail(ctx, "not a PEM NIST P-256 public key");
            goto out;
        }
    } else if (strcmp(scheme, "rsassa-pss-sha256") == 0 && strcmp(keytype, "rsa") == 0) {
        k->scheme = SCHEME_RSA_PSS_SHA256;
        if (!(k->pkey = load_pem(public_value)) || !EVP_PKEY_is_a(k->pkey, "RSA")) {
            rc = key_fail(ctx, "not a PEM RSA public key");
            goto out;
        }
        if (EVP_PKEY_get_bits(k->pkey) < RSA_MIN_BITS) {
            rc = key_fail(ctx, "RSA key shorter than 2048 bits");
            goto out;
        }
    } else {
        rc = consign_fail(ctx, CONSIGN_E_KEY, "unsupported key type '%.32s' with scheme '%.32s'",
                          keytype, scheme);
        goto out;
    }
    *out = k;
    k = NULL;
out:
    ERR_clear_error();
    consign__tuf_pkey_free(k);
    return rc;
}

void
consign__tuf_pkey_free(struct consign_tuf_pkey *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

int
consign__tuf_pkey_equal(const struct consign_tuf_pkey *a, const struct consign_tuf_pkey *b)
{
    int eq = a->scheme == b->scheme && EVP_PKEY_eq(a->pkey, b->pkey) == 1;
    ERR_clear_error();
    return eq;
}

int
consign__tuf_pkey_verify(struct consign_ctx *ctx, const struct consign_tuf_pkey *k,
                         const unsigned char *data, size_t len, const unsigned char *sig,
                         size_t sig_len)
{
    EVP_MD_CTX *md = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    int rc = 0, ok;

    if (!sig || !sig_len)
        return CONSIGN_E_BAD_SIGNATURE;
    if (k->scheme == SCHEME_ED25519 && sig_len != 64)
        return CONSIGN_E_BAD_SIGNATURE;
    if (!(md = EVP_MD_CTX_new())) {
        rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
        goto out;
    }
    ok = EVP_DigestVerifyInit(md, &pctx, k->scheme == SCHEME_ED25519 ? NULL : EVP_sha256(), NULL,
                              k->pkey) == 1;
    if (ok && k->scheme == SCHEME_RSA_PSS_SHA256)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) == 1;
    if (!ok) {
        rc = consign_fail(ctx, CONSIGN_E_CRYPTO, "signature verification could not start");
        goto out;
    }
    /* 1: valid; 0 or a negative value: invalid or malformed (both just do not count). */
    if (EVP_DigestVerify(md, sig, sig_len, data, len) != 1)
        rc = CONSIGN_E_BAD_SIGNATURE;
out:
    ERR_clear_error();
    EVP_MD_CTX_free(md);
    return rc;
}
