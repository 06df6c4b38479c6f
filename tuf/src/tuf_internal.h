/* consign tuf: what the metadata, crypto and client parts share. */
#ifndef CONSIGN_TUF_INTERNAL_H
#define CONSIGN_TUF_INTERNAL_H

#include <stddef.h>

#include "consign/error.h"
#include "consign/tuf.h"

/* The longest public key value accepted (a PEM RSA-8192 key is about 1.4 KiB). */
#define CONSIGN_TUF_PUBLIC_MAX 16384

/* Load a key for one of the supported schemes. CONSIGN_E_KEY (with the
 * reason) when the type, the scheme or the key material is unusable;
 * CONSIGN_E_NOMEM. OpenSSL's error queue is left empty. */
int consign__tuf_pkey_load(struct consign_ctx *ctx, const char *keytype, const char *scheme,
                           const char *public_value, struct consign_tuf_pkey **out);
void consign__tuf_pkey_free(struct consign_tuf_pkey *k);

/* Do a and b hold the same public key? */
int consign__tuf_pkey_equal(const struct consign_tuf_pkey *a, const struct consign_tuf_pkey *b);

/* 0 if sig is k's valid signature of data, CONSIGN_E_BAD_SIGNATURE if not
 * (no message recorded), CONSIGN_E_NOMEM or CONSIGN_E_CRYPTO otherwise. */
int consign__tuf_pkey_verify(struct consign_ctx *ctx, const struct consign_tuf_pkey *k,
                             const unsigned char *data, size_t len, const unsigned char *sig,
                             size_t sig_len);

#endif
