/* Unit tests for the RPM header serialiser (pkg/rpm/src/header.c): the
 * intro, the region entry and its trailer, tag order, alignment per type,
 * counts of string arrays, and the limits rpm enforces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../pkg/rpm/src/rpm_header.h"

struct idx {
    uint32_t tag, type, offset, count;
};

static uint32_t
be32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

/* Parse what the serialiser wrote, checking the intro; returns il. */
static uint32_t
parse(const struct consign_buf *b, struct idx *out, size_t max, const char **data, uint32_t *dl)
{
    static const unsigned char magic[8] = {0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0};
    uint32_t il, i;

    assert_true(b->len >= 16);
    assert_memory_equal(b->data, magic, 8);
    il = be32(b->data + 8);
    *dl = be32(b->data + 12);
    assert_true(il <= max);
    assert_int_equal(b->len, 16 + (size_t)il * 16 + *dl);
    for (i = 0; i < il; i++) {
        const char *p = b->data + 16 + (size_t)i * 16;
        out[i].tag = be32(p);
        out[i].type = be32(p + 4);
        out[i].offset = be32(p + 8);
        out[i].count = be32(p + 12);
    }
    *data = b->data + 16 + (size_t)il * 16;
    return il;
}

/* The region entry comes first and points at a trailer closing the data
 * whose offset is minus the size of the whole index. */
static void
check_region(const struct idx *ix, uint32_t il, const char *data, uint32_t dl, uint32_t region)
{
    const char *t;

    assert_int_equal(ix[0].tag, region);
    assert_int_equal(ix[0].type, CONSIGN_RPM_BIN);
    assert_int_equal(ix[0].count, 16);
    assert_int_equal(ix[0].offset, dl - 16);
    t = data + dl - 16;
    assert_int_equal(be32(t), region);
    assert_int_equal(be32(t + 4), CONSIGN_RPM_BIN);
    assert_int_equal((int32_t)be32(t + 8), -(int32_t)(il * 16));
    assert_int_equal(be32(t + 12), 16);
}

static void
test_one_string(void **state)
{
    struct consign_ctx ctx;
    struct consign__rpm_hdr h;
    struct consign_buf b;
    struct idx ix[4];
    const char *data;
    uint32_t il, dl;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign__rpm_hdr_init(&h);
    consign_buf_init(&b, 1 << 20);
    assert_int_equal(consign__rpm_hdr_string(&ctx, &h, 1000, "name"), 0);
    assert_int_equal(consign__rpm_hdr_write(&ctx, &h, CONSIGN_RPM_REGION_IMMUTABLE, &b), 0);
    il = parse(&b, ix, 4, &data, &dl);
    assert_int_equal(il, 2);
    assert_int_equal(dl, 5 + 16);
    check_region(ix, il, data, dl, CONSIGN_RPM_REGION_IMMUTABLE);
    assert_int_equal(ix[1].tag, 1000);
    assert_int_equal(ix[1].type, CONSIGN_RPM_STRING);
    assert_int_equal(ix[1].count, 1);
    assert_int_equal(ix[1].offset, 0);
    assert_memory_equal(data, "name", 5);
    consign__rpm_hdr_free(&h);
    consign_buf_free(&b);
}

/* Tags are written in ascending order whatever the order they were added
 * in, with the data in the same order. */
static void
test_sorted_tags(void **state)
{
    static const uint32_t tags[] = {5092, 1000, 1126, 100, 1004, 1049};
    struct consign_ctx ctx;
    struct consign__rpm_hdr h;
    struct consign_buf b;
    struct idx ix[16];
    const char *data;
    uint32_t il, dl, i;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign__rpm_hdr_init(&h);
    consign_buf_init(&b, 1 << 20);
    for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
        assert_int_equal(consign__rpm_hdr_string(&ctx, &h, tags[i], "v"), 0);
    assert_int_equal(consign__rpm_hdr_write(&ctx, &h, CONSIGN_RPM_REGION_IMMUTABLE, &b), 0);
    il = parse(&b, ix, 16, &data, &dl);
    assert_int_equal(il, 7);
    check_region(ix, il, data, dl, CONSIGN_RPM_REGION_IMMUTABLE);
    for (i = 2; i < il; i++) {
        assert_true(ix[i].tag > ix[i - 1].tag);
        assert_true(ix[i].offset > ix[i - 1].offset);
    }
    assert_int_equal(ix[1].tag, 100);
    assert_int_equal(ix[il - 1].tag, 5092);
    consign__rpm_hdr_free(&h);
    consign_buf_free(&b);
}

/* INT16 values start on 2 bytes, INT32 on 4, with zero padding; strings
 * and binary data are not aligned. */
