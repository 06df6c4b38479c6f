/* OpenPGP signature verification (see consign/pgpverify.h): packet and armor
 * parsing of our own, every length checked against what remains, and the
 * cryptography through Nettle/Hogweed, whose results are translated here. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nettle/bignum.h>
#include <nettle/eddsa.h>
#include <nettle/nettle-meta.h>
#include <nettle/rsa.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include "consign/bytes.h"
#include "consign/pgpverify.h"
#include "openpgp.h"

#define TAG_SIGNATURE     2
#define TAG_PUBLIC_KEY    6
#define TAG_PUBLIC_SUBKEY 14
#define SUBPKT_CREATED    2
#define SUBPKT_EXPIRES    3
#define SUBPKT_ISSUER     16
#define SUBPKT_ISSUER_FPR 33
#define KEYID_LEN         8
#define ED25519_LEN       32
#define RSA_MIN_BITS      2048
#define RSA_MAX_BITS      16384 /* the largest RSA key consign signs with */
#define RSA_MAX_E_BITS    64    /* real keys use 65537; a huge e only costs time */
#define READ_CHUNK        (64u << 10)

/* 1.3.6.1.4.1.11591.15.1, the curve of an EdDSA legacy key, DER without tag and length. */
static const unsigned char oid_ed25519[] = {0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01};

/* The DER prefix of a SHA-384 DigestInfo (RFC 8017 9.2): Hogweed has no
 * rsa_sha384_verify_digest, so SHA-384 goes through rsa_pkcs1_verify. */
static const unsigned char sha384_info[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                            0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                            0x02, 0x05, 0x00, 0x04, 0x30};

struct consign_pgp_key {
    int algo;
    unsigned bits;
    unsigned char fpr[CONSIGN_PGP_FPR_LEN];
    int rsa_init;
    struct rsa_public_key rsa;
    unsigned char ed[ED25519_LEN];
};

/* What remains to be read of a packet or area. */
struct rd {
    const unsigned char *p;
    size_t n;
};

/* Who a signature says made it, when that is not the key checked against. */
enum issuer {
    ISSUER_NONE,
    ISSUER_FPR,     /* a v4 fingerprint, in other_fpr */
    ISSUER_KEYID,   /* a key ID, in other_fpr[0..7] */
    ISSUER_VERSION, /* a fingerprint of another key version, other_version */
};

/* A parsed signature packet; pointers into the caller's (or dearmored) bytes. */
struct sig {
    int pk_algo;
    int hash_algo;
    const unsigned char *hashed; /* version .. end of the hashed subpackets */
    size_t hashed_len;
    unsigned char left16[2];
    struct rd values; /* the algorithm-specific values */
    uint32_t created;
    int has_created;
    uint32_t expires; /* seconds after created; 0: never */
    int has_expires;
    int critical; /* type of the first unknown critical hashed subpacket, or 0 */
    /* Issuers: how many are named, and the first that is not the key. */
    int issuers;
    enum issuer other;
    int other_version;
    unsigned char other_fpr[CONSIGN_PGP_FPR_LEN];
};

/* Data fed to the digest: a buffer, or a reader. */
struct source {
    const unsigned char *data;
    size_t len;
    consign_pgp_read_fn read;
    void *user;
};

static int
rd_take(struct rd *r, size_t k, const unsigned char **out)
{
    if (k > r->n)
        return -1;
    *out = r->p;
    r->p += k;
    r->n -= k;
    return 0;
}

static int
rd_u8(struct rd *r, unsigned *v)
{
    const unsigned char *p;

    if (rd_take(r, 1, &p))
        return -1;
    *v = p[0];
    return 0;
}

static int
rd_u16(struct rd *r, size_t *v)
{
    const unsigned char *p;

    if (rd_take(r, 2, &p))
        return -1;
    *v = (size_t)p[0] << 8 | p[1];
    return 0;
}

/* An MPI (RFC 9580 3.2): a bit count, then its bytes. The value comes back
 * without leading zero bytes; a value longer than its count is malformed. */
static int
rd_mpi(struct rd *r, const unsigned char **v, size_t *n)
{
    const unsigned char *p;
    size_t bits, len;

    if (rd_u16(r, &bits) || rd_take(r, (bits + 7) / 8, &p))
        return -1;
    len = (bits + 7) / 8;
    if (bits % 8 && len && p[0] >> (bits % 8))
        return -1;
    while (len && !p[0]) {
        p++;
        len--;
    }
    *v = p;
    *n = len;
    return 0;
}

