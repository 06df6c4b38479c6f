/* The tar writer and reader (round trips, GNU tar both ways) and the safe
 * extractor against hostile archives: each is refused with its code and
 * nothing appears outside the staging directory. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "consign/buf.h"
#include "consign/error.h"
#include "consign/extract.h"
#include "consign/fileio.h"
#include "consign/path.h"
#include "consign/tar.h"

#define MTIME 1700000000LL

static char tmpdir[64];

static int
setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/consign-tar.XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int
teardown(void **state)
{
    struct consign_ctx ctx;
    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    return consign_extract_remove_tree(&ctx, tmpdir) == 0 ? 0 : -1;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Run a shell command; its exit status. */
static int
sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    int rc;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

/* With CONSIGN_TAR_SEEDS=DIR, archives the tests make are also written there
 * as fuzz seeds (fuzz/corpus/tar/README), those under 20 KiB. */
static const char *seed_prefix = "seed";
static int seed_count;

static void
seed(const char *name, const void *p, size_t len)
{
    const char *dir = getenv("CONSIGN_TAR_SEEDS");
    struct consign_ctx ctx;
    char path[512];

    if (!dir || len > 20 << 10)
        return;
    consign_ctx_init(&ctx, NULL, NULL);
    if (name)
        snprintf(path, sizeof(path), "%s/%s.tar", dir, name);
    else
        snprintf(path, sizeof(path), "%s/%s-%02d.tar", dir, seed_prefix, ++seed_count);
    assert_int_equal(consign_file_write_atomic(&ctx, path, p, len, 0644), 0);
}

/* --- building archives ---------------------------------------------------------- */

static int
sink_buf(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    return consign_buf_append(ctx, user, p, n);
}

/* width-1 octal digits and a NUL, as a test's own encoder. */
static void
oct(unsigned char *f, size_t width, unsigned long long v)
{
    size_t i = width - 1;
    f[i] = '\0';
    while (i > 0) {
        f[--i] = (unsigned char)('0' + (v & 7));
        v >>= 3;
    }
}

/* A raw ustar header, written independently of the library's writer so that
 * hostile archives can say anything. */
static void
raw_hdr(struct consign_buf *b, const char *name, char type, unsigned mode, unsigned long long size,
        const char *link)
{
    unsigned char h[512];
    unsigned sum = 0;
    struct consign_ctx ctx;
    size_t i;

    consign_ctx_init(&ctx, NULL, NULL);
    memset(h, 0, sizeof(h));
    memcpy(h, name, strlen(name) < 100 ? strlen(name) : 100);
    oct(h + 100, 8, mode);
    oct(h + 108, 8, 0);
    oct(h + 116, 8, 0);
    oct(h + 124, 12, size);
    oct(h + 136, 12, (unsigned long long)MTIME);
    h[156] = (unsigned char)type;
    if (link)
        memcpy(h + 157, link, strlen(link) < 100 ? strlen(link) : 100);
    memcpy(h + 257,
           "ustar\0"
           "00",
           8);
    memset(h + 148, ' ', 8);
    for (i = 0; i < 512; i++)
        sum += h[i];
    oct(h + 148, 7, sum);
    assert_int_equal(consign_buf_append(&ctx, b, h, 512), 0);
}

/* size bytes of data ('a', 'b', ...) padded to a block. */
static void
raw_data(struct consign_buf *b, size_t size)
{
    struct consign_ctx ctx;
    size_t i;

    consign_ctx_init(&ctx, NULL, NULL);
    for (i = 0; i < size; i++)
        assert_int_equal(consign_buf_append(&ctx, b, &"abcdefghijklmnopqrstuvwxyz"[i % 26], 1), 0);
    while (b->len % 512)
        assert_int_equal(consign_buf_append(&ctx, b, "", 1), 0);
}

static void
raw_end(struct consign_buf *b)
{
    static const char zero[1024];
    struct consign_ctx ctx;
    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(consign_buf_append(&ctx, b, zero, sizeof(zero)), 0);
}

/* A pax 'x' member holding exactly the given records text. */
static void
raw_pax(struct consign_buf *b, const char *records)
{
    struct consign_ctx ctx;
    consign_ctx_init(&ctx, NULL, NULL);
    raw_hdr(b, "PaxHeaders/x", 'x', 0644, strlen(records), NULL);
    assert_int_equal(consign_buf_puts(&ctx, b, records), 0);
    while (b->len % 512)
        assert_int_equal(consign_buf_append(&ctx, b, "", 1), 0);
}

static void
w_file(struct consign_ctx *ctx, struct consign_tar_writer *w, const char *path, unsigned mode,
       const char *data)
{
    size_t n = strlen(data);
    assert_int_equal(consign_tar_write_file_begin(ctx, w, path, mode, n, MTIME), 0);
    /* Two calls, to show the data may come in pieces. */
    assert_int_equal(consign_tar_write_data(ctx, w, data, n / 2), 0);
    assert_int_equal(consign_tar_write_data(ctx, w, data + n / 2, n - n / 2), 0);
    assert_int_equal(consign_tar_write_file_end(ctx, w), 0);
}

/* A path of total length n: components of up to 200 bytes. */
static char *
long_path(size_t n, char c)
{
    char *p = calloc(1, n + 1);
    size_t i;

    assert_non_null(p);
    memset(p, c, n);
    for (i = 200; i < n - 1; i += 201)
        p[i] = '/';
    return p;
}

static char *long1, *long2, *longlink;

/* The sample archive: directories, files (empty, one byte, several blocks),
 * a long path (pax), a path split into prefix/name, symlinks (a long target). */
static void
write_sample(struct consign_buf *out)
{
    struct consign_ctx ctx;
    struct consign_tar_writer *w = NULL;
    char big[1500];
    size_t i;

    consign_ctx_init(&ctx, NULL, NULL);
    if (!long1) {
        long1 = long_path(300, 'p'); /* needs pax */
        long2 = calloc(1, 180);      /* prefix + name */
        memset(long2, 'q', 170);
        long2[100] = '/';
        longlink = long_path(150, 'l');
    }
    for (i = 0; i < sizeof(big) - 1; i++)
        big[i] = (char)('A' + i % 26);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(consign_tar_writer_new(&ctx, sink_buf, out, &w), 0);
    assert_int_equal(consign_tar_write_dir(&ctx, w, "opt", 0755, MTIME), 0);
    assert_int_equal(consign_tar_write_dir(&ctx, w, "opt/x", 0750, MTIME), 0);
    w_file(&ctx, w, "opt/x/empty", 0644, "");
    w_file(&ctx, w, "opt/x/one", 0600, "1");
    w_file(&ctx, w, "opt/x/big", 0755, big);
    assert_int_equal(consign_tar_write_symlink(&ctx, w, "opt/x/link", "big", MTIME), 0);
    assert_int_equal(consign_tar_write_dir(&ctx, w, "opt/ro", 0555, MTIME), 0);
    w_file(&ctx, w, "opt/ro/inside", 0444, "read only\n");
    w_file(&ctx, w, long1, 0644, "long\n");
    w_file(&ctx, w, long2, 0644, "split\n");
    assert_int_equal(consign_tar_write_symlink(&ctx, w, "opt/longlink", longlink, MTIME), 0);
    assert_int_equal(consign_tar_writer_finish(&ctx, w), 0);
    consign_tar_writer_free(w);
}

/* --- reading into a log ----------------------------------------------------------- */

struct log {
    struct consign_ctx c;
    struct consign_buf b;
};

static int
log_entry(struct consign_ctx *ctx, void *user, const struct consign_tar_entry *e)
{
    struct log *l = user;
    (void)ctx;
    return consign_buf_printf(&l->c, &l->b, "#%llu %d %c %04o %llu %lld %s%s%s\n", e->index,
                              (int)e->type, e->typeflag ? e->typeflag : '0', e->mode, e->size,
                              e->mtime, e->path, e->link ? " -> " : "", e->link ? e->link : "");
}

