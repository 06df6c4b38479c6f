/* consign repo: reading a .rpm (consign_rpm_info) and its createrepo_c
 * metadata. The fixture tests/fixtures/rpm/fixture.noarch.rpm (rpmbuild)
 * against the documents createrepo_c wrote for it, cut at every byte; small
 * packages crafted here for the dependency rules and escaping (their
 * expected XML is createrepo_c's too: run with CONSIGN_RPMINFO_DUMP=DIR to
 * get the crafted files), and broken ones for every check of the headers;
 * rpm's version order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "consign/buf.h"
#include "consign/error.h"
#include "consign/fileio.h"
#include "consign/hash.h"
#include "consign/rpminfo.h"

#define FIXTURE_DIR CONSIGN_FIXTURES "/rpm"

enum { T_INT16 = 3, T_INT32 = 4, T_INT64 = 5, T_STRING = 6, T_BIN = 7, T_SA = 8, T_I18N = 9 };

static char tmpdir[64];
static char rpmpath[128];

static int
setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/consign-rpminfo.XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(rpmpath, sizeof(rpmpath), "%s/t.rpm", tmpdir);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    unlink(rpmpath);
    rmdir(tmpdir);
    return 0;
}

/* --- crafting packages ------------------------------------------------------------ */

static uint32_t
get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* A header being built: entries in the order added (offsets grow). */
struct hb {
    unsigned char idx[16 * 128];
    size_t n;
    unsigned char data[1 << 14];
    size_t dl;
};

static void
hb_add(struct hb *b, uint32_t tag, uint32_t type, uint32_t count, const void *p, size_t len)
{
    size_t align = type == T_INT16 ? 2 : type == T_INT32 ? 4 : type == T_INT64 ? 8 : 1;

    assert_true(b->n < 128);
    while (b->dl % align)
        b->data[b->dl++] = 0;
    assert_true(b->dl + len <= sizeof(b->data));
    be32(b->idx + 16 * b->n, tag);
    be32(b->idx + 16 * b->n + 4, type);
    be32(b->idx + 16 * b->n + 8, (uint32_t)b->dl);
    be32(b->idx + 16 * b->n + 12, count);
    memcpy(b->data + b->dl, p, len);
    b->dl += len;
    b->n++;
}

static void
hb_str(struct hb *b, uint32_t tag, const char *s)
{
    hb_add(b, tag, T_STRING, 1, s, strlen(s) + 1);
}

/* n strings of an array (T_SA or T_I18N). */
static void
hb_strs(struct hb *b, uint32_t tag, uint32_t type, const char *const *v, size_t n)
{
    char buf[8192];
    size_t len = 0, k;

    for (size_t i = 0; i < n; i++) {
        k = strlen(v[i]) + 1;
        assert_true(len + k <= sizeof(buf));
        memcpy(buf + len, v[i], k);
        len += k;
    }
    hb_add(b, tag, type, (uint32_t)n, buf, len);
}

static void
hb_i18n(struct hb *b, uint32_t tag, const char *s)
{
    hb_strs(b, tag, T_I18N, &s, 1);
}

static void
hb_u32(struct hb *b, uint32_t tag, const uint32_t *v, size_t n)
{
    unsigned char buf[4 * 256];

    assert_true(n <= 256);
    for (size_t i = 0; i < n; i++)
        be32(buf + 4 * i, v[i]);
    hb_add(b, tag, T_INT32, (uint32_t)n, buf, 4 * n);
}

static void
hb_u32_1(struct hb *b, uint32_t tag, uint32_t v)
{
    hb_u32(b, tag, &v, 1);
}

static void
hb_u16(struct hb *b, uint32_t tag, const uint16_t *v, size_t n)
{
    unsigned char buf[2 * 256];

    assert_true(n <= 256);
    for (size_t i = 0; i < n; i++) {
        buf[2 * i] = (unsigned char)(v[i] >> 8);
        buf[2 * i + 1] = (unsigned char)v[i];
    }
    hb_add(b, tag, T_INT16, (uint32_t)n, buf, 2 * n);
}

static void
hb_u64_1(struct hb *b, uint32_t tag, uint64_t v)
{
    unsigned char buf[8];

    be32(buf, (uint32_t)(v >> 32));
    be32(buf + 4, (uint32_t)v);
    hb_add(b, tag, T_INT64, 1, buf, 8);
}

/* name, flags and version lists of one kind of dependency. */
struct depspec {
    const char *name;
    uint32_t flags;
    const char *ver;
};

static void
hb_deps(struct hb *b, uint32_t ntag, uint32_t ftag, uint32_t vtag, const struct depspec *d,
        size_t n)
{
    const char *names[64], *vers[64];
    uint32_t flags[64];
    uint32_t tags[3] = {ntag, ftag, vtag};

    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++) {
        names[i] = d[i].name;
        flags[i] = d[i].flags;
        vers[i] = d[i].ver;
    }
    /* By tag, as rpm writes them. */
    for (int t = 0; t < 3; t++) {
        uint32_t low = 0xffffffffu;
        int which = 0;
        for (int k = 0; k < 3; k++)
            if (tags[k] && tags[k] < low)
                low = tags[k], which = k;
        if (which == 0)
            hb_strs(b, ntag, T_SA, names, n);
        else if (which == 1)
            hb_u32(b, ftag, flags, n);
        else
            hb_strs(b, vtag, T_SA, vers, n);
        tags[which] = 0;
    }
}

/* The header's bytes: magic, counts, index (a region tag first when region
 * is not 0) and data store (with the region trailer), extra zero bytes
 * before the trailer. */
static size_t
hb_emit(const struct hb *b, uint32_t region, size_t extra, unsigned char *out)
{
    static const unsigned char magic[8] = {0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0};
    size_t il = b->n + (region ? 1 : 0), dl = b->dl + extra + (region ? 16 : 0), p = 16;

    memcpy(out, magic, 8);
    be32(out + 8, (uint32_t)il);
    be32(out + 12, (uint32_t)dl);
    if (region) {
        be32(out + p, region);
        be32(out + p + 4, T_BIN);
        be32(out + p + 8, (uint32_t)(b->dl + extra));
        be32(out + p + 12, 16);
        p += 16;
    }
    memcpy(out + p, b->idx, 16 * b->n);
    p += 16 * b->n;
    memcpy(out + p, b->data, b->dl);
    p += b->dl;
    memset(out + p, 0, extra);
    p += extra;
    if (region) {
        be32(out + p, region);
        be32(out + p + 4, T_BIN);
        be32(out + p + 8, (uint32_t) - (int32_t)(16 * il));
        be32(out + p + 12, 16);
        p += 16;
    }
    return p;
}

/* Where the parts of the last package written are. */
static size_t main_start, main_index, main_data, file_len;

/* Lead, signature header (region, SIZE of header and payload, then sig's
 * entries), padding, main header (region), payload. */