/* Upper-case hex, as gpg shows fingerprints and key IDs. */
static void
hex_upper(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void
consign_pgp_fpr_hex(const unsigned char fpr[CONSIGN_PGP_FPR_LEN],
                    char out[2 * CONSIGN_PGP_FPR_LEN + 1])
{
    hex_upper(fpr, CONSIGN_PGP_FPR_LEN, out);
}

/* ---- ASCII armor (RFC 9580 6) ---- */

static int
is_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
b64_value(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Armored input starts, after blank space, with a "-----BEGIN " line. */
static int
is_armored(const unsigned char *p, size_t n)
{
    static const char begin[] = "-----BEGIN ";

    while (n && is_blank(*p)) {
        p++;
        n--;
    }
    return n >= sizeof(begin) - 1 && memcmp(p, begin, sizeof(begin) - 1) == 0;
}

/* The next line at r, without its line ending and trailing blanks. */
static int
next_line(struct rd *r, const unsigned char **line, size_t *len)
{
    const unsigned char *nl;
    size_t k;

    if (!r->n)
        return -1;
    nl = memchr(r->p, '\n', r->n);
    k = nl ? (size_t)(nl - r->p) : r->n;
    *line = r->p;
    r->p += k + (nl != NULL);
    r->n -= k + (nl != NULL);
    while (k && is_blank((*line)[k - 1]))
        k--;
    *len = k;
    return 0;
}

static int
line_is(const unsigned char *line, size_t len, const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);

    return len == la + lb + lc && memcmp(line, a, la) == 0 && memcmp(line + la, b, lb) == 0 &&
           memcmp(line + la + lb, c, lc) == 0;
}

/* Base64 characters of one line into out: four at a time, '=' padding only
 * at the very end of the data. */
static int
b64_line(const unsigned char *line, size_t len, unsigned char *out, size_t *o, uint32_t *acc,
         size_t *nchars, size_t *npad)
{
    size_t i;
    int v;

    for (i = 0; i < len; i++) {
        if (line[i] == '=') {
            (*npad)++;
            continue;
        }
        if (*npad || (v = b64_value(line[i])) < 0)
            return -1;
        *acc = *acc << 6 | (uint32_t)v;
        if (++*nchars % 4 == 0) {
            out[(*o)++] = (unsigned char)(*acc >> 16);
            out[(*o)++] = (unsigned char)(*acc >> 8);
            out[(*o)++] = (unsigned char)*acc;
            *acc = 0;
        }
    }
    return 0;
}

/* Decode an armored block labelled label ("PGP SIGNATURE"): header lines up to
 * an empty line, base64, an optional "=" CRC-24 line that must match, the END
 * line and nothing but blank space after it. *out is malloc'ed. */
static int
dearmor(struct consign_ctx *ctx, const unsigned char *in, size_t n, const char *what,
        const char *label, unsigned char **out, size_t *outlen)
{
    struct rd r = {in, n};
    const unsigned char *line;
    unsigned char *buf = NULL, crc[3] = {0};
    size_t len, o = 0, nchars = 0, npad = 0, crcpad = 0, crcchars = 0, crco = 0;
    uint32_t acc = 0, crcacc = 0, want;
    int rc = 0, have_crc = 0;

    *out = NULL;
    *outlen = 0;
    do {
        if (next_line(&r, &line, &len))
            goto bad;
    } while (!len);
    if (!line_is(line, len, "-----BEGIN ", label, "-----")) {
        rc = consign_fail(ctx, CONSIGN_E_SYNTAX, "%s: armor is not a '%s' block", what, label);
        goto out;
    }
    /* Header lines ("Version: ...", "Comment: ...") end at an empty line. */
    for (;;) {
        if (next_line(&r, &line, &len))
            goto bad;
        if (!len)
            break;
        if (!memchr(line, ':', len))
            goto bad;
    }
    if (!(buf = malloc(r.n / 4 * 3 + 3))) {
        rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
        goto out;
    }
    for (;;) {
        if (next_line(&r, &line, &len))
            goto bad;
        if (len && line[0] == '-')
            break;
        if (have_crc)
            goto bad;
        if (len == 5 && line[0] == '=') {
            if (b64_line(line + 1, 4, crc, &crco, &crcacc, &crcchars, &crcpad) || crco != 3)
                goto bad;
            have_crc = 1;
        } else if (b64_line(line, len, buf, &o, &acc, &nchars, &npad)) {
            goto bad;
        }
    }
    if (!line_is(line, len, "-----END ", label, "-----"))
        goto bad;
    while (r.n && is_blank(*r.p)) {
        r.p++;
        r.n--;
    }
    if (r.n || (nchars + npad) % 4 || npad > 2)
        goto bad;
    /* The last, padded group: 2 characters give 1 byte, 3 give 2. */
    if (npad == 2) {
        buf[o++] = (unsigned char)(acc >> 4);
    } else if (npad == 1) {
        buf[o++] = (unsigned char)(acc >> 10);
        buf[o++] = (unsigned char)(acc >> 2);
    }
    want = (uint32_t)crc[0] << 16 | (uint32_t)crc[1] << 8 | crc[2];
    if (have_crc && consign__pgp_crc24(buf, o) != want) {
        rc = consign_fail(ctx, CONSIGN_E_SYNTAX, "%s: armor checksum does not match", what);
        goto out;
    }
    *out = buf;
    *outlen = o;
    buf = NULL;
    goto out;
bad:
    rc = consign_fail(ctx, CONSIGN_E_SYNTAX, "%s: malformed ASCII armor", what);
out:
    free(buf);
    return rc;
}

/* ---- packets ---- */

/* One packet at r (old or new header format, definite lengths only; RFC
 * 9580 4.2): its tag and body. start locates the offset in messages. */
static int
next_packet(struct consign_ctx *ctx, struct rd *r, const unsigned char *start, const char *what,
            unsigned *tag, struct rd *body)
{
    size_t off = (size_t)(r->p - start), len = 0, i, k;
    const unsigned char *p;
    unsigned b, o1;

    if (rd_u8(r, &b))
        goto truncated;
    if (!(b & 0x80))
        return consign_fail(ctx, CONSIGN_E_SYNTAX, "%s: byte %zu: not an OpenPGP packet", what,
                            off);
    if (b & 0x40) {
        *tag = b & 0x3f;
        if (rd_u8(r, &o1))
            goto truncated;
        if (o1 < 192) {
            len = o1;
        } else if (o1 < 224) {
            if (rd_take(r, 1, &p))
                goto truncated;
            len = ((size_t)(o1 - 192) << 8) + p[0] + 192;
        } else if (o1 == 255) {
            if (rd_take(r, 4, &p))
                goto truncated;
            len = consign_get_be32(p);
        } else {
            return consign_fail(ctx, CONSIGN_E_SYNTAX,
                                "%s: byte %zu: partial body lengths are not allowed here", what,
                                off);
        }
    } else {
        *tag = b >> 2 & 15;
        if ((b & 3) == 3)
            return consign_fail(ctx, CONSIGN_E_SYNTAX,
                                "%s: byte %zu: indeterminate length is not allowed here", what,
                                off);
        k = (size_t)1 << (b & 3);
        if (rd_take(r, k, &p))
            goto truncated;
        for (i = 0; i < k; i++)
            len = len << 8 | p[i];
    }
    if (*tag == 0)
        return consign_fail(ctx, CONSIGN_E_SYNTAX, "%s: byte %zu: packet tag 0", what, off);
    if (rd_take(r, len, &p))
        goto truncated;
    body->p = p;
    body->n = len;
    return 0;
truncated:
    return consign_fail(ctx, CONSIGN_E_SYNTAX, "%s: byte %zu: packet truncated", what, off);
}

/* ---- keys ---- */

/* A v4 key's fingerprint: SHA-1 over 0x99, the body's 2-byte length, the body. */
static void
key_fpr(const unsigned char *body, size_t n, unsigned char fpr[CONSIGN_PGP_FPR_LEN])
{
    struct sha1_ctx h;
    unsigned char hdr[3] = {0x99, (unsigned char)(n >> 8), (unsigned char)n};

    sha1_init(&h);
    sha1_update(&h, sizeof(hdr), hdr);
    sha1_update(&h, n, body);
    sha1_digest(&h, CONSIGN_PGP_FPR_LEN, fpr);
}

/* The RSA values n and e, within what Hogweed and this verifier accept. */
static int
key_rsa(struct consign_ctx *ctx, struct rd *r, struct consign_pgp_key *k, const char *hex)
{
    const unsigned char *n, *e;
    size_t nn, en;

    if (rd_mpi(r, &n, &nn) || rd_mpi(r, &e, &en) || r->n)
        return consign_fail(ctx, CONSIGN_E_SYNTAX, "key %s: malformed RSA key", hex);
    rsa_public_key_init(&k->rsa);
    k->rsa_init = 1;
    nettle_mpz_set_str_256_u(k->rsa.n, nn, n);
    nettle_mpz_set_str_256_u(k->rsa.e, en, e);
    k->bits = nn ? (unsigned)mpz_sizeinbase(k->rsa.n, 2) : 0;
    if (k->bits < RSA_MIN_BITS || k->bits > RSA_MAX_BITS)
        return consign_fail(ctx, CONSIGN_E_KEY,
                            "key %s: RSA key of %u bits; %d to %d bits are supported", hex, k->bits,
                            RSA_MIN_BITS, RSA_MAX_BITS);
    if (en * 8 > RSA_MAX_E_BITS || mpz_cmp_ui(k->rsa.e, 3) < 0 || mpz_even_p(k->rsa.e))
        return consign_fail(ctx, CONSIGN_E_KEY, "key %s: unusable RSA public exponent", hex);
    if (!rsa_public_key_prepare(&k->rsa))
        return consign_fail(ctx, CONSIGN_E_KEY, "key %s: unusable RSA modulus", hex);
    return 0;
}

/* An EdDSA legacy key: the curve's OID, which must be Ed25519's, and the
 * point as an MPI in native form (0x40, then 32 bytes). */
static int
key_eddsa(struct consign_ctx *ctx, struct rd *r, struct consign_pgp_key *k, const char *hex)
{
    const unsigned char *oid, *q;
    unsigned oidlen;
    size_t qn;

    if (rd_u8(r, &oidlen) || oidlen == 0 || oidlen == 0xff || rd_take(r, oidlen, &oid))
        return consign_fail(ctx, CONSIGN_E_SYNTAX, "key %s: malformed EdDSA key", hex);
    if (oidlen != sizeof(oid_ed25519) || memcmp(oid, oid_ed25519, oidlen) != 0)
        return consign_fail(ctx, CONSIGN_E_KEY,
                            "key %s: EdDSA key on a curve other than Ed25519; not supported", hex);
    if (rd_mpi(r, &q, &qn) || r->n || qn != ED25519_LEN + 1 || q[0] != 0x40)
        return consign_fail(ctx, CONSIGN_E_SYNTAX, "key %s: malformed Ed25519 point", hex);
    memcpy(k->ed, q + 1, ED25519_LEN);
    k->bits = 256;
    return 0;
}

/* The key material of a v4 key packet whose fingerprint is already known. */
static int
key_parse(struct consign_ctx *ctx, const struct rd *body,
          const unsigned char fpr[CONSIGN_PGP_FPR_LEN], struct consign_pgp_key **out)
{
    struct consign_pgp_key *k = NULL;
    struct rd r = *body;
    const unsigned char *p;
    char hex[2 * CONSIGN_PGP_FPR_LEN + 1];
    unsigned algo;
    int rc = 0;

    consign_pgp_fpr_hex(fpr, hex);
    if (!(k = calloc(1, sizeof(*k)))) {
        rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
        goto out;
    }
    memcpy(k->fpr, fpr, CONSIGN_PGP_FPR_LEN);
    /* Version (4, checked by the caller) and creation time. */
    if (rd_take(&r, 5, &p) || rd_u8(&r, &algo)) {
        rc = consign_fail(ctx, CONSIGN_E_SYNTAX, "key %s: truncated", hex);
        goto out;
    }
    k->algo = (int)algo;
    switch (algo) {
    case CONSIGN_PGP_PK_RSA:
    case CONSIGN_PGP_PK_RSA_S:
        rc = key_rsa(ctx, &r, k, hex);
        break;
    case CONSIGN_PGP_PK_EDDSA:
        rc = key_eddsa(ctx, &r, k, hex);
        break;
    case CONSIGN_PGP_PK_ED25519:
        if (rd_take(&r, ED25519_LEN, &p) || r.n) {
            rc = consign_fail(ctx, CONSIGN_E_SYNTAX, "key %s: malformed Ed25519 key", hex);
            break;
        }
        memcpy(k->ed, p, ED25519_LEN);
        k->bits = 256;
        break;
    default:
        rc = consign_fail(ctx, CONSIGN_E_KEY,
                          "key %s: public-key algorithm %u is not supported (RSA and Ed25519 are)",
                          hex, algo);
        break;
    }
    if (rc)
        goto out;
    *out = k;
    k = NULL;
out:
    consign_pgp_key_free(k);
    return rc;
}

int
consign_pgp_keyring_find(struct consign_ctx *ctx, const void *ring, size_t n,
                         const unsigned char fpr[CONSIGN_PGP_FPR_LEN], struct consign_pgp_key **out)
{
    unsigned char *bin = NULL, got[CONSIGN_PGP_FPR_LEN];
    const unsigned char *start = ring;
    char hex[2 * CONSIGN_PGP_FPR_LEN + 1];
    struct rd r, body;
    size_t binlen;
    unsigned tag;
    int rc = 0, first = 1;

    *out = NULL;
    if (!ring)
        n = 0;
    if (is_armored(start, n)) {
        if ((rc = dearmor(ctx, start, n, "keyring", "PGP PUBLIC KEY BLOCK", &bin, &binlen)))
            goto out;
        start = bin;
        n = binlen;
    }
    r.p = start;
    r.n = n;
    if (!n) {
        rc = consign_fail(ctx, CONSIGN_E_SYNTAX, "keyring: empty");
        goto out;
    }
    while (r.n) {
        if ((rc = next_packet(ctx, &r, start, "keyring", &tag, &body)))
            goto out;
        if (first && tag != TAG_PUBLIC_KEY) {
            rc = consign_fail(ctx, CONSIGN_E_SYNTAX,
                              "keyring: starts with a packet of tag %u, not a public key", tag);
            goto out;
        }
        first = 0;
        if (tag != TAG_PUBLIC_KEY && tag != TAG_PUBLIC_SUBKEY)
            continue;
        if (!body.n) {
            rc = consign_fail(ctx, CONSIGN_E_SYNTAX, "keyring: empty key packet");
            goto out;
        }
        /* Only v4 keys have 20-byte fingerprints; others are not looked into. */
        if (body.p[0] != 4)
            continue;
        if (body.n > 0xffff) {
            rc = consign_fail(ctx, CONSIGN_E_SYNTAX, "keyring: key packet of %zu bytes", body.n);
            goto out;
        }
        key_fpr(body.p, body.n, got);
        if (fpr ? memcmp(got, fpr, CONSIGN_PGP_FPR_LEN) == 0 : tag == TAG_PUBLIC_KEY) {
            rc = key_parse(ctx, &body, got, out);
            goto out;
        }
    }
    if (fpr) {
        consign_pgp_fpr_hex(fpr, hex);
        rc = consign_fail(ctx, CONSIGN_E_NOTFOUND, "keyring: no key with fingerprint %s", hex);
    } else {
        rc = consign_fail(ctx, CONSIGN_E_NOTFOUND, "keyring: no version 4 primary key");
    }
out:
    free(bin);
    return rc;
}

void
consign_pgp_key_fpr(const struct consign_pgp_key *k, unsigned char fpr[CONSIGN_PGP_FPR_LEN])
{
    memcpy(fpr, k->fpr, CONSIGN_PGP_FPR_LEN);
}

int
consign_pgp_key_algo(const struct consign_pgp_key *k)
{
    return k->algo;
}

unsigned
consign_pgp_key_bits(const struct consign_pgp_key *k)
{
    return k->bits;
}

void
consign_pgp_key_free(struct consign_pgp_key *k)
{
    if (!k)
        return;
    if (k->rsa_init)
        rsa_public_key_clear(&k->rsa);
    free(k);
}

/* ---- signatures ---- */

/* Note one issuer the signature names: the key's, or the first other one. */
static void
sig_issuer(struct sig *s, const struct consign_pgp_key *k, enum issuer kind,
           const unsigned char *id, int version)
{
    const unsigned char *mine =
        kind == ISSUER_KEYID ? k->fpr + CONSIGN_PGP_FPR_LEN - KEYID_LEN : k->fpr;
    size_t len = kind == ISSUER_KEYID ? KEYID_LEN : CONSIGN_PGP_FPR_LEN;

    s->issuers++;
    if (s->other != ISSUER_NONE || (kind != ISSUER_VERSION && memcmp(id, mine, len) == 0))
        return;
    s->other = kind;
    s->other_version = version;
    if (kind != ISSUER_VERSION)
        memcpy(s->other_fpr, id, len);
}

/* Walk one subpacket area (RFC 9580 5.2.3.7). Creation time and expiry count
 * only when hashed; issuers anywhere (a false one can only make us refuse);
 * an unknown subpacket marked critical only when hashed. */
static int
sig_subpackets(struct consign_ctx *ctx, struct rd r, int hashed, const struct consign_pgp_key *k,
               struct sig *s)
{
    const unsigned char *p, *b;
    unsigned o1, type, critical;
    size_t len;

    while (r.n) {
        if (rd_u8(&r, &o1))
            goto bad;
        if (o1 < 192) {
            len = o1;
        } else if (o1 < 255) {
            if (rd_take(&r, 1, &p))
                goto bad;
            len = ((size_t)(o1 - 192) << 8) + p[0] + 192;
        } else {
            if (rd_take(&r, 4, &p))
                goto bad;
            len = consign_get_be32(p);
        }
        if (!len || rd_take(&r, len, &b))
            goto bad;
        type = b[0] & 0x7f;
        critical = b[0] & 0x80;
        b++;
        len--;
        switch (type) {
        case SUBPKT_CREATED:
        case SUBPKT_EXPIRES:
            if (!hashed)
                break;
            if (len != 4 || (type == SUBPKT_CREATED ? s->has_created : s->has_expires))
                goto bad;
            if (type == SUBPKT_CREATED) {
                s->created = consign_get_be32(b);
                s->has_created = 1;
            } else {
                s->expires = consign_get_be32(b);
                s->has_expires = 1;
            }
            break;
        case SUBPKT_ISSUER:
            if (len != KEYID_LEN)
                goto bad;
            sig_issuer(s, k, ISSUER_KEYID, b, 4);
            break;
        case SUBPKT_ISSUER_FPR:
            if (len < 1 || (b[0] == 4 && len != 1 + CONSIGN_PGP_FPR_LEN))
                goto bad;
            if (b[0] == 4)
                sig_issuer(s, k, ISSUER_FPR, b + 1, 4);
            else
                sig_issuer(s, k, ISSUER_VERSION, NULL, b[0]);
            break;
        default:
            if (hashed && critical && !s->critical)
                s->critical = (int)type;
            break;
        }
    }
    return 0;
bad:
    return consign_fail(ctx, CONSIGN_E_SYNTAX, "signature: malformed %s subpacket area",
                        hashed ? "hashed" : "unhashed");
}

/* One v4 signature packet of a binary document, and nothing else. */
static int
sig_parse(struct consign_ctx *ctx, const unsigned char *p, size_t n,
          const struct consign_pgp_key *k, struct sig *s)
{
    struct rd r = {p, n}, body, area;
    const unsigned char *q;
    unsigned tag, version, type, pk, hash;
    size_t len;
    int rc;

    memset(s, 0, sizeof(*s));
    if (!n)
        return consign_fail(ctx, CONSIGN_E_SYNTAX, "signature: empty");
    if ((rc = next_packet(ctx, &r, p, "signature", &tag, &body)))
        return rc;
    if (tag != TAG_SIGNATURE)
        return consign_fail(ctx, CONSIGN_E_SYNTAX, "signature: a packet of tag %u, not a signature",
                            tag);
    if (r.n)
        return consign_fail(ctx, CONSIGN_E_SYNTAX,
                            "signature: %zu bytes after the signature packet", r.n);
    s->hashed = body.p;
    if (rd_u8(&body, &version) || rd_u8(&body, &type) || rd_u8(&body, &pk) || rd_u8(&body, &hash))
        goto truncated;
    if (version != 4)
        return consign_fail(ctx, CONSIGN_E_SYNTAX,
                            "signature: version %u; only version 4 signatures are supported",
                            version);
    if (type != CONSIGN__PGP_SIG_BINARY)
        return consign_fail(ctx, CONSIGN_E_SYNTAX,
                            "signature: type 0x%02x, not a signature of a binary document", type);
    s->pk_algo = (int)pk;
    s->hash_algo = (int)hash;
    if (rd_u16(&body, &len) || rd_take(&body, len, &q))
        goto truncated;
    s->hashed_len = (size_t)(body.p - s->hashed);
    area = (struct rd){q, len};
    if ((rc = sig_subpackets(ctx, area, 1, k, s)))
        return rc;
    if (rd_u16(&body, &len) || rd_take(&body, len, &q))
        goto truncated;
    area = (struct rd){q, len};
    if ((rc = sig_subpackets(ctx, area, 0, k, s)))
        return rc;
    if (rd_take(&body, 2, &q))
        goto truncated;
    memcpy(s->left16, q, 2);
    s->values = body;
    if (!s->has_created)
        return consign_fail(ctx, CONSIGN_E_SYNTAX, "signature: no hashed creation time");
    return 0;
truncated:
    return consign_fail(ctx, CONSIGN_E_SYNTAX, "signature: truncated");
}

/* The signature must name the key, and no other. */
static int
sig_check_issuer(struct consign_ctx *ctx, const struct consign_pgp_key *k, const struct sig *s)
{
    char mine[2 * CONSIGN_PGP_FPR_LEN + 1], other[2 * CONSIGN_PGP_FPR_LEN + 1];

    consign_pgp_fpr_hex(k->fpr, mine);
    switch (s->other) {
    case ISSUER_NONE:
        if (s->issuers)
            return 0;
        return consign_fail(ctx, CONSIGN_E_UNTRUSTED,
                            "signature names no issuer key; expected key %s", mine);
    case ISSUER_FPR:
        consign_pgp_fpr_hex(s->other_fpr, other);
        return consign_fail(ctx, CONSIGN_E_UNTRUSTED, "signature made by key %s, not by key %s",
                            other, mine);
    case ISSUER_KEYID:
        hex_upper(s->other_fpr, KEYID_LEN, other);
        return consign_fail(ctx, CONSIGN_E_UNTRUSTED, "signature made by key ID %s, not by key %s",
                            other, mine);
    case ISSUER_VERSION:
        break;
    }
    return consign_fail(ctx, CONSIGN_E_UNTRUSTED,
                        "signature made by a version %d key, not by key %s", s->other_version,
                        mine);
}

static const struct nettle_hash *
sig_hash(int algo)
{
    switch (algo) {
    case CONSIGN_PGP_HASH_SHA256:
        return &nettle_sha256;
    case CONSIGN_PGP_HASH_SHA384:
        return &nettle_sha384;
    case CONSIGN_PGP_HASH_SHA512:
        return &nettle_sha512;
    }
    return NULL;
}

/* For messages: the names of the hash algorithms refused. */
static const char *
hash_name(int algo)
{
    switch (algo) {
    case 1:
        return "MD5, too weak";
    case 2:
        return "SHA-1, too weak";
    case 3:
        return "RIPEMD-160, too weak";
    case 11:
        return "SHA-224";
    }
    return "not supported";
}

static int
is_rsa(int algo)
{
    return algo == CONSIGN_PGP_PK_RSA || algo == CONSIGN_PGP_PK_RSA_S;
}

/* What may be checked before any data is hashed: issuer, algorithms, the
 * shape of the values, critical subpackets. */
static int
sig_check(struct consign_ctx *ctx, const struct consign_pgp_key *k, const struct sig *s)
{
    int rc;

    if ((rc = sig_check_issuer(ctx, k, s)))
        return rc;
    if (!sig_hash(s->hash_algo))
        return consign_fail(ctx, CONSIGN_E_KEY,
                            "signature: hash algorithm %d (%s) is not accepted; SHA-256, "
                            "SHA-384 and SHA-512 are",
                            s->hash_algo, hash_name(s->hash_algo));
    if (is_rsa(s->pk_algo) ? !is_rsa(k->algo) : s->pk_algo != k->algo)
        return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE,
                            "signature: public-key algorithm %d, but the key's is %d", s->pk_algo,
                            k->algo);
    if (s->critical)
        return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE,
                            "signature: unknown critical subpacket %d", s->critical);
    return 0;
}

