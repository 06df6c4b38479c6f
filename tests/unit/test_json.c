/* The bounded JSON parser and the canonical encoder (consign/json.h):
 * accepted and refused texts, caps, UTF-8 and surrogates, 64-bit integers,
 * canonical output byte for byte (as securesystemslib writes it), and the
 * tree builder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consign/buf.h"
#include "consign/json.h"

/* Parse text (its strlen) and return the code; *out gets the tree on success. */
static int
parse(const char *text, struct consign_json **out)
{
    struct consign_ctx ctx;
    struct consign_json *v = NULL;
    int rc;

    consign_ctx_init(&ctx, NULL, NULL);
    rc = consign_json_parse(&ctx, text, strlen(text), NULL, &v);
    if (out)
        *out = v;
    else
        consign_json_free(v);
    return rc;
}

/* Parse, encode canonically and compare with want. */
static void
canon_is(const char *text, const char *want)
{
    struct consign_ctx ctx;
    struct consign_json *v = NULL;
    struct consign_buf b;

    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&b, 1 << 20);
    if (consign_json_parse(&ctx, text, strlen(text), NULL, &v))
        fail_msg("parse '%s': %s", text, consign_err_msg(&ctx));
    assert_int_equal(consign_json_canonical(&ctx, v, &b), 0);
    assert_non_null(b.data);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    consign_json_free(v);
    consign_buf_free(&b);
}

/* A refused text: the code, and a piece of the message. */
static void
refused(const char *text, size_t len, int code, const char *msg)
{
    struct consign_ctx ctx;
    struct consign_json *v = NULL;
    int rc;

    consign_ctx_init(&ctx, NULL, NULL);
    rc = consign_json_parse(&ctx, text, len, NULL, &v);
    if (rc != code || !strstr(consign_err_msg(&ctx), msg))
        fail_msg("'%.*s': got %s '%s', want %s '%s'", (int)len, text, consign_strcode(rc),
                 consign_err_msg(&ctx), consign_strcode(code), msg);
    assert_null(v);
}
#define REFUSED(text, code, msg) refused(text, sizeof(text) - 1, code, msg)

static void
test_values(void **state)
{
    struct consign_json *v = NULL;
    const struct consign_json *m;

    (void)state;
    assert_int_equal(parse(" {\"a\": [1, -2, true, false, null, \"x\"], \"b\": {}}\n", &v), 0);
    assert_int_equal(v->type, CONSIGN_JSON_OBJECT);
    assert_int_equal(v->count, 2);
    m = consign_json_get(v, "a");
    assert_non_null(m);
    assert_int_equal(m->type, CONSIGN_JSON_ARRAY);
    assert_int_equal(m->count, 6);
    assert_int_equal(m->items[0]->integer, 1);
    assert_int_equal(m->items[1]->integer, -2);
    assert_int_equal(m->items[2]->type, CONSIGN_JSON_BOOL);
    assert_true(m->items[2]->boolean);
    assert_false(m->items[3]->boolean);
    assert_int_equal(m->items[4]->type, CONSIGN_JSON_NULL);
    assert_string_equal(consign_json_str(m->items[5]), "x");
    assert_null(consign_json_get(v, "c"));
    assert_null(consign_json_get(m, "a")); /* not an object */
    assert_int_equal(consign_json_get(v, "b")->count, 0);
    consign_json_free(v);

    /* Any value at the top, as RFC 8259 allows. */
    assert_int_equal(parse("\"s\"", NULL), 0);
    assert_int_equal(parse("0", NULL), 0);
    assert_int_equal(parse("[]", NULL), 0);
}