static void
write_rpm(const struct hb *sig, const struct hb *hdr, size_t extra, const char *payload)
{
    static unsigned char buf[1 << 16];
    unsigned char lead[96] = {0xed, 0xab, 0xee, 0xdb, 3, 0};
    unsigned char mainh[1 << 15];
    struct hb s;
    size_t n = 0, mlen, plen = strlen(payload);
    FILE *f;

    memcpy(lead + 10, "crafted", 7);
    lead[77] = 1;
    lead[79] = 5;
    mlen = hb_emit(hdr, 63, extra, mainh);
    memset(&s, 0, sizeof(s));
    if (sig)
        s = *sig;
    hb_u32_1(&s, 1000, (uint32_t)(mlen + plen));
    memcpy(buf, lead, 96);
    n = 96 + hb_emit(&s, 62, 0, buf + 96);
    while (n % 8)
        buf[n++] = 0;
    main_start = n;
    main_index = n + 16;
    main_data = n + 16 + 16 * (hdr->n + 1);
    memcpy(buf + n, mainh, mlen);
    n += mlen;
    memcpy(buf + n, payload, plen);
    n += plen;
    file_len = n;
    f = fopen(rpmpath, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    fclose(f);
}

/* Patch 4 bytes of the file at off. */
static void
patch32(size_t off, uint32_t v)
{
    unsigned char b[4];
    FILE *f = fopen(rpmpath, "r+b");

    assert_non_null(f);
    be32(b, v);
    assert_int_equal(fseek(f, (long)off, SEEK_SET), 0);
    assert_int_equal(fwrite(b, 1, 4, f), 4);
    fclose(f);
}

static void
patch8(size_t off, unsigned char v)
{
    FILE *f = fopen(rpmpath, "r+b");

    assert_non_null(f);
    assert_int_equal(fseek(f, (long)off, SEEK_SET), 0);
    assert_int_equal(fputc(v, f), v);
    fclose(f);
}

/* Keep a crafted package for createrepo_c (CONSIGN_RPMINFO_DUMP=DIR). */
static void
dump(const char *name)
{
    struct consign_ctx ctx;
    const char *dir = getenv("CONSIGN_RPMINFO_DUMP");
    char *to;

    if (!dir)
        return;
    consign_ctx_init(&ctx, NULL, NULL);
    to = consign_asprintf(&ctx, "%s/%s", dir, name);
    assert_non_null(to);
    assert_int_equal(consign_file_copy(&ctx, rpmpath, to, (mode_t)-1), 0);
    free(to);
}

/* The tags every crafted package has (by tag). */
static void
hb_base(struct hb *b, const char *name, int with_epoch)
{
    static const char *const i18n[] = {"C"};

    hb_strs(b, 100, T_SA, i18n, 1);
    hb_str(b, 1000, name);
    hb_str(b, 1001, "1.0");
    hb_str(b, 1002, "1");
    if (with_epoch)
        hb_u32_1(b, 1003, 7);
    hb_i18n(b, 1004, "summary");
    hb_i18n(b, 1005, "description");
    hb_u32_1(b, 1006, 1700000000);
    hb_str(b, 1007, "host");
    hb_u32_1(b, 1009, 1234);
    hb_str(b, 1014, "MIT");
    hb_i18n(b, 1016, "Group");
    hb_str(b, 1022, "x86_64");
}

static void
read_ok(struct consign_rpm_info **info)
{
    struct consign_ctx ctx;

    consign_ctx_init(&ctx, NULL, NULL);
    if (consign_rpm_info_read(&ctx, rpmpath, info) != 0)
        fail_msg("read failed: %s", consign_err_msg(&ctx));
}

/* Read rpmpath expecting failure code with msg (and the path) in the message. */
static void
expect_error(int code, const char *msg)
{
    struct consign_ctx ctx;
    struct consign_rpm_info *info = NULL;
    int rc;

    consign_ctx_init(&ctx, NULL, NULL);
    rc = consign_rpm_info_read(&ctx, rpmpath, &info);
    assert_null(info);
    if (rc != code || !strstr(consign_err_msg(&ctx), msg) ||
        strncmp(consign_err_msg(&ctx), rpmpath, strlen(rpmpath)) != 0)
        fail_msg("got %s '%s', want %s with '%s' after the path", consign_strcode(rc),
                 consign_err_msg(&ctx), consign_strcode(code), msg);
}

static void
sha256_of(const char *path, char hex[65])
{
    struct consign_ctx ctx;
    unsigned char md[CONSIGN_HASH_MAX];

    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(consign_hash_file(&ctx, CONSIGN_HASH_SHA256, path, md, NULL), 0);
    consign_hex(md, 32, hex);
}

/* One element of each document, as a string (freed by the caller). */
static char *
render(const struct consign_rpm_info *info, enum consign_rpm_md kind, const char *href,
       long long mtime)
{
    struct consign_ctx ctx;
    struct consign_buf out;
    int rc;

    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&out, 1u << 24);
    if (kind == CONSIGN_RPM_PRIMARY)
        rc = consign_rpm_info_primary_xml(&ctx, info, href, mtime, &out);
    else if (kind == CONSIGN_RPM_FILELISTS)
        rc = consign_rpm_info_filelists_xml(&ctx, info, &out);
    else
        rc = consign_rpm_info_other_xml(&ctx, info, &out);
    if (rc)
        fail_msg("render: %s", consign_err_msg(&ctx));
    return consign_buf_steal(&out, NULL);
}

/* --- the version order ------------------------------------------------------------- */

static void
test_vercmp(void **state)
{
    /* rpm's own tests (tests/rpmvercmp.at) and a few more. */
    static const struct {
        const char *a, *b;
        int want;
    } t[] = {
        {"1.0", "1.0", 0},
        {"1.0", "2.0", -1},
        {"2.0.1", "2.0", 1},
        {"2.0.1a", "2.0.1", 1},
        {"5.5p1", "5.5p2", -1},
        {"5.5p10", "5.5p1", 1},
        {"10xyz", "10.1xyz", -1},
        {"xyz10", "xyz10.1", -1},
        {"xyz.4", "8", -1},
        {"2", "xyz.4", 1},
        {"6.0.rc1", "6.0", 1},
        {"10b2", "10a1", 1},
        {"1.0a", "1.0aa", -1},
        {"10.0001", "10.1", 0},
        {"10.0001", "10.0039", -1},
        {"4.999.9", "5.0", -1},
        {"20101121", "20101122", -1},
        {"2_0", "2.0", 0},
        {"a+", "a_", 0},
        {"+a", "_a", 0},
        {"_+", "_", 0},
        {"+", "_", 0},
        {"", "", 0},
        {"", "0", -1},
        {"1", "", 1},
        {"1.0~rc1", "1.0", -1},
        {"1.0~rc1", "1.0~rc2", -1},
        {"1.0~rc1~git123", "1.0~rc1", -1},
        {"1.0", "1.0~rc1", 1},
        {"~", "", -1},
        {"1.0^", "1.0", 1},
        {"1.0^git1", "1.0", 1},
        {"1.0^git1", "1.0^git2", -1},
        {"1.0^git1", "1.01", -1},
        {"1.0^20160101", "1.0.1", -1},
        {"1.0^20160102", "1.0^20160101^git1", 1},
        {"1.0~rc1^git1", "1.0~rc1", 1},
        {"1.0^git1~pre", "1.0^git1", -1},
        {"1.0^git1~pre", "1.0", 1},
        {"abc", "abd", -1},
        {"B", "a", -1}, /* by byte value */
        {"1.a", "1.1", -1},
        {"1a", "1.a", 0},
        {"99999999999999999999", "100000000000000000000", -1},
        {"007", "7", 0},
        {"1é", "1", 0}, /* non-ASCII only separates */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (consign_rpm_vercmp(t[i].a, t[i].b) != t[i].want)
            fail_msg("vercmp('%s', '%s') = %d, want %d", t[i].a, t[i].b,
                     consign_rpm_vercmp(t[i].a, t[i].b), t[i].want);
        if (consign_rpm_vercmp(t[i].b, t[i].a) != -t[i].want)
            fail_msg("vercmp('%s', '%s') not antisymmetric", t[i].b, t[i].a);
    }
    assert_int_equal(consign_rpm_vercmp(NULL, ""), 0);
    assert_int_equal(consign_rpm_vercmp(NULL, "1"), -1);

    assert_int_equal(consign_rpm_evr_cmp(1, "1.0", "1", 0, "9.0", "9"), 1);
    assert_int_equal(consign_rpm_evr_cmp(0, "1.0", "1", 2, "0.1", "1"), -1);
    assert_int_equal(consign_rpm_evr_cmp(3, "1.0", "1", 3, "1.0", "1"), 0);
    assert_int_equal(consign_rpm_evr_cmp(0, "1.0", "2", 0, "1.0", "10"), -1);
    assert_int_equal(consign_rpm_evr_cmp(0, "1.0~rc1", "9", 0, "1.0", "1"), -1);
    assert_int_equal(consign_rpm_evr_cmp(0, "1.0", NULL, 0, "1.0", "5"), 0);
    assert_int_equal(consign_rpm_evr_cmp(0, "1.1", NULL, 0, "1.0", "5"), 1);
    assert_int_equal(consign_rpm_evr_cmp(4294967296ull, "1", "1", 4294967295ull, "2", "2"), 1);
}