/* Left-pad an MPI of at most 32 bytes (EdDSA legacy r or s) to 32 bytes. */
static int
ed_half(struct rd *r, unsigned char out[ED25519_LEN])
{
    const unsigned char *v;
    size_t n;

    if (rd_mpi(r, &v, &n) || n > ED25519_LEN)
        return -1;
    memset(out, 0, ED25519_LEN - n);
    memcpy(out + ED25519_LEN - n, v, n);
    return 0;
}

/* The public-key operation over the digest. */
static int
sig_crypto(struct consign_ctx *ctx, const struct consign_pgp_key *k, const struct sig *s,
           const unsigned char *digest, size_t dlen)
{
    unsigned char edsig[2 * ED25519_LEN], info[sizeof(sha384_info) + 48];
    struct rd r = s->values;
    const unsigned char *v;
    size_t n;
    mpz_t m;
    int ok = 0;

    if (is_rsa(k->algo)) {
        if (rd_mpi(&r, &v, &n) || r.n)
            goto bad;
        mpz_init(m);
        nettle_mpz_set_str_256_u(m, n, v);
        if (s->hash_algo == CONSIGN_PGP_HASH_SHA256) {
            ok = rsa_sha256_verify_digest(&k->rsa, digest, m);
        } else if (s->hash_algo == CONSIGN_PGP_HASH_SHA512) {
            ok = rsa_sha512_verify_digest(&k->rsa, digest, m);
        } else {
            memcpy(info, sha384_info, sizeof(sha384_info));
            memcpy(info + sizeof(sha384_info), digest, dlen);
            ok = rsa_pkcs1_verify(&k->rsa, sizeof(sha384_info) + dlen, info, m);
        }
        mpz_clear(m);
    } else if (k->algo == CONSIGN_PGP_PK_EDDSA) {
        if (ed_half(&r, edsig) || ed_half(&r, edsig + ED25519_LEN) || r.n)
            goto bad;
        ok = ed25519_sha512_verify(k->ed, dlen, digest, edsig);
    } else {
        if (rd_take(&r, sizeof(edsig), &v) || r.n)
            goto bad;
        ok = ed25519_sha512_verify(k->ed, dlen, digest, v);
    }
    if (!ok)
        return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE, "signature does not match");
    return 0;