static void
test_integers(void **state)
{
    struct consign_json *v = NULL;

    (void)state;
    assert_int_equal(parse("9223372036854775807", &v), 0);
    assert_true(v->integer == INT64_MAX);
    consign_json_free(v);
    assert_int_equal(parse("-9223372036854775808", &v), 0);
    assert_true(v->integer == INT64_MIN);
    consign_json_free(v);
    assert_int_equal(parse("-0", &v), 0);
    assert_int_equal(v->type, CONSIGN_JSON_INT);
    assert_int_equal(v->integer, 0);
    consign_json_free(v);
    REFUSED("9223372036854775808", CONSIGN_E_INVALID, "signed 64-bit");
    REFUSED("-9223372036854775809", CONSIGN_E_INVALID, "signed 64-bit");
    REFUSED("99999999999999999999999", CONSIGN_E_INVALID, "signed 64-bit");

    /* Fractions and exponents are numbers, not integers, and canonical JSON has none. */
    assert_int_equal(parse("[1.5, 1e3, -0.0, 99999999999999999999999.0]", &v), 0);
    assert_int_equal(v->items[0]->type, CONSIGN_JSON_NUMBER);
    assert_string_equal(v->items[0]->str, "1.5");
    assert_int_equal(v->items[1]->type, CONSIGN_JSON_NUMBER);
    assert_string_equal(v->items[3]->str, "99999999999999999999999.0");
    {
        struct consign_ctx ctx;
        struct consign_buf b;
        consign_ctx_init(&ctx, NULL, NULL);
        consign_buf_init(&b, 1024);
        assert_int_equal(consign_json_canonical(&ctx, v, &b), CONSIGN_E_INVALID);
        assert_non_null(strstr(consign_err_msg(&ctx), "non-integer"));
        consign_buf_free(&b);
    }
    consign_json_free(v);

    REFUSED("01", CONSIGN_E_SYNTAX, "leading zero");
    REFUSED("-", CONSIGN_E_SYNTAX, "bad number");
    REFUSED("1.", CONSIGN_E_SYNTAX, "bad fraction");
    REFUSED("1e", CONSIGN_E_SYNTAX, "bad exponent");
    REFUSED("+1", CONSIGN_E_SYNTAX, "unexpected character");
    REFUSED(".5", CONSIGN_E_SYNTAX, "unexpected character");
    REFUSED("0x10", CONSIGN_E_SYNTAX, "trailing data");
    REFUSED("NaN", CONSIGN_E_SYNTAX, "unexpected");
}