/* --- the fixture --------------------------------------------------------------------- */

static char *
slurp(const char *path)
{
    struct consign_ctx ctx;
    char *buf = NULL;
    size_t len;

    consign_ctx_init(&ctx, NULL, NULL);
    if (consign_file_read(&ctx, path, 1u << 20, &buf, &len))
        fail_msg("%s", consign_err_msg(&ctx));
    return buf;
}

static void
test_fixture(void **state)
{
    static const char *const kinds[] = {"primary", "filelists", "other"};
    struct consign_ctx ctx;
    struct consign_rpm_info *info = NULL;
    struct consign_buf doc;
    char path[512], hex[65], *want;
    int present = -1;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    snprintf(path, sizeof(path), "%s/fixture.noarch.rpm", FIXTURE_DIR);
    if (consign_rpm_info_read(&ctx, path, &info))
        fail_msg("%s", consign_err_msg(&ctx));
    assert_string_equal(consign_rpm_info_name(info), "fixture");
    assert_string_equal(consign_rpm_info_version(info), "1.0~beta^1");
    assert_string_equal(consign_rpm_info_release(info), "3");
    assert_string_equal(consign_rpm_info_arch(info), "noarch");
    assert_int_equal(consign_rpm_info_epoch(info, &present), 2);
    assert_int_equal(present, 1);
    assert_int_equal(consign_rpm_info_size(info), 8808);
    assert_int_equal(consign_rpm_info_header_start(info), 4504);
    assert_int_equal(consign_rpm_info_header_end(info), 8549);
    sha256_of(path, hex);
    assert_string_equal(consign_rpm_info_sha256(info), hex);

    /* Whole documents, as createrepo_c wrote them. */
    for (int k = 0; k < 3; k++) {
        consign_buf_init(&doc, 1u << 20);
        assert_int_equal(consign_rpm_md_header(&ctx, (enum consign_rpm_md)k, 1, &doc), 0);
        want = render(info, (enum consign_rpm_md)k, "fixture.noarch.rpm", 1700000000);
        assert_int_equal(consign_buf_puts(&ctx, &doc, want), 0);
        free(want);
        assert_int_equal(
            consign_buf_puts(&ctx, &doc, consign_rpm_md_footer((enum consign_rpm_md)k)), 0);
        snprintf(path, sizeof(path), "%s/fixture.%s.xml", FIXTURE_DIR, kinds[k]);
        want = slurp(path);
        assert_string_equal(doc.data, want);
        free(want);
        consign_buf_free(&doc);
    }
    consign_rpm_info_free(info);
    consign_rpm_info_free(NULL);
}

/* Every prefix of the fixture is refused as malformed, naming the file. */
static void
test_fixture_truncated(void **state)
{
    struct consign_ctx ctx;
    char path[512];
    char *buf = NULL;
    size_t len = 0;
    FILE *f;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    snprintf(path, sizeof(path), "%s/fixture.noarch.rpm", FIXTURE_DIR);
    assert_int_equal(consign_file_read(&ctx, path, 1u << 20, &buf, &len), 0);
    for (size_t cut = 0; cut < len; cut++) {
        f = fopen(rpmpath, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(buf, 1, cut, f), cut);
        fclose(f);
        expect_error(CONSIGN_E_SYNTAX, ": ");
    }
    free(buf);
}

/* --- crafted packages: what createrepo_c keeps -------------------------------------- */

static const char deps_primary[] =
    "<package type=\"rpm\">\n"
    "  <name>crafted</name>\n"
    "  <arch>x86_64</arch>\n"
    "  <version epoch=\"7\" ver=\"1.0\" rel=\"1\"/>\n"
    "  <checksum type=\"sha256\" pkgid=\"YES\">%s</checksum>\n"
    "  <summary>summary</summary>\n"
    "  <description>description</description>\n"
    "  <packager></packager>\n"
    "  <url></url>\n"
    "  <time file=\"1700000001\" build=\"1700000000\"/>\n"
    "  <size package=\"%zu\" installed=\"21474836480\" archive=\"999\"/>\n"
    "  <location href=\"deps.rpm\"/>\n"
    "  <format>\n"
    "    <rpm:license>MIT</rpm:license>\n"
    "    <rpm:vendor></rpm:vendor>\n"
    "    <rpm:group>Group</rpm:group>\n"
    "    <rpm:buildhost>host</rpm:buildhost>\n"
    "    <rpm:sourcerpm>(none)</rpm:sourcerpm>\n"
    "    <rpm:header-range start=\"%zu\" end=\"%zu\"/>\n"
    "    <rpm:provides>\n"
    "      <rpm:entry name=\"crafted\" flags=\"EQ\" epoch=\"7\" ver=\"1.0\" rel=\"1\"/>\n"
    "      <rpm:entry name=\"virt\" flags=\"EQ\" epoch=\"0\" ver=\"1.0\"/>\n"
    "      <rpm:entry name=\"barGE\"/>\n"
    "    </rpm:provides>\n"
    "    <rpm:requires>\n"
    "      <rpm:entry name=\"/opt/x/data\"/>\n"
    "      <rpm:entry name=\"/etc/not-ours\"/>\n"
    "      <rpm:entry name=\"foo\" flags=\"GE\" epoch=\"0\" ver=\"1\"/>\n"
    "      <rpm:entry name=\"foo\" flags=\"GE\" epoch=\"0\" ver=\"1\" pre=\"1\"/>\n"
    "      <rpm:entry name=\"foo\" flags=\"LT\" epoch=\"0\" ver=\"2\"/>\n"
    "      <rpm:entry name=\"foo\" flags=\"GE\" epoch=\"0\" ver=\"1\"/>\n"
    "      <rpm:entry name=\"spaceepoch\" flags=\"EQ\" epoch=\" 5\" ver=\"1.0\"/>\n"
    "      <rpm:entry name=\"emptyepoch\" flags=\"EQ\" epoch=\"0\" ver=\"1.0\"/>\n"
    "      <rpm:entry name=\"noversion\" flags=\"EQ\" epoch=\"1\"/>\n"
    "      <rpm:entry name=\"dashend\" flags=\"EQ\" epoch=\"0\" ver=\"1.0\"/>\n"
    "      <rpm:entry name=\"multidash\" flags=\"EQ\" epoch=\"0\" ver=\"1\" rel=\"2-3\"/>\n"
    "      <rpm:entry name=\"plusepoch\" flags=\"EQ\" epoch=\"+3\" ver=\"1\"/>\n"
    "      <rpm:entry name=\"minusepoch\" flags=\"EQ\" epoch=\"-1\" ver=\"2\"/>\n"
    "      <rpm:entry name=\"noflags\"/>\n"
    "      <rpm:entry name=\"ltgt\"/>\n"
    "      <rpm:entry name=\"virt\" flags=\"GE\" epoch=\"0\" ver=\"1.0\"/>\n"
    "      <rpm:entry name=\"prereq\" pre=\"1\"/>\n"
    "      <rpm:entry name=\"post\" pre=\"1\"/>\n"
    "      <rpm:entry name=\"preun\"/>\n"
    "      <rpm:entry name=\"interp\"/>\n"
    "      <rpm:entry name=\"libc.so.6(GLIBC_2.17)(64bit)\"/>\n"
    "    </rpm:requires>\n"
    "    <rpm:conflicts>\n"
    "      <rpm:entry name=\"conf\" flags=\"LT\" epoch=\"1\" ver=\"2\" rel=\"3\"/>\n"
    "    </rpm:conflicts>\n"
    "    <rpm:obsoletes>\n"
    "      <rpm:entry name=\"obs\" flags=\"LE\" epoch=\"0\" ver=\"0.9\"/>\n"
    "    </rpm:obsoletes>\n"
    "    <rpm:suggests>\n"
    "      <rpm:entry name=\"sug\"/>\n"
    "      <rpm:entry name=\"oldsug\"/>\n"
    "    </rpm:suggests>\n"
    "    <rpm:enhances>\n"
    "      <rpm:entry name=\"oldenh\"/>\n"
    "    </rpm:enhances>\n"
    "    <rpm:recommends>\n"
    "      <rpm:entry name=\"missing\" flags=\"GE\" epoch=\"0\" ver=\"3\"/>\n"
    "      <rpm:entry name=\"rec\" flags=\"GE\" epoch=\"0\" ver=\"1\"/>\n"
    "      <rpm:entry name=\"oldrec\"/>\n"
    "    </rpm:recommends>\n"
    "    <rpm:supplements>\n"
    "      <rpm:entry name=\"oldsup\"/>\n"
    "    </rpm:supplements>\n"
    "    <file>/usr/bin/tool</file>\n"
    "    <file type=\"ghost\">/etc/x.conf</file>\n"
    "    <file>/usr/lib/sendmail</file>\n"
    "  </format>\n"
    "</package>\n";

