/* OpenPGP v4 signature packets (RFC 4880 5.2), ASCII armor (6) and the
 * cleartext signature framework (7), written by consign itself so that the
 * signature time is the caller's to choose: gpg-agent only computes the RSA
 * or EdDSA value over a digest we give it. Private to consign_keys; nothing
 * here talks to GnuPG. The output is byte for byte what gpg 2.2 writes for
 * the same key, time and data (old-format packet header, subpackets in gpg's
 * order, no armor Version header). */
#ifndef CONSIGN_KEYS_OPENPGP_H
#define CONSIGN_KEYS_OPENPGP_H

#include <stddef.h>
#include <stdint.h>

#include "consign/buf.h"
#include "consign/error.h"

#define CONSIGN__PGP_SIG_BINARY  0x00 /* signature of a binary document */
#define CONSIGN__PGP_SIG_TEXT    0x01 /* signature of a canonical text document */
#define CONSIGN__PGP_PK_RSA      1
#define CONSIGN__PGP_PK_EDDSA    22
#define CONSIGN__PGP_HASH_SHA512 10
#define CONSIGN__PGP_FPR_LEN     20   /* bytes of a v4 fingerprint */
#define CONSIGN__PGP_MPI_MAX     2048 /* bytes of the largest value taken: RSA-16384 */
#define CONSIGN__PGP_HASHED_LEN  35   /* version .. end of the hashed subpackets */
#define CONSIGN__PGP_TRAILER_LEN 6

/* What a signature says, apart from the values the private key makes. */
struct consign__pgp_sig {
    unsigned char type;                      /* CONSIGN__PGP_SIG_BINARY or CONSIGN__PGP_SIG_TEXT */
    unsigned char pk_algo;                   /* CONSIGN__PGP_PK_RSA or CONSIGN__PGP_PK_EDDSA */
    uint32_t created;                        /* signature creation time, seconds since 1970 */
    unsigned char fpr[CONSIGN__PGP_FPR_LEN]; /* the signing key's fingerprint */
};

/* One value of the signature (RSA s; EdDSA r or s): big-endian bytes, which
 * may start with zeros (the writer strips them). Borrowed, never owned. */
struct consign__pgp_mpi {
    const unsigned char *p;
    size_t n;
};

/* The hashed part of a v4 signature: version, type, algorithms and the hashed
 * subpackets (issuer fingerprint 33, creation time 2). It starts the packet
 * body and is hashed after the data. */
void consign__pgp_sig_hashed(const struct consign__pgp_sig *s,
                             unsigned char out[CONSIGN__PGP_HASHED_LEN]);

/* The trailer hashed last: 0x04 0xff and the hashed part's length. */
void consign__pgp_sig_trailer(unsigned char out[CONSIGN__PGP_TRAILER_LEN]);

/* Append the whole packet: old-format header for tag 2, the hashed part, the
 * unhashed issuer key ID (16), the digest's first two bytes and the values. */
int consign__pgp_sig_packet(struct consign_ctx *ctx, const struct consign__pgp_sig *s,
                            const unsigned char digest[2], const struct consign__pgp_mpi *mpi,
                            size_t nmpi, struct consign_buf *out);

/* Read the values out of gpg-agent's PKSIGN answer, a canonical
 * S-expression: (sig-val (rsa (s S))) for RSA, (sig-val (eddsa (r R) (s S)))
 * for EdDSA. mpi[] points into p. *nmpi is 1 (RSA) or 2 (EdDSA). */
int consign__pgp_sexp_sig(struct consign_ctx *ctx, const void *p, size_t n, int pk_algo,
                          struct consign__pgp_mpi mpi[2], size_t *nmpi);

/* The CRC-24 of RFC 4880 6.1, the armor checksum. */
uint32_t consign__pgp_crc24(const void *p, size_t n);

/* Append n bytes of packets armored as "PGP SIGNATURE": 64 base64 characters
 * a line and the CRC-24 line, without header lines (as gpg 2.2 writes it). */
int consign__pgp_armor(struct consign_ctx *ctx, const void *p, size_t n, struct consign_buf *out);

/* Receives the canonical text a cleartext signature covers (for the hash). */
typedef int (*consign__pgp_sink_fn)(struct consign_ctx *ctx, void *user, const void *p, size_t n);

/* The text of a cleartext signed message, streamed: what is fed is appended
 * to out dash-escaped (lines starting with "-" or "From "), and its canonical
 * form goes to the sink: lines joined by CR LF, trailing spaces, tabs and
 * CRs dropped, no line ending after the last line (RFC 4880 7.1). */
struct consign__pgp_clear {
    struct consign_buf *out;
    consign__pgp_sink_fn sink;
    void *user;
    size_t line_off; /* where the current line starts in out */
    size_t line_len; /* bytes of the current line fed so far */
    size_t blanks;   /* trailing blanks held back: the last bytes of out */
    int in_line;     /* some of the current line has been fed */
    int pending_eol; /* a line ended: its CR LF is hashed when another starts */
    int any;         /* anything was fed */
    size_t staged;   /* bytes waiting in stage for the sink */
    unsigned char stage[4096];
};

void consign__pgp_clear_init(struct consign__pgp_clear *c, struct consign_buf *out,
                             consign__pgp_sink_fn sink, void *user);
/* Append "-----BEGIN PGP SIGNED MESSAGE-----", "Hash: SHA512" and the empty line. */
int consign__pgp_clear_begin(struct consign_ctx *ctx, struct consign__pgp_clear *c);
int consign__pgp_clear_feed(struct consign_ctx *ctx, struct consign__pgp_clear *c, const void *p,
                            size_t n);
/* End the text with a line break (gpg adds one when the text lacks it) and
 * hand the sink what is left; the armored signature follows. */
int consign__pgp_clear_end(struct consign_ctx *ctx, struct consign__pgp_clear *c);

#endif
