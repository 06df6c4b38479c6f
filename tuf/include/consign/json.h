/* consign json: a bounded RFC 8259 parser into a small tree, and the
 * canonical JSON encoder that TUF signs ("OLPC canonical JSON" as
 * securesystemslib writes it).
 *
 * The parser refuses what a signed document must not be ambiguous about:
 * duplicate object keys, invalid UTF-8 (raw or through \u escapes, lone
 * surrogates included), integers outside signed 64 bits. Numbers without a
 * fraction or an exponent are CONSIGN_JSON_INT; others are kept as their
 * literal text (CONSIGN_JSON_NUMBER), which the canonical encoder refuses.
 * Input size, nesting depth and node count are capped.
 *
 * Objects keep their members sorted by key bytes (which is Unicode code
 * point order for UTF-8), so lookups are binary searches and the canonical
 * encoder writes them as they are. Arrays keep their order. */
#ifndef CONSIGN_JSON_H
#define CONSIGN_JSON_H

#include <stddef.h>

#include "consign/buf.h"
#include "consign/error.h"

#ifdef __cplusplus
extern "C" {
#endif

enum consign_json_type {
    CONSIGN_JSON_NULL,
    CONSIGN_JSON_BOOL,
    CONSIGN_JSON_INT,
    CONSIGN_JSON_NUMBER, /* fraction or exponent: str holds the literal */
    CONSIGN_JSON_STRING,
    CONSIGN_JSON_ARRAY,
    CONSIGN_JSON_OBJECT,
};

struct consign_json;

struct consign_json_member {
    char *key; /* UTF-8, NUL-terminated; may hold NULs (use key_len) */
    size_t key_len;
    struct consign_json *value;
};

/* One node. Read the fields directly; change a tree only through the
 * functions below, which keep objects sorted and their keys unique. */
struct consign_json {
    enum consign_json_type type;
    int boolean;       /* BOOL */
    long long integer; /* INT */
    char *str;         /* STRING (UTF-8, NUL-terminated, may hold NULs) or NUMBER literal */
    size_t len;        /* bytes in str */
    struct consign_json **items;         /* ARRAY */
    struct consign_json_member *members; /* OBJECT, sorted by key bytes */
    size_t count;                        /* items or members */
    size_t cap;
};

#define CONSIGN_JSON_DEFAULT_MAX_SIZE  (16u << 20)
#define CONSIGN_JSON_DEFAULT_MAX_DEPTH 64
#define CONSIGN_JSON_DEFAULT_MAX_NODES 1000000
/* Neither the parser nor the encoder ever goes deeper than this. */
#define CONSIGN_JSON_HARD_MAX_DEPTH 512

/* Accept control characters (U+0000..U+001F) raw inside strings. RFC 8259
 * forbids them, but canonical JSON writes them unescaped; only for reading
 * canonical output back. */
#define CONSIGN_JSON_RAW_CONTROLS 0x1u

struct consign_json_limits {
    size_t max_size;    /* input bytes; 0: CONSIGN_JSON_DEFAULT_MAX_SIZE */
    unsigned max_depth; /* nested arrays/objects; 0: default; capped at the hard maximum */
    size_t max_nodes;   /* values in the document; 0: default */
    unsigned flags;     /* CONSIGN_JSON_RAW_CONTROLS */
};

/* Parse one JSON text (white space around it allowed, nothing else).
 * lim may be NULL (defaults). *out is owned by the caller.
 * Errors: CONSIGN_E_SYNTAX (with the byte offset), CONSIGN_E_TOOBIG (a cap),
 * CONSIGN_E_INVALID (duplicate key, integer out of range, bad UTF-8). */
int consign_json_parse(struct consign_ctx *ctx, const char *data, size_t len,
                       const struct consign_json_limits *lim, struct consign_json **out);

void consign_json_free(struct consign_json *v);

/* Append the canonical encoding of v to out: members in key order, no white
 * space, strings with only '"' and '\\' escaped (all other bytes raw),
 * integers in decimal. CONSIGN_E_INVALID for a CONSIGN_JSON_NUMBER. */
int consign_json_canonical(struct consign_ctx *ctx, const struct consign_json *v,
                           struct consign_buf *out);

/* Lookups (borrowed; NULL when v is not of the type or the key is absent). */
const struct consign_json *consign_json_get(const struct consign_json *obj, const char *key);
/* The string, or NULL if v is not a string or holds a NUL byte. */
const char *consign_json_str(const struct consign_json *v);
const char *consign_json_type_name(enum consign_json_type t);

/* Building trees. New nodes are owned by the caller until handed to a
 * container; _object_set and _array_append take value in every case (it is
 * freed when they fail). _object_set replaces an existing member. */
struct consign_json *consign_json_new(struct consign_ctx *ctx, enum consign_json_type type);
struct consign_json *consign_json_new_int(struct consign_ctx *ctx, long long v);
struct consign_json *consign_json_new_bool(struct consign_ctx *ctx, int v);
/* Refuses invalid UTF-8 (CONSIGN_E_INVALID). */
struct consign_json *consign_json_new_string(struct consign_ctx *ctx, const char *s, size_t len);
int consign_json_object_set(struct consign_ctx *ctx, struct consign_json *obj, const char *key,
                            struct consign_json *value);
/* Removes and frees the member; 0 if it was there, CONSIGN_E_NOTFOUND if not. */
int consign_json_object_remove(struct consign_ctx *ctx, struct consign_json *obj, const char *key);
int consign_json_array_append(struct consign_ctx *ctx, struct consign_json *arr,
                              struct consign_json *value);
/* A deep copy (owned by the caller). */
int consign_json_dup(struct consign_ctx *ctx, const struct consign_json *v,
                     struct consign_json **out);

#ifdef __cplusplus
}
#endif
#endif
