/* The fixed header M and the info block of a .bin (docs/internals/sfx-format.md). */
#include <string.h>

#include "consign/buf.h"
#include "sfx_private.h"

void
consign__sfx_m_encode(const struct consign_sfx_header *h, unsigned char m[CONSIGN_SFX_M_LEN])
{
    memset(m, 0, CONSIGN_SFX_M_LEN);
    memcpy(m, CONSIGN_SFX_MAGIC, 16);
    consign__put32(m + 16, h->version);
    consign__put64(m + 24, h->stub_size);
    consign__put64(m + 32, h->payload_off);
    consign__put64(m + 40, h->payload_size);
    consign__put64(m + 48, h->payload_raw);
    consign__put64(m + 56, h->payload_files);
    consign__put64(m + 64, h->payload_entries);
    consign__put64(m + 72, h->info_off);
    consign__put64(m + 80, h->info_size);
    consign__put64(m + 88, h->hashed_end);
    memcpy(m + 96, h->sha256, 32);
    memcpy(m + 128, h->fpr, 20);
}

int
consign__sfx_m_decode(struct consign_ctx *ctx, const unsigned char m[CONSIGN_SFX_M_LEN],
                      struct consign_sfx_header *h)
{
    size_t i;

    if (memcmp(m, CONSIGN_SFX_MAGIC, 16) != 0)
        return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE, "not a consign installer header");
    memset(h, 0, sizeof(*h));
    h->version = consign__le32(m + 16);
    if (h->version != 1 && h->version != 2)
        return consign_fail(ctx, CONSIGN_E_INVALID,
                            "installer format %u is newer than this reader (2)", h->version);
    for (i = 20; i < 24; i++)
        if (m[i])
            return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE, "reserved header bytes set");
    for (i = 148; i < CONSIGN_SFX_M_LEN; i++)
        if (m[i])
            return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE, "reserved header bytes set");
    h->stub_size = consign__le64(m + 24);
    h->payload_off = consign__le64(m + 32);
    h->payload_size = consign__le64(m + 40);
    h->payload_raw = consign__le64(m + 48);
    h->payload_files = consign__le64(m + 56);
    h->payload_entries = consign__le64(m + 64);
    h->info_off = consign__le64(m + 72);
    h->info_size = consign__le64(m + 80);
    h->hashed_end = consign__le64(m + 88);
    memcpy(h->sha256, m + 96, 32);
    memcpy(h->fpr, m + 128, 20);
    return 0;
}

static int
flag(const char *v, int *out)
{
    if (strcmp(v, "yes") == 0)
        *out = 1;
    else if (strcmp(v, "no") == 0)
        *out = 0;
    else
        return -1;
    return 0;
}

int
consign__sfx_info_parse(struct consign_ctx *ctx, char *buf, size_t len,
                        struct consign_sfx_info *out)
{
    unsigned long long eula = 0, built = 0;
    char *p = buf, *end = buf + len;
    int lineno = 0, fmt = 0;

    memset(out, 0, sizeof(*out));
    for (;;) {
        char *nl = memchr(p, '\n', (size_t)(end - p)), *eq;
        lineno++;
        if (!nl)
            return consign_fail(ctx, CONSIGN_E_SYNTAX, "line %d: no end of line", lineno);
        *nl = '\0';
        if (nl == p) {
            p = nl + 1;
            break;
        }
        if (memchr(p, '\0', (size_t)(nl - p)) || !(eq = strchr(p, '=')))
            return consign_fail(ctx, CONSIGN_E_SYNTAX, "line %d: not key=value", lineno);
        *eq++ = '\0';
        if (strcmp(p, "format") == 0)
            fmt = strcmp(eq, "1") == 0;
        else if (strcmp(p, "name") == 0)
            out->name = eq;
        else if (strcmp(p, "version") == 0)
            out->version = eq;
        else if (strcmp(p, "summary") == 0)
            out->summary = eq;
        else if (strcmp(p, "vendor") == 0)
            out->vendor = eq;
        else if (strcmp(p, "homepage") == 0)
            out->homepage = eq;
        else if (strcmp(p, "arch") == 0)
            out->arch = eq;
        else if (strcmp(p, "kind") == 0)
            out->kind = eq;
        else if (strcmp(p, "built") == 0) {
            if (consign_parse_u64(eq, (1ULL << 62), &built))
                return consign_fail(ctx, CONSIGN_E_SYNTAX, "line %d: built", lineno);
        } else if (strcmp(p, "token") == 0) {
            out->token_required = strcmp(eq, "required") == 0;
        } else if (strcmp(p, "proxy") == 0) {
            if (flag(eq, &out->proxy))
                return consign_fail(ctx, CONSIGN_E_SYNTAX, "line %d: proxy", lineno);
        } else if (strcmp(p, "auto_update") == 0) {
            if (flag(eq, &out->auto_update))
                return consign_fail(ctx, CONSIGN_E_SYNTAX, "line %d: auto_update", lineno);
        } else if (strcmp(p, "eula_size") == 0) {
            if (consign_parse_u64(eq, CONSIGN_SFX_INFO_MAX, &eula))
                return consign_fail(ctx, CONSIGN_E_SYNTAX, "line %d: eula_size", lineno);
        }
        /* Unknown keys: a newer builder's extras, ignored. */
        p = nl + 1;
    }
    if (!fmt || !out->name || !out->version)
        return consign_fail(ctx, CONSIGN_E_SYNTAX, "format, name or version missing");
    if (!out->kind)
        out->kind = CONSIGN_SFX_KIND_INSTALLER;
    else if (strcmp(out->kind, CONSIGN_SFX_KIND_INSTALLER) != 0 &&
             strcmp(out->kind, CONSIGN_SFX_KIND_BOOTSTRAP) != 0)
        return consign_fail(ctx, CONSIGN_E_SYNTAX, "unknown kind '%.32s'", out->kind);
    if (eula != (unsigned long long)(end - p))
        return consign_fail(ctx, CONSIGN_E_SYNTAX, "EULA size does not match");
    if (eula) {
        out->eula = p;
        out->eula_len = (size_t)eula;
    }
    out->built = (long long)built;
    return 0;
}

