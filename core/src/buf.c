/* Capped growable buffers and allocation helpers that record NOMEM. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consign/buf.h"

void
consign_buf_init(struct consign_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void
consign_buf_free(struct consign_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void
consign_buf_free_secure(struct consign_buf *b)
{
    if (!b)
        return;
    if (b->data)
        explicit_bzero(b->data, b->cap);
    consign_buf_free(b);
}

void
consign_buf_reset(struct consign_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int
buf_reserve(struct consign_ctx *ctx, struct consign_buf *b, size_t extra)
{
    size_t need, ncap;
    char *p;

    if (extra > b->max || b->len > b->max - extra)
        return consign_fail(ctx, CONSIGN_E_TOOBIG, "data exceeds the limit of %zu bytes", b->max);
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    ncap = b->cap ? b->cap : 256;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    p = realloc(b->data, ncap);
    if (!p)
        return consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
    b->data = p;
    b->cap = ncap;
    return 0;
}

int
consign_buf_append(struct consign_ctx *ctx, struct consign_buf *b, const void *p, size_t n)
{
    int rc = buf_reserve(ctx, b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int
consign_buf_puts(struct consign_ctx *ctx, struct consign_buf *b, const char *s)
{
    return consign_buf_append(ctx, b, s, strlen(s));
}

int
consign_buf_printf(struct consign_ctx *ctx, struct consign_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return consign_fail(ctx, CONSIGN_E_INTERNAL, "formatting failed");
    rc = buf_reserve(ctx, b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *
consign_buf_steal(struct consign_buf *b, size_t *len)
{
    char *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

char *
consign_strdup(struct consign_ctx *ctx, const char *s)
{
    char *p = strdup(s);
    if (!p)
        consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
    return p;
}

char *
consign_strndup(struct consign_ctx *ctx, const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (!p)
        consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
    return p;
}

char *
consign_asprintf(struct consign_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    char *p = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (n < 0) {
        consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
        return NULL;
    }
    return p;
}

void *
consign_calloc(struct consign_ctx *ctx, size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
    return p;
}

void *
consign_reallocarray(struct consign_ctx *ctx, void *p, size_t n, size_t size)
{
    void *q = reallocarray(p, n ? n : 1, size ? size : 1);
    if (!q)
        consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
    return q;
}

int
consign_parse_u64(const char *s, unsigned long long max, unsigned long long *out)
{
    unsigned long long v = 0;

    if (!s || !*s)
        return -1;
    for (; *s; s++) {
        unsigned d;
        if (*s < '0' || *s > '9')
            return -1;
        d = (unsigned)(*s - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}
