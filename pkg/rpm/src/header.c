/* The RPM header tag store and serialiser (see rpm_header.h). */
#include <stdlib.h>
#include <string.h>

#include "consign/bytes.h"
#include "rpm_header.h"

#define ENTRY_SIZE  16
#define MAX_ELEMENT CONSIGN_RPM_HDR_MAX_DATA /* one string or binary value */

static const unsigned char header_magic[8] = {0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0};

static size_t
type_align(enum consign__rpm_type t)
{
    switch (t) {
    case CONSIGN_RPM_INT16:
        return 2;
    case CONSIGN_RPM_INT32:
        return 4;
    case CONSIGN_RPM_INT64:
        return 8;
    default:
        return 1;
    }
}

void
consign__rpm_hdr_init(struct consign__rpm_hdr *h)
{
    memset(h, 0, sizeof(*h));
}

void
consign__rpm_hdr_free(struct consign__rpm_hdr *h)
{
    size_t i;

    if (!h)
        return;
    for (i = 0; i < h->n; i++)
        free(h->e[i].data);
    free(h->e);
    memset(h, 0, sizeof(*h));
}

/* Take ownership of data (even on failure) as the value of a new tag. */
static int
add_entry(struct consign_ctx *ctx, struct consign__rpm_hdr *h, uint32_t tag,
          enum consign__rpm_type type, uint32_t count, char *data, size_t len)
{
    struct consign__rpm_entry *e;
    size_t i;
    int rc = 0;

    for (i = 0; i < h->n; i++)
        if (h->e[i].tag == tag) {
            rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "rpm header: tag %u added twice",
                              (unsigned)tag);
            goto out;
        }
    if (h->n >= CONSIGN_RPM_HDR_MAX_TAGS) {
        rc = consign_fail(ctx, CONSIGN_E_TOOBIG, "rpm header: more than %d tags",
                          CONSIGN_RPM_HDR_MAX_TAGS);
        goto out;
    }
    if (len > CONSIGN_RPM_HDR_MAX_DATA) {
        rc = consign_fail(ctx, CONSIGN_E_TOOBIG, "rpm header: tag %u holds more than 16 MiB",
                          (unsigned)tag);
        goto out;
    }
    if (h->n == h->cap) {
        size_t ncap = h->cap ? h->cap * 2 : 32;
        if (!(e = consign_reallocarray(ctx, h->e, ncap, sizeof(*e)))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        h->e = e;
        h->cap = ncap;
    }
    e = &h->e[h->n++];
    e->tag = tag;
    e->type = type;
    e->count = count;
    e->data = data;
    e->len = len;
    data = NULL;
out:
    free(data);
    return rc;
}

/* Copy n bytes plus, for strings, the terminating NUL. */
static int
add_copy(struct consign_ctx *ctx, struct consign__rpm_hdr *h, uint32_t tag,
         enum consign__rpm_type type, uint32_t count, const void *p, size_t n, int nul)
{
    char *d;

    if (n > MAX_ELEMENT)
        return consign_fail(ctx, CONSIGN_E_TOOBIG, "rpm header: tag %u: value too large",
                            (unsigned)tag);
    if (!(d = malloc(n + (size_t)nul + 1)))
        return consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
    memcpy(d, p, n);
    d[n] = '\0';
    return add_entry(ctx, h, tag, type, count, d, n + (size_t)nul);
}

int
consign__rpm_hdr_string(struct consign_ctx *ctx, struct consign__rpm_hdr *h, uint32_t tag,
                        const char *s)
{
    return add_copy(ctx, h, tag, CONSIGN_RPM_STRING, 1, s, strlen(s), 1);
}

int
consign__rpm_hdr_i18n(struct consign_ctx *ctx, struct consign__rpm_hdr *h, uint32_t tag,
                      const char *s)
{
    /* One string, for the one locale ("C") of the I18N table. */
    return add_copy(ctx, h, tag, CONSIGN_RPM_I18NSTRING, 1, s, strlen(s), 1);
}

