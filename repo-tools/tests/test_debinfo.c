/* consign repo: reading a .deb (consign_deb_info) and its Packages stanza,
 * with small packages crafted here: GNU and BSD ar names, every control.tar
 * compression, and the broken ones (truncated, bad magic, sizes beyond the
 * file, no control member, no Version). */
#include <archive.h>
#include <archive_entry.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "consign/buf.h"
#include "consign/error.h"
#include "consign/hash.h"
#include "consign/repo.h"

static char tmpdir[64];
static char debpath[128];
static size_t filler; /* bytes of a "./filler" entry make_tar puts first */

static const char good_control[] = "Package: hello\n"
                                   "Version: 1.0-1\n"
                                   "Architecture: amd64\n"
                                   "Maintainer: A <a@example.org>\n"
                                   "Installed-Size: 12\n"
                                   "X-Custom:\n"
                                   " line one  \n"
                                   " line two\n"
                                   "Status: install ok installed\n"
                                   "Section: \n"
                                   "Depends: libc6 (>= 2.34)\n"
                                   "Homepage: https://example.org/\n"
                                   "Description: a greeting\n"
                                   " Longer text.\n"
                                   " .\n"
                                   " More.\n";

static int
setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/consign-debinfo.XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(debpath, sizeof(debpath), "%s/t.deb", tmpdir);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    unlink(debpath);
    rmdir(tmpdir);
    return 0;
}

/* control.tar with one entry, compressed with filter ("gz", "xz", "zst" or ""). */
static size_t
make_tar(const char *filter, const char *entry, const char *data, size_t dlen, char *buf,
         size_t cap)
{
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();
    size_t used = 0;

    assert_non_null(a);
    if (strcmp(filter, "gz") == 0)
        assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
    else if (strcmp(filter, "xz") == 0)
        assert_int_equal(archive_write_add_filter_xz(a), ARCHIVE_OK);
    else if (strcmp(filter, "zst") == 0)
        assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
    assert_int_equal(archive_write_set_format_gnutar(a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_memory(a, buf, cap, &used), ARCHIVE_OK);
    if (filler) {
        static const char zero[4096];
        archive_entry_set_pathname(e, "./filler");
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)filler);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        for (size_t left = filler; left > 0; left -= left < sizeof(zero) ? left : sizeof(zero))
            archive_write_data(a, zero, left < sizeof(zero) ? left : sizeof(zero));
        archive_entry_clear(e);
    }
    archive_entry_set_pathname(e, entry);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)dlen);
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    assert_int_equal(archive_write_data(a, data, dlen), (la_ssize_t)dlen);
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_entry_free(e);
    archive_write_free(a);
    return used;
}

/* One ar member: GNU ("name/") or BSD ("#1/len" and the name in the body). */
static void
put_member(FILE *f, int bsd, const char *name, const void *data, size_t len)
{
    char hdr[128], gnu[17];
    size_t nlen = strlen(name);

    snprintf(gnu, sizeof(gnu), "%s/", name);
    if (bsd)
        snprintf(hdr, sizeof(hdr), "#1/%-13zu%-12u%-6u%-6u%-8o%-10zu`\n", nlen, 0u, 0u, 0u, 0644u,
                 len + nlen);
    else
        snprintf(hdr, sizeof(hdr), "%-16s%-12u%-6u%-6u%-8o%-10zu`\n", gnu, 0u, 0u, 0u, 0644u, len);
    assert_int_equal(fwrite(hdr, 1, 60, f), 60);
    if (bsd)
        assert_int_equal(fwrite(name, 1, nlen, f), nlen);
    assert_int_equal(fwrite(data, 1, len, f), len);
    if ((len + (bsd ? nlen : 0)) & 1)
        fputc('\n', f);
}

/* A .deb at debpath; ctrl_member NULL leaves the control member out. */
static void
make_deb(int bsd, const char *ctrl_member, const char *filter, const char *entry,
         const char *control)
{
    static char tar[1 << 16];
    FILE *f = fopen(debpath, "wb");
    size_t n = 0;

    assert_non_null(f);
    if (ctrl_member)
        n = make_tar(filter, entry, control, strlen(control), tar, sizeof(tar));
    fputs("!<arch>\n", f);
    put_member(f, bsd, "debian-binary", "2.0\n", 4);
    if (ctrl_member)
        put_member(f, bsd, ctrl_member, tar, n);
    put_member(f, bsd, "data.tar.xz", "xyz", 3); /* never opened */
    fclose(f);
}

