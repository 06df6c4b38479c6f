/* OpenPGP signature packets, armor and cleartext framing (see openpgp.h). */
#include <string.h>

#include "consign/bytes.h"
#include "openpgp.h"

#define SUBPKT_CREATED    2
#define SUBPKT_ISSUER     16
#define SUBPKT_ISSUER_FPR 33
#define TAG_SIGNATURE     2
#define ARMOR_LINE        64 /* base64 characters a line, as gpg writes them */
#define CRC24_INIT        0xb704ceu
#define CRC24_POLY        0x1864cfbu
#define SEXP_MAX_ATOM     100000 /* no atom of a PKSIGN answer comes near this */
#define SEXP_MAX_DEPTH    8

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
consign__pgp_sig_hashed(const struct consign__pgp_sig *s,
                        unsigned char out[CONSIGN__PGP_HASHED_LEN])
{
    unsigned char *p = out;

    *p++ = 4; /* version */
    *p++ = s->type;
    *p++ = s->pk_algo;
    *p++ = CONSIGN__PGP_HASH_SHA512;
    *p++ = 0;
    *p++ = CONSIGN__PGP_HASHED_LEN - 6; /* length of the hashed subpackets */
    /* Issuer fingerprint: length (type + version + 20), type, key version 4. */
    *p++ = 2 + CONSIGN__PGP_FPR_LEN;
    *p++ = SUBPKT_ISSUER_FPR;
    *p++ = 4;
    memcpy(p, s->fpr, CONSIGN__PGP_FPR_LEN);
    p += CONSIGN__PGP_FPR_LEN;
    /* Signature creation time: length (type + 4), type, big-endian seconds. */
    *p++ = 5;
    *p++ = SUBPKT_CREATED;
    consign_put_be32(p, s->created);
}

void
consign__pgp_sig_trailer(unsigned char out[CONSIGN__PGP_TRAILER_LEN])
{
    out[0] = 4;
    out[1] = 0xff;
    consign_put_be32(out + 2, CONSIGN__PGP_HASHED_LEN);
}

/* An MPI (RFC 4880 3.2): the exact bit count, then the bytes without leading zeros. */
static int
put_mpi(struct consign_ctx *ctx, struct consign_buf *out, const struct consign__pgp_mpi *m)
{
    const unsigned char *p = m->p;
    size_t n = m->n, bits;
    unsigned char top, hdr[2];
    int rc;

    while (n && !*p) {
        p++;
        n--;
    }
    if (!n || n > CONSIGN__PGP_MPI_MAX)
        return consign_fail(ctx, CONSIGN_E_CRYPTO, "signing: gpg-agent returned a %s value",
                            n ? "too large" : "zero");
    bits = (n - 1) * 8;
    for (top = p[0]; top; top >>= 1)
        bits++;
    hdr[0] = (unsigned char)(bits >> 8);
    hdr[1] = (unsigned char)bits;
    if ((rc = consign_buf_append(ctx, out, hdr, 2)))
        return rc;
    return consign_buf_append(ctx, out, p, n);
}

