/* consign core: a growable byte buffer with a hard cap (curl's dynbuf idea).
 * Every buffer that grows from outside input is given a maximum at init. */
#ifndef CONSIGN_BUF_H
#define CONSIGN_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "consign/error.h"

struct consign_buf {
    char *data; /* always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
    size_t max;
};

void consign_buf_init(struct consign_buf *b, size_t max);
/* Frees the storage; the buffer may be reused after consign_buf_init. Accepts NULL. */
void consign_buf_free(struct consign_buf *b);
/* Zeroes the storage before freeing it (secrets). Accepts NULL. */
void consign_buf_free_secure(struct consign_buf *b);
void consign_buf_reset(struct consign_buf *b);
int consign_buf_append(struct consign_ctx *ctx, struct consign_buf *b, const void *p, size_t n);
int consign_buf_puts(struct consign_ctx *ctx, struct consign_buf *b, const char *s);
int consign_buf_printf(struct consign_ctx *ctx, struct consign_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Hand the storage to the caller (who frees it with free()); the buffer is emptied. */
char *consign_buf_steal(struct consign_buf *b, size_t *len);

/* Heap helpers that record CONSIGN_E_NOMEM in ctx on failure. */
char *consign_strdup(struct consign_ctx *ctx, const char *s);
char *consign_strndup(struct consign_ctx *ctx, const char *s, size_t n);
char *consign_asprintf(struct consign_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void *consign_calloc(struct consign_ctx *ctx, size_t n, size_t size);
void *consign_reallocarray(struct consign_ctx *ctx, void *p, size_t n, size_t size);

/* Parse a whole decimal unsigned number (no sign, no spaces, no overflow). 0 on success. */
int consign_parse_u64(const char *s, unsigned long long max, unsigned long long *out);

#endif