static const char deps_filelists[] = "<package pkgid=\"%s\" name=\"crafted\" arch=\"x86_64\">\n"
                                     "  <version epoch=\"7\" ver=\"1.0\" rel=\"1\"/>\n"
                                     "  <file>/usr/bin/tool</file>\n"
                                     "  <file>/opt/x/data</file>\n"
                                     "  <file type=\"ghost\">/etc/x.conf</file>\n"
                                     "  <file type=\"dir\">/var/gdir</file>\n"
                                     "  <file>/usr/lib/sendmail</file>\n"
                                     "  <file type=\"dir\">/opt/x/sbin</file>\n"
                                     "</package>\n";

static const char deps_other[] =
    "<package pkgid=\"%s\" name=\"crafted\" arch=\"x86_64\">\n"
    "  <version epoch=\"7\" ver=\"1.0\" rel=\"1\"/>\n"
    "  <changelog author=\"Au thor 9\" date=\"10\">- text 9</changelog>\n"
    "  <changelog author=\"Au thor 8\" date=\"11\">- text 8</changelog>\n"
    "  <changelog author=\"Au thor 7\" date=\"200\">- text 7</changelog>\n"
    "  <changelog author=\"Au thor 6\" date=\"201\">- text 6</changelog>\n"
    "  <changelog author=\"Au thor 5\" date=\"49\">- text 5</changelog>\n"
    "  <changelog author=\"Au thor 4\" date=\"50\">- text 4</changelog>\n"
    "  <changelog author=\"Au thor 3\" date=\"51\">- text 3</changelog>\n"
    "  <changelog author=\"Au thor 2\" date=\"100\">- text 2</changelog>\n"
    "  <changelog author=\"Au thor 1\" date=\"101\">- text 1</changelog>\n"
    "  <changelog author=\"Au thor 0\" date=\"102\">- text 0</changelog>\n"
    "</package>\n";

static void
craft_deps(void)
{
    static const struct depspec prov[] = {
        {"crafted", 8, "7:1.0-1"}, {"virt", 8, "1.0"}, {"barGE", 0, ""}, {"", 8, "2"},
        {"badp", 8, "q:1"},
    };
    static const struct depspec req[] = {
        {"rpmlib(CompressedFileNames)", 16777226, "3.0.4-1"},
        {"/usr/bin/tool", 0, ""},
        {"/opt/x/data", 0, ""},
        {"/etc/not-ours", 0, ""},
        {"/etc/x.conf", 0, ""},
        {"libc.so.6", 0, ""},
        {"libc.so.6(GLIBC_2.17)(64bit)", 0, ""},
        {"libc.so.6(GLIBC_2.3.4)(64bit)", 0, ""},
        {"libc.so.6()(64bit)", 0, ""},
        {"libc.so.6(GLIBC_2.2.5)(64bit)", 0, ""},
        {"foo", 12, "1"},
        {"foo", 12, "1"},
        {"foo", 12 | 512, "1"},
        {"foo", 2, "2"},
        {"foo", 12, "1"},
        {"missing", (1u << 19) | 12, "3"},
        {"badepoch", 8, "x:1.0"},
        {"spaceepoch", 8, " 5:1.0"},
        {"emptyepoch", 8, ":1.0"},
        {"noversion", 8, "1:"},
        {"dashend", 8, "1.0-"},
        {"multidash", 8, "1-2-3"},
        {"plusepoch", 8, "+3:1"},
        {"minusepoch", 8, "-1:2"},
        {"noflags", 0, "1.0"},
        {"ltgt", 6, "1.0"},
        {"virt", 8, "1.0"},
        {"virt", 12, "1.0"},
        {"bar", 12, ""},
        {"prereq", 64, ""},
        {"post", 1024, ""},
        {"preun", 2048, ""},
        {"interp", 256, ""},
        {"", 8, "1"},
    };
    static const struct depspec conf[] = {{"conf", 2, "1:2-3"}};
    static const struct depspec obs[] = {{"obs", 10, "0.9"}};
    static const struct depspec oldsug[] = {{"oldsug", 0, ""}, {"oldrec", 1u << 27, "2"}};
    static const struct depspec oldenh[] = {{"oldenh", 0, ""}, {"oldsup", 1u << 27, "3"}};
    static const struct depspec rec[] = {{"rec", 12, "1"}};
    static const struct depspec sug[] = {{"sug", 0, ""}};
    static const char *const base[] = {"tool", "data", "x.conf", "gdir", "sendmail", "sbin"};
    static const char *const dirs[] = {"/usr/bin/", "/opt/x/", "/etc/", "/var/", "/usr/lib/"};
    static const uint32_t dirindex[] = {0, 1, 2, 3, 4, 1};
    static const uint16_t modes[] = {0100755, 0100644, 0100644, 040755, 0120777, 040755};
    static const uint32_t fflags[] = {0, 0, 1u << 6, 1u << 6, 0, 0};
    static const uint32_t times[] = {100, 100, 100, 50, 50, 49, 200, 200, 10, 10, 10, 10};
    static const char *const who[] = {"Au thor 0   ", "Au thor 1 ", "Au thor 2", "Au thor 3",
                                      "Au thor 4",    "Au thor 5",  "Au thor 6", "Au thor 7",
                                      "Au thor 8",    "Au thor 9",  "x\1",       "x\2"};
    static const char *const text[] = {"- text 0", "- text 1", "- text 2",  "- text 3",
                                       "- text 4", "- text 5", "- text 6",  "- text 7",
                                       "- text 8", "- text 9", "- text 10", "- text 11"};
    static struct hb h, s;
    static const char *const i18n[] = {"C"};

    memset(&h, 0, sizeof(h));
    memset(&s, 0, sizeof(s));
    hb_strs(&h, 100, T_SA, i18n, 1);
    hb_str(&h, 1000, "crafted");
    hb_str(&h, 1001, "1.0");
    hb_str(&h, 1002, "1");
    hb_u32_1(&h, 1003, 7);
    hb_i18n(&h, 1004, "summary");
    hb_i18n(&h, 1005, "description");
    hb_u32_1(&h, 1006, 1700000000);
    hb_str(&h, 1007, "host");
    hb_u32_1(&h, 1009, 1234);
    hb_str(&h, 1014, "MIT");
    hb_i18n(&h, 1016, "Group");
    hb_str(&h, 1022, "x86_64");
    hb_u16(&h, 1030, modes, 6);
    hb_u32(&h, 1037, fflags, 6);
    hb_deps(&h, 1047, 1112, 1113, prov, sizeof(prov) / sizeof(prov[0]));
    hb_deps(&h, 1049, 1048, 1050, req, sizeof(req) / sizeof(req[0]));
    hb_deps(&h, 1054, 1053, 1055, conf, 1);
    hb_u32(&h, 1080, times, 12);
    hb_strs(&h, 1081, T_SA, who, 12);
    hb_strs(&h, 1082, T_SA, text, 12);
    hb_deps(&h, 1090, 1114, 1115, obs, 1);
    hb_u32(&h, 1116, dirindex, 6);
    hb_strs(&h, 1117, T_SA, base, 6);
    hb_strs(&h, 1118, T_SA, dirs, 5);
    hb_deps(&h, 1156, 1158, 1157, oldsug, 2);
    hb_deps(&h, 1159, 1161, 1160, oldenh, 2);
    hb_u64_1(&h, 5009, 5ull << 32);
    hb_deps(&h, 5046, 5048, 5047, rec, 1);
    hb_deps(&h, 5049, 5051, 5050, sug, 1);
    hb_u32_1(&s, 1007, 999); /* PAYLOADSIZE */
    write_rpm(&s, &h, 0, "PAYLOAD");
}