static void
write_bytes(const void *p, size_t n)
{
    FILE *f = fopen(debpath, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* Read debpath expecting failure code with msg in the message. */
static void
expect_error(int code, const char *msg)
{
    struct consign_ctx ctx;
    struct consign_deb_info *info = NULL;

    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(consign_deb_info_read(&ctx, debpath, &info), code);
    assert_null(info);
    if (!strstr(consign_err_msg(&ctx), msg) || !strstr(consign_err_msg(&ctx), debpath))
        fail_msg("message '%s' lacks '%s' or the path", consign_err_msg(&ctx), msg);
}

static void
test_read_and_stanza(void **state)
{
    struct consign_ctx ctx;
    struct consign_deb_info *info = NULL;
    struct consign_buf out;
    unsigned char md[CONSIGN_HASH_MAX];
    char hex[2 * CONSIGN_HASH_MAX + 1], want[4096];
    unsigned long long size;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&out, 1 << 16);
    make_deb(0, "control.tar.gz", "gz", "./control", good_control);
    assert_int_equal(consign_deb_info_read(&ctx, debpath, &info), 0);
    assert_string_equal(consign_deb_info_get(info, "package"), "hello");
    assert_string_equal(consign_deb_info_get(info, "X-CUSTOM"), "\n line one  \n line two");
    assert_string_equal(consign_deb_info_get(info, "Section"), "");
    assert_null(consign_deb_info_get(info, "Priority"));
    assert_int_equal(consign_deb_info_count(info), 11);
    assert_string_equal(consign_deb_info_name(info, 5), "X-Custom");

    assert_int_equal(consign_hash_file(&ctx, CONSIGN_HASH_SHA256, debpath, md, &size), 0);
    consign_hex(md, 32, hex);
    assert_string_equal(consign_deb_info_digest(info, CONSIGN_HASH_SHA256), hex);
    assert_int_equal(consign_deb_info_size(info), size);

    assert_int_equal(consign_deb_info_stanza(&ctx, info, "pool/h.deb", 0, &out), 0);
    snprintf(want, sizeof(want),
             "Package: hello\n"
             "Architecture: amd64\n"
             "Version: 1.0-1\n"
             "Maintainer: A <a@example.org>\n"
             "Installed-Size: 12\n"
             "Depends: libc6 (>= 2.34)\n"
             "Filename: pool/h.deb\n"
             "Size: %llu\n"
             "MD5sum: %s\n"
             "SHA1: %s\n"
             "SHA256: %s\n"
             "Homepage: https://example.org/\n"
             "Description: a greeting\n"
             " Longer text.\n"
             " .\n"
             " More.\n"
             "X-Custom:\n"
             " line one  \n"
             " line two\n",
             size, consign_deb_info_digest(info, CONSIGN_HASH_MD5),
             consign_deb_info_digest(info, CONSIGN_HASH_SHA1), hex);
    assert_string_equal(out.data, want);

    consign_buf_reset(&out);
    assert_int_equal(consign_deb_info_stanza(&ctx, info, "pool/h.deb", 1, &out), 0);
    assert_non_null(strstr(out.data, "\nSHA512: "));
    assert_true(strstr(out.data, "\nSHA512: ") < strstr(out.data, "\nHomepage: "));
    assert_int_equal(consign_deb_info_stanza(&ctx, info, "a\nb", 1, &out), CONSIGN_E_INVALID);
    consign_deb_info_free(info);
    consign_deb_info_free(NULL);
    consign_buf_free(&out);
}

static void
test_variants(void **state)
{
    static const struct {
        int bsd;
        const char *member, *filter, *entry;
    } v[] = {
        {1, "control.tar", "", "control"},
        {0, "control.tar.xz", "xz", "./control"},
        {1, "control.tar.zst", "zst", "./control"},
        {0, "control.tar", "", "control"},
    };
    struct consign_ctx ctx;
    struct consign_deb_info *info;

    (void)state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        consign_ctx_init(&ctx, NULL, NULL);
        make_deb(v[i].bsd, v[i].member, v[i].filter, v[i].entry, good_control);
        if (consign_deb_info_read(&ctx, debpath, &info))
            fail_msg("variant %zu: %s", i, consign_err_msg(&ctx));
        assert_string_equal(consign_deb_info_get(info, "Version"), "1.0-1");
        consign_deb_info_free(info);
    }
}