bad:
    return consign_fail(ctx, CONSIGN_E_SYNTAX, "signature: malformed signature values");
}

/* Hash the data from src into h (a context of nh). */
static int
hash_source(struct consign_ctx *ctx, const struct nettle_hash *nh, void *h,
            const struct source *src)
{
    unsigned char *buf = NULL;
    size_t got;
    int rc = 0;

    if (!src->read) {
        if (src->len)
            nh->update(h, src->len, src->data);
        return 0;
    }
    if (!(buf = malloc(READ_CHUNK))) {
        rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
        goto out;
    }
    for (;;) {
        got = 0;
        if ((rc = src->read(ctx, src->user, buf, READ_CHUNK, &got)))
            goto out;
        if (!got)
            break;
        if (got > READ_CHUNK) {
            rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "signature: reader returned too much");
            goto out;
        }
        nh->update(h, got, buf);
    }
out:
    free(buf);
    return rc;
}

static int
verify(struct consign_ctx *ctx, const struct consign_pgp_key *k, const void *sigp, size_t siglen,
       const struct source *src, struct consign_pgp_sig_info *info)
{
    const struct nettle_hash *nh;
    union {
        struct sha256_ctx sha256;
        struct sha512_ctx sha512;
    } h;
    unsigned char *bin = NULL, trailer[6], digest[SHA512_DIGEST_SIZE];
    const unsigned char *p = sigp;
    struct sig s;
    size_t n = sigp ? siglen : 0;
    int rc;

    if (is_armored(p, n)) {
        if ((rc = dearmor(ctx, p, n, "signature", "PGP SIGNATURE", &bin, &n)))
            goto out;
        p = bin;
    }
    if ((rc = sig_parse(ctx, p, n, k, &s)) || (rc = sig_check(ctx, k, &s)))
        goto out;
    /* The data, the hashed part, then 0x04 0xff and its 4-byte length. */
    nh = sig_hash(s.hash_algo);
    nh->init(&h);
    if ((rc = hash_source(ctx, nh, &h, src)))
        goto out;
    nh->update(&h, s.hashed_len, s.hashed);
    trailer[0] = 4;
    trailer[1] = 0xff;
    consign_put_be32(trailer + 2, (uint32_t)s.hashed_len);
    nh->update(&h, sizeof(trailer), trailer);
    nh->digest(&h, nh->digest_size, digest);
    if (memcmp(digest, s.left16, 2) != 0) {
        rc = consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE, "signature does not match");
        goto out;
    }
    if ((rc = sig_crypto(ctx, k, &s, digest, nh->digest_size)))
        goto out;
    if (s.has_expires && s.expires && (long long)s.created + s.expires <= (long long)time(NULL)) {
        rc = consign_fail(ctx, CONSIGN_E_EXPIRED, "signature expired");
        goto out;
    }
    if (info) {
        info->created = s.created;
        info->hash_algo = s.hash_algo;
        info->pk_algo = s.pk_algo;
        memcpy(info->issuer_fpr, k->fpr, CONSIGN_PGP_FPR_LEN);
    }
out:
    free(bin);
    return rc;
}

int
consign_pgp_verify(struct consign_ctx *ctx, const struct consign_pgp_key *k, const void *sig,
                   size_t siglen, const void *data, size_t datalen,
                   struct consign_pgp_sig_info *info)
{
    struct source src = {data, data ? datalen : 0, NULL, NULL};

    return verify(ctx, k, sig, siglen, &src, info);
}

int
consign_pgp_verify_stream(struct consign_ctx *ctx, const struct consign_pgp_key *k, const void *sig,
                          size_t siglen, consign_pgp_read_fn read, void *user,
                          struct consign_pgp_sig_info *info)
{
    struct source src = {NULL, 0, read, user};

    if (!read)
        return consign_fail(ctx, CONSIGN_E_USAGE, "signature: no reader given");
    return verify(ctx, k, sig, siglen, &src, info);
}