static void
test_deps(void **state)
{
    struct consign_rpm_info *info = NULL;
    char hex[65], want[8192], *got;
    int present = -1;

    (void)state;
    craft_deps();
    dump("deps.rpm");
    read_ok(&info);
    sha256_of(rpmpath, hex);
    assert_int_equal(consign_rpm_info_epoch(info, &present), 7);
    assert_int_equal(present, 1);

    snprintf(want, sizeof(want), deps_primary, hex, file_len, main_start, file_len - 7);
    got = render(info, CONSIGN_RPM_PRIMARY, "deps.rpm", 1700000001);
    assert_string_equal(got, want);
    free(got);
    snprintf(want, sizeof(want), deps_filelists, hex);
    got = render(info, CONSIGN_RPM_FILELISTS, NULL, 0);
    assert_string_equal(got, want);
    free(got);
    /* The control characters in entries 10 and 11 are beyond the limit. */
    snprintf(want, sizeof(want), deps_other, hex);
    got = render(info, CONSIGN_RPM_OTHER, NULL, 0);
    assert_string_equal(got, want);
    free(got);
    consign_rpm_info_free(info);
}

/* Escaping as libxml2 does it, text that is not UTF-8 as Latin-1, an epoch
 * of 2^32-1, dates past 2038, no SOURCERPM, the archive size from the
 * signature's LONGARCHIVESIZE. */
static void
test_escaping(void **state)
{
    static const char *const prov[] = {"p\"q'<&>\t\r\n\xc3\xa9\xe2\x98\x83\xf0\x9d\x84\x9e"};
    static const char *const pver[] = {"1\t2-3\""};
    static const uint32_t pflags[] = {8};
    static const uint32_t times[] = {0x80000001u, 0x80000001u, 0x7fffffffu, 0x7fffffffu};
    static const char *const who[] = {"\xe9\x85 lat\tin\r\n \"q\"", "b", "c", "d"};
    static const char *const text[] = {"\xc3\xa9 \r\n <x> & \"y\"", "2", "3", "4"};
    struct hb h, s;
    struct consign_rpm_info *info = NULL;
    char hex[65], want[4096], *got;
    int present = -1;

    (void)state;
    memset(&h, 0, sizeof(h));
    memset(&s, 0, sizeof(s));
    hb_str(&h, 1000, "esc");
    hb_str(&h, 1001, "1.0");
    hb_str(&h, 1002, "1");
    hb_u32_1(&h, 1003, 0xffffffffu);
    hb_i18n(&h, 1004, "caf\xe9 del\x7f q\"' \t tab \r cr");
    hb_i18n(&h, 1005, "\xc3\xa9t\xc3\xa9 \xe2\x98\x83 <&>");
    hb_str(&h, 1020, "http://x/?a=\"1\"&b=<2>");
    hb_str(&h, 1022, "noarch");
    hb_strs(&h, 1047, T_SA, prov, 1);
    hb_u32(&h, 1080, times, 4);
    hb_strs(&h, 1081, T_SA, who, 4);
    hb_strs(&h, 1082, T_SA, text, 4);
    hb_u32(&h, 1112, pflags, 1);
    hb_strs(&h, 1113, T_SA, pver, 1);
    hb_u64_1(&s, 271, 1ull << 40); /* LONGARCHIVESIZE */
    hb_u32_1(&s, 1007, 5);         /* PAYLOADSIZE: the 64-bit one wins */
    write_rpm(&s, &h, 0, "");
    dump("esc.rpm");
    read_ok(&info);
    sha256_of(rpmpath, hex);
    assert_int_equal(consign_rpm_info_epoch(info, &present), 4294967295ull);

    snprintf(
        want, sizeof(want),
        "<package type=\"rpm\">\n"
        "  <name>esc</name>\n"
        "  <arch>noarch</arch>\n"
        "  <version epoch=\"4294967295\" ver=\"1.0\" rel=\"1\"/>\n"
        "  <checksum type=\"sha256\" pkgid=\"YES\">%s</checksum>\n"
        "  <summary>café del\x7f q\"' \t tab &#13; cr</summary>\n"
        "  <description>été ☃ &lt;&amp;&gt;</description>\n"
        "  <packager></packager>\n"
        "  <url>http://x/?a=\"1\"&amp;b=&lt;2&gt;</url>\n"
        "  <time file=\"-5\" build=\"0\"/>\n"
        "  <size package=\"%zu\" installed=\"0\" archive=\"1099511627776\"/>\n"
        "  <location href=\"a b/&amp;&lt;&#xE9;&#x2603;.rpm\"/>\n"
        "  <format>\n"
        "    <rpm:license></rpm:license>\n"
        "    <rpm:vendor></rpm:vendor>\n"
        "    <rpm:group></rpm:group>\n"
        "    <rpm:buildhost></rpm:buildhost>\n"
        "    <rpm:sourcerpm>(none)</rpm:sourcerpm>\n"
        "    <rpm:header-range start=\"%zu\" end=\"%zu\"/>\n"
        "    <rpm:provides>\n"
        "      <rpm:entry name=\"p&quot;q'&lt;&amp;&gt;&#9;&#13;&#10;&#xE9;&#x2603;&#x1D11E;\" "
        "flags=\"EQ\" epoch=\"0\" ver=\"1&#9;2\" rel=\"3&quot;\"/>\n"
        "    </rpm:provides>\n"
        "  </format>\n"
        "</package>\n",
        hex, file_len, main_start, file_len);
    got = render(info, CONSIGN_RPM_PRIMARY, "a b/&<\xc3\xa9\xe2\x98\x83.rpm", -5);
    assert_string_equal(got, want);
    free(got);

    snprintf(want, sizeof(want),
             "<package pkgid=\"%s\" name=\"esc\" arch=\"noarch\">\n"
             "  <version epoch=\"4294967295\" ver=\"1.0\" rel=\"1\"/>\n"
             "  <changelog author=\"d\" date=\"2147483647\">4</changelog>\n"
             "  <changelog author=\"c\" date=\"2147483648\">3</changelog>\n"
             "  <changelog author=\"b\" date=\"2147483649\">2</changelog>\n"
             "  <changelog author=\"&#xE9; lat&#9;in&#13;&#10; &quot;q&quot;\" "
             "date=\"2147483649\">é &#13;\n &lt;x&gt; &amp; \"y\"</changelog>\n"
             "</package>\n",
             hex);
    got = render(info, CONSIGN_RPM_OTHER, NULL, 0);
    assert_string_equal(got, want);
    free(got);
    consign_rpm_info_free(info);
}