int
consign__rpm_hdr_u32(struct consign_ctx *ctx, struct consign__rpm_hdr *h, uint32_t tag, uint32_t v)
{
    unsigned char b[4];

    consign_put_be32(b, v);
    return add_copy(ctx, h, tag, CONSIGN_RPM_INT32, 1, b, 4, 0);
}

int
consign__rpm_hdr_bin(struct consign_ctx *ctx, struct consign__rpm_hdr *h, uint32_t tag,
                     const void *p, size_t n)
{
    if (n == 0)
        return consign_fail(ctx, CONSIGN_E_INTERNAL, "rpm header: tag %u: empty binary value",
                            (unsigned)tag);
    return add_copy(ctx, h, tag, CONSIGN_RPM_BIN, (uint32_t)n, p, n, 0);
}

int
consign__rpm_hdr_array(struct consign_ctx *ctx, struct consign__rpm_hdr *h, uint32_t tag,
                       struct consign__rpm_array *a)
{
    size_t len = 0;
    uint32_t count = a->count;
    enum consign__rpm_type type = a->type;
    char *d;

    if (count == 0) {
        consign__rpm_array_free(a);
        return consign_fail(ctx, CONSIGN_E_INTERNAL, "rpm header: tag %u: empty array",
                            (unsigned)tag);
    }
    d = consign_buf_steal(&a->data, &len);
    consign__rpm_array_free(a);
    if (!d)
        return consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
    return add_entry(ctx, h, tag, type, count, d, len);
}

void
consign__rpm_array_init(struct consign__rpm_array *a, enum consign__rpm_type type)
{
    a->type = type;
    a->count = 0;
    consign_buf_init(&a->data, CONSIGN_RPM_HDR_MAX_DATA);
}

void
consign__rpm_array_free(struct consign__rpm_array *a)
{
    if (!a)
        return;
    consign_buf_free(&a->data);
    a->count = 0;
}

static int
array_check(struct consign_ctx *ctx, struct consign__rpm_array *a, enum consign__rpm_type want)
{
    if (a->type != want)
        return consign_fail(ctx, CONSIGN_E_INTERNAL, "rpm header: array of type %d, not %d",
                            (int)a->type, (int)want);
    if (a->count >= 0x7fffffffu)
        return consign_fail(ctx, CONSIGN_E_TOOBIG, "rpm header: array too long");
    return 0;
}

int
consign__rpm_array_str(struct consign_ctx *ctx, struct consign__rpm_array *a, const char *s)
{
    size_t n = strlen(s);
    int rc;

    if ((rc = array_check(ctx, a, CONSIGN_RPM_STRING_ARRAY)))
        return rc;
    if (n > MAX_ELEMENT)
        return consign_fail(ctx, CONSIGN_E_TOOBIG, "rpm header: string too long");
    if ((rc = consign_buf_append(ctx, &a->data, s, n + 1)))
        return rc;
    a->count++;
    return 0;
}

