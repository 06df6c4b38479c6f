/* consign tufrepo: the signing adapter's interface (tufrepo_crypto.c). */
#ifndef CONSIGN_TUFREPO_INTERNAL_H
#define CONSIGN_TUFREPO_INTERNAL_H

#include <stddef.h>

#include "consign/error.h"

#define CONSIGN_TUFREPO_SIG_LEN 64 /* Ed25519 */

/* A private Ed25519 key (opaque). */
struct consign__tufrepo_sk;

/* Make a new key. */
int consign__tufrepo_sk_generate(struct consign_ctx *ctx, struct consign__tufrepo_sk **out);
/* Load an unencrypted PKCS#8 PEM Ed25519 private key (pem: len bytes).
 * CONSIGN_E_KEY when it is not one. what names it in messages. */
int consign__tufrepo_sk_load(struct consign_ctx *ctx, const char *pem, size_t len, const char *what,
                             struct consign__tufrepo_sk **out);
/* Write the key as PKCS#8 PEM to path, atomically, mode 0600. */
int consign__tufrepo_sk_save(struct consign_ctx *ctx, const struct consign__tufrepo_sk *k,
                             const char *path);
/* The raw public key as 64 lower-case hex digits. */
int consign__tufrepo_sk_public_hex(struct consign_ctx *ctx, const struct consign__tufrepo_sk *k,
                                   char out[65]);
/* The (deterministic) Ed25519 signature of data. */
int consign__tufrepo_sk_sign(struct consign_ctx *ctx, const struct consign__tufrepo_sk *k,
                             const void *data, size_t len,
                             unsigned char sig[CONSIGN_TUFREPO_SIG_LEN]);
void consign__tufrepo_sk_free(struct consign__tufrepo_sk *k);

#endif