/* A package with only what is required; accessors. */
static void
test_minimal(void **state)
{
    struct hb h;
    struct consign_rpm_info *info = NULL;
    char hex[65];
    int present = -1;

    (void)state;
    memset(&h, 0, sizeof(h));
    hb_str(&h, 1000, "min");
    hb_str(&h, 1001, "0");
    hb_str(&h, 1002, "0");
    hb_str(&h, 1022, "aarch64");
    write_rpm(NULL, &h, 0, "x");
    read_ok(&info);
    sha256_of(rpmpath, hex);
    assert_string_equal(consign_rpm_info_name(info), "min");
    assert_string_equal(consign_rpm_info_version(info), "0");
    assert_string_equal(consign_rpm_info_release(info), "0");
    assert_string_equal(consign_rpm_info_arch(info), "aarch64");
    assert_int_equal(consign_rpm_info_epoch(info, &present), 0);
    assert_int_equal(present, 0);
    assert_int_equal(consign_rpm_info_epoch(info, NULL), 0);
    assert_int_equal(consign_rpm_info_size(info), file_len);
    assert_string_equal(consign_rpm_info_sha256(info), hex);
    assert_int_equal(consign_rpm_info_header_start(info), main_start);
    assert_int_equal(consign_rpm_info_header_end(info), file_len - 1);
    consign_rpm_info_free(info);
}

static void
test_documents(void **state)
{
    struct consign_ctx ctx;
    struct consign_buf b;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&b, 4096);
    assert_int_equal(consign_rpm_md_header(&ctx, CONSIGN_RPM_PRIMARY, 0, &b), 0);
    assert_string_equal(b.data,
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                        "<metadata xmlns=\"http://linux.duke.edu/metadata/common\" "
                        "xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"0\">\n");
    consign_buf_reset(&b);
    assert_int_equal(consign_rpm_md_header(&ctx, CONSIGN_RPM_FILELISTS, 12, &b), 0);
    assert_string_equal(b.data, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                "<filelists xmlns=\"http://linux.duke.edu/metadata/filelists\" "
                                "packages=\"12\">\n");
    consign_buf_reset(&b);
    assert_int_equal(consign_rpm_md_header(&ctx, CONSIGN_RPM_OTHER, 3, &b), 0);
    assert_string_equal(b.data, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                "<otherdata xmlns=\"http://linux.duke.edu/metadata/other\" "
                                "packages=\"3\">\n");
    assert_string_equal(consign_rpm_md_footer(CONSIGN_RPM_PRIMARY), "</metadata>");
    assert_string_equal(consign_rpm_md_footer(CONSIGN_RPM_FILELISTS), "</filelists>");
    assert_string_equal(consign_rpm_md_footer(CONSIGN_RPM_OTHER), "</otherdata>");
    assert_int_equal(consign_rpm_md_header(&ctx, (enum consign_rpm_md)7, 0, &b), CONSIGN_E_USAGE);
    consign_buf_free(&b);
}

/* --- broken packages ----------------------------------------------------------------------- */

/* A valid package with files and a STRING at entry 5 (NAME), INT32 at 8. */
static void
craft_valid(struct hb *h)
{
    static const char *const base[] = {"a", "b"};
    static const char *const dirs[] = {"/usr/bin/"};
    static const uint32_t di[] = {0, 0}, ff[] = {0, 0};
    static const uint16_t modes[] = {0100755, 0100644};

    memset(h, 0, sizeof(*h));
    hb_base(h, "valid", 1); /* entries 1-13 */
    hb_u16(h, 1030, modes, 2);
    hb_u32(h, 1037, ff, 2);
    hb_u32(h, 1116, di, 2);
    hb_strs(h, 1117, T_SA, base, 2);
    hb_strs(h, 1118, T_SA, dirs, 1);
}