static void
test_broken_container(void **state)
{
    static char buf[1 << 16];
    FILE *f;
    size_t n;

    (void)state;
    make_deb(0, "control.tar.gz", "gz", "./control", good_control);
    f = fopen(debpath, "rb");
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);

    write_bytes(buf, n - 2); /* data.tar.xz cut: its size goes beyond the file */
    expect_error(CONSIGN_E_SYNTAX, "the file has");
    write_bytes(buf, 8 + 30); /* inside a member header */
    expect_error(CONSIGN_E_SYNTAX, "truncated");
    write_bytes(buf, 5);
    expect_error(CONSIGN_E_SYNTAX, "truncated");
    write_bytes("", 0);
    expect_error(CONSIGN_E_SYNTAX, "truncated");

    memcpy(buf, "!<arhc>\n", 8);
    write_bytes(buf, n);
    expect_error(CONSIGN_E_SYNTAX, "no ar magic");
    memcpy(buf, "!<arch>\n", 8);

    memcpy(buf + 8 + 48, "9999999999", 10); /* debian-binary's size */
    write_bytes(buf, n);
    expect_error(CONSIGN_E_SYNTAX, "claims 9999999999 bytes");

    memcpy(buf + 8 + 48, "4x        ", 10);
    write_bytes(buf, n);
    expect_error(CONSIGN_E_SYNTAX, "bad ar member size");

    make_deb(0, NULL, NULL, NULL, NULL);
    expect_error(CONSIGN_E_SYNTAX, "no control.tar member");
    make_deb(0, "control.tar.bz2", "", "./control", good_control);
    expect_error(CONSIGN_E_SYNTAX, "unsupported control member");
    make_deb(0, "control.tar.gz", "gz", "./md5sums", good_control);
    expect_error(CONSIGN_E_SYNTAX, "no 'control' file");
    make_deb(0, "control.tar.gz", "", "./control", good_control); /* not gzip after all: fine */
    {
        struct consign_ctx ctx;
        struct consign_deb_info *info = NULL;
        consign_ctx_init(&ctx, NULL, NULL);
        assert_int_equal(consign_deb_info_read(&ctx, debpath, &info), 0);
        consign_deb_info_free(info);
    }
}

static void
test_broken_control(void **state)
{
    char *big;

    (void)state;
    make_deb(0, "control.tar.gz", "gz", "./control", "Package: a\nArchitecture: all\n");
    expect_error(CONSIGN_E_INVALID, "control: no Version field");
    make_deb(0, "control.tar.gz", "gz", "./control", "Version: 1\nArchitecture: all\n");
    expect_error(CONSIGN_E_INVALID, "control: no Package field");
    make_deb(0, "control.tar.gz", "gz", "./control", "Package: a\nVersion: 1\n");
    expect_error(CONSIGN_E_INVALID, "control: no Architecture field");
    make_deb(0, "control.tar.gz", "gz", "./control",
             "Package: a\nVersion: 1\nnot a field\nArchitecture: all\n");
    expect_error(CONSIGN_E_SYNTAX, "control: line 3: not a 'Field: value' line");
    make_deb(0, "control.tar.gz", "gz", "./control", " cont\nPackage: a\n");
    expect_error(CONSIGN_E_SYNTAX, "control: line 1: continuation line");
    make_deb(0, "control.tar.gz", "gz", "./control",
             "Package: a\nVersion: 1\npackage: b\nArchitecture: all\n");
    expect_error(CONSIGN_E_SYNTAX, "control: line 3: duplicate field 'package'");
    make_deb(0, "control.tar.gz", "gz", "./control",
             "Package: a\nVersion: 1\n\nArchitecture: all\n");
    expect_error(CONSIGN_E_SYNTAX, "control: line 4: a second stanza");

    big = malloc(CONSIGN_DEB_LINE_MAX + 64);
    assert_non_null(big);
    memcpy(big, "Package: ", 9);
    memset(big + 9, 'a', CONSIGN_DEB_LINE_MAX);
    big[9 + CONSIGN_DEB_LINE_MAX] = '\0';
    make_deb(0, "control.tar.gz", "gz", "./control", big);
    expect_error(CONSIGN_E_TOOBIG, "control: line 1: longer than");
    free(big);

    /* Over the caps: the control file (one long line, refused before it is
     * parsed), and control.tar uncompressed. */
    big = malloc(CONSIGN_DEB_CONTROL_MAX + 64);
    assert_non_null(big);
    memcpy(big, "Package: a\nVersion: 1\nArchitecture: all\nDescription: x\n", 55);
    memset(big + 55, '.', CONSIGN_DEB_CONTROL_MAX + 5);
    big[CONSIGN_DEB_CONTROL_MAX + 60] = '\0';
    make_deb(0, "control.tar.gz", "gz", "./control", big);
    expect_error(CONSIGN_E_TOOBIG, "control: more than");
    free(big);
    filler = CONSIGN_DEB_CONTROL_TAR_MAX;
    make_deb(0, "control.tar.xz", "xz", "./control", good_control);
    filler = 0;
    expect_error(CONSIGN_E_TOOBIG, "control member: more than");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_and_stanza),
        cmocka_unit_test(test_variants),
        cmocka_unit_test(test_broken_container),
        cmocka_unit_test(test_broken_control),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