int
consign__pgp_sig_packet(struct consign_ctx *ctx, const struct consign__pgp_sig *s,
                        const unsigned char digest[2], const struct consign__pgp_mpi *mpi,
                        size_t nmpi, struct consign_buf *out)
{
    unsigned char hashed[CONSIGN__PGP_HASHED_LEN], hdr[5], unhashed[12];
    struct consign_buf body;
    size_t i, before = out->len, hl;
    int rc;

    consign_buf_init(&body, 2 * (CONSIGN__PGP_MPI_MAX + 2) + 64);
    consign__pgp_sig_hashed(s, hashed);
    /* Unhashed: the issuer key ID, the fingerprint's last 8 bytes. */
    unhashed[0] = 0;
    unhashed[1] = 10;
    unhashed[2] = 9;
    unhashed[3] = SUBPKT_ISSUER;
    memcpy(unhashed + 4, s->fpr + CONSIGN__PGP_FPR_LEN - 8, 8);
    if ((rc = consign_buf_append(ctx, &body, hashed, sizeof(hashed))) ||
        (rc = consign_buf_append(ctx, &body, unhashed, sizeof(unhashed))) ||
        (rc = consign_buf_append(ctx, &body, digest, 2)))
        goto out;
    for (i = 0; i < nmpi; i++)
        if ((rc = put_mpi(ctx, &body, &mpi[i])))
            goto out;
    /* Old-format header with the shortest length field, as gpg writes it. */
    hdr[0] = 0x80 | TAG_SIGNATURE << 2;
    if (body.len < 0x100) {
        hdr[1] = (unsigned char)body.len;
        hl = 2;
    } else if (body.len < 0x10000) {
        hdr[0] |= 1;
        hdr[1] = (unsigned char)(body.len >> 8);
        hdr[2] = (unsigned char)body.len;
        hl = 3;
    } else {
        hdr[0] |= 2;
        consign_put_be32(hdr + 1, (uint32_t)body.len);
        hl = 5;
    }
    if ((rc = consign_buf_append(ctx, out, hdr, hl)) ||
        (rc = consign_buf_append(ctx, out, body.data, body.len)))
        goto out;
out:
    if (rc && out->data) {
        out->len = before;
        out->data[before] = '\0';
    }
    consign_buf_free(&body);
    return rc;
}

/* One atom "LEN:BYTES" of a canonical S-expression at *p, bounds checked. */
static int
sx_atom(const unsigned char **p, const unsigned char *end, const unsigned char **tok, size_t *n)
{
    size_t len = 0, digits = 0;

    while (*p < end && **p >= '0' && **p <= '9') {
        len = len * 10 + (size_t)(**p - '0');
        (*p)++;
        if (++digits > 6 || len > SEXP_MAX_ATOM)
            return -1;
    }
    if (!digits || *p >= end || **p != ':')
        return -1;
    (*p)++;
    if (len > (size_t)(end - *p))
        return -1;
    *tok = *p;
    *n = len;
    *p += len;
    return 0;
}

static int
sx_is(const unsigned char *tok, size_t n, const char *s)
{
    return n == strlen(s) && memcmp(tok, s, n) == 0;
}

static int
sx_char(const unsigned char **p, const unsigned char *end, unsigned char c)
{
    if (*p >= end || **p != c)
        return -1;
    (*p)++;
    return 0;
}

/* Skip the rest of a list whose "(" was read: atoms and nested lists. */
static int
sx_skip(const unsigned char **p, const unsigned char *end, int depth)
{
    const unsigned char *tok;
    size_t n;

    if (depth > SEXP_MAX_DEPTH)
        return -1;
    while (*p < end && **p != ')') {
        if (**p == '(') {
            (*p)++;
            if (sx_skip(p, end, depth + 1))
                return -1;
        } else if (sx_atom(p, end, &tok, &n)) {
            return -1;
        }
    }
    return sx_char(p, end, ')');
}

int
consign__pgp_sexp_sig(struct consign_ctx *ctx, const void *data, size_t len, int pk_algo,
                      struct consign__pgp_mpi mpi[2], size_t *nmpi)
{
    const unsigned char *p = data, *end = p + len, *tok, *val, *r = NULL, *s = NULL;
    size_t n, vn, rn = 0, sn = 0;
    const char *want = pk_algo == CONSIGN__PGP_PK_RSA ? "rsa" : "eddsa";

