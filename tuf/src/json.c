/* Bounded JSON parser (RFC 8259) and canonical JSON encoder. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consign/json.h"

struct parser {
    struct consign_ctx *ctx;
    const unsigned char *start, *p, *end;
    unsigned max_depth;
    size_t max_nodes, nodes;
    unsigned flags;
};

static int
perr(struct parser *ps, int code, const char *what)
{
    return consign_fail(ps->ctx, code, "json: byte %zu: %s", (size_t)(ps->p - ps->start), what);
}

void
consign_json_free(struct consign_json *v)
{
    size_t i;

    if (!v)
        return;
    if (v->type == CONSIGN_JSON_ARRAY) {
        for (i = 0; i < v->count; i++)
            consign_json_free(v->items[i]);
        free(v->items);
    } else if (v->type == CONSIGN_JSON_OBJECT) {
        for (i = 0; i < v->count; i++) {
            free(v->members[i].key);
            consign_json_free(v->members[i].value);
        }
        free(v->members);
    }
    free(v->str);
    free(v);
}

struct consign_json *
consign_json_new(struct consign_ctx *ctx, enum consign_json_type type)
{
    struct consign_json *v = consign_calloc(ctx, 1, sizeof(*v));
    if (v)
        v->type = type;
    return v;
}

struct consign_json *
consign_json_new_int(struct consign_ctx *ctx, long long i)
{
    struct consign_json *v = consign_json_new(ctx, CONSIGN_JSON_INT);
    if (v)
        v->integer = i;
    return v;
}

struct consign_json *
consign_json_new_bool(struct consign_ctx *ctx, int b)
{
    struct consign_json *v = consign_json_new(ctx, CONSIGN_JSON_BOOL);
    if (v)
        v->boolean = !!b;
    return v;
}

/* Length of the valid UTF-8 sequence at p (at most n bytes available), or 0. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    size_t len, i;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else
        return 0;
    if (n < len)
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return len;
}

static int
utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t off = 0, n;

    while (off < len) {
        if (!(n = utf8_seq(p + off, len - off)))
            return 0;
        off += n;
    }
    return 1;
}

struct consign_json *
consign_json_new_string(struct consign_ctx *ctx, const char *s, size_t len)
{
    struct consign_json *v;

    if (!utf8_valid(s, len)) {
        consign_fail(ctx, CONSIGN_E_INVALID, "json: string is not valid UTF-8");
        return NULL;
    }
    if (len == SIZE_MAX || !(v = consign_json_new(ctx, CONSIGN_JSON_STRING)))
        return NULL;
    if (!(v->str = malloc(len + 1))) {
        consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
        free(v);
        return NULL;
    }
    memcpy(v->str, s, len);
    v->str[len] = '\0';
    v->len = len;
    return v;
}

static int
key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* Index of key in a sorted object, or the insertion point with *found 0. */
static size_t
member_find(const struct consign_json *obj, const char *key, size_t klen, int *found)
{
    size_t lo = 0, hi = obj->count;

    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = key_cmp(key, klen, obj->members[mid].key, obj->members[mid].key_len);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

const struct consign_json *
consign_json_get(const struct consign_json *obj, const char *key)
{
    size_t i;
    int found;

    if (!obj || obj->type != CONSIGN_JSON_OBJECT)
        return NULL;
    i = member_find(obj, key, strlen(key), &found);
    return found ? obj->members[i].value : NULL;
}

const char *
consign_json_str(const struct consign_json *v)
{
    if (!v || v->type != CONSIGN_JSON_STRING || strlen(v->str) != v->len)
        return NULL;
    return v->str;
}

const char *
consign_json_type_name(enum consign_json_type t)
{
    switch (t) {
    case CONSIGN_JSON_NULL:
        return "null";
    case CONSIGN_JSON_BOOL:
        return "boolean";
    case CONSIGN_JSON_INT:
        return "integer";
    case CONSIGN_JSON_NUMBER:
        return "non-integer number";
    case CONSIGN_JSON_STRING:
        return "string";
    case CONSIGN_JSON_ARRAY:
        return "array";
    case CONSIGN_JSON_OBJECT:
        return "object";
    }
    return "unknown";
}

static int
grow(struct consign_ctx *ctx, void **arr, size_t *cap, size_t count, size_t size)
{
    size_t ncap;
    void *p;

    if (count < *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 4;
    if (ncap < *cap || !(p = consign_reallocarray(ctx, *arr, ncap, size)))
        return CONSIGN_E_NOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

int
consign_json_object_set(struct consign_ctx *ctx, struct consign_json *obj, const char *key,
                        struct consign_json *value)
{
    size_t klen = strlen(key), i;
    char *k = NULL;
    int found, rc = 0;

    if (!obj || obj->type != CONSIGN_JSON_OBJECT || !value) {
        rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "json: object_set on a non-object");
        goto out;
    }
    if (!utf8_valid(key, klen)) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "json: key is not valid UTF-8");
        goto out;
    }
    i = member_find(obj, key, klen, &found);
    if (found) {
        consign_json_free(obj->members[i].value);
        obj->members[i].value = value;
        return 0;
    }
    if (!(k = consign_strndup(ctx, key, klen)) ||
        (rc = grow(ctx, (void **)&obj->members, &obj->cap, obj->count, sizeof(*obj->members)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    memmove(obj->members + i + 1, obj->members + i, (obj->count - i) * sizeof(*obj->members));
    obj->members[i].key = k;
    obj->members[i].key_len = klen;
    obj->members[i].value = value;
    obj->count++;
    return 0;
out:
    free(k);
    consign_json_free(value);
    return rc;
}

int
consign_json_object_remove(struct consign_ctx *ctx, struct consign_json *obj, const char *key)
{
    size_t i;
    int found;

    if (!obj || obj->type != CONSIGN_JSON_OBJECT)
        return consign_fail(ctx, CONSIGN_E_INTERNAL, "json: object_remove on a non-object");
    i = member_find(obj, key, strlen(key), &found);
    if (!found)
        return consign_fail(ctx, CONSIGN_E_NOTFOUND, "json: no member '%s'", key);
    free(obj->members[i].key);
    consign_json_free(obj->members[i].value);
    memmove(obj->members + i, obj->members + i + 1, (obj->count - i - 1) * sizeof(*obj->members));
    obj->count--;
    return 0;
}

int
consign_json_array_append(struct consign_ctx *ctx, struct consign_json *arr,
                          struct consign_json *value)
{
    int rc;

    if (!arr || arr->type != CONSIGN_JSON_ARRAY || !value) {
        consign_json_free(value);
        return consign_fail(ctx, CONSIGN_E_INTERNAL, "json: array_append on a non-array");
    }
    if ((rc = grow(ctx, (void **)&arr->items, &arr->cap, arr->count, sizeof(*arr->items)))) {
        consign_json_free(value);
        return rc;
    }
    arr->items[arr->count++] = value;
    return 0;
}

static int
dup_rec(struct consign_ctx *ctx, const struct consign_json *v, unsigned depth,
        struct consign_json **out)
{
    struct consign_json *n = NULL, *child = NULL;
    size_t i;
    int rc = 0;

    *out = NULL;
    if (depth > CONSIGN_JSON_HARD_MAX_DEPTH) {
        rc = consign_fail(ctx, CONSIGN_E_TOOBIG, "json: nested deeper than %d",
                          CONSIGN_JSON_HARD_MAX_DEPTH);
        goto out;
    }
    if (!(n = consign_json_new(ctx, v->type))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    n->boolean = v->boolean;
    n->integer = v->integer;
    if (v->str) {
        if (!(n->str = malloc(v->len + 1))) {
            rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
            goto out;
        }
        memcpy(n->str, v->str, v->len + 1);
        n->len = v->len;
    }
    if (v->type == CONSIGN_JSON_ARRAY) {
        for (i = 0; i < v->count; i++)
            if ((rc = dup_rec(ctx, v->items[i], depth + 1, &child)) ||
                (rc = consign_json_array_append(ctx, n, child)))
                goto out;
    } else if (v->type == CONSIGN_JSON_OBJECT && v->count) {
        if (!(n->members = consign_calloc(ctx, v->count, sizeof(*n->members)))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        n->cap = v->count;
        for (i = 0; i < v->count; i++) {
            const struct consign_json_member *m = &v->members[i];
            if (!(n->members[i].key = malloc(m->key_len + 1))) {
                rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
                goto out;
            }
            memcpy(n->members[i].key, m->key, m->key_len + 1);
            n->members[i].key_len = m->key_len;
            n->count = i + 1;
            if ((rc = dup_rec(ctx, m->value, depth + 1, &n->members[i].value)))
                goto out;
        }
    }
    *out = n;
    n = NULL;
out:
    consign_json_free(n);
    return rc;
}

int
consign_json_dup(struct consign_ctx *ctx, const struct consign_json *v, struct consign_json **out)
{
    return dup_rec(ctx, v, 0, out);
}

/* ---- parser ---- */

static void
skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int
new_node(struct parser *ps, enum consign_json_type type, struct consign_json **out)
{
    if (ps->nodes >= ps->max_nodes)
        return perr(ps, CONSIGN_E_TOOBIG, "too many values");
    if (!(*out = consign_json_new(ps->ctx, type)))
        return CONSIGN_E_NOMEM;
    ps->nodes++;
    return 0;
}

static int
hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    int i;

    for (i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static size_t
put_utf8(unsigned char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A string at ps->p (on the opening quote). The decoded bytes never exceed
 * the raw span: every escape is at least as long as what it stands for. */
static int
parse_string(struct parser *ps, char **out, size_t *outlen)
{
    const unsigned char *q = ps->p + 1, *close;
    unsigned char *buf = NULL, *o;
    int rc = 0;

    *out = NULL;
    /* Find the closing quote first, to size the buffer. */
    for (close = q; close < ps->end && *close != '"'; close++)
        if (*close == '\\' && ++close == ps->end)
            break;
    if (close >= ps->end) {
        rc = perr(ps, CONSIGN_E_SYNTAX, "unterminated string");
        goto out;
    }
    if (!(buf = malloc((size_t)(close - q) + 1))) {
        rc = consign_fail(ps->ctx, CONSIGN_E_NOMEM, NULL);
        goto out;
    }
    o = buf;
    ps->p = q;
    while (ps->p < close) {
        unsigned c = *ps->p;
        if (c == '\\') {
            unsigned cp, lo;
            c = ps->p[1];
            ps->p += 2;
            switch (c) {
            case '"':
            case '\\':
            case '/':
                *o++ = (unsigned char)c;
                continue;
            case 'b':
                *o++ = '\b';
                continue;
            case 'f':
                *o++ = '\f';
                continue;
            case 'n':
                *o++ = '\n';
                continue;
            case 'r':
                *o++ = '\r';
                continue;
            case 't':
                *o++ = '\t';
                continue;
            case 'u':
                break;
            default:
                ps->p -= 2;
                rc = perr(ps, CONSIGN_E_SYNTAX, "unknown escape in string");
                goto out;
            }
            if (close - ps->p < 4 || hex4(ps->p, &cp)) {
                ps->p -= 2;
                rc = perr(ps, CONSIGN_E_SYNTAX, "bad \\u escape");
                goto out;
            }
            ps->p += 4;
            if (cp >= 0xDC00 && cp <= 0xDFFF) {
                ps->p -= 6;
                rc = perr(ps, CONSIGN_E_INVALID, "lone low surrogate");
                goto out;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (close - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
                    hex4(ps->p + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                    ps->p -= 6;
                    rc = perr(ps, CONSIGN_E_INVALID, "high surrogate without a low surrogate");
                    goto out;
                }
                ps->p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            o += put_utf8(o, cp);
        } else if (c < 0x20) {
            if (!(ps->flags & CONSIGN_JSON_RAW_CONTROLS)) {
                rc = perr(ps, CONSIGN_E_SYNTAX, "control character in string");
                goto out;
            }
            *o++ = (unsigned char)c;
            ps->p++;
        } else {
            size_t n = utf8_seq(ps->p, (size_t)(close - ps->p));
            if (!n) {
                rc = perr(ps, CONSIGN_E_INVALID, "invalid UTF-8 in string");
                goto out;
            }
            memcpy(o, ps->p, n);
            o += n;
            ps->p += n;
        }
    }
    ps->p = close + 1;
    *o = '\0';
    *outlen = (size_t)(o - buf);
    *out = (char *)buf;
    buf = NULL;
out:
    free(buf);
    return rc;
}

static int
is_digit(const struct parser *ps, const unsigned char *p)
{
    return p < ps->end && *p >= '0' && *p <= '9';
}

static int
parse_number(struct parser *ps, struct consign_json **out)
{
    const unsigned char *s = ps->p, *p = ps->p;
    unsigned long long mag = 0, limit;
    int neg = 0, integral = 1, rc;

    if (*p == '-') {
        neg = 1;
        p++;
    }
    if (!is_digit(ps, p))
        return perr(ps, CONSIGN_E_SYNTAX, "bad number");
    if (*p == '0' && is_digit(ps, p + 1))
        return perr(ps, CONSIGN_E_SYNTAX, "leading zero in number");
    limit = neg ? (unsigned long long)LLONG_MAX + 1 : (unsigned long long)LLONG_MAX;
    while (is_digit(ps, p)) {
        unsigned d = (unsigned)(*p - '0');
        if (integral && mag > (limit - d) / 10)
            integral = -1; /* out of range, unless it turns out not to be an integer */
        else if (integral > 0)
            mag = mag * 10 + d;
        p++;
    }
    if (p < ps->end && *p == '.') {
        p++;
        if (!is_digit(ps, p)) {
            ps->p = p;
            return perr(ps, CONSIGN_E_SYNTAX, "bad fraction");
        }
        while (is_digit(ps, p))
            p++;
        integral = 0;
    }
    if (p < ps->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < ps->end && (*p == '+' || *p == '-'))
            p++;
        if (!is_digit(ps, p)) {
            ps->p = p;
            return perr(ps, CONSIGN_E_SYNTAX, "bad exponent");
        }
        while (is_digit(ps, p))
            p++;
        integral = 0;
    }
    if (integral < 0)
        return perr(ps, CONSIGN_E_INVALID, "integer out of the signed 64-bit range");
    if ((rc = new_node(ps, integral ? CONSIGN_JSON_INT : CONSIGN_JSON_NUMBER, out)))
        return rc;
    if (integral)
        (*out)->integer = neg ? (long long)(0 - mag) : (long long)mag;
    else if (!((*out)->str = consign_strndup(ps->ctx, (const char *)s, (size_t)(p - s))))
        return CONSIGN_E_NOMEM;
    else
        (*out)->len = (size_t)(p - s);
    ps->p = p;
    return 0;
}

static int
literal(struct parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return perr(ps, CONSIGN_E_SYNTAX, "unexpected character");
    ps->p += n;
    return 0;
}

static int
member_cmp(const void *a, const void *b)
{
    const struct consign_json_member *x = a, *y = b;
    return key_cmp(x->key, x->key_len, y->key, y->key_len);
}

static int parse_value(struct parser *ps, unsigned depth, struct consign_json **out);

static int
parse_array(struct parser *ps, unsigned depth, struct consign_json *arr)
{
    struct consign_json *item = NULL;
    int rc;

    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return 0;
    }
    for (;;) {
        if ((rc = parse_value(ps, depth, &item)) ||
            (rc = consign_json_array_append(ps->ctx, arr, item)))
            return rc;
        skip_ws(ps);
        if (ps->p >= ps->end)
            return perr(ps, CONSIGN_E_SYNTAX, "unterminated array");
        if (*ps->p == ']') {
            ps->p++;
            return 0;
        }
        if (*ps->p != ',')
            return perr(ps, CONSIGN_E_SYNTAX, "expected ',' or ']'");
        ps->p++;
    }
}

static int
parse_object(struct parser *ps, unsigned depth, struct consign_json *obj)
{
    const unsigned char *open = ps->p;
    struct consign_json_member *m;
    size_t i;
    int rc;

    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return 0;
    }
    for (;;) {
        if (ps->p >= ps->end || *ps->p != '"')
            return perr(ps, CONSIGN_E_SYNTAX, "expected a string key");
        if ((rc = grow(ps->ctx, (void **)&obj->members, &obj->cap, obj->count, sizeof(*m))))
            return rc;
        m = &obj->members[obj->count];
        m->value = NULL;
        if ((rc = parse_string(ps, &m->key, &m->key_len)))
            return rc;
        obj->count++;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':')
            return perr(ps, CONSIGN_E_SYNTAX, "expected ':'");
        ps->p++;
        if ((rc = parse_value(ps, depth, &m->value)))
            return rc;
        skip_ws(ps);
        if (ps->p >= ps->end)
            return perr(ps, CONSIGN_E_SYNTAX, "unterminated object");
        if (*ps->p == '}')
            break;
        if (*ps->p != ',')
            return perr(ps, CONSIGN_E_SYNTAX, "expected ',' or '}'");
        ps->p++;
        skip_ws(ps);
    }
    ps->p++;
    qsort(obj->members, obj->count, sizeof(*obj->members), member_cmp);
    for (i = 1; i < obj->count; i++)
        if (member_cmp(&obj->members[i - 1], &obj->members[i]) == 0) {
            const char *k = obj->members[i].key;
            ps->p = open;
            return consign_fail(ps->ctx, CONSIGN_E_INVALID,
                                "json: byte %zu: duplicate key '%.64s' in object",
                                (size_t)(open - ps->start), k);
        }
    return 0;
}

static int
parse_value(struct parser *ps, unsigned depth, struct consign_json **out)
{
    struct consign_json *v = NULL;
    int rc = 0;

    *out = NULL;
    skip_ws(ps);
    if (ps->p >= ps->end) {
        rc = perr(ps, CONSIGN_E_SYNTAX, "unexpected end of input");
        goto out;
    }
    switch (*ps->p) {
    case '{':
    case '[':
        if (depth >= ps->max_depth) {
            rc = perr(ps, CONSIGN_E_TOOBIG, "nested too deeply");
            goto out;
        }
        if ((rc = new_node(ps, *ps->p == '{' ? CONSIGN_JSON_OBJECT : CONSIGN_JSON_ARRAY, &v)))
            goto out;
        rc = v->type == CONSIGN_JSON_OBJECT ? parse_object(ps, depth + 1, v)
                                            : parse_array(ps, depth + 1, v);
        break;
    case '"':
        if ((rc = new_node(ps, CONSIGN_JSON_STRING, &v)))
            goto out;
        rc = parse_string(ps, &v->str, &v->len);
        break;
    case 't':
    case 'f':
        if ((rc = new_node(ps, CONSIGN_JSON_BOOL, &v)))
            goto out;
        v->boolean = *ps->p == 't';
        rc = literal(ps, v->boolean ? "true" : "false");
        break;
    case 'n':
        if (!(rc = new_node(ps, CONSIGN_JSON_NULL, &v)))
            rc = literal(ps, "null");
        break;
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
            rc = parse_number(ps, &v);
        else
            rc = perr(ps, CONSIGN_E_SYNTAX, "unexpected character");
        break;
    }
    if (!rc) {
        *out = v;
        v = NULL;
    }
out:
    consign_json_free(v);
    return rc;
}

int
consign_json_parse(struct consign_ctx *ctx, const char *data, size_t len,
                   const struct consign_json_limits *lim, struct consign_json **out)
{
    struct parser ps;
    struct consign_json *v = NULL;
    size_t max_size = lim && lim->max_size ? lim->max_size : CONSIGN_JSON_DEFAULT_MAX_SIZE;
    int rc;

    *out = NULL;
    if (len > max_size)
        return consign_fail(ctx, CONSIGN_E_TOOBIG, "json: %zu bytes, the limit is %zu", len,
                            max_size);
    memset(&ps, 0, sizeof(ps));
    ps.ctx = ctx;
    ps.start = ps.p = (const unsigned char *)data;
    ps.end = ps.start + len;
    ps.max_depth = lim && lim->max_depth ? lim->max_depth : CONSIGN_JSON_DEFAULT_MAX_DEPTH;
    if (ps.max_depth > CONSIGN_JSON_HARD_MAX_DEPTH)
        ps.max_depth = CONSIGN_JSON_HARD_MAX_DEPTH;
    ps.max_nodes = lim && lim->max_nodes ? lim->max_nodes : CONSIGN_JSON_DEFAULT_MAX_NODES;
    ps.flags = lim ? lim->flags : 0;
    if ((rc = parse_value(&ps, 0, &v)))
        goto out;
    skip_ws(&ps);
    if (ps.p != ps.end) {
        rc = perr(&ps, CONSIGN_E_SYNTAX, "trailing data after the value");
        goto out;
    }
    *out = v;
    v = NULL;
out:
    consign_json_free(v);
    return rc;
}

/* ---- canonical encoder ---- */

static int
put_string(struct consign_ctx *ctx, struct consign_buf *out, const char *s, size_t len)
{
    size_t i, run = 0;
    int rc;

    if ((rc = consign_buf_append(ctx, out, "\"", 1)))
        return rc;
    for (i = 0; i < len; i++) {
        if (s[i] != '"' && s[i] != '\\')
            continue;
        if ((rc = consign_buf_append(ctx, out, s + run, i - run)) ||
            (rc = consign_buf_append(ctx, out, "\\", 1)))
            return rc;
        run = i;
    }
    if ((rc = consign_buf_append(ctx, out, s + run, len - run)))
        return rc;
    return consign_buf_append(ctx, out, "\"", 1);
}

static int
canon(struct consign_ctx *ctx, const struct consign_json *v, unsigned depth,
      struct consign_buf *out)
{
    size_t i;
    int rc = 0;

    if (depth > CONSIGN_JSON_HARD_MAX_DEPTH)
        return consign_fail(ctx, CONSIGN_E_TOOBIG, "json: nested deeper than %d",
                            CONSIGN_JSON_HARD_MAX_DEPTH);
    switch (v->type) {
    case CONSIGN_JSON_NULL:
        return consign_buf_puts(ctx, out, "null");
    case CONSIGN_JSON_BOOL:
        return consign_buf_puts(ctx, out, v->boolean ? "true" : "false");
    case CONSIGN_JSON_INT:
        return consign_buf_printf(ctx, out, "%lld", v->integer);
    case CONSIGN_JSON_NUMBER:
        return consign_fail(ctx, CONSIGN_E_INVALID,
                            "json: canonical JSON has no non-integer numbers (%.32s)", v->str);
    case CONSIGN_JSON_STRING:
        return put_string(ctx, out, v->str, v->len);
    case CONSIGN_JSON_ARRAY:
        if ((rc = consign_buf_append(ctx, out, "[", 1)))
            return rc;
        for (i = 0; i < v->count; i++)
            if ((i && (rc = consign_buf_append(ctx, out, ",", 1))) ||
                (rc = canon(ctx, v->items[i], depth + 1, out)))
                return rc;
        return consign_buf_append(ctx, out, "]", 1);
    case CONSIGN_JSON_OBJECT:
        if ((rc = consign_buf_append(ctx, out, "{", 1)))
            return rc;
        for (i = 0; i < v->count; i++)
            if ((i && (rc = consign_buf_append(ctx, out, ",", 1))) ||
                (rc = put_string(ctx, out, v->members[i].key, v->members[i].key_len)) ||
                (rc = consign_buf_append(ctx, out, ":", 1)) ||
                (rc = canon(ctx, v->members[i].value, depth + 1, out)))
                return rc;
        return consign_buf_append(ctx, out, "}", 1);
    }
    return consign_fail(ctx, CONSIGN_E_INTERNAL, "json: bad node type %d", (int)v->type);
}

int
consign_json_canonical(struct consign_ctx *ctx, const struct consign_json *v,
                       struct consign_buf *out)
{
    return canon(ctx, v, 0, out);
}