static int
log_data(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    struct log *l = user;
    (void)ctx;
    return consign_buf_append(&l->c, &l->b, p, n);
}

static int
log_end(struct consign_ctx *ctx, void *user)
{
    struct log *l = user;
    (void)ctx;
    return consign_buf_puts(&l->c, &l->b, "|end\n");
}

/* Read an archive fed in chunks of `chunk` bytes (0: whole); the log in *out. */
static int
read_log(struct consign_ctx *ctx, const void *p, size_t len, size_t chunk,
         const struct consign_tar_limits *lim, char **out)
{
    static const struct consign_tar_callbacks cb = {log_entry, log_data, log_end};
    struct consign_tar_reader *r = NULL;
    struct log l;
    size_t off = 0;
    int rc;

    consign_ctx_init(&l.c, NULL, NULL);
    consign_buf_init(&l.b, 1 << 24);
    consign_buf_append(&l.c, &l.b, "", 0);
    assert_int_equal(consign_tar_reader_new(ctx, lim, &cb, &l, &r), 0);
    rc = 0;
    if (!chunk)
        chunk = len ? len : 1;
    while (off < len && !rc) {
        size_t n = len - off < chunk ? len - off : chunk;
        rc = consign_tar_reader_feed(ctx, r, (const char *)p + off, n);
        off += n;
    }
    if (!rc)
        rc = consign_tar_reader_finish(ctx, r);
    consign_tar_reader_free(r);
    if (out)
        *out = consign_buf_steal(&l.b, NULL);
    consign_buf_free(&l.b);
    return rc;
}

/* --- the staging layout ------------------------------------------------------------- */

/* tmpdir/NAME/{stage,canary/,outside}: canary must stay empty and outside
 * must keep its content whatever an archive does. */
struct layout {
    char base[256], stage[300], canary[300], outside[300];
};

static void
layout_make(struct layout *L, const char *name)
{
    struct consign_ctx ctx;
    consign_ctx_init(&ctx, NULL, NULL);
    snprintf(L->base, sizeof(L->base), "%s/%s", tmpdir, name);
    snprintf(L->stage, sizeof(L->stage), "%s/stage", L->base);
    snprintf(L->canary, sizeof(L->canary), "%s/canary", L->base);
    snprintf(L->outside, sizeof(L->outside), "%s/outside", L->base);
    assert_int_equal(consign_extract_remove_tree(&ctx, L->base), 0);
    assert_int_equal(consign_mkdirs(&ctx, L->stage, 0755), 0);
    assert_int_equal(consign_mkdirs(&ctx, L->canary, 0755), 0);
    assert_int_equal(consign_file_write_atomic(&ctx, L->outside, "untouched", 9, 0644), 0);
}

static int
dir_entries(const char *dir)
{
    struct dirent *de;
    DIR *d = opendir(dir);
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/* Nothing escaped: the canary is empty, outside untouched, the base holds
 * only the three. */
static void
layout_check(const struct layout *L)
{
    struct consign_ctx ctx;
    char *buf = NULL;
    size_t len;

    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(dir_entries(L->canary), 0);
    assert_int_equal(dir_entries(L->base), 3);
    assert_int_equal(consign_file_read(&ctx, L->outside, 100, &buf, &len), 0);
    assert_string_equal(buf, "untouched");
    free(buf);
}

/* Empty the stage again (removed and made anew) if the last run left anything. */
static void
stage_reset(const struct layout *L)
{
    struct consign_ctx ctx;

    consign_ctx_init(&ctx, NULL, NULL);
    if (dir_entries(L->stage) == 0)
        return;
    assert_int_equal(consign_extract_remove_tree(&ctx, L->stage), 0);
    assert_int_equal(mkdir(L->stage, 0755), 0);
}

/* Extract buf into the stage in chunks (0: whole); the result code. */
static int
extract(struct consign_ctx *ctx, const struct layout *L, const void *p, size_t len, size_t chunk,
        const struct consign_extract_opts *o)
{
    struct consign_extract *x = NULL;
    size_t off = 0;
    int rc;

    if ((rc = consign_extract_new(ctx, L->stage, o, &x)))
        return rc;
    if (!chunk)
        chunk = len ? len : 1;
    while (off < len && !rc) {
        size_t n = len - off < chunk ? len - off : chunk;
        rc = consign_extract_feed(ctx, x, (const char *)p + off, n);
        off += n;
    }
    if (!rc)
        rc = consign_extract_finish(ctx, x);
    consign_extract_free(x);
    return rc;
}

/* Extract a hostile archive: it must fail with code, the message must hold
 * want (if any), and nothing may escape. The stage is emptied afterwards. */
static void
expect_refused(const struct layout *L, const struct consign_buf *b, int code, const char *want,
               const struct consign_extract_opts *o)
{
    struct consign_ctx ctx;
    size_t chunks[] = {0, 1, 511};
    size_t i;
    int rc;

    seed(NULL, b->data, b->len);
    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        consign_ctx_init(&ctx, NULL, NULL);
        rc = extract(&ctx, L, b->data, b->len, chunks[i], o);
        if (rc != code)
            fail_msg("expected %s, got %s: %s", consign_strcode(code), consign_strcode(rc),
                     consign_err_msg(&ctx));
        if (want && !strstr(consign_err_msg(&ctx), want))
            fail_msg("message '%s' lacks '%s'", consign_err_msg(&ctx), want);
        layout_check(L);
        stage_reset(L);
    }
}

/* --- tests --------------------------------------------------------------------------- */

static void
test_writer_format(void **state)
{
    struct consign_ctx ctx;
    struct consign_buf a, b;
    struct consign_tar_writer *w = NULL;
    const unsigned char *h;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&a, 1 << 20);
    consign_buf_init(&b, 1 << 20);
    write_sample(&a);
    write_sample(&b);
    /* Deterministic, whole blocks, two zero blocks at the end. */
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    assert_int_equal(a.len % 512, 0);
    h = (const unsigned char *)a.data;
    assert_string_equal((const char *)h, "opt/");
    assert_memory_equal(h + 100, "0000755\0", 8);
    assert_memory_equal(h + 108,
                        "0000000\0"
                        "0000000\0",
                        16);
    assert_memory_equal(h + 136, "14524770400\0", 12); /* MTIME in octal */
    assert_int_equal(h[156], '5');
    assert_memory_equal(h + 257,
                        "ustar\0"
                        "00"
                        "root",
                        12);
    assert_string_equal((const char *)h + 297, "root");
    h = (const unsigned char *)a.data + a.len - 1024;
    while (h < (const unsigned char *)a.data + a.len)
        assert_int_equal(*h++, 0);
    consign_buf_free(&a);

    /* Sizes are enforced both ways; entries cannot interleave. */
    consign_buf_reset(&b);
    assert_int_equal(consign_tar_writer_new(&ctx, sink_buf, &b, &w), 0);
    assert_int_equal(consign_tar_write_file_begin(&ctx, w, "f", 0644, 3, MTIME), 0);
    assert_int_equal(consign_tar_write_dir(&ctx, w, "d", 0755, MTIME), CONSIGN_E_USAGE);
    assert_int_equal(consign_tar_write_data(&ctx, w, "abcd", 4), CONSIGN_E_INVALID);
    assert_int_equal(consign_tar_write_file_end(&ctx, w), CONSIGN_E_USAGE);
    assert_int_equal(consign_tar_writer_finish(&ctx, w), CONSIGN_E_USAGE);
    consign_tar_writer_free(w);
    assert_int_equal(consign_tar_writer_new(&ctx, sink_buf, &b, &w), 0);
    assert_int_equal(consign_tar_write_file_begin(&ctx, w, "f", 0644, 3, MTIME), 0);
    assert_int_equal(consign_tar_write_data(&ctx, w, "ab", 2), 0);
    assert_int_equal(consign_tar_write_file_end(&ctx, w), CONSIGN_E_INVALID);
    consign_tar_writer_free(w);
    consign_tar_writer_free(NULL);

    /* Only normal relative paths, sane mtimes and targets. */
    consign_buf_reset(&b);
    assert_int_equal(consign_tar_writer_new(&ctx, sink_buf, &b, &w), 0);
    assert_int_equal(consign_tar_write_dir(&ctx, w, "/abs", 0755, MTIME), CONSIGN_E_UNSAFE_PATH);
    assert_int_equal(consign_tar_write_dir(&ctx, w, "a/../b", 0755, MTIME), CONSIGN_E_UNSAFE_PATH);
    assert_int_equal(consign_tar_write_dir(&ctx, w, "a//b", 0755, MTIME), CONSIGN_E_INVALID);
    assert_int_equal(consign_tar_write_dir(&ctx, w, "./a", 0755, MTIME), CONSIGN_E_INVALID);
    assert_int_equal(consign_tar_write_dir(&ctx, w, "a/", 0755, MTIME), CONSIGN_E_INVALID);
    assert_int_equal(consign_tar_write_dir(&ctx, w, "", 0755, MTIME), CONSIGN_E_UNSAFE_PATH);
    assert_int_equal(consign_tar_write_dir(&ctx, w, "a", 0755, -1), CONSIGN_E_INVALID);
    assert_int_equal(consign_tar_write_dir(&ctx, w, "a", 0755, 1LL << 33), CONSIGN_E_INVALID);
    assert_int_equal(consign_tar_write_symlink(&ctx, w, "l", "", MTIME), CONSIGN_E_INVALID);
    /* Mode bits beyond 07777 are not written. */
    assert_int_equal(consign_tar_write_dir(&ctx, w, "a", 040755, MTIME), 0);
    assert_memory_equal(b.data + 100, "0000755\0", 8);
    assert_int_equal(consign_tar_writer_finish(&ctx, w), 0);
    assert_int_equal(consign_tar_writer_finish(&ctx, w), CONSIGN_E_USAGE);
    consign_tar_writer_free(w);
    consign_buf_free(&b);
}