static void
test_strings(void **state)
{
    struct consign_json *v = NULL;

    (void)state;
    assert_int_equal(parse("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", &v), 0);
    assert_string_equal(v->str, "a\"b\\c/d\b\f\n\r\t");
    consign_json_free(v);
    /* \u escapes to UTF-8: one, two, three bytes and a surrogate pair (U+1F600). */
    assert_int_equal(parse("\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"", &v), 0);
    assert_string_equal(v->str, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    consign_json_free(v);
    /* \u0000 is a string with a NUL: kept with its length, refused by consign_json_str. */
    assert_int_equal(parse("\"a\\u0000b\"", &v), 0);
    assert_int_equal(v->len, 3);
    assert_null(consign_json_str(v));
    consign_json_free(v);
    /* Raw UTF-8 up to U+10FFFF. */
    assert_int_equal(parse("\"\xc3\xa9\xe2\x82\xac\xf4\x8f\xbf\xbf\x7f\"", NULL), 0);

    REFUSED("\"\\ud83d\"", CONSIGN_E_INVALID, "high surrogate");
    REFUSED("\"\\ud83d\\u0041\"", CONSIGN_E_INVALID, "high surrogate");
    REFUSED("\"\\ude00\"", CONSIGN_E_INVALID, "lone low surrogate");
    REFUSED("\"\\u12\"", CONSIGN_E_SYNTAX, "bad \\u escape");
    REFUSED("\"\\u12G4\"", CONSIGN_E_SYNTAX, "bad \\u escape");
    REFUSED("\"\\x\"", CONSIGN_E_SYNTAX, "unknown escape");
    REFUSED("\"abc", CONSIGN_E_SYNTAX, "unterminated string");
    REFUSED("\"abc\\\"", CONSIGN_E_SYNTAX, "unterminated string");
    REFUSED("\"a\nb\"", CONSIGN_E_SYNTAX, "control character");
    REFUSED("\"a\tb\"", CONSIGN_E_SYNTAX, "control character");
    REFUSED("\"\xc0\x80\"", CONSIGN_E_INVALID, "UTF-8");         /* overlong NUL */
    REFUSED("\"\xe0\x80\xaf\"", CONSIGN_E_INVALID, "UTF-8");     /* overlong '/' */
    REFUSED("\"\xed\xa0\x80\"", CONSIGN_E_INVALID, "UTF-8");     /* encoded surrogate */
    REFUSED("\"\xf4\x90\x80\x80\"", CONSIGN_E_INVALID, "UTF-8"); /* above U+10FFFF */
    REFUSED("\"\xf5\x80\x80\x80\"", CONSIGN_E_INVALID, "UTF-8");
    REFUSED("\"\xc3\"", CONSIGN_E_INVALID, "UTF-8"); /* truncated before the quote */
    REFUSED("\"\x80\"", CONSIGN_E_INVALID, "UTF-8"); /* lone continuation byte */
    REFUSED("\"\xff\"", CONSIGN_E_INVALID, "UTF-8");
    refused("\"a\0b\"", 5, CONSIGN_E_SYNTAX, "control character");
}

static void
test_structure(void **state)
{
    (void)state;
    REFUSED("", CONSIGN_E_SYNTAX, "end of input");
    REFUSED("   ", CONSIGN_E_SYNTAX, "end of input");
    REFUSED("\xef\xbb\xbf{}", CONSIGN_E_SYNTAX, "unexpected character"); /* BOM */
    REFUSED("{} {}", CONSIGN_E_SYNTAX, "trailing data");
    REFUSED("[1,]", CONSIGN_E_SYNTAX, "unexpected character");
    REFUSED("[1 2]", CONSIGN_E_SYNTAX, "expected ',' or ']'");
    REFUSED("[1", CONSIGN_E_SYNTAX, "unterminated array");
    REFUSED("{\"a\":1,}", CONSIGN_E_SYNTAX, "string key");
    REFUSED("{\"a\" 1}", CONSIGN_E_SYNTAX, "expected ':'");
    REFUSED("{\"a\":1", CONSIGN_E_SYNTAX, "unterminated object");
    REFUSED("{\"a\":1 \"b\":2}", CONSIGN_E_SYNTAX, "expected ',' or '}'");
    REFUSED("{a:1}", CONSIGN_E_SYNTAX, "string key");
    REFUSED("tru", CONSIGN_E_SYNTAX, "unexpected character");
    REFUSED("nulll", CONSIGN_E_SYNTAX, "trailing data");
    REFUSED("[1]\x0b", CONSIGN_E_SYNTAX, "trailing data"); /* not JSON white space */
    /* Duplicate keys, also when only escapes tell them apart, and in nested objects. */
    REFUSED("{\"a\":1,\"b\":2,\"a\":3}", CONSIGN_E_INVALID, "duplicate key 'a'");
    REFUSED("{\"a\":1,\"\\u0061\":2}", CONSIGN_E_INVALID, "duplicate key");
    REFUSED("[{\"x\":{\"k\":1,\"k\":1}}]", CONSIGN_E_INVALID, "duplicate key 'k'");
    /* Keys that differ only after a NUL are different keys. */
    assert_int_equal(parse("{\"a\":1,\"a\\u0000\":2}", NULL), 0);
}

static void
test_caps(void **state)
{
    struct consign_json_limits lim = {0, 0, 0, 0};
    struct consign_json *v = NULL;
    struct consign_ctx ctx;
    char deep[2 * CONSIGN_JSON_HARD_MAX_DEPTH + 10];
    size_t i;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    /* Depth: 64 nested arrays pass by default, 65 do not. */
    for (i = 0; i < 64; i++)
        deep[i] = '[';
    for (i = 0; i < 64; i++)
        deep[64 + i] = ']';
    assert_int_equal(consign_json_parse(&ctx, deep, 128, NULL, &v), 0);
    consign_json_free(v);
    memmove(deep + 1, deep, 128);
    deep[129] = ']';
    assert_int_equal(consign_json_parse(&ctx, deep, 130, NULL, &v), CONSIGN_E_TOOBIG);
    assert_non_null(strstr(consign_err_msg(&ctx), "nested too deeply"));
    lim.max_depth = 2;
    assert_int_equal(consign_json_parse(&ctx, "[[1]]", 5, &lim, &v), 0);
    consign_json_free(v);
    assert_int_equal(consign_json_parse(&ctx, "[{\"a\":[]}]", 10, &lim, &v), CONSIGN_E_TOOBIG);
    /* A depth above the hard maximum is capped at it. */
    lim.max_depth = 100000;
    for (i = 0; i < CONSIGN_JSON_HARD_MAX_DEPTH + 1; i++)
        deep[i] = '[';
    assert_int_equal(consign_json_parse(&ctx, deep, CONSIGN_JSON_HARD_MAX_DEPTH + 1, &lim, &v),
                     CONSIGN_E_TOOBIG);
    /* Size and node count. */
    lim.max_depth = 0;
    lim.max_size = 4;
    assert_int_equal(consign_json_parse(&ctx, "[1,2]", 5, &lim, &v), CONSIGN_E_TOOBIG);
    assert_int_equal(consign_json_parse(&ctx, "[12]", 4, &lim, &v), 0);
    consign_json_free(v);
    lim.max_size = 0;
    lim.max_nodes = 3;
    assert_int_equal(consign_json_parse(&ctx, "[1,2]", 5, &lim, &v), 0);
    consign_json_free(v);
    assert_int_equal(consign_json_parse(&ctx, "[1,2,3]", 7, &lim, &v), CONSIGN_E_TOOBIG);
    assert_non_null(strstr(consign_err_msg(&ctx), "too many values"));
    assert_null(v);
}

static void
test_canonical(void **state)
{
    (void)state;
    /* Keys by bytes (code points): upper case before lower case, ASCII before é. */
    canon_is("{ \"b\" : 1, \"a\" : [ 1 , 2 ], \"\xc3\xa9\": null, \"Z\": true, \"aa\": false }",
             "{\"Z\":true,\"a\":[1,2],\"aa\":false,\"b\":1,\"\xc3\xa9\":null}");
    /* Only '"' and '\\' are escaped; everything else is written raw. */
    canon_is("\"q\\\"b\\\\s\\/\\n\\t\\u0001\\u00e9\"", "\"q\\\"b\\\\s/\n\t\x01\xc3\xa9\"");
    canon_is("[-0, 10, -9223372036854775808, {}, [], \"\"]",
             "[0,10,-9223372036854775808,{},[],\"\"]");
    canon_is("{\"a\":{\"d\":1,\"c\":{\"f\":2,\"e\":3}}}",
             "{\"a\":{\"c\":{\"e\":3,\"f\":2},\"d\":1}}");
    /* A key's NUL sorts it after its prefix; the raw NUL is written. */
    {
        struct consign_ctx ctx;
        struct consign_json *v = NULL;
        struct consign_buf b;
        static const char want[] = "{\"a\":1,\"a\0\":2,\"b\":3}";
        consign_ctx_init(&ctx, NULL, NULL);
        consign_buf_init(&b, 1024);
        assert_int_equal(parse("{\"b\":3,\"a\\u0000\":2,\"a\":1}", &v), 0);
        assert_int_equal(consign_json_canonical(&ctx, v, &b), 0);
        assert_int_equal(b.len, sizeof(want) - 1);
        assert_memory_equal(b.data, want, b.len);
        consign_json_free(v);
        consign_buf_free(&b);
    }
}

/* Canonical output uses raw control characters; it reads back with
 * CONSIGN_JSON_RAW_CONTROLS and encodes to itself. */
static void
test_raw_controls(void **state)
{
    static const char text[] = "{\"k\\n\":\"a\\u0001\\u001fb\"}";
    struct consign_json_limits lim = {0, 0, 0, CONSIGN_JSON_RAW_CONTROLS};
    struct consign_json *v = NULL, *w = NULL;
    struct consign_buf a, b;
    struct consign_ctx ctx;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&a, 1024);
    consign_buf_init(&b, 1024);
    assert_int_equal(parse(text, &v), 0);
    assert_int_equal(consign_json_canonical(&ctx, v, &a), 0);
    assert_int_equal(consign_json_parse(&ctx, a.data, a.len, NULL, &w), CONSIGN_E_SYNTAX);
    assert_int_equal(consign_json_parse(&ctx, a.data, a.len, &lim, &w), 0);
    assert_int_equal(consign_json_canonical(&ctx, w, &b), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    consign_json_free(v);
    consign_json_free(w);
    consign_buf_free(&a);
    consign_buf_free(&b);
}

static void
test_builder(void **state)
{
    struct consign_ctx ctx;
    struct consign_json *o, *a, *d = NULL;
    struct consign_buf b;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&b, 1024);
    o = consign_json_new(&ctx, CONSIGN_JSON_OBJECT);
    a = consign_json_new(&ctx, CONSIGN_JSON_ARRAY);
    assert_non_null(o);
    assert_int_equal(consign_json_array_append(&ctx, a, consign_json_new_int(&ctx, 3)), 0);
    assert_int_equal(consign_json_array_append(&ctx, a, consign_json_new_bool(&ctx, 1)), 0);
    assert_int_equal(consign_json_object_set(&ctx, o, "z", a), 0);
    assert_int_equal(consign_json_object_set(&ctx, o, "m", consign_json_new_string(&ctx, "x\"", 2)),
                     0);
    assert_int_equal(consign_json_object_set(&ctx, o, "a", consign_json_new_int(&ctx, -1)), 0);
    assert_int_equal(consign_json_object_set(&ctx, o, "a", consign_json_new_int(&ctx, 7)), 0);
    assert_int_equal(o->count, 3);
    assert_int_equal(consign_json_canonical(&ctx, o, &b), 0);
    assert_string_equal(b.data, "{\"a\":7,\"m\":\"x\\\"\",\"z\":[3,true]}");
    assert_int_equal(consign_json_dup(&ctx, o, &d), 0);
    assert_int_equal(consign_json_object_remove(&ctx, o, "m"), 0);
    assert_int_equal(consign_json_object_remove(&ctx, o, "m"), CONSIGN_E_NOTFOUND);
    consign_buf_reset(&b);
    assert_int_equal(consign_json_canonical(&ctx, o, &b), 0);
    assert_string_equal(b.data, "{\"a\":7,\"z\":[3,true]}");
    consign_buf_reset(&b);
    assert_int_equal(consign_json_canonical(&ctx, d, &b), 0);
    assert_string_equal(b.data, "{\"a\":7,\"m\":\"x\\\"\",\"z\":[3,true]}");
    /* Invalid UTF-8 is refused; a value handed to a non-container is freed. */
    assert_null(consign_json_new_string(&ctx, "\xc0\x80", 2));
    assert_int_equal(ctx.err_code, CONSIGN_E_INVALID);
    assert_int_equal(consign_json_object_set(&ctx, o, "\xff", consign_json_new_int(&ctx, 1)),
                     CONSIGN_E_INVALID);
    assert_int_equal(consign_json_array_append(&ctx, o, consign_json_new_int(&ctx, 1)),
                     CONSIGN_E_INTERNAL);
    consign_json_free(o);
    consign_json_free(d);
    consign_json_free(NULL);
    consign_buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),       cmocka_unit_test(test_integers),
        cmocka_unit_test(test_strings),      cmocka_unit_test(test_structure),
        cmocka_unit_test(test_caps),         cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_raw_controls), cmocka_unit_test(test_builder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