static void
test_broken_structure(void **state)
{
    struct hb h, s;
    struct consign_rpm_info *info = NULL;
    size_t il, dl;

    (void)state;
    craft_valid(&h);
    write_rpm(NULL, &h, 0, "payload");
    read_ok(&info);
    consign_rpm_info_free(info);
    il = h.n + 1;
    dl = h.dl + 16;

    /* The lead. */
    patch8(0, 0xee);
    expect_error(CONSIGN_E_SYNTAX, "not an rpm: no lead magic");
    write_rpm(NULL, &h, 0, "payload");
    patch8(4, 5);
    expect_error(CONSIGN_E_SYNTAX, "lead: unsupported format version 5");
    write_rpm(NULL, &h, 0, "payload");
    patch8(79, 1);
    expect_error(CONSIGN_E_SYNTAX, "lead: signature type 1, not 5");

    /* The signature header's intro. */
    write_rpm(NULL, &h, 0, "payload");
    patch8(96 + 3, 0);
    expect_error(CONSIGN_E_SYNTAX, "signature header: bad magic at byte 96");
    write_rpm(NULL, &h, 0, "payload");
    patch32(96 + 8, 33);
    expect_error(CONSIGN_E_SYNTAX, "signature header: 33 index entries");
    write_rpm(NULL, &h, 0, "payload");
    patch32(96 + 12, 2u << 20);
    expect_error(CONSIGN_E_TOOBIG, "signature header: 2097184 bytes, more than 1048576");
    write_rpm(NULL, &h, 0, "payload");
    patch32(96 + 12, 100000);
    expect_error(CONSIGN_E_SYNTAX, "signature header: claims 100032 bytes at byte 112");

    /* The main header's intro. */
    write_rpm(NULL, &h, 0, "payload");
    patch8(main_start + 7, 1);
    expect_error(CONSIGN_E_SYNTAX, "header: bad magic at byte");
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_start + 8, 0);
    expect_error(CONSIGN_E_SYNTAX, "header: 0 index entries");
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_start + 8, 0x10000);
    expect_error(CONSIGN_E_SYNTAX, "header: 65536 index entries");
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_start + 12, 0x10000000);
    expect_error(CONSIGN_E_SYNTAX, "header: data store of 268435456 bytes");
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_start + 12, 32u << 20);
    expect_error(CONSIGN_E_TOOBIG, "more than 33554432");
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_start + 12, (uint32_t)dl + 8);
    expect_error(CONSIGN_E_SYNTAX, "header: claims");

    /* The region. */
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_index + 4, T_INT32);
    expect_error(CONSIGN_E_SYNTAX, "header: region tag: type 4, count 16");
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_index + 8, (uint32_t)dl - 8);
    expect_error(CONSIGN_E_SYNTAX, "header: region tag: offset");
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_data + dl - 16, 62);
    expect_error(CONSIGN_E_SYNTAX, "header: region trailer: tag 62");
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_data + dl - 8, (uint32_t) - (int32_t)(16 * il + 16));
    expect_error(CONSIGN_E_SYNTAX, "header: region trailer: size out of range");
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_data + dl - 8, (uint32_t) - (int32_t)(16 * il - 16));
    expect_error(CONSIGN_E_SYNTAX, "header: the immutable region does not cover the header");
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_index, 1000);
    expect_error(CONSIGN_E_INVALID, "header: no immutable region");

    /* Index entries (entry 2 is NAME, a STRING; entry 5 is EPOCH, an INT32). */
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_index + 16 * 12 + 8, (uint32_t)dl + 100);
    expect_error(CONSIGN_E_SYNTAX, "header: entry 12: offset out of range");
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_index + 16 * 5 + 12, 0x7fffffff);
    expect_error(CONSIGN_E_SYNTAX, "header: entry 5: tag 1003: count 2147483647 out of range");
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_index + 16 * 5 + 12, 0);
    expect_error(CONSIGN_E_SYNTAX, "header: entry 5: tag 1003: count 0 out of range");
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_index + 16 * 5 + 12, (uint32_t)dl / 2);
    expect_error(CONSIGN_E_SYNTAX, "header: entry 5: tag 1003: data out of range");
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_index + 16 * 5 + 8, get32(h.idx + 16 * 4 + 8) + 2);
    expect_error(CONSIGN_E_SYNTAX, "header: entry 5: tag 1003: misaligned INT32 data");
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_index + 16 * 3 + 8, 0);
    expect_error(CONSIGN_E_SYNTAX, "header: entry 3: tag 1001: data overlaps the previous");
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_index + 16 * 2 + 12, 2);
    expect_error(CONSIGN_E_SYNTAX, "header: entry 2: tag 1000: string not terminated");
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_index + 16 * 2, 50);
    expect_error(CONSIGN_E_SYNTAX, "header: entry 2: reserved tag 50");
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_index + 16 * 2 + 4, 10);
    expect_error(CONSIGN_E_SYNTAX, "header: entry 2: tag 1000: bad type 10");
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_index + 16 * 2 + 4, 0);
    expect_error(CONSIGN_E_SYNTAX, "header: entry 2: tag 1000: bad type 0");
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_index + 16 * 5 + 4, T_BIN);
    expect_error(CONSIGN_E_SYNTAX, "header: entry 5: tag 1003 is BIN, not INT32");
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_index + 16 * 3, 1000);
    expect_error(CONSIGN_E_SYNTAX, "header: tag 1000 appears twice");
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_index + 16 * 2, 0x80000001u); /* rpm's tags are signed */
    expect_error(CONSIGN_E_SYNTAX, "header: entry 2: reserved tag -2147483647");
    /* A tag not read here, of a type other than rpm's tag table gives it
     * (RPMVERSION, a STRING). */
    write_rpm(NULL, &h, 0, "payload");
    patch32(main_index + 16 * 5, 1064);
    expect_error(CONSIGN_E_SYNTAX, "header: entry 5: tag 1064 is INT32, not STRING");
    /* The last string running into the trailer. */
    write_rpm(NULL, &h, 0, "payload");
    patch8(main_data + h.dl - 1, 'x');
    expect_error(CONSIGN_E_SYNTAX, "data overlaps the region trailer");
    /* A byte the entries do not account for. */
    write_rpm(NULL, &h, 1, "payload");
    expect_error(CONSIGN_E_SYNTAX, "header: data store of");

    /* An unterminated string in a signature header without region. */
    memset(&s, 0, sizeof(s));
    hb_str(&s, 1004, "md5");
    {
        unsigned char buf[4096], mainh[1 << 15];
        size_t n, mlen;
        FILE *f;

        memset(buf, 0, 96);
        memcpy(buf, "\xed\xab\xee\xdb\x03", 5);
        buf[79] = 5;
        n = 96 + hb_emit(&s, 0, 0, buf + 96);
        buf[n - 1] = 'x';
        while (n % 8)
            buf[n++] = 0;
        mlen = hb_emit(&h, 63, 0, mainh);
        memcpy(buf + n, mainh, mlen);
        n += mlen;
        f = fopen(rpmpath, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(buf, 1, n, f), n);
        fclose(f);
        expect_error(CONSIGN_E_SYNTAX,
                     "signature header: entry 0: tag 1004: string not terminated");
    }

    /* The signature's size of header and payload. */
    write_rpm(NULL, &h, 0, "payload");
    {
        FILE *f = fopen(rpmpath, "ab");
        assert_non_null(f);
        fputc('x', f);
        fclose(f);
    }
    expect_error(CONSIGN_E_SYNTAX, "signature header: header and payload are");
    /* A signature tag of a type rpm does not expect: it refuses the package. */
    memset(&s, 0, sizeof(s));
    {
        static const uint16_t two[] = {1};
        hb_u16(&s, 1007, two, 1); /* PAYLOADSIZE */
    }
    write_rpm(&s, &h, 0, "payload");
    expect_error(CONSIGN_E_SYNTAX, "signature header: tag 1007: 1 values of type INT16");
    /* A signature tag in the main header. */
    hb_str(&h, 269, "sha1");
    write_rpm(NULL, &h, 0, "payload");
    expect_error(CONSIGN_E_SYNTAX, "header: signature tag 269 in the main header");
}