static void
test_round_trip(void **state)
{
    struct consign_ctx ctx;
    struct consign_buf a;
    char *whole = NULL, *other = NULL, *want = NULL;
    size_t chunks[] = {1, 7, 512, 513, 4096};
    size_t i;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&a, 1 << 20);
    write_sample(&a);
    seed("ours-sample", a.data, a.len);
    assert_int_equal(read_log(&ctx, a.data, a.len, 0, NULL, &whole), 0);
    /* Any chunking, down to one byte at a time, gives the same calls. */
    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        assert_int_equal(read_log(&ctx, a.data, a.len, chunks[i], NULL, &other), 0);
        assert_string_equal(whole, other);
        free(other);
    }
    want = consign_asprintf(&ctx,
                            "#1 1 5 0755 0 %lld opt\n|end\n"
                            "#2 1 5 0750 0 %lld opt/x\n|end\n"
                            "#3 0 0 0644 0 %lld opt/x/empty\n|end\n"
                            "#4 0 0 0600 1 %lld opt/x/one\n1|end\n",
                            MTIME, MTIME, MTIME, MTIME);
    assert_true(strncmp(whole, want, strlen(want)) == 0);
    free(want);
    assert_non_null(strstr(whole, " 0 0 0644 5 1700000000 "));
    want = consign_asprintf(&ctx, " %s\nlong\n|end\n", long1);
    assert_non_null(strstr(whole, want));
    free(want);
    want = consign_asprintf(&ctx, " %s\nsplit\n|end\n", long2);
    assert_non_null(strstr(whole, want));
    free(want);
    want =
        consign_asprintf(&ctx, "#11 2 2 0777 0 %lld opt/longlink -> %s\n|end\n", MTIME, longlink);
    assert_non_null(strstr(whole, want));
    free(want);
    assert_non_null(strstr(whole, "opt/x/link -> big\n|end\n"));
    assert_non_null(strstr(whole, "ABCDEFGHIJKLMNOPQRSTUVWXYZABC"));
    free(whole);
    consign_buf_free(&a);
}

/* Pax records whose length crosses 999 -> 1000 (the self-inclusive length
 * gains a digit), for path and linkpath; read back by us and by GNU tar. */
static void
test_pax_lengths(void **state)
{
    struct consign_ctx ctx;
    struct consign_tar_writer *w = NULL;
    struct consign_buf a;
    char path[300], listing[2048];
    char *log = NULL, *p, *t;
    size_t n;
    FILE *f;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&a, 1 << 22);
    assert_int_equal(consign_tar_writer_new(&ctx, sink_buf, &a, &w), 0);
    for (n = 980; n <= 1000; n++) {
        p = long_path(n, (char)('a' + n % 26));
        t = long_path(n, 'T');
        assert_int_equal(consign_tar_write_file_begin(&ctx, w, p, 0644, 0, MTIME), 0);
        assert_int_equal(consign_tar_write_file_end(&ctx, w), 0);
        snprintf(path, sizeof(path), "l%zu", n);
        assert_int_equal(consign_tar_write_symlink(&ctx, w, path, t, MTIME), 0);
        free(p);
        free(t);
    }
    assert_int_equal(consign_tar_writer_finish(&ctx, w), 0);
    consign_tar_writer_free(w);
    assert_int_equal(read_log(&ctx, a.data, a.len, 3, NULL, &log), 0);
    for (n = 980; n <= 1000; n++) {
        char *want;
        p = long_path(n, (char)('a' + n % 26));
        t = long_path(n, 'T');
        want = consign_asprintf(&ctx, " %s\n|end\n", p);
        assert_non_null(strstr(log, want));
        free(want);
        want = consign_asprintf(&ctx, " l%zu -> %s\n|end\n", n, t);
        assert_non_null(strstr(log, want));
        free(want);
        free(p);
        free(t);
    }
    free(log);
    snprintf(path, sizeof(path), "%s/pax.tar", tmpdir);
    assert_int_equal(consign_file_write_atomic(&ctx, path, a.data, a.len, 0644), 0);
    snprintf(listing, sizeof(listing), "tar -tf %s > %s.lst 2>&1", path, path);
    assert_int_equal(sh("%s", listing), 0);
    snprintf(listing, sizeof(listing), "%s.lst", path);
    f = fopen(listing, "r");
    assert_non_null(f);
    for (n = 980; n <= 1000; n++) {
        char line[1100];
        p = long_path(n, (char)('a' + n % 26));
        assert_non_null(fgets(line, sizeof(line), f));
        line[strcspn(line, "\n")] = '\0';
        assert_string_equal(line, p);
        assert_non_null(fgets(line, sizeof(line), f));
        free(p);
    }
    fclose(f);
    consign_buf_free(&a);
}

/* A path of k bytes of c with a '/' after every 49. */
static char *
boundary_path(size_t k, char c)
{
    char *p = calloc(1, k + 1);
    size_t i;

    assert_non_null(p);
    memset(p, c, k);
    for (i = 49; i + 1 < k; i += 50)
        p[i] = '/';
    return p;
}

/* Names around the ustar limits (name 100, prefix 155 + name 100) and link
 * targets around 100: read back exactly by us and by GNU tar. */
