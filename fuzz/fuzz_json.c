/* Fuzz target: the JSON parser and the canonical encoder (tuf/src/json.c).
 * Whatever parses must encode canonically (unless it holds a non-integer
 * number) to at most as many bytes as the input; the encoding must parse
 * again (raw control characters allowed, as canonical JSON writes them) and
 * encode to the same bytes; a deep copy must encode the same too. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consign/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
has_number(const struct consign_json *v)
{
    size_t i;

    if (v->type == CONSIGN_JSON_NUMBER)
        return 1;
    for (i = 0; v->type == CONSIGN_JSON_ARRAY && i < v->count; i++)
        if (has_number(v->items[i]))
            return 1;
    for (i = 0; v->type == CONSIGN_JSON_OBJECT && i < v->count; i++)
        if (has_number(v->members[i].value))
            return 1;
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct consign_json_limits raw = {0, 0, 0, CONSIGN_JSON_RAW_CONTROLS};
    struct consign_json *v = NULL, *w = NULL, *d = NULL;
    struct consign_buf a, b, c;
    struct consign_ctx ctx;
    int rc;

    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&a, size + 1);
    consign_buf_init(&b, size + 1);
    consign_buf_init(&c, size + 1);
    if (consign_json_parse(&ctx, (const char *)data, size, NULL, &v))
        goto out;
    rc = consign_json_canonical(&ctx, v, &a);
    if (rc == CONSIGN_E_NOMEM)
        goto out;
    /* Fails exactly for non-integer numbers; never longer than the input. */
    if ((rc != 0) != has_number(v) || (rc && rc != CONSIGN_E_INVALID))
        abort();
    if (rc)
        goto out;
    if (!a.data || a.len > size)
        abort();
    if (consign_json_parse(&ctx, a.data, a.len, &raw, &w) || consign_json_canonical(&ctx, w, &b) ||
        b.len != a.len || memcmp(a.data, b.data, a.len))
        abort();
    if (consign_json_dup(&ctx, v, &d) == 0 &&
        (consign_json_canonical(&ctx, d, &c) || c.len != a.len || memcmp(a.data, c.data, a.len)))
        abort();
out:
    consign_json_free(v);
    consign_json_free(w);
    consign_json_free(d);
    consign_buf_free(&a);
    consign_buf_free(&b);
    consign_buf_free(&c);
    return 0;
}