static void
test_broken_fields(void **state)
{
    static const char *const one_dir[] = {"/usr/bin/"}, *const empty_dir[] = {""};
    static const char *const two[] = {"a", "b"}, *const bad_dirs[] = {"/x/", "/y/", "/z/"};
    static const uint32_t di[] = {0, 1}, ff[] = {0, 0}, ff1[] = {0};
    static const uint16_t modes[] = {0100644, 0100644};
    struct hb h;
    struct consign_ctx ctx;
    struct consign_rpm_info *info = NULL;
    struct consign_buf out;

    (void)state;
    /* The required words. */
    {
        static const uint32_t tags[] = {1000, 1001, 1002, 1022};
        static const char *const what[] = {"no NAME", "no VERSION", "no RELEASE", "no ARCH"};
        for (int k = 0; k < 4; k++) {
            memset(&h, 0, sizeof(h));
            for (int j = 0; j < 4; j++)
                if (j != k)
                    hb_str(&h, tags[j], "x");
            write_rpm(NULL, &h, 0, "p");
            expect_error(CONSIGN_E_INVALID, what[k]);
        }
    }
    memset(&h, 0, sizeof(h));
    hb_str(&h, 1000, "a b");
    hb_str(&h, 1001, "1");
    hb_str(&h, 1002, "1");
    hb_str(&h, 1022, "x");
    write_rpm(NULL, &h, 0, "p");
    expect_error(CONSIGN_E_INVALID, "header: NAME: byte 0x20");

    /* Source packages, v3 file lists. */
    memset(&h, 0, sizeof(h));
    hb_base(&h, "src", 0);
    hb_u32_1(&h, 1106, 1);
    write_rpm(NULL, &h, 0, "p");
    expect_error(CONSIGN_E_INVALID, "a source package");
    memset(&h, 0, sizeof(h));
    hb_base(&h, "src", 0);
    hb_strs(&h, 1118, T_SA, empty_dir, 1);
    write_rpm(NULL, &h, 0, "p");
    expect_error(CONSIGN_E_INVALID, "a source package (no SOURCERPM)");
    memset(&h, 0, sizeof(h));
    hb_base(&h, "v3", 0);
    hb_strs(&h, 1027, T_SA, two, 2);
    write_rpm(NULL, &h, 0, "p");
    expect_error(CONSIGN_E_INVALID, "header: old-style file list");

    /* Text. */
    memset(&h, 0, sizeof(h));
    hb_str(&h, 1000, "t");
    hb_str(&h, 1001, "1");
    hb_str(&h, 1002, "1");
    hb_i18n(&h, 1004, "bell\a");
    hb_str(&h, 1022, "x");
    write_rpm(NULL, &h, 0, "p");
    expect_error(CONSIGN_E_INVALID, "header: SUMMARY: control character 0x07");
    memset(&h, 0, sizeof(h));
    hb_str(&h, 1000, "t");
    hb_str(&h, 1001, "1");
    hb_str(&h, 1002, "1");
    hb_i18n(&h, 1005, "overlong \xc0\xaf");
    hb_str(&h, 1022, "x");
    write_rpm(NULL, &h, 0, "p");
    expect_error(CONSIGN_E_INVALID, "header: DESCRIPTION: invalid UTF-8");
    memset(&h, 0, sizeof(h));
    hb_str(&h, 1000, "t");
    hb_str(&h, 1001, "1");
    hb_str(&h, 1002, "1");
    hb_i18n(&h, 1005, "surrogate \xed\xa0\x80");
    hb_str(&h, 1022, "x");
    write_rpm(NULL, &h, 0, "p");
    expect_error(CONSIGN_E_INVALID, "header: DESCRIPTION: invalid UTF-8");
    memset(&h, 0, sizeof(h));
    hb_str(&h, 1000, "t");
    hb_str(&h, 1001, "1");
    hb_str(&h, 1002, "1");
    hb_str(&h, 1022, "x");
    hb_deps(&h, 1049, 1048, 1050, (const struct depspec[]){{"r\x01", 0, ""}}, 1);
    write_rpm(NULL, &h, 0, "p");
    expect_error(CONSIGN_E_INVALID, "header: REQUIRENAME 0: control character 0x01");

    /* File lists that do not add up. */
    memset(&h, 0, sizeof(h));
    hb_base(&h, "f", 0);
    hb_u16(&h, 1030, modes, 2);
    hb_u32(&h, 1037, ff1, 1);
    hb_u32(&h, 1116, di, 2);
    hb_strs(&h, 1117, T_SA, two, 2);
    hb_strs(&h, 1118, T_SA, bad_dirs, 2);
    write_rpm(NULL, &h, 0, "p");
    expect_error(CONSIGN_E_SYNTAX, "header: file list: 2 BASENAMES, 2 DIRNAMES, 2 DIRINDEXES, 1");
    memset(&h, 0, sizeof(h));
    hb_base(&h, "f", 0);
    hb_u16(&h, 1030, modes, 2);
    hb_u32(&h, 1037, ff, 2);
    hb_u32(&h, 1116, di, 2);
    hb_strs(&h, 1117, T_SA, two, 2);
    hb_strs(&h, 1118, T_SA, one_dir, 1);
    write_rpm(NULL, &h, 0, "p");
    expect_error(CONSIGN_E_SYNTAX, "header: file 1: directory index 1 of 1");
    memset(&h, 0, sizeof(h));
    hb_base(&h, "f", 0);
    hb_u32(&h, 1116, di, 2);
    hb_strs(&h, 1117, T_SA, two, 2);
    hb_strs(&h, 1118, T_SA, bad_dirs, 2);
    write_rpm(NULL, &h, 0, "p");
    expect_error(CONSIGN_E_SYNTAX, "header: file list:");

    /* Lists of dependencies and changelogs that do not add up; EPOCH. */
    memset(&h, 0, sizeof(h));
    hb_base(&h, "d", 0);
    hb_u32(&h, 1048, ff1, 1);
    hb_strs(&h, 1049, T_SA, two, 2);
    hb_strs(&h, 1050, T_SA, two, 2);
    write_rpm(NULL, &h, 0, "p");
    expect_error(CONSIGN_E_SYNTAX, "header: 2 REQUIRENAME, 1 REQUIREFLAGS, 2 REQUIREVERSION");
    memset(&h, 0, sizeof(h));
    hb_base(&h, "d", 0);
    hb_u32(&h, 1080, ff, 2);
    hb_strs(&h, 1081, T_SA, two, 2);
    hb_strs(&h, 1082, T_SA, two, 1);
    write_rpm(NULL, &h, 0, "p");
    expect_error(CONSIGN_E_SYNTAX, "header: changelog: 2 CHANGELOGTIME, 2 CHANGELOGNAME, 1");
    memset(&h, 0, sizeof(h));
    hb_str(&h, 1000, "e");
    hb_str(&h, 1001, "1");
    hb_str(&h, 1002, "1");
    hb_u32(&h, 1003, ff, 2);
    hb_str(&h, 1022, "x");
    write_rpm(NULL, &h, 0, "p");
    expect_error(CONSIGN_E_SYNTAX, "header: EPOCH has 2 values");

    /* Without flags, requires are not read (as createrepo_c). */
    memset(&h, 0, sizeof(h));
    hb_base(&h, "noflags", 0);
    hb_strs(&h, 1049, T_SA, two, 2);
    hb_strs(&h, 1050, T_SA, two, 2);
    write_rpm(NULL, &h, 0, "p");
    read_ok(&info);

    /* The location written into primary.xml. */
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&out, 1 << 16);
    assert_int_equal(consign_rpm_info_primary_xml(&ctx, info, "a\x01.rpm", 0, &out),
                     CONSIGN_E_INVALID);
    assert_non_null(strstr(consign_err_msg(&ctx), "location href: control character 0x01"));
    assert_int_equal(consign_rpm_info_primary_xml(&ctx, info, "a\xed\xa0\x80.rpm", 0, &out),
                     CONSIGN_E_INVALID);
    assert_int_equal(consign_rpm_info_primary_xml(&ctx, info, "", 0, &out), CONSIGN_E_INVALID);
    assert_int_equal(consign_rpm_info_primary_xml(&ctx, info, "ok.rpm", 0, &out), 0);
    assert_null(strstr(out.data, "rpm:requires"));
    consign_buf_free(&out);
    /* A writer that fails leaves the buffer as it was. */
    consign_buf_init(&out, 300);
    assert_int_equal(consign_buf_puts(&ctx, &out, "kept"), 0);
    assert_int_equal(consign_rpm_info_primary_xml(&ctx, info, "ok.rpm", 0, &out), CONSIGN_E_TOOBIG);
    assert_string_equal(out.data, "kept");
    assert_int_equal(consign_rpm_info_filelists_xml(&ctx, info, &out), 0);
    consign_buf_reset(&out);
    assert_int_equal(consign_buf_puts(&ctx, &out, "kept"), 0);
    out.max = 40;
    assert_int_equal(consign_rpm_info_other_xml(&ctx, info, &out), CONSIGN_E_TOOBIG);
    assert_int_equal(consign_rpm_info_filelists_xml(&ctx, info, &out), CONSIGN_E_TOOBIG);
    assert_string_equal(out.data, "kept");
    consign_buf_free(&out);
    consign_rpm_info_free(info);

    /* Not a regular file, missing. */
    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(consign_rpm_info_read(&ctx, tmpdir, &info), CONSIGN_E_INVALID);
    assert_null(info);
    assert_int_equal(consign_rpm_info_read(&ctx, "/nonexistent/x.rpm", &info), CONSIGN_E_NOTFOUND);
    assert_null(info);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vercmp),
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_fixture_truncated),
        cmocka_unit_test(test_deps),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_minimal),
        cmocka_unit_test(test_documents),
        cmocka_unit_test(test_broken_structure),
        cmocka_unit_test(test_broken_fields),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