static void
test_name_boundaries(void **state)
{
    static const size_t lens[] = {99, 100, 101, 102, 155, 156, 254, 255, 256, 257, 258};
    struct consign_ctx ctx;
    struct consign_tar_writer *w = NULL;
    struct consign_buf a, want;
    char path[300], *log = NULL, *got = NULL, *p;
    size_t i, len;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&a, 1 << 20);
    consign_buf_init(&want, 1 << 20);
    assert_int_equal(consign_tar_writer_new(&ctx, sink_buf, &a, &w), 0);
    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        p = boundary_path(lens[i], 'f');
        assert_int_equal(consign_tar_write_file_begin(&ctx, w, p, 0644, 1, MTIME), 0);
        assert_int_equal(consign_tar_write_data(&ctx, w, "x", 1), 0);
        assert_int_equal(consign_tar_write_file_end(&ctx, w), 0);
        assert_int_equal(consign_buf_printf(&ctx, &want, "%s\n", p), 0);
        free(p);
        p = boundary_path(lens[i], 'd');
        assert_int_equal(consign_tar_write_dir(&ctx, w, p, 0755, MTIME), 0);
        assert_int_equal(consign_buf_printf(&ctx, &want, "%s/\n", p), 0);
        free(p);
        if (lens[i] <= 102) {
            p = boundary_path(lens[i], 't');
            snprintf(path, sizeof(path), "link%zu", lens[i]);
            assert_int_equal(consign_tar_write_symlink(&ctx, w, path, p, MTIME), 0);
            assert_int_equal(consign_buf_printf(&ctx, &want, "%s -> %s\n", path, p), 0);
            free(p);
        }
    }
    assert_int_equal(consign_tar_writer_finish(&ctx, w), 0);
    consign_tar_writer_free(w);
    assert_int_equal(read_log(&ctx, a.data, a.len, 0, NULL, &log), 0);
    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        char *line;
        p = boundary_path(lens[i], 'f');
        line = consign_asprintf(&ctx, " %s\nx|end\n", p);
        assert_non_null(strstr(log, line));
        free(line);
        free(p);
        p = boundary_path(lens[i], 'd');
        line = consign_asprintf(&ctx, " %s\n|end\n", p);
        assert_non_null(strstr(log, line));
        free(line);
        free(p);
    }
    free(log);
    snprintf(path, sizeof(path), "%s/bounds.tar", tmpdir);
    assert_int_equal(consign_file_write_atomic(&ctx, path, a.data, a.len, 0644), 0);
    /* GNU tar's verbose listing: the name and " -> target" are the last fields. */
    assert_int_equal(
        sh("tar -tvf %s | sed 's/^[^ ]* [^ ]* *[0-9]* [^ ]* [^ ]* //' > %s.lst", path, path), 0);
    snprintf(path, sizeof(path), "%s/bounds.tar.lst", tmpdir);
    assert_int_equal(consign_file_read(&ctx, path, 1 << 20, &got, &len), 0);
    assert_string_equal(got, want.data);
    free(got);
    consign_buf_free(&want);
    consign_buf_free(&a);
}

/* A size of 8 GiB or more goes into a pax record; the header is readable. */
static void
test_big_size(void **state)
{
    struct consign_ctx ctx;
    struct consign_tar_writer *w = NULL;
    struct consign_tar_limits lim = {1ULL << 40, 0, 0};
    struct consign_buf a;
    char *log = NULL;
    int rc;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&a, 1 << 20);
    assert_int_equal(consign_tar_writer_new(&ctx, sink_buf, &a, &w), 0);
    assert_int_equal(consign_tar_write_file_begin(&ctx, w, "huge", 0644, (9ULL << 30) + 5, MTIME),
                     0);
    consign_tar_writer_free(w);
    assert_int_equal(a.len, 3 * 512); /* pax header, its records, the entry */
    assert_non_null(memmem(a.data, a.len, "size=9663676421\n", 16));
    rc = read_log(&ctx, a.data, a.len, 0, &lim, &log);
    assert_int_equal(rc, CONSIGN_E_SYNTAX); /* truncated, but the entry was seen */
    assert_non_null(strstr(log, "#1 0 0 0644 9663676421 1700000000 huge\n"));
    free(log);
    /* The default limit refuses it at the header. */
    assert_int_equal(read_log(&ctx, a.data, a.len, 0, NULL, NULL), CONSIGN_E_TOOBIG);
    assert_non_null(strstr(consign_err_msg(&ctx), "tar: entry 1 'huge': "));
    consign_buf_free(&a);
}

/* What our writer makes, GNU tar lists and extracts with the same content. */
static void
test_gnu_tar_reads_ours(void **state)
{
    struct consign_ctx ctx;
    struct consign_buf a;
    char path[300], dir[300], file[1200], *buf = NULL;
    struct stat st;
    size_t len;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&a, 1 << 20);
    write_sample(&a);
    snprintf(path, sizeof(path), "%s/ours.tar", tmpdir);
    snprintf(dir, sizeof(dir), "%s/gnu-x", tmpdir);
    assert_int_equal(consign_file_write_atomic(&ctx, path, a.data, a.len, 0644), 0);
    assert_int_equal(consign_mkdirs(&ctx, dir, 0755), 0);
    assert_int_equal(sh("tar -tvf %s > %s.lst", path, path), 0);
    assert_int_equal(
        sh("grep -q '^-rwxr-xr-x root/root *1499 2023-11-1[45] ..:.. opt/x/big$' %s.lst", path), 0);
    assert_int_equal(sh("grep -q '^lrwxrwxrwx root/root .* opt/x/link -> big$' %s.lst", path), 0);
    assert_int_equal(sh("grep -q '%s$' %s.lst", long1, path), 0);
    assert_int_equal(sh("tar -xf %s -C %s", path, dir), 0);
    snprintf(file, sizeof(file), "%s/%s", dir, long1);
    assert_int_equal(consign_file_read(&ctx, file, 100, &buf, &len), 0);
    assert_string_equal(buf, "long\n");
    free(buf);
    snprintf(file, sizeof(file), "%s/%s", dir, long2);
    assert_int_equal(consign_file_read(&ctx, file, 100, &buf, &len), 0);
    assert_string_equal(buf, "split\n");
    free(buf);
    snprintf(file, sizeof(file), "%s/opt/longlink", dir);
    len = (size_t)readlink(file, path, sizeof(path));
    assert_int_equal(len, 150);
    assert_memory_equal(path, longlink, 150);
    snprintf(file, sizeof(file), "%s/opt/x/one", dir);
    assert_int_equal(lstat(file, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_mtime, MTIME);
    if (sh("command -v bsdtar >/dev/null") == 0) {
        assert_int_equal(sh("bsdtar -tvf %s/ours.tar >/dev/null", tmpdir), 0);
        assert_int_equal(sh("bsdtar -tf %s/ours.tar | grep -q '%s'", tmpdir, long1), 0);
    } else {
        print_message("bsdtar not installed: skipped\n");
    }
    consign_buf_free(&a);
}

/* What GNU tar writes (pax, gnu, ustar), our extractor reproduces: same
 * names, types, modes, sizes, mtimes and link targets. */
