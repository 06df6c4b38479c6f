/* consign repo: Debian version order, the repository database (round trip,
 * damage detected at the line it happens, generations kept), the lock, and
 * the shared index writer (gz/xz/zst output decodes to the input). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../src/publish.h"
#include "../src/store.h"
#include "consign/fileio.h"
#include "consign/repository.h"

static char root[64];

static int
setup(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/consign-test-repo.XXXXXX");
    assert_non_null(mkdtemp(root));
    return 0;
}

static int
teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static void
test_deb_vercmp(void **state)
{
    static const struct {
        const char *a, *b;
        int want;
    } t[] = {
        {"1.0", "1.0", 0},
        {"1.0", "1.1", -1},
        {"1.10", "1.9", 1},
        {"1.0~rc1", "1.0", -1},
        {"1.0~~", "1.0~", -1},
        {"1.0", "1.0+b1", -1},
        {"1:0.9", "2.0", 1},
        {"0:1.0", "1.0", 0},
        {"1.0-1", "1.0-2", -1},
        {"1.0-10", "1.0-9", 1},
        {"1.0a", "1.0", 1},
        {"1.0a", "1.0b", -1},
        {"1.0.0-1", "1.0.1-1", -1},
        {"2.0-1~bpo1", "2.0-1", -1},
        {"1.001", "1.1", 0},
        {"1.0-1", "1.0", 1},
        {"10", "9", 1},
        {"1.0+dfsg", "1.0-1", 1},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        int got = consign_deb_vercmp(t[i].a, t[i].b);
        got = got < 0 ? -1 : got > 0;
        if (got != t[i].want)
            fail_msg("%s vs %s: got %d, want %d", t[i].a, t[i].b, got, t[i].want);
        got = consign_deb_vercmp(t[i].b, t[i].a);
        got = got < 0 ? -1 : got > 0;
        assert_int_equal(got, -t[i].want);
    }
    assert_true(consign_deb_version_ok("1:2.3-4~bpo1"));
    assert_false(consign_deb_version_ok("a1.0"));
    assert_false(consign_deb_version_ok("1.0 1"));
    assert_false(consign_deb_version_ok("x:1.0"));
    assert_false(consign_deb_version_ok(""));
}

static void
test_tokens(void **state)
{
    (void)state;
    assert_true(store_token_ok("pool/main/h/hello/hello_1.0_amd64.deb", 1));
    assert_false(store_token_ok("pool/../etc/passwd", 1));
    assert_false(store_token_ok("/etc/passwd", 1));
    assert_false(store_token_ok("a//b", 1));
    assert_false(store_token_ok("a b", 0));
    assert_false(store_token_ok("a/b", 0));
    assert_false(store_token_ok("..", 0));
    assert_false(store_token_ok("caf\xc3\xa9", 0));
}

static struct store_pkg *
mkpkg(const char *path, const char *name, const char *ver)
{
    struct consign_ctx ctx;
    struct store_pkg *p = calloc(1, sizeof(*p));

    consign_ctx_init(&ctx, NULL, NULL);
    assert_non_null(p);
    p->path = strdup(path);
    p->name = strdup(name);
    p->version = strdup(ver);
    p->arch = strdup("amd64");
    memset(p->sha256, 'a', 64);
    p->size = 1234;
    p->mtime_ns = 1700000000123456789LL;
    assert_int_equal(store_member_add(&ctx, p, "bookworm", "main"), 0);
    assert_int_equal(store_blob_set(&ctx, p, 0, "Package: x\nweird: \n\n\0bytes", 25), 0);
    return p;
}

static void
test_store_roundtrip(void **state)
{
    struct consign_ctx ctx;
    struct store *st = NULL;
    char *names[] = {"aaa", "bbb"};
    (void)state;

    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(store_open(&ctx, root, STORE_APT, 1, &st), 0);
    assert_int_equal(st->npkgs, 0);
    assert_int_equal(store_set(&ctx, st, "label", "Example Corp agent"), 0);
    assert_int_equal(store_add(&ctx, st, mkpkg("pool/main/x/x/x_1_amd64.deb", "x", "1")), 0);
    assert_int_equal(store_add(&ctx, st, mkpkg("pool/main/x/x/x_2_amd64.deb", "x", "2")), 0);
    for (int g = 0; g < 5; g++)
        assert_int_equal(store_gen_push(&ctx, st, "dists/b/main/binary-amd64", names, g % 2 + 1, 3),
                         0);
    assert_int_equal(store_drop_add(&ctx, st, "pool/main/y/y/y_1_amd64.deb"), 0);
    assert_int_equal(store_save(&ctx, st), 0);
    store_close(st);
    st = NULL;

    assert_int_equal(store_open(&ctx, root, STORE_APT, 0, &st), 0);
    assert_int_equal(st->npkgs, 2);
    assert_string_equal(store_get(st, "label"), "Example Corp agent");
    assert_string_equal(st->pkgs[1]->version, "2");
    assert_int_equal(st->pkgs[0]->bloblen[0], 25);
    assert_memory_equal(st->pkgs[0]->blob[0], "Package: x\nweird: \n\n\0bytes", 25);
    assert_int_equal(st->pkgs[0]->mtime_ns, 1700000000123456789LL);
    assert_true(store_member_has(st->pkgs[0], "bookworm", "main"));
    assert_int_equal(st->ngens, 3); /* the newest 3 of 5 */
    assert_true(store_gen_keeps(st, "dists/b/main/binary-amd64", "bbb"));
    assert_false(store_gen_keeps(st, "dists/b/main/binary-arm64", "aaa"));
    assert_int_equal(st->ndrops, 1);
    store_close(st);
    st = NULL;

    /* The other kind keeps a database of its own in the same root. */
    assert_int_equal(store_open(&ctx, root, STORE_YUM, 0, &st), 0);
    assert_int_equal(st->npkgs, 0);
    store_close(st);
}

