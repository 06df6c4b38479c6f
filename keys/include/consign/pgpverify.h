/* consign keys: OpenPGP signature verification (RFC 4880, RFC 9580), for the
 * programs that run on customers' hosts, which are linked -static, as well as
 * for the consign front end. Nettle, Hogweed and GMP do the cryptography
 * (their failures are translated here); nothing here runs GnuPG or uses
 * OpenSSL, and only consign_core_min is needed besides.
 *
 * What is checked: one v4 detached signature of a binary document (type
 * 0x00), SHA-256, SHA-384 or SHA-512, by a v4 RSA key of 2048 bits or more
 * (PKCS#1 v1.5) or an Ed25519 key (EdDSA legacy, algorithm 22, or RFC 9580's
 * algorithm 27). The key is the trust anchor: the caller names it by its
 * fingerprint, pinned in the program. Self-signatures, key flags, key expiry
 * and revocations in the keyring are not consulted; a signature expiry
 * (subpacket 3) is. GMP aborts the process if it runs out of memory. */
#ifndef CONSIGN_PGPVERIFY_H
#define CONSIGN_PGPVERIFY_H

#include <stddef.h>

#include "consign/error.h"

#define CONSIGN_PGP_FPR_LEN 20 /* bytes of a v4 fingerprint; 40 hex digits */

/* Public-key and hash algorithm numbers (RFC 9580 9.1, 9.5). */
enum consign_pgp_algo {
    CONSIGN_PGP_PK_RSA = 1,
    CONSIGN_PGP_PK_RSA_S = 3,  /* RSA sign-only: verified as RSA */
    CONSIGN_PGP_PK_EDDSA = 22, /* EdDSA legacy, curve Ed25519 only */
    CONSIGN_PGP_PK_ED25519 = 27,
    CONSIGN_PGP_HASH_SHA256 = 8,
    CONSIGN_PGP_HASH_SHA384 = 9,
    CONSIGN_PGP_HASH_SHA512 = 10,
};

/* One public key (primary or subkey) taken out of a keyring. */
struct consign_pgp_key;

/* Find the v4 key (primary key or subkey) whose fingerprint is fpr in ring:
 * a transferable public key or several (what "gpg --export" writes), binary
 * or ASCII-armored ("PGP PUBLIC KEY BLOCK"), starting with a public key
 * packet. fpr NULL: the first v4 primary key. Old- and new-format packet
 * headers; partial and indeterminate lengths are refused. Packets other than
 * keys are skipped, other keys are read no further than their fingerprint,
 * and nothing after the key sought is read.
 * Errors: CONSIGN_E_SYNTAX (malformed ring), CONSIGN_E_NOTFOUND (no such
 * key), CONSIGN_E_KEY (found, but of another algorithm or curve, or RSA
 * smaller than 2048 bits). Free *out with consign_pgp_key_free. */
int consign_pgp_keyring_find(struct consign_ctx *ctx, const void *ring, size_t n,
                             const unsigned char fpr[CONSIGN_PGP_FPR_LEN],
                             struct consign_pgp_key **out);

/* The key's v4 fingerprint: SHA-1 over 0x99, the 2-byte length and the body. */
void consign_pgp_key_fpr(const struct consign_pgp_key *k, unsigned char fpr[CONSIGN_PGP_FPR_LEN]);

/* The key's public-key algorithm (enum consign_pgp_algo) and size in bits
 * (RSA: the modulus; Ed25519: 256). */
int consign_pgp_key_algo(const struct consign_pgp_key *k);
unsigned consign_pgp_key_bits(const struct consign_pgp_key *k);

/* Accepts NULL. */
void consign_pgp_key_free(struct consign_pgp_key *k);

/* A fingerprint as 40 upper-case hex digits (consign_keys_fpr_group groups them). */
void consign_pgp_fpr_hex(const unsigned char fpr[CONSIGN_PGP_FPR_LEN],
                         char out[2 * CONSIGN_PGP_FPR_LEN + 1]);

/* What a verified signature says. */
struct consign_pgp_sig_info {
    long long created;                             /* signature time, seconds since 1970 */
    int hash_algo;                                 /* CONSIGN_PGP_HASH_* */
    int pk_algo;                                   /* CONSIGN_PGP_PK_* */
    unsigned char issuer_fpr[CONSIGN_PGP_FPR_LEN]; /* the key that made it */
};

/* Verify sig, exactly one v4 signature packet, binary or ASCII-armored ("PGP
 * SIGNATURE"; the CRC-24 line, when present, must match), over the datalen
 * bytes at data (NULL when datalen is 0) with key k. The signature's issuer
 * fingerprint (subpacket 33) and issuer key ID (16), wherever present, must
 * all name k; one of them must be. info may be NULL; it is written only when
 * 0 is returned.
 * Errors: CONSIGN_E_SYNTAX (malformed, not a binary-document v4 signature,
 * trailing data), CONSIGN_E_UNTRUSTED (made by another key, or naming none;
 * the message names both fingerprints), CONSIGN_E_KEY (MD5, SHA-1 or another
 * unsupported hash), CONSIGN_E_EXPIRED (the signature's own expiry has
 * passed), CONSIGN_E_BAD_SIGNATURE (does not match the data, a public-key
 * algorithm other than the key's, or an unknown critical hashed subpacket). */
int consign_pgp_verify(struct consign_ctx *ctx, const struct consign_pgp_key *k, const void *sig,
                       size_t siglen, const void *data, size_t datalen,
                       struct consign_pgp_sig_info *info);

/* Supplies the data a streamed verification covers: stores up to n bytes in
 * buf and their number in *got (0 at the end); returns 0 or an error code
 * (recorded in ctx), which then becomes the verification's result. */
typedef int (*consign_pgp_read_fn)(struct consign_ctx *ctx, void *user, void *buf, size_t n,
                                   size_t *got);

/* consign_pgp_verify over data too large to hold in memory, read through
 * read; the signature is parsed and checked before the first read. */
int consign_pgp_verify_stream(struct consign_ctx *ctx, const struct consign_pgp_key *k,
                              const void *sig, size_t siglen, consign_pgp_read_fn read, void *user,
                              struct consign_pgp_sig_info *info);

#endif