static void
test_we_read_gnu_tar(void **state)
{
    static const char *const formats[] = {"pax", "gnu", "ustar"};
    struct consign_ctx ctx;
    struct layout L;
    char src[300], *archive = NULL;
    size_t i, len;
    int rc;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    snprintf(src, sizeof(src), "%s/gnu-src", tmpdir);
    assert_int_equal(consign_mkdirs(&ctx, src, 0755), 0);
    assert_int_equal(sh("cd %s && mkdir -p opt/x/lib opt/ro && printf hello > opt/x/lib/a.jar && "
                        ": > opt/x/empty && head -c 3000 /dev/zero | tr '\\0' z > opt/x/blocks && "
                        "chmod 0640 opt/x/lib/a.jar && chmod 0750 opt/x && "
                        "ln -s lib/a.jar opt/x/jar && "
                        "mkdir -p opt/%090d/%090d && printf deep > opt/%090d/%090d/f && "
                        "printf ro > opt/ro/f && chmod 0555 opt/ro",
                        src, 0, 0, 0, 0),
                     0);
    for (i = 0; i < 3; i++) {
        char name[32], tarpath[400];
        snprintf(name, sizeof(name), "gnu-%s", formats[i]);
        layout_make(&L, name);
        if (i < 2) /* names over 255 bytes and a long link target: not for plain ustar */
            assert_int_equal(sh("cd %s && mkdir -p opt/%0200d/%0200d && "
                                "printf long > opt/%0200d/%0200d/f && "
                                "ln -sfn ../%0200d/%0200d/f opt/%0200d/l",
                                src, 1, 2, 1, 2, 1, 2, 1),
                             0);
        else
            assert_int_equal(sh("cd %s && rm -rf opt/%0200d", src, 1), 0);
        assert_int_equal(sh("find %s -exec touch -h -d @%lld {} +", src, MTIME), 0);
        snprintf(tarpath, sizeof(tarpath), "%s/%s.tar", tmpdir, name);
        assert_int_equal(sh("tar --format=%s -cf %s -C %s .", formats[i], tarpath, src), 0);
        assert_int_equal(consign_file_read(&ctx, tarpath, 1 << 22, &archive, &len), 0);
        if (getenv("CONSIGN_TAR_SEEDS")) /* a smaller one, in 512-byte records */
            assert_int_equal(sh("tar --format=%s -b 1 --exclude=blocks -cf %s/%s.tar -C %s "
                                "./opt/x ./opt/%0*d",
                                formats[i], getenv("CONSIGN_TAR_SEEDS"), name, src,
                                i < 2 ? 200 : 90, i < 2 ? 1 : 0),
                             0);
        rc = extract(&ctx, &L, archive, len, i == 0 ? 509 : 0, NULL);
        if (rc)
            fail_msg("%s: %s", formats[i], consign_err_msg(&ctx));
        free(archive);
        layout_check(&L);
        assert_int_equal(
            sh("cd %s && find . -mindepth 1 -printf '%%p %%y %%m %%T@ %%l\\n' | sort > %s/src.lst",
               src, L.base),
            0);
        assert_int_equal(sh("cd %s && find . -mindepth 1 -printf '%%p %%y %%m %%T@ %%l\\n' | sort "
                            "> %s/stage.lst",
                            L.stage, L.base),
                         0);
        assert_int_equal(
            sh("cd %s && cmp src.lst stage.lst && diff -r --no-dereference %s %s >/dev/null && "
               "test $(wc -l < src.lst) -ge 8",
               L.base, src, L.stage),
            0);
        /* directories too: names, modes and mtimes */
        assert_int_equal(sh("cd %s && find . -mindepth 1 -type d -printf '%%p %%m %%T@\\n' | sort "
                            "> %s/src.d && cd %s && find . -mindepth 1 -type d -printf "
                            "'%%p %%m %%T@\\n' | sort > %s/stage.d && cmp %s/src.d %s/stage.d",
                            src, L.base, L.stage, L.base, L.base, L.base),
                         0);
        assert_int_equal(consign_extract_remove_tree(&ctx, L.stage), 0);
        assert_int_equal(mkdir(L.stage, 0755), 0);
    }
    assert_int_equal(consign_extract_remove_tree(&ctx, src), 0);
}

/* The sample extracts exactly: modes (set whatever the umask), mtimes,
 * contents, links, and a read-only directory that still got its file. */
static void
test_extract_sample(void **state)
{
    struct consign_extract_opts o = {0, 1, 0, 0};
    struct consign_extract *x = NULL;
    struct consign_ctx ctx;
    struct consign_buf a;
    struct layout L;
    char p[1200], *buf = NULL;
    struct stat st;
    size_t len;
    mode_t old = umask(077);

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&a, 1 << 20);
    write_sample(&a);
    layout_make(&L, "sample");
    assert_int_equal(consign_extract_new(&ctx, L.stage, &o, &x), 0);
    assert_int_equal(consign_extract_feed(&ctx, x, a.data, a.len), 0);
    assert_int_equal(consign_extract_finish(&ctx, x), 0);
    assert_int_equal(consign_extract_files(x), 6);
    assert_int_equal(consign_extract_bytes(x), 0 + 1 + 1499 + 10 + 5 + 6);
    consign_extract_free(x);
    consign_extract_free(NULL);
    umask(old);
    layout_check(&L);
#define CHECK(rel, type, mode)                                                                     \
    do {                                                                                           \
        snprintf(p, sizeof(p), "%s/%s", L.stage, rel);                                             \
        assert_int_equal(lstat(p, &st), 0);                                                        \
        assert_true(type(st.st_mode));                                                             \
        if (mode >= 0)                                                                             \
            assert_int_equal(st.st_mode & 07777, mode);                                            \
        assert_int_equal(st.st_mtime, MTIME);                                                      \
    } while (0)
    CHECK("opt", S_ISDIR, 0755);
    CHECK("opt/x", S_ISDIR, 0750);
    CHECK("opt/x/empty", S_ISREG, 0644);
    CHECK("opt/x/one", S_ISREG, 0600);
    CHECK("opt/x/big", S_ISREG, 0755);
    CHECK("opt/x/link", S_ISLNK, -1);
    CHECK("opt/ro", S_ISDIR, 0555);
    CHECK("opt/ro/inside", S_ISREG, 0444);
    CHECK(long1, S_ISREG, 0644);
    CHECK(long2, S_ISREG, 0644);
    CHECK("opt/longlink", S_ISLNK, -1);
#undef CHECK
    /* Implicit parents of the long paths: 0755. */
    snprintf(p, sizeof(p), "%s/%.200s", L.stage, long1);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    snprintf(p, sizeof(p), "%s/opt/x/big", L.stage);
    assert_int_equal(consign_file_read(&ctx, p, 4096, &buf, &len), 0);
    assert_int_equal(len, 1499);
    assert_memory_equal(buf, "ABCDEFGHIJ", 10);
    free(buf);
    snprintf(p, sizeof(p), "%s/opt/ro/inside", L.stage);
    assert_int_equal(consign_file_read(&ctx, p, 4096, &buf, &len), 0);
    assert_string_equal(buf, "read only\n");
    free(buf);

    /* The staging directory must be empty; and may not be a symlink. */
    assert_int_equal(consign_extract_new(&ctx, L.stage, NULL, &x), CONSIGN_E_EXISTS);
    assert_null(x);
    snprintf(p, sizeof(p), "%s/stagelink", L.base);
    assert_int_equal(symlink("canary", p), 0);
    assert_int_equal(consign_extract_new(&ctx, p, NULL, &x), CONSIGN_E_UNSAFE_PATH);
    assert_int_equal(unlink(p), 0);
    /* A read-only tree is removed all the same. */
    assert_int_equal(consign_extract_remove_tree(&ctx, L.stage), 0);
    assert_int_equal(access(L.stage, F_OK), -1);
    consign_buf_free(&a);
}