static void
test_alignment(void **state)
{
    struct consign_ctx ctx;
    struct consign__rpm_hdr h;
    struct consign__rpm_array a16, a32;
    struct consign_buf b;
    struct idx ix[8];
    const char *data;
    uint32_t il, dl, i;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign__rpm_hdr_init(&h);
    consign_buf_init(&b, 1 << 20);
    consign__rpm_array_init(&a16, CONSIGN_RPM_INT16);
    consign__rpm_array_init(&a32, CONSIGN_RPM_INT32);
    assert_int_equal(consign__rpm_hdr_string(&ctx, &h, 1000, "ab"), 0); /* 3 bytes at 0 */
    assert_int_equal(consign__rpm_array_u16(&ctx, &a16, 0x8124), 0);
    assert_int_equal(consign__rpm_array_u16(&ctx, &a16, 0x41ed), 0);
    assert_int_equal(consign__rpm_hdr_array(&ctx, &h, 1001, &a16), 0); /* at 4 */
    assert_int_equal(consign__rpm_hdr_bin(&ctx, &h, 1002, "x", 1), 0); /* at 8 */
    assert_int_equal(consign__rpm_array_u32(&ctx, &a32, 0xdeadbeef), 0);
    assert_int_equal(consign__rpm_hdr_array(&ctx, &h, 1003, &a32), 0); /* at 12 */
    assert_int_equal(a16.count, 0);                                    /* the arrays were taken */
    assert_int_equal(consign__rpm_hdr_write(&ctx, &h, CONSIGN_RPM_REGION_IMMUTABLE, &b), 0);
    il = parse(&b, ix, 8, &data, &dl);
    assert_int_equal(il, 5);
    check_region(ix, il, data, dl, CONSIGN_RPM_REGION_IMMUTABLE);
    assert_int_equal(ix[1].offset, 0);
    assert_int_equal(ix[2].type, CONSIGN_RPM_INT16);
    assert_int_equal(ix[2].count, 2);
    assert_int_equal(ix[2].offset, 4);
    assert_int_equal(data[3], 0);
    assert_int_equal((unsigned char)data[4], 0x81);
    assert_int_equal((unsigned char)data[5], 0x24);
    assert_int_equal(ix[3].type, CONSIGN_RPM_BIN);
    assert_int_equal(ix[3].count, 1);
    assert_int_equal(ix[3].offset, 8);
    assert_int_equal(ix[4].type, CONSIGN_RPM_INT32);
    assert_int_equal(ix[4].offset, 12);
    for (i = 9; i < 12; i++)
        assert_int_equal(data[i], 0);
    assert_int_equal(be32(data + 12), 0xdeadbeef);
    /* The trailer follows the last value directly. */
    assert_int_equal(dl, 16 + 16);
    consign__rpm_hdr_free(&h);
    consign_buf_free(&b);
}

/* A string array counts its strings, empty ones included; an I18N string
 * is one string per locale. */
static void
test_string_arrays(void **state)
{
    static const char expect[] = "/opt/\0\0/etc/opt/x/\0";
    struct consign_ctx ctx;
    struct consign__rpm_hdr h;
    struct consign__rpm_array a;
    struct consign_buf b;
    struct idx ix[4];
    const char *data;
    uint32_t il, dl;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign__rpm_hdr_init(&h);
    consign_buf_init(&b, 1 << 20);
    consign__rpm_array_init(&a, CONSIGN_RPM_STRING_ARRAY);
    assert_int_equal(consign__rpm_array_str(&ctx, &a, "/opt/"), 0);
    assert_int_equal(consign__rpm_array_str(&ctx, &a, ""), 0);
    assert_int_equal(consign__rpm_array_str(&ctx, &a, "/etc/opt/x/"), 0);
    /* Elements of the wrong type are refused. */
    assert_int_equal(consign__rpm_array_u32(&ctx, &a, 1), CONSIGN_E_INTERNAL);
    assert_int_equal(consign__rpm_hdr_array(&ctx, &h, 1118, &a), 0);
    assert_int_equal(consign__rpm_hdr_i18n(&ctx, &h, 1004, "Summary"), 0);
    assert_int_equal(consign__rpm_hdr_write(&ctx, &h, CONSIGN_RPM_REGION_IMMUTABLE, &b), 0);
    il = parse(&b, ix, 4, &data, &dl);
    assert_int_equal(il, 3);
    check_region(ix, il, data, dl, CONSIGN_RPM_REGION_IMMUTABLE);
    assert_int_equal(ix[1].tag, 1004);
    assert_int_equal(ix[1].type, CONSIGN_RPM_I18NSTRING);
    assert_int_equal(ix[1].count, 1);
    assert_int_equal(ix[2].tag, 1118);
    assert_int_equal(ix[2].type, CONSIGN_RPM_STRING_ARRAY);
    assert_int_equal(ix[2].count, 3);
    assert_memory_equal(data + ix[2].offset, expect, sizeof(expect) - 1);
    assert_int_equal(ix[2].offset + sizeof(expect) - 1 + 16, dl);
    consign__rpm_hdr_free(&h);
    consign_buf_free(&b);
}