/* Every truncation of a valid database is refused with a line number, never
 * read past its end (ASan watches), and leaves no store. */
static void
test_store_damage(void **state)
{
    struct consign_ctx ctx;
    struct store *st = NULL;
    char db[128], *data = NULL;
    size_t len = 0;
    (void)state;

    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(store_open(&ctx, root, STORE_APT, 1, &st), 0);
    assert_int_equal(store_add(&ctx, st, mkpkg("pool/main/x/x/x_1_amd64.deb", "x", "1")), 0);
    assert_int_equal(store_save(&ctx, st), 0);
    store_close(st);
    snprintf(db, sizeof(db), "%s/.consign/apt.db", root);
    assert_int_equal(consign_file_read(&ctx, db, 1 << 20, &data, &len), 0);
    for (size_t cut = 0; cut < len; cut++) {
        assert_int_equal(consign_file_write_atomic(&ctx, db, data, cut, 0644), 0);
        st = NULL;
        if (cut == 0) {
            /* an empty file is damage too */
        }
        assert_int_not_equal(store_open(&ctx, root, STORE_APT, 0, &st), 0);
        assert_null(st);
        assert_non_null(strstr(consign_err_msg(&ctx), "apt.db"));
    }
    /* A blob length pointing past the end. */
    {
        /* The database holds a NUL byte (in the entry): copy all of it. */
        char *bad = malloc(len + 1), *p;
        assert_non_null(bad);
        memcpy(bad, data, len + 1);
        p = strstr(bad, " 25 0 0\n");
        assert_non_null(p);
        memcpy(p, " 99 0 0\n", 8);
        assert_int_equal(consign_file_write_atomic(&ctx, db, bad, len, 0644), 0);
        assert_int_not_equal(store_open(&ctx, root, STORE_APT, 0, &st), 0);
        assert_non_null(strstr(consign_err_msg(&ctx), "line"));
        free(bad);
    }
    free(data);
}

/* A second opener waits for the first (the lock), rather than both writing. */
static void
test_store_lock(void **state)
{
    struct consign_ctx ctx;
    struct store *st = NULL, *st2 = NULL;
    int pipefd[2], status;
    char c;
    pid_t pid;
    (void)state;

    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(store_open(&ctx, root, STORE_APT, 1, &st), 0);
    assert_int_equal(pipe(pipefd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pipefd[0]);
        close(st->lock_fd); /* the parent's lock, inherited: not ours to hold */
        if (store_open(&ctx, root, STORE_APT, 0, &st2) != 0)
            _exit(2);
        c = 'x';
        (void)!write(pipefd[1], &c, 1);
        store_close(st2);
        _exit(0);
    }
    close(pipefd[1]);
    usleep(200000);
    /* still waiting: nothing written yet */
    assert_int_equal(fcntl(pipefd[0], F_SETFL, O_NONBLOCK), 0);
    assert_int_equal(read(pipefd[0], &c, 1), -1);
    store_close(st);
    assert_int_equal(fcntl(pipefd[0], F_SETFL, 0), 0);
    assert_int_equal(read(pipefd[0], &c, 1), 1);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(pipefd[0]);
}