static void
test_hostile_paths(void **state)
{
    struct consign_buf b;
    struct consign_ctx ctx;
    struct layout L;
    char name[400];

    (void)state;
    seed_prefix = "hostile-path";
    seed_count = 0;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&b, 1 << 20);
    layout_make(&L, "paths");

    /* An absolute path naming the canary itself. */
    snprintf(name, sizeof(name), "%s/x", L.canary);
    raw_hdr(&b, name, '0', 0644, 1, NULL);
    raw_data(&b, 1);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_UNSAFE_PATH, "tar: entry 1: /", NULL);

    consign_buf_reset(&b);
    raw_hdr(&b, "ok", '0', 0644, 0, NULL);
    raw_hdr(&b, "../canary/x", '0', 0644, 1, NULL);
    raw_data(&b, 1);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_UNSAFE_PATH, "tar: entry 2: ../canary/x: ", NULL);

    consign_buf_reset(&b);
    raw_hdr(&b, "a/../../canary/x", '0', 0644, 1, NULL);
    raw_data(&b, 1);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_UNSAFE_PATH, "'..'", NULL);

    /* The same through a pax path and a GNU long name. */
    consign_buf_reset(&b);
    raw_pax(&b, "24 path=../canary/paxed\n");
    raw_hdr(&b, "innocent", '0', 0644, 1, NULL);
    raw_data(&b, 1);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_UNSAFE_PATH, "../canary/paxed", NULL);
    consign_buf_reset(&b);
    raw_hdr(&b, "././@LongLink", 'L', 0644, strlen(name) + 1, NULL);
    consign_buf_append(&ctx, &b, name, strlen(name) + 1);
    raw_data(&b, 0);
    raw_hdr(&b, "innocent", '0', 0644, 1, NULL);
    raw_data(&b, 1);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_UNSAFE_PATH, "path is absolute", NULL);

    /* A path through a symlink: "a -> /abs" then "a/passwd". */
    consign_buf_reset(&b);
    raw_hdr(&b, "a", '2', 0777, 0, L.canary);
    raw_hdr(&b, "a/passwd", '0', 0644, 4, NULL);
    raw_data(&b, 4);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_UNSAFE_PATH, "tar: entry 1 'a': symlink to the absolute path",
                   NULL);

    /* "a -> ../../" then a file through it. */
    consign_buf_reset(&b);
    raw_hdr(&b, "a", '2', 0777, 0, "../../");
    raw_hdr(&b, "a/canary/x", '0', 0644, 1, NULL);
    raw_data(&b, 1);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_UNSAFE_PATH, "leads outside", NULL);
    consign_buf_reset(&b);
    raw_hdr(&b, "d/e/l", '2', 0777, 0, "./../.././../canary");
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_UNSAFE_PATH, "leads outside", NULL);
    /* A chain: "d/l -> .." is inside, but "e -> d/l/../canary" would climb out. */
    consign_buf_reset(&b);
    raw_hdr(&b, "d/l", '2', 0777, 0, "..");
    raw_hdr(&b, "e", '2', 0777, 0, "d/l/../../canary");
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_UNSAFE_PATH, "tar: entry 2 'e': symlink target", NULL);

    /* A symlink the policy allows still cannot be walked through: "l -> sub"
     * then "l/x" is refused by the O_NOFOLLOW walk and sub stays empty. */
    consign_buf_reset(&b);
    raw_hdr(&b, "sub", '5', 0755, 0, NULL);
    raw_hdr(&b, "l", '2', 0777, 0, "sub");
    raw_hdr(&b, "l/x", '0', 0644, 1, NULL);
    raw_data(&b, 1);
    raw_end(&b);
    {
        char sub[400];
        struct consign_extract *x = NULL;
        consign_ctx_init(&ctx, NULL, NULL);
        assert_int_equal(consign_extract_new(&ctx, L.stage, NULL, &x), 0);
        assert_int_equal(consign_extract_feed(&ctx, x, b.data, b.len), CONSIGN_E_UNSAFE_PATH);
        assert_string_equal(consign_err_msg(&ctx), "tar: entry 3 'l/x': symlink in path: 'l'");
        assert_int_equal(consign_extract_finish(&ctx, x), CONSIGN_E_UNSAFE_PATH);
        consign_extract_free(x);
        snprintf(sub, sizeof(sub), "%s/sub", L.stage);
        assert_int_equal(dir_entries(sub), 0);
        assert_int_equal(consign_extract_remove_tree(&ctx, L.stage), 0);
        assert_int_equal(mkdir(L.stage, 0755), 0);
    }
    /* And a directory entry over a symlink. */
    consign_buf_reset(&b);
    raw_hdr(&b, "sub", '5', 0755, 0, NULL);
    raw_hdr(&b, "l", '2', 0777, 0, "sub");
    raw_hdr(&b, "l", '5', 0755, 0, NULL);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_UNSAFE_PATH, "symlink in path: 'l'", NULL);

    /* Legitimate relative links are accepted. */
    consign_buf_reset(&b);
    raw_hdr(&b, "a/b/l", '2', 0777, 0, "../../c/./d");
    raw_hdr(&b, "a/l2", '2', 0777, 0, "../a");
    raw_hdr(&b, "./", '5', 0755, 0, NULL);
    raw_end(&b);
    seed("relative-links", b.data, b.len);
    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(extract(&ctx, &L, b.data, b.len, 0, NULL), 0);
    layout_check(&L);
    assert_int_equal(consign_extract_remove_tree(&ctx, L.stage), 0);
    assert_int_equal(mkdir(L.stage, 0755), 0);
    consign_buf_free(&b);
}

static void
test_hostile_types(void **state)
{
    struct consign_extract_opts allow = {1, 0, 0, 0};
    struct consign_buf b;
    struct consign_ctx ctx;
    struct layout L;
    char p[400];
    struct stat st;

    (void)state;
    seed_prefix = "hostile-type";
    seed_count = 0;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&b, 1 << 20);
    layout_make(&L, "types");

    raw_hdr(&b, "h", '1', 0644, 0, "/etc/shadow");
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_UNSAFE_PATH,
                   "tar: entry 1 'h': hardlink to '/etc/shadow' refused", NULL);
    consign_buf_reset(&b);
    raw_hdr(&b, "h", '1', 0644, 0, "../outside");
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_UNSAFE_PATH, "hardlink to '../outside' refused", NULL);
    consign_buf_reset(&b);
    raw_hdr(&b, "c", '3', 0644, 0, NULL);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_INVALID, "character device refused", NULL);
    consign_buf_reset(&b);
    raw_hdr(&b, "blk", '4', 0644, 0, NULL);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_INVALID, "block device refused", NULL);
    consign_buf_reset(&b);
    raw_hdr(&b, "f", '6', 0644, 0, NULL);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_INVALID, "fifo refused", NULL);
    consign_buf_reset(&b);
    raw_hdr(&b, "sparse", 'S', 0644, 512, NULL);
    raw_data(&b, 512);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_INVALID, "type 0x53 refused", NULL);

    /* setuid and setgid: refused unless allowed, then kept exactly. */
    consign_buf_reset(&b);
    raw_hdr(&b, "suid", '0', 04755, 3, NULL);
    raw_data(&b, 3);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_INVALID, "setuid/setgid mode 4755 refused", NULL);
    consign_buf_reset(&b);
    raw_hdr(&b, "sgid", '5', 02755, 0, NULL);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_INVALID, "setuid/setgid", NULL);
    consign_buf_reset(&b);
    raw_hdr(&b, "suid", '0', 04755, 3, NULL);
    raw_data(&b, 3);
    raw_end(&b);
    assert_int_equal(extract(&ctx, &L, b.data, b.len, 0, &allow), 0);
    snprintf(p, sizeof(p), "%s/suid", L.stage);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 04755);
    assert_int_equal(st.st_size, 3);
    assert_int_equal(consign_extract_remove_tree(&ctx, L.stage), 0);
    assert_int_equal(mkdir(L.stage, 0755), 0);

    /* Duplicates. */
    consign_buf_reset(&b);
    raw_hdr(&b, "f", '0', 0644, 1, NULL);
    raw_data(&b, 1);
    raw_hdr(&b, "./f", '0', 0600, 1, NULL);
    raw_data(&b, 1);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_EXISTS, "tar: entry 2 'f': already extracted", NULL);
    consign_buf_reset(&b);
    raw_hdr(&b, "l", '2', 0777, 0, "x");
    raw_hdr(&b, "l", '2', 0777, 0, "y");
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_EXISTS, "already extracted", NULL);
    consign_buf_reset(&b);
    raw_hdr(&b, "d", '5', 0755, 0, NULL);
    raw_hdr(&b, "d", '0', 0644, 0, NULL);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_EXISTS, NULL, NULL);
    consign_buf_reset(&b);
    raw_hdr(&b, "f", '0', 0644, 0, NULL);
    raw_hdr(&b, "f/", '5', 0755, 0, NULL);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_EXISTS, "'f' exists and is not a directory", NULL);
    consign_buf_reset(&b);
    raw_hdr(&b, "f", '0', 0644, 0, NULL);
    raw_hdr(&b, "f/g", '0', 0644, 0, NULL);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_EXISTS, "'f' exists and is not a directory", NULL);
    /* A directory twice is fine; the later mode wins. */
    consign_buf_reset(&b);
    raw_hdr(&b, "d/", '5', 0700, 0, NULL);
    raw_hdr(&b, "d/f", '0', 0644, 0, NULL);
    raw_hdr(&b, "d", '5', 0750, 0, NULL);
    raw_end(&b);
    assert_int_equal(extract(&ctx, &L, b.data, b.len, 0, NULL), 0);
    snprintf(p, sizeof(p), "%s/d", L.stage);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0750);
    assert_int_equal(consign_extract_remove_tree(&ctx, L.stage), 0);
    assert_int_equal(mkdir(L.stage, 0755), 0);
    consign_buf_free(&b);
}