    *nmpi = 0;
    if (!data || sx_char(&p, end, '(') || sx_atom(&p, end, &tok, &n) || !sx_is(tok, n, "sig-val") ||
        sx_char(&p, end, '(') || sx_atom(&p, end, &tok, &n))
        goto bad;
    if (!sx_is(tok, n, want))
        return consign_fail(ctx, CONSIGN_E_CRYPTO,
                            "signing: gpg-agent made a '%.*s' signature, not %s",
                            (int)(n < 16 ? n : 16), (const char *)tok, want);
    /* The values, each a list (NAME VALUE). */
    while (p < end && *p == '(') {
        p++;
        if (sx_atom(&p, end, &tok, &n) || sx_atom(&p, end, &val, &vn) || sx_char(&p, end, ')'))
            goto bad;
        if (sx_is(tok, n, "r") && !r) {
            r = val;
            rn = vn;
        } else if (sx_is(tok, n, "s") && !s) {
            s = val;
            sn = vn;
        } else {
            goto bad;
        }
    }
    if (sx_char(&p, end, ')'))
        goto bad;
    /* Anything after the algorithm's list (flags, say) is not ours to read. */
    while (p < end && *p == '(') {
        p++;
        if (sx_skip(&p, end, 1))
            goto bad;
    }
    if (sx_char(&p, end, ')') || p != end)
        goto bad;
    /* RSA has s alone, EdDSA r and s. */
    if (!s || (pk_algo == CONSIGN__PGP_PK_RSA ? r != NULL : r == NULL))
        goto bad;
    if (pk_algo == CONSIGN__PGP_PK_RSA) {
        mpi[0] = (struct consign__pgp_mpi){s, sn};
        *nmpi = 1;
    } else {
        mpi[0] = (struct consign__pgp_mpi){r, rn};
        mpi[1] = (struct consign__pgp_mpi){s, sn};
        *nmpi = 2;
    }
    return 0;
bad:
    return consign_fail(ctx, CONSIGN_E_CRYPTO, "signing: gpg-agent's answer is not a %s signature",
                        want);
}

uint32_t
consign__pgp_crc24(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint32_t crc = CRC24_INIT;
    int i;

    while (n--) {
        crc ^= (uint32_t)*p++ << 16;
        for (i = 0; i < 8; i++) {
            crc <<= 1;
            if (crc & 0x1000000u)
                crc ^= CRC24_POLY;
        }
    }
    return crc & 0xffffffu;
}

/* Base64 of up to three bytes as four characters, '=' padded. */
static void
b64_quad(const unsigned char *p, size_t n, char out[4])
{
    uint32_t v = (uint32_t)p[0] << 16 | (n > 1 ? (uint32_t)p[1] << 8 : 0) | (n > 2 ? p[2] : 0);

    out[0] = b64[v >> 18 & 63];
    out[1] = b64[v >> 12 & 63];
    out[2] = n > 1 ? b64[v >> 6 & 63] : '=';
    out[3] = n > 2 ? b64[v & 63] : '=';
}

int
consign__pgp_armor(struct consign_ctx *ctx, const void *data, size_t n, struct consign_buf *out)
{
    const unsigned char *p = data;
    unsigned char crc[3];
    uint32_t c = consign__pgp_crc24(data, n);
    char quad[4];
    size_t i, col = 0, before = out->len;
    int rc;

    if ((rc = consign_buf_puts(ctx, out, "-----BEGIN PGP SIGNATURE-----\n\n")))
        goto out;
    for (i = 0; i < n; i += 3) {
        b64_quad(p + i, n - i < 3 ? n - i : 3, quad);
        if ((rc = consign_buf_append(ctx, out, quad, 4)))
            goto out;
        col += 4;
        if (col == ARMOR_LINE && (rc = consign_buf_append(ctx, out, "\n", 1)))
            goto out;
        col %= ARMOR_LINE;
    }
    crc[0] = (unsigned char)(c >> 16);
    crc[1] = (unsigned char)(c >> 8);
    crc[2] = (unsigned char)c;
    b64_quad(crc, 3, quad);
    if ((col && (rc = consign_buf_append(ctx, out, "\n", 1))) ||
        (rc = consign_buf_append(ctx, out, "=", 1)) ||
        (rc = consign_buf_append(ctx, out, quad, 4)) ||
        (rc = consign_buf_puts(ctx, out, "\n-----END PGP SIGNATURE-----\n")))
        goto out;
out:
    if (rc && out->data) {
        out->len = before;
        out->data[before] = '\0';
    }
    return rc;
}