int
consign__rpm_array_u16(struct consign_ctx *ctx, struct consign__rpm_array *a, uint16_t v)
{
    unsigned char b[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    int rc;

    if ((rc = array_check(ctx, a, CONSIGN_RPM_INT16)) ||
        (rc = consign_buf_append(ctx, &a->data, b, 2)))
        return rc;
    a->count++;
    return 0;
}

int
consign__rpm_array_u32(struct consign_ctx *ctx, struct consign__rpm_array *a, uint32_t v)
{
    unsigned char b[4];
    int rc;

    consign_put_be32(b, v);
    if ((rc = array_check(ctx, a, CONSIGN_RPM_INT32)) ||
        (rc = consign_buf_append(ctx, &a->data, b, 4)))
        return rc;
    a->count++;
    return 0;
}

static int
cmp_entry_tag(const void *a, const void *b)
{
    uint32_t x = (*(const struct consign__rpm_entry *const *)a)->tag;
    uint32_t y = (*(const struct consign__rpm_entry *const *)b)->tag;
    return x < y ? -1 : x > y;
}

static void
put_index(unsigned char *p, uint32_t tag, uint32_t type, uint32_t offset, uint32_t count)
{
    consign_put_be32(p, tag);
    consign_put_be32(p + 4, type);
    consign_put_be32(p + 8, offset);
    consign_put_be32(p + 12, count);
}

/* Lay the data out in tag order, each value aligned for its type, then the
 * region trailer; the index follows the same order behind the region entry. */
int
consign__rpm_hdr_write(struct consign_ctx *ctx, const struct consign__rpm_hdr *h, uint32_t region,
                       struct consign_buf *out)
{
    static const char zeros[8] = {0};
    const struct consign__rpm_entry **sorted = NULL;
    unsigned char *index = NULL, intro[16], trailer[ENTRY_SIZE];
    struct consign_buf data;
    size_t i, il = h->n + 1, need;
    int rc = 0;

    consign_buf_init(&data, CONSIGN_RPM_HDR_MAX_DATA);
    if (region != CONSIGN_RPM_REGION_SIGNATURES && region != CONSIGN_RPM_REGION_IMMUTABLE) {
        rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "rpm header: bad region tag %u",
                          (unsigned)region);
        goto out;
    }
    if (region == CONSIGN_RPM_REGION_SIGNATURES && il > CONSIGN_RPM_SIG_MAX_TAGS) {
        rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "rpm signature header: too many tags");
        goto out;
    }
    if (!(sorted = consign_calloc(ctx, h->n ? h->n : 1, sizeof(*sorted))) ||
        !(index = consign_calloc(ctx, il, ENTRY_SIZE))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    for (i = 0; i < h->n; i++) {
        if (h->e[i].tag < 100) {
            rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "rpm header: reserved tag %u",
                              (unsigned)h->e[i].tag);
            goto out;
        }
        sorted[i] = &h->e[i];
    }
    for (i = 0, need = ENTRY_SIZE; i < h->n; i++)
        need += h->e[i].len + 7;
    if (need > CONSIGN_RPM_HDR_MAX_DATA) {
        rc = consign_fail(ctx, CONSIGN_E_TOOBIG,
                          "rpm header: more than 16 MiB of data (too many files for rpm before "
                          "4.14)");
        goto out;
    }
    if (h->n)
        qsort(sorted, h->n, sizeof(*sorted), cmp_entry_tag);
    for (i = 0; i < h->n; i++) {
        const struct consign__rpm_entry *e = sorted[i];
        size_t pad = (type_align(e->type) - data.len % type_align(e->type)) % type_align(e->type);
        if ((rc = consign_buf_append(ctx, &data, zeros, pad)))
            goto out;
        put_index(index + (i + 1) * ENTRY_SIZE, e->tag, (uint32_t)e->type, (uint32_t)data.len,
                  e->count);
        if ((rc = consign_buf_append(ctx, &data, e->data, e->len)))
            goto out;
    }
    /* The trailer's offset is minus the size of the region's index. */
    put_index(trailer, region, CONSIGN_RPM_BIN, (uint32_t)(-(int64_t)(il * ENTRY_SIZE)),
              ENTRY_SIZE);
    put_index(index, region, CONSIGN_RPM_BIN, (uint32_t)data.len, ENTRY_SIZE);
    if ((rc = consign_buf_append(ctx, &data, trailer, sizeof(trailer))))
        goto out;
    memcpy(intro, header_magic, 8);
    consign_put_be32(intro + 8, (uint32_t)il);
    consign_put_be32(intro + 12, (uint32_t)data.len);
    if ((rc = consign_buf_append(ctx, out, intro, sizeof(intro))) ||
        (rc = consign_buf_append(ctx, out, index, il * ENTRY_SIZE)) ||
        (rc = consign_buf_append(ctx, out, data.data, data.len)))
        goto out;
out:
    if (rc)
        consign_err_context(ctx, rc, "writing the rpm header");
    consign_buf_free(&data);
    free(index);
    free(sorted);
    return rc;
}