static void
test_hostile_format(void **state)
{
    struct consign_extract_opts small = {0, 0, 1 << 20, 3};
    struct consign_buf b;
    struct consign_ctx ctx;
    struct layout L;
    size_t i;

    (void)state;
    seed_prefix = "hostile-format";
    seed_count = 0;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&b, 1 << 22);
    layout_make(&L, "format");

    /* A size that lies: the header says 10, the stream ends after 3. */
    raw_hdr(&b, "liar", '0', 0644, 10, NULL);
    consign_buf_append(&ctx, &b, "abc", 3);
    expect_refused(&L, &b, CONSIGN_E_SYNTAX, "tar: entry 1 'liar': archive truncated", NULL);
    /* ... or is followed by the end marker, which is then taken as data. */
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_SYNTAX, "truncated", NULL);

    /* A bomb: declared sizes over max_total are refused at the header. */
    consign_buf_reset(&b);
    raw_hdr(&b, "a", '0', 0644, 600 << 10, NULL);
    raw_data(&b, 600 << 10);
    raw_hdr(&b, "b", '0', 0644, 600 << 10, NULL);
    raw_data(&b, 600 << 10);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_TOOBIG, "tar: entry 2 'b': 614400 bytes: over the limit",
                   &small);
    consign_buf_reset(&b);
    for (i = 0; i < 4; i++) {
        char n[8];
        snprintf(n, sizeof(n), "f%zu", i);
        raw_hdr(&b, n, '0', 0644, 0, NULL);
    }
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_TOOBIG, "tar: entry 4: more than 3 entries", &small);

    /* A bad checksum. */
    consign_buf_reset(&b);
    raw_hdr(&b, "f", '0', 0644, 0, NULL);
    b.data[0] = 'g';
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_SYNTAX, "bad header checksum at byte 0", NULL);
    /* No ustar magic (a v7 header). */
    consign_buf_reset(&b);
    raw_hdr(&b, "f", '0', 0644, 0, NULL);
    memset(b.data + 257, 0, 8);
    {
        unsigned sum = 0;
        memset(b.data + 148, ' ', 8);
        for (i = 0; i < 512; i++)
            sum += (unsigned char)b.data[i];
        snprintf(b.data + 148, 8, "%06o", sum);
    }
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_SYNTAX, "not a ustar header", NULL);
    /* A non-octal size. */
    consign_buf_reset(&b);
    raw_hdr(&b, "f", '0', 0644, 0, NULL);
    memcpy(b.data + 124, "0000000008 \0", 12);
    {
        unsigned sum = 0;
        memset(b.data + 148, ' ', 8);
        for (i = 0; i < 512; i++)
            sum += (unsigned char)b.data[i];
        snprintf(b.data + 148, 8, "%06o", sum);
    }
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_SYNTAX, "bad size field", NULL);

    /* Garbage after the end marker; zero padding after it is fine. */
    consign_buf_reset(&b);
    raw_hdr(&b, "f", '0', 0644, 0, NULL);
    raw_end(&b);
    raw_end(&b);
    assert_int_equal(extract(&ctx, &L, b.data, b.len, 100, NULL), 0);
    assert_int_equal(consign_extract_remove_tree(&ctx, L.stage), 0);
    assert_int_equal(mkdir(L.stage, 0755), 0);
    b.data[b.len - 7] = 'x';
    expect_refused(&L, &b, CONSIGN_E_SYNTAX, "data after the end-of-archive marker at byte 2553",
                   NULL);
    /* A lone zero block followed by a header. */
    consign_buf_reset(&b);
    raw_data(&b, 0);
    consign_buf_append(&ctx, &b, (char[512]){0}, 512);
    raw_hdr(&b, "f", '0', 0644, 0, NULL);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_SYNTAX, "lone zero block", NULL);

    /* Pax records: a length that does not match, a NUL in a path, an
     * oversized header, two in a row, one without an entry, sparse files. */
    consign_buf_reset(&b);
    raw_pax(&b, "20 path=abc\n");
    raw_hdr(&b, "f", '0', 0644, 0, NULL);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_SYNTAX, "length does not match", NULL);
    consign_buf_reset(&b);
    raw_pax(&b, "012 path=abc\n");
    raw_hdr(&b, "f", '0', 0644, 0, NULL);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_SYNTAX, "bad length", NULL);
    consign_buf_reset(&b);
    raw_hdr(&b, "PaxHeaders/x", 'x', 0644, 13, NULL);
    consign_buf_append(&ctx, &b, "13 path=a\0bc\n", 13);
    raw_data(&b, 0);
    raw_hdr(&b, "f", '0', 0644, 0, NULL);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_SYNTAX, "NUL", NULL);
    consign_buf_reset(&b);
    raw_hdr(&b, "PaxHeaders/x", 'x', 0644, (64 << 10) + 1, NULL);
    raw_data(&b, (64 << 10) + 1);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_TOOBIG, "'x' header of 65537 bytes", NULL);
    consign_buf_reset(&b);
    raw_pax(&b, "12 path=abc\n");
    raw_pax(&b, "12 path=abd\n");
    raw_hdr(&b, "f", '0', 0644, 0, NULL);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_SYNTAX, "two pax headers", NULL);
    consign_buf_reset(&b);
    raw_pax(&b, "12 path=abc\n");
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_SYNTAX, "extended header without an entry", NULL);
    consign_buf_reset(&b);
    raw_pax(&b, "22 GNU.sparse.major=1\n");
    raw_hdr(&b, "f", '0', 0644, 0, NULL);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_INVALID, "sparse", NULL);
    /* consign's filter mark: only on a file, only the one known value. */
    consign_buf_reset(&b);
    raw_pax(&b, "22 CONSIGN.filter=x86\n");
    raw_hdr(&b, "d", '5', 0755, 0, NULL);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_SYNTAX, "CONSIGN.filter on an entry that is not a file",
                   NULL);
    consign_buf_reset(&b);
    raw_pax(&b, "23 CONSIGN.filter=lzma\n");
    raw_hdr(&b, "f", '0', 0644, 0, NULL);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_SYNTAX, "unknown CONSIGN.filter value", NULL);
    /* An empty GNU long name (found by fuzzing: no data at all). */
    consign_buf_reset(&b);
    raw_hdr(&b, "././@LongLink", 'L', 0644, 0, NULL);
    raw_hdr(&b, "f", '0', 0644, 0, NULL);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_UNSAFE_PATH, "tar: entry 1: empty path", NULL);
    /* A pax size may not turn a symlink into data. */
    consign_buf_reset(&b);
    raw_pax(&b, "11 size=10\n");
    raw_hdr(&b, "l", '2', 0777, 0, "x");
    raw_data(&b, 10);
    raw_end(&b);
    expect_refused(&L, &b, CONSIGN_E_SYNTAX, "symlink with 10 data bytes", NULL);
    /* Known records are used, unknown ones and 'g' headers ignored. */
    consign_buf_reset(&b);
    raw_hdr(&b, "PaxHeaders/g", 'g', 0644, 15, NULL);
    consign_buf_append(&ctx, &b, "15 comment=abc\n", 15);
    raw_data(&b, 0);
    raw_pax(&b, "27 mtime=1700000001.999999\n21 hdrcharset=BINARY\n18 path=real/name\n");
    raw_hdr(&b, "ignored", '0', 0644, 0, NULL);
    raw_end(&b);
    {
        char *log = NULL;
        seed("pax-records", b.data, b.len);
        assert_int_equal(read_log(&ctx, b.data, b.len, 1, NULL, &log), 0);
        assert_string_equal(log, "#1 0 0 0644 0 1700000001 real/name\n|end\n");
        free(log);
    }
    consign_buf_free(&b);
}