static int
put(struct consign_ctx *ctx, struct consign_buf *b, const char *k, const char *v)
{
    if (!v)
        return 0;
    if (strchr(v, '\n'))
        return consign_fail(ctx, CONSIGN_E_INVALID, "info %s: newline in value", k);
    return consign_buf_printf(ctx, b, "%s=%s\n", k, v);
}

int
consign__sfx_info_format(struct consign_ctx *ctx, const struct consign_sfx_info *in,
                         struct consign_buf *out)
{
    int rc;

    if ((rc = put(ctx, out, "format", "1")) || (rc = put(ctx, out, "name", in->name)) ||
        (rc = put(ctx, out, "version", in->version)) ||
        (rc = put(ctx, out, "summary", in->summary)) ||
        (rc = put(ctx, out, "vendor", in->vendor)) ||
        (rc = put(ctx, out, "homepage", in->homepage)) || (rc = put(ctx, out, "arch", in->arch)) ||
        (in->kind && strcmp(in->kind, CONSIGN_SFX_KIND_INSTALLER) != 0 &&
         (rc = put(ctx, out, "kind", in->kind))) ||
        (rc = consign_buf_printf(ctx, out,
                                 "built=%lld\ntoken=%s\nproxy=%s\nauto_update=%s\n"
                                 "eula_size=%zu\n\n",
                                 in->built, in->token_required ? "required" : "optional",
                                 in->proxy ? "yes" : "no", in->auto_update ? "yes" : "no",
                                 in->eula_len)))
        return rc;
    if (in->eula_len)
        rc = consign_buf_append(ctx, out, in->eula, in->eula_len);
    return rc;
}

int
consign__sfx_pgp_packet(const unsigned char *p, size_t n, int *tag, size_t *hdrlen, size_t *total)
{
    size_t hdr, body;

    if (n < 2)
        return -1;
    if ((p[0] & 0xc0) == 0xc0) { /* new format */
        *tag = p[0] & 0x3f;
        if (p[1] < 192) {
            hdr = 2;
            body = p[1];
        } else if (p[1] < 224) {
            if (n < 3)
                return -1;
            hdr = 3;
            body = ((size_t)(p[1] - 192) << 8) + p[2] + 192;
        } else if (p[1] == 255) {
            if (n < 6)
                return -1;
            hdr = 6;
            body = (size_t)p[2] << 24 | (size_t)p[3] << 16 | (size_t)p[4] << 8 | p[5];
        } else
            return -1;        /* partial body length */
    } else if (p[0] & 0x80) { /* old format */
        *tag = (p[0] >> 2) & 0x0f;
        switch (p[0] & 3) {
        case 0:
            hdr = 2;
            body = p[1];
            break;
        case 1:
            if (n < 3)
                return -1;
            hdr = 3;
            body = (size_t)p[1] << 8 | p[2];
            break;
        case 2:
            if (n < 5)
                return -1;
            hdr = 5;
            body = (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 | p[4];
            break;
        default:
            return -1; /* indeterminate length */
        }
    } else
        return -1;
    if (body > n - hdr)
        return -1;
    *hdrlen = hdr;
    *total = hdr + body;
    return 0;
}