void
consign__pgp_clear_init(struct consign__pgp_clear *c, struct consign_buf *out,
                        consign__pgp_sink_fn sink, void *user)
{
    memset(c, 0, offsetof(struct consign__pgp_clear, stage));
    c->out = out;
    c->sink = sink;
    c->user = user;
}

int
consign__pgp_clear_begin(struct consign_ctx *ctx, struct consign__pgp_clear *c)
{
    return consign_buf_puts(ctx, c->out, "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n");
}

static int
clear_flush(struct consign_ctx *ctx, struct consign__pgp_clear *c)
{
    int rc = c->staged ? c->sink(ctx, c->user, c->stage, c->staged) : 0;

    c->staged = 0;
    return rc;
}

/* Queue canonical text for the sink. */
static int
clear_hash(struct consign_ctx *ctx, struct consign__pgp_clear *c, const void *data, size_t n)
{
    const unsigned char *p = data;
    size_t k;
    int rc;

    while (n) {
        if (c->staged == sizeof(c->stage) && (rc = clear_flush(ctx, c)))
            return rc;
        k = sizeof(c->stage) - c->staged < n ? sizeof(c->stage) - c->staged : n;
        memcpy(c->stage + c->staged, p, k);
        c->staged += k;
        p += k;
        n -= k;
    }
    return 0;
}

/* Dash-escape the current line, whose first bytes are already in out. */
static int
clear_escape(struct consign_ctx *ctx, struct consign__pgp_clear *c)
{
    struct consign_buf *o = c->out;
    size_t tail = o->len - c->line_off;
    int rc;

    if ((rc = consign_buf_append(ctx, o, "- ", 2)))
        return rc;
    memmove(o->data + c->line_off + 2, o->data + c->line_off, tail);
    memcpy(o->data + c->line_off, "- ", 2);
    return 0;
}

/* One byte of text: copied to out, and to the canonical form unless it may be
 * trailing blank space, which waits at the end of out until the line goes on. */
static int
clear_byte(struct consign_ctx *ctx, struct consign__pgp_clear *c, unsigned char b)
{
    struct consign_buf *o = c->out;
    int rc;

    c->any = 1;
    if (!c->in_line) {
        c->in_line = 1;
        c->line_off = o->len;
        c->line_len = 0;
        if (c->pending_eol && (rc = clear_hash(ctx, c, "\r\n", 2)))
            return rc;
        c->pending_eol = 0;
    }
    if ((rc = consign_buf_append(ctx, o, &b, 1)))
        return rc;
    if (b == '\n') {
        c->blanks = 0;
        c->in_line = 0;
        c->pending_eol = 1;
        return 0;
    }
    c->line_len++;
    if (b == ' ' || b == '\t' || b == '\r') {
        c->blanks++;
    } else {
        if ((rc = clear_hash(ctx, c, o->data + o->len - 1 - c->blanks, c->blanks + 1)))
            return rc;
        c->blanks = 0;
    }
    /* gpg escapes lines starting with "From " too (mail agents mangle them). */
    if ((c->line_len == 1 && b == '-') ||
        (c->line_len == 5 && memcmp(o->data + c->line_off, "From ", 5) == 0))
        return clear_escape(ctx, c);
    return 0;
}

int
consign__pgp_clear_feed(struct consign_ctx *ctx, struct consign__pgp_clear *c, const void *data,
                        size_t n)
{
    const unsigned char *p = data;
    size_t i;
    int rc;

    for (i = 0; i < n; i++)
        if ((rc = clear_byte(ctx, c, p[i])))
            return rc;
    return 0;
}

int
consign__pgp_clear_end(struct consign_ctx *ctx, struct consign__pgp_clear *c)
{
    int rc;

    if ((c->in_line || !c->any) && (rc = consign_buf_append(ctx, c->out, "\n", 1)))
        return rc;
    c->in_line = 0;
    c->blanks = 0;
    return clear_flush(ctx, c);
}