/* Every prefix of a small archive fails (truncated) without crashing and
 * without writing outside; the whole archive succeeds. */
static void
test_truncation(void **state)
{
    struct consign_ctx ctx;
    struct consign_tar_writer *w = NULL;
    struct consign_buf a;
    struct layout L;
    size_t k;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&a, 1 << 20);
    assert_int_equal(consign_tar_writer_new(&ctx, sink_buf, &a, &w), 0);
    assert_int_equal(consign_tar_write_dir(&ctx, w, "d", 0755, MTIME), 0);
    w_file(&ctx, w, "d/f", 0644, "0123456789");
    assert_int_equal(consign_tar_write_symlink(&ctx, w, "d/l", "f", MTIME), 0);
    {
        char *lp = long_path(250, 'z');
        w_file(&ctx, w, lp, 0644, "z");
        free(lp);
    }
    assert_int_equal(consign_tar_writer_finish(&ctx, w), 0);
    consign_tar_writer_free(w);
    seed("ours-small", a.data, a.len);
    layout_make(&L, "truncation");
    for (k = 0; k <= a.len; k++) {
        int rc, rrc;
        consign_ctx_init(&ctx, NULL, NULL);
        rrc = read_log(&ctx, a.data, k, 1, NULL, NULL);
        rc = extract(&ctx, &L, a.data, k, 0, NULL);
        if (k < a.len) {
            if (rc != CONSIGN_E_SYNTAX || rrc != CONSIGN_E_SYNTAX)
                fail_msg("prefix %zu: %s", k, consign_err_msg(&ctx));
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(rrc, 0);
        }
        layout_check(&L);
        stage_reset(&L);
    }
    consign_buf_free(&a);
}

static void
test_remove_tree(void **state)
{
    struct consign_ctx ctx;
    struct layout L;
    struct rlimit old, lim;
    char p[400], q[400];
    size_t i;
    int fd, rc;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    layout_make(&L, "remove");
    /* A symlink to the outside world inside the tree: the link goes, its
     * target stays. */
    snprintf(p, sizeof(p), "%s/tocanary", L.stage);
    assert_int_equal(symlink(L.canary, p), 0);
    snprintf(q, sizeof(q), "%s/keep", L.canary);
    assert_int_equal(consign_file_write_atomic(&ctx, q, "k", 1, 0644), 0);
    /* Read-only and unsearchable directories. */
    assert_int_equal(sh("cd %s && mkdir -p a/b/c && touch a/b/c/f a/f && chmod 0555 a/b && "
                        "mkfifo a/fifo",
                        L.stage),
                     0);
    /* Only root can open a directory without permissions to fix them. */
    if (geteuid() == 0)
        assert_int_equal(sh("chmod 0 %s/a/b/c", L.stage), 0);
    /* A tree deeper than the descriptor limit would allow with one per level. */
    fd = open(L.stage, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    for (i = 0; i < 200; i++) {
        int next;
        assert_int_equal(mkdirat(fd, "d", 0755), 0);
        next = openat(fd, "d", O_RDONLY | O_DIRECTORY);
        assert_true(next >= 0);
        close(fd);
        fd = next;
    }
    close(fd);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    lim = old;
    lim.rlim_cur = 64;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
    rc = consign_extract_remove_tree(&ctx, L.stage);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    if (rc)
        fail_msg("%s", consign_err_msg(&ctx));
    assert_int_equal(access(L.stage, F_OK), -1);
    assert_int_equal(dir_entries(L.canary), 1);
    /* Missing: fine. A symlink: refused, its target untouched. "/": refused. */
    assert_int_equal(consign_extract_remove_tree(&ctx, L.stage), 0);
    assert_int_equal(symlink(L.canary, L.stage), 0);
    assert_int_equal(consign_extract_remove_tree(&ctx, L.stage), CONSIGN_E_UNSAFE_PATH);
    assert_int_equal(dir_entries(L.canary), 1);
    assert_int_equal(unlink(L.stage), 0);
    assert_int_equal(consign_extract_remove_tree(&ctx, "/"), CONSIGN_E_UNSAFE_PATH);
    assert_int_equal(consign_extract_remove_tree(&ctx, "//."), CONSIGN_E_UNSAFE_PATH);
    assert_int_equal(mkdir(L.stage, 0755), 0);
}

/* The policy function alone (what the fuzz target calls). */
static void
test_check_entry(void **state)
{
    struct consign_extract_opts allow = {1, 0, 0, 0};
    struct consign_tar_entry e;
    struct consign_ctx ctx;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    memset(&e, 0, sizeof(e));
    e.path = "a/b";
    e.type = CONSIGN_TAR_FILE;
    e.typeflag = '0';
    e.mode = 0644;
    assert_int_equal(consign_extract_check_entry(&ctx, &e, NULL), 0);
    e.mode = 06755;
    assert_int_equal(consign_extract_check_entry(&ctx, &e, NULL), CONSIGN_E_INVALID);
    assert_int_equal(consign_extract_check_entry(&ctx, &e, &allow), 0);
    e.path = ".";
    assert_int_equal(consign_extract_check_entry(&ctx, &e, &allow), CONSIGN_E_UNSAFE_PATH);
    e.type = CONSIGN_TAR_DIR;
    assert_int_equal(consign_extract_check_entry(&ctx, &e, &allow), 0);
    e.path = "../x";
    assert_int_equal(consign_extract_check_entry(&ctx, &e, &allow), CONSIGN_E_UNSAFE_PATH);
    e.type = CONSIGN_TAR_SYMLINK;
    e.mode = 0777;
    e.path = "a/b/c/l";
    e.link = "../../../x";
    assert_int_equal(consign_extract_check_entry(&ctx, &e, NULL), 0);
    e.link = "../../../../x";
    assert_int_equal(consign_extract_check_entry(&ctx, &e, NULL), CONSIGN_E_UNSAFE_PATH);
    e.link = "x/../y";
    assert_int_equal(consign_extract_check_entry(&ctx, &e, NULL), CONSIGN_E_UNSAFE_PATH);
    e.link = "./x/./y/";
    assert_int_equal(consign_extract_check_entry(&ctx, &e, NULL), 0);
    e.link = "/x";
    assert_int_equal(consign_extract_check_entry(&ctx, &e, NULL), CONSIGN_E_UNSAFE_PATH);
    e.type = CONSIGN_TAR_HARDLINK;
    e.link = "a/b";
    assert_int_equal(consign_extract_check_entry(&ctx, &e, NULL), CONSIGN_E_UNSAFE_PATH);
    assert_string_equal(consign_err_msg(&ctx), "hardlink to 'a/b' refused");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_format),   cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_pax_lengths),     cmocka_unit_test(test_name_boundaries),
        cmocka_unit_test(test_big_size),        cmocka_unit_test(test_gnu_tar_reads_ours),
        cmocka_unit_test(test_we_read_gnu_tar), cmocka_unit_test(test_extract_sample),
        cmocka_unit_test(test_hostile_paths),   cmocka_unit_test(test_hostile_types),
        cmocka_unit_test(test_hostile_format),  cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_remove_tree),     cmocka_unit_test(test_check_entry),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    free(long1);
    free(long2);
    free(longlink);
    return rc;
}