/* The signature header uses region 62; rpm reads at most 32 entries there. */
static void
test_signature_region(void **state)
{
    struct consign_ctx ctx;
    struct consign__rpm_hdr h;
    struct consign_buf b;
    struct idx ix[40];
    const char *data;
    uint32_t il, dl, i;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign__rpm_hdr_init(&h);
    consign_buf_init(&b, 1 << 20);
    assert_int_equal(consign__rpm_hdr_u32(&ctx, &h, 1000, 1234), 0);
    assert_int_equal(consign__rpm_hdr_bin(&ctx, &h, 1004, "0123456789abcdef", 16), 0);
    assert_int_equal(consign__rpm_hdr_write(&ctx, &h, CONSIGN_RPM_REGION_SIGNATURES, &b), 0);
    il = parse(&b, ix, 40, &data, &dl);
    assert_int_equal(il, 3);
    check_region(ix, il, data, dl, CONSIGN_RPM_REGION_SIGNATURES);
    assert_int_equal(be32(data + ix[1].offset), 1234);
    assert_int_equal(ix[2].count, 16);
    for (i = 0; i < 40; i++)
        consign__rpm_hdr_u32(&ctx, &h, 2000 + i, i);
    consign_buf_reset(&b);
    assert_int_equal(consign__rpm_hdr_write(&ctx, &h, CONSIGN_RPM_REGION_SIGNATURES, &b),
                     CONSIGN_E_INTERNAL);
    consign__rpm_hdr_free(&h);
    consign_buf_free(&b);
}

static void
test_refusals(void **state)
{
    struct consign_ctx ctx;
    struct consign__rpm_hdr h;
    struct consign__rpm_array a;
    struct consign_buf b;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign__rpm_hdr_init(&h);
    consign_buf_init(&b, 1 << 20);
    assert_int_equal(consign__rpm_hdr_string(&ctx, &h, 1000, "a"), 0);
    assert_int_equal(consign__rpm_hdr_string(&ctx, &h, 1000, "b"), CONSIGN_E_INTERNAL);
    assert_non_null(strstr(consign_err_msg(&ctx), "twice"));
    assert_int_equal(consign__rpm_hdr_bin(&ctx, &h, 1001, "", 0), CONSIGN_E_INTERNAL);
    consign__rpm_array_init(&a, CONSIGN_RPM_INT32);
    assert_int_equal(consign__rpm_hdr_array(&ctx, &h, 1002, &a), CONSIGN_E_INTERNAL);
    /* Tags below HEADER_I18NTABLE belong to rpm's regions. */
    assert_int_equal(consign__rpm_hdr_string(&ctx, &h, 63, "x"), 0);
    assert_int_equal(consign__rpm_hdr_write(&ctx, &h, CONSIGN_RPM_REGION_IMMUTABLE, &b),
                     CONSIGN_E_INTERNAL);
    assert_int_equal(consign__rpm_hdr_write(&ctx, &h, 61, &b), CONSIGN_E_INTERNAL);
    assert_int_equal(b.len, 0);
    consign__rpm_hdr_free(&h);
    consign__rpm_hdr_free(NULL);
    consign__rpm_array_free(NULL);
    consign_buf_free(&b);
}

/* rpm before 4.14 refuses headers with 16 MiB of data or more. */
static void
test_size_limit(void **state)
{
    struct consign_ctx ctx;
    struct consign__rpm_hdr h;
    struct consign_buf b;
    char *big = calloc(1, 9u << 20);

    (void)state;
    assert_non_null(big);
    consign_ctx_init(&ctx, NULL, NULL);
    consign__rpm_hdr_init(&h);
    consign_buf_init(&b, 64u << 20);
    assert_int_equal(consign__rpm_hdr_bin(&ctx, &h, 1000, big, 9u << 20), 0);
    assert_int_equal(consign__rpm_hdr_write(&ctx, &h, CONSIGN_RPM_REGION_IMMUTABLE, &b), 0);
    consign_buf_reset(&b);
    assert_int_equal(consign__rpm_hdr_bin(&ctx, &h, 1001, big, 9u << 20), 0);
    assert_int_equal(consign__rpm_hdr_write(&ctx, &h, CONSIGN_RPM_REGION_IMMUTABLE, &b),
                     CONSIGN_E_TOOBIG);
    assert_non_null(strstr(consign_err_msg(&ctx), "16 MiB"));
    assert_int_equal(b.len, 0);
    free(big);
    consign__rpm_hdr_free(&h);
    consign_buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_string),       cmocka_unit_test(test_sorted_tags),
        cmocka_unit_test(test_alignment),        cmocka_unit_test(test_string_arrays),
        cmocka_unit_test(test_signature_region), cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_size_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