/* The same bytes through every format; each decodes back (with the command-line tools). */
static void
test_index_formats(void **state)
{
    static const enum idx_fmt fmts[] = {IDX_GZ, IDX_XZ, IDX_ZST};
    struct consign_ctx ctx;
    struct idx_out o;
    char dir[128], path[192], cmd[512], line[256];
    (void)state;

    consign_ctx_init(&ctx, NULL, NULL);
    snprintf(dir, sizeof(dir), "%s/idx", root);
    for (size_t f = 0; f < 3; f++) {
        FILE *p;
        assert_int_equal(idx_open(&ctx, &o, dir, &fmts[f], 1, 1), 0);
        for (int i = 0; i < 20000; i++) {
            char s[64];
            int n = snprintf(s, sizeof(s), "Package: p%d\n\n", i);
            assert_int_equal(idx_write(&ctx, &o, s, (size_t)n), 0);
        }
        assert_int_equal(idx_finish(&ctx, &o), 0);
        snprintf(path, sizeof(path), "%s/out%s", dir, idx_suffix(fmts[f]));
        assert_int_equal(idx_place(&ctx, &o, 0, path), 0);
        snprintf(cmd, sizeof(cmd), "%s -dc %s | sha256sum | cut -c1-64",
                 fmts[f] == IDX_GZ   ? "gzip"
                 : fmts[f] == IDX_XZ ? "xz"
                                     : "zstd",
                 path);
        p = popen(cmd, "r");
        assert_non_null(p);
        assert_non_null(fgets(line, sizeof(line), p));
        pclose(p);
        line[64] = '\0';
        assert_string_equal(line, o.open_sha256);
        snprintf(cmd, sizeof(cmd), "sha512sum %s | cut -c1-128", path);
        p = popen(cmd, "r");
        assert_non_null(fgets(line, sizeof(line), p));
        pclose(p);
        line[128] = '\0';
        assert_string_equal(line, o.f[0].sha512);
        idx_close(&o);
    }
}

/* Chunked indexes: every format decodes to the input with the command-line
 * tools; the second run takes every chunk from the cache and gives the same
 * bytes; a damaged cache entry is noticed and compressed again. */
static void
run_chunked(const char *dir, const char *cache, enum idx_fmt fmt, int variant, char sha[65],
            char open_sha[65], size_t *compressed)
{
    struct consign_ctx ctx;
    struct idx_out o;
    char path[192];

    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(idx_open_chunked(&ctx, &o, dir, &fmt, 1, 0, cache), 0);
    for (int i = 0; i < 5000; i++) {
        char s[64], name[16], next[16];
        int n = snprintf(s, sizeof(s), "Package: p%d\nVersion: %d\n\n", i, i == 2500 ? variant : 1);
        snprintf(name, sizeof(name), "p%d", i);
        snprintf(next, sizeof(next), "p%d", i + 1);
        assert_int_equal(idx_write(&ctx, &o, s, (size_t)n), 0);
        if (idx_boundary(name, i + 1 < 5000 ? next : NULL))
            assert_int_equal(idx_cut(&ctx, &o), 0);
    }
    assert_int_equal(idx_finish(&ctx, &o), 0);
    assert_true(o.nchunks > 20);
    snprintf(path, sizeof(path), "%s/chunked%s", dir, idx_suffix(fmt));
    assert_int_equal(idx_place(&ctx, &o, 0, path), 0);
    memcpy(sha, o.f[0].sha256, 65);
    memcpy(open_sha, o.open_sha256, 65);
    *compressed = o.chunks_compressed;
    idx_close(&o);
}

static void
test_index_chunked(void **state)
{
    static const enum idx_fmt fmts[] = {IDX_GZ, IDX_XZ, IDX_ZST};
    static const char *const tools[] = {"gzip", "xz", "zstd"};
    char dir[128], cache[160], cmd[512], line[256];
    char sha1[65], sha2[65], sha3[65], open1[65], open2[65], open3[65];
    size_t c1, c2, c3;
    (void)state;

    snprintf(dir, sizeof(dir), "%s/chunked", root);
    snprintf(cache, sizeof(cache), "%s/cache", dir);
    for (size_t f = 0; f < 3; f++) {
        FILE *p;
        run_chunked(dir, cache, fmts[f], 1, sha1, open1, &c1);
        snprintf(cmd, sizeof(cmd),
                 "%s -t %s/chunked%s && %s -dc %s/chunked%s | sha256sum | cut -c1-64", tools[f],
                 dir, idx_suffix(fmts[f]), tools[f], dir, idx_suffix(fmts[f]));
        p = popen(cmd, "r");
        assert_non_null(p);
        assert_non_null(fgets(line, sizeof(line), p));
        pclose(p);
        line[64] = '\0';
        assert_string_equal(line, open1);
        /* Again: all from the cache, the same bytes. */
        run_chunked(dir, cache, fmts[f], 1, sha2, open2, &c2);
        assert_int_equal(c2, 0);
        assert_string_equal(sha1, sha2);
        /* One entry changed: one chunk compressed again. */
        run_chunked(dir, cache, fmts[f], 2, sha3, open3, &c3);
        assert_int_equal(c3, 1);
        assert_string_not_equal(open1, open3);
    }
    /* Damage every cached entry: noticed, compressed again, same output. */
    snprintf(cmd, sizeof(cmd),
             "for f in %s/*; do printf X | dd of=$f bs=1 seek=60 conv=notrunc 2>/dev/null; done",
             cache);
    assert_int_equal(system(cmd), 0);
    run_chunked(dir, cache, IDX_XZ, 1, sha2, open2, &c2);
    assert_true(c2 > 20);
    run_chunked(dir, cache, IDX_XZ, 1, sha3, open3, &c3);
    assert_int_equal(c3, 0);
    assert_string_equal(sha2, sha3);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deb_vercmp),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test_setup_teardown(test_store_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_formats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_chunked, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
