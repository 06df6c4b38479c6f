/* The TUF repository writer (consign/tufrepo.h), checked by the client
 * (consign/tuf.h) reading what it wrote through consign_tuf_fetch_dir: a
 * release's targets with their custom fields, later releases, timestamp
 * refreshes, key rotations (the client walks the root chain), byte-identical
 * output under SOURCE_DATE_EPOCH, private key files 0600, the lock. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "consign/buf.h"
#include "consign/fileio.h"
#include "consign/json.h"
#include "consign/tuf.h"
#include "consign/tufrepo.h"

#define T0 1900000000LL /* 2030-03-17 */

struct env {
    char base[64], keydir[96], repo[96], client[96], art[96];
    struct consign_tufrepo_options o;
};

#define CHECK(ctx, call)                                                                           \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_)                                                                                   \
            fail_msg("%s: %s (%s)", #call, consign_err_msg(ctx), consign_strcode(rc_));            \
    } while (0)

static void
put(const char *path, const char *text)
{
    struct consign_ctx ctx;
    consign_ctx_init(&ctx, NULL, NULL);
    CHECK(&ctx, consign_file_write_atomic(&ctx, path, text, strlen(text), 0644));
}

static char *
get(const char *path, size_t *len)
{
    struct consign_ctx ctx;
    char *data = NULL;
    size_t n = 0;

    consign_ctx_init(&ctx, NULL, NULL);
    if (consign_file_read(&ctx, path, 64u << 20, &data, &n))
        return NULL;
    if (len)
        *len = n;
    return data;
}

static void
env_init(struct env *e, long long now)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->base, sizeof(e->base), "/tmp/tufrepo-test.XXXXXX");
    assert_non_null(mkdtemp(e->base));
    snprintf(e->keydir, sizeof(e->keydir), "%s/keys", e->base);
    snprintf(e->repo, sizeof(e->repo), "%s/repo", e->base);
    snprintf(e->client, sizeof(e->client), "%s/client", e->base);
    snprintf(e->art, sizeof(e->art), "%s/art", e->base);
    assert_int_equal(mkdir(e->client, 0755), 0);
    assert_int_equal(mkdir(e->art, 0755), 0);
    consign_tufrepo_options_init(&e->o);
    e->o.keydir = e->keydir;
    e->o.repo = e->repo;
    e->o.now = now;
}

static void
env_free(struct env *e)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->base);
    assert_int_equal(system(cmd), 0);
}

/* An artifact art/ARCH/NAME holding text. */
static void
artifact(struct env *e, const char *arch, const char *name, const char *text, char *path, size_t n)
{
    char dir[160];
    snprintf(dir, sizeof(dir), "%s/%s", e->art, arch);
    mkdir(dir, 0755);
    snprintf(path, n, "%s/%s", dir, name);
    put(path, text);
}

static void
publish(struct env *e, const char *version, const char *channel, int rollout, const char *min)
{
    struct consign_ctx ctx;
    char amd[256], arm[256], text[128];
    struct consign_tufrepo_artifact a[2] = {{amd, NULL, "amd64", NULL}, {arm, "linux", "arm64", NULL}};
    struct consign_tufrepo_release rel = {"agent", version, channel, rollout, min, a, 2};

    snprintf(text, sizeof(text), "agent %s for amd64\n", version);
    artifact(e, "amd64", "agent.bin", text, amd, sizeof(amd));
    snprintf(text, sizeof(text), "agent %s for arm64\n", version);
    artifact(e, "arm64", "agent.bin", text, arm, sizeof(arm));
    consign_ctx_init(&ctx, NULL, NULL);
    CHECK(&ctx, consign_tufrepo_publish(&ctx, &e->o, &rel));
}

static void
init_repo(struct env *e)
{
    struct consign_ctx ctx;
    consign_ctx_init(&ctx, NULL, NULL);
    CHECK(&ctx, consign_tufrepo_init(&ctx, &e->o));
}

/* A client that trusts the repository's first root. */
static struct consign_tuf_client *
client_new(struct env *e, long long now)
{
    struct consign_tuf_options opts;
    struct consign_tuf_client *c = NULL;
    struct consign_ctx ctx;
    char from[160], to[160];
    size_t len = 0;
    char *data;

    snprintf(from, sizeof(from), "%s/metadata/1.root.json", e->repo);
    snprintf(to, sizeof(to), "%s/root.json", e->client);
    if (!consign_is_file(to)) {
        assert_non_null(data = get(from, &len));
        consign_ctx_init(&ctx, NULL, NULL);
        CHECK(&ctx, consign_file_write_atomic(&ctx, to, data, len, 0644));
        free(data);
    }
    consign_tuf_options_init(&opts);
    opts.metadata_dir = e->client;
    opts.fetch = consign_tuf_fetch_dir;
    opts.fetch_user = e->repo;
    opts.now = now;
    consign_ctx_init(&ctx, NULL, NULL);
    CHECK(&ctx, consign_tuf_client_new(&ctx, &opts, &c));
    return c;
}

static void
refresh(struct consign_tuf_client *c)
{
    struct consign_ctx ctx;
    consign_ctx_init(&ctx, NULL, NULL);
    CHECK(&ctx, consign_tuf_client_refresh(&ctx, c));
}

static long long
trusted_version(struct consign_tuf_client *c, enum consign_tuf_type t)
{
    const struct consign_tuf_metadata *md = consign_tuf_client_trusted(c, t);
    assert_non_null(md);
    return md->version;
}

/* Find path, check its custom field and download it. */
static void
expect_target(struct consign_tuf_client *c, const char *path, const char *custom,
              const char *content)
{
    const struct consign_tuf_target *t = NULL;
    struct consign_ctx ctx;
    struct consign_buf b;

    consign_ctx_init(&ctx, NULL, NULL);
    CHECK(&ctx, consign_tuf_client_find_target(&ctx, c, path, &t));
    assert_non_null(t->custom);
    assert_string_equal(t->custom, custom);
    consign_buf_init(&b, 1 << 20);
    CHECK(&ctx, consign_tuf_client_download_target(&ctx, c, t, &b));
    assert_int_equal(b.len, strlen(content));
    assert_memory_equal(b.data, content, b.len);
    consign_buf_free(&b);
}

static int
file_exists(struct env *e, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/metadata/%s", e->repo, name);
    return consign_is_file(path);
}

static void
test_publish_and_download(void **state)
{
    struct consign_tuf_client *c;
    struct env e;

    (void)state;
    env_init(&e, T0);
    init_repo(&e);
    assert_true(file_exists(&e, "1.root.json"));
    assert_true(file_exists(&e, "root.json"));
    assert_true(file_exists(&e, "1.targets.json"));
    assert_true(file_exists(&e, "1.snapshot.json"));
    assert_true(file_exists(&e, "timestamp.json"));
    publish(&e, "1.0.0", "stable", 50, "0.9.0");
    assert_true(file_exists(&e, "2.targets.json"));
    assert_true(file_exists(&e, "2.snapshot.json"));

    c = client_new(&e, T0 + 60);
    refresh(c);
    assert_true(consign_tuf_client_trusted(c, CONSIGN_TUF_ROOT)->consistent_snapshot);
    assert_int_equal(trusted_version(c, CONSIGN_TUF_TARGETS), 2);
    assert_int_equal(trusted_version(c, CONSIGN_TUF_SNAPSHOT), 2);
    assert_int_equal(trusted_version(c, CONSIGN_TUF_TIMESTAMP), 2);
    /* The expiries: 1, 7, 90 and 365 days by default. */
    assert_int_equal(consign_tuf_client_trusted(c, CONSIGN_TUF_TIMESTAMP)->expires, T0 + 86400);
    assert_int_equal(consign_tuf_client_trusted(c, CONSIGN_TUF_SNAPSHOT)->expires, T0 + 7 * 86400);
    assert_int_equal(consign_tuf_client_trusted(c, CONSIGN_TUF_TARGETS)->expires, T0 + 90 * 86400);
    assert_int_equal(consign_tuf_client_trusted(c, CONSIGN_TUF_ROOT)->expires, T0 + 365 * 86400);
    expect_target(c, "agent/1.0.0/linux-amd64/agent.bin",
                  "{\"channel\":\"stable\",\"min_version\":\"0.9.0\",\"rollout\":50,"
                  "\"version\":\"1.0.0\"}",
                  "agent 1.0.0 for amd64\n");
    expect_target(c, "agent/1.0.0/linux-arm64/agent.bin",
                  "{\"channel\":\"stable\",\"min_version\":\"0.9.0\",\"rollout\":50,"
                  "\"version\":\"1.0.0\"}",
                  "agent 1.0.0 for arm64\n");
    consign_tuf_client_free(c);

    /* A second version: the client's next refresh sees it, the first stays. */
    e.o.now = T0 + 3600;
    publish(&e, "1.1.0", "beta", 10, NULL);
    c = client_new(&e, T0 + 3700);
    refresh(c);
    assert_int_equal(trusted_version(c, CONSIGN_TUF_TARGETS), 3);
    expect_target(c, "agent/1.1.0/linux-amd64/agent.bin",
                  "{\"channel\":\"beta\",\"rollout\":10,\"version\":\"1.1.0\"}",
                  "agent 1.1.0 for amd64\n");
    expect_target(c, "agent/1.0.0/linux-arm64/agent.bin",
                  "{\"channel\":\"stable\",\"min_version\":\"0.9.0\",\"rollout\":50,"
                  "\"version\":\"1.0.0\"}",
                  "agent 1.0.0 for arm64\n");
    consign_tuf_client_free(c);
    env_free(&e);
}

static void
test_refresh_timestamp(void **state)
{
    struct consign_tuf_client *c;
    struct consign_ctx ctx;
    struct env e;
    char ts[256];
    char *before_snap, *after_snap;

    (void)state;
    env_init(&e, T0);
    init_repo(&e);
    publish(&e, "1.0.0", "stable", 100, NULL);
    c = client_new(&e, T0 + 10);
    refresh(c);
    assert_int_equal(trusted_version(c, CONSIGN_TUF_TIMESTAMP), 2);
    consign_tuf_client_free(c);

    /* A day later the timestamp has expired; a refresh makes it valid again. */
    c = client_new(&e, T0 + 86400 + 10);
    {
        consign_ctx_init(&ctx, NULL, NULL);
        assert_int_equal(consign_tuf_client_refresh(&ctx, c), CONSIGN_E_EXPIRED);
    }
    consign_tuf_client_free(c);
    snprintf(ts, sizeof(ts), "%s/metadata/2.snapshot.json", e.repo);
    before_snap = get(ts, NULL);
    e.o.now = T0 + 86400;
    consign_ctx_init(&ctx, NULL, NULL);
    CHECK(&ctx, consign_tufrepo_refresh_timestamp(&ctx, &e.o));
    after_snap = get(ts, NULL);
    assert_string_equal(before_snap, after_snap);
    assert_false(file_exists(&e, "3.snapshot.json"));
    assert_false(file_exists(&e, "3.targets.json"));
    c = client_new(&e, T0 + 86400 + 10);
    refresh(c);
    assert_int_equal(trusted_version(c, CONSIGN_TUF_TIMESTAMP), 3);
    assert_int_equal(trusted_version(c, CONSIGN_TUF_SNAPSHOT), 2);
    assert_int_equal(trusted_version(c, CONSIGN_TUF_TARGETS), 2);
    assert_int_equal(consign_tuf_client_trusted(c, CONSIGN_TUF_TIMESTAMP)->expires, T0 + 2 * 86400);
    consign_tuf_client_free(c);
    free(before_snap);
    free(after_snap);
    env_free(&e);
}

static int
count_keys(const char *dir, const char *prefix)
{
    struct dirent *d;
    DIR *dh = opendir(dir);
    int n = 0;

    if (!dh)
        return 0;
    while ((d = readdir(dh)))
        n += strncmp(d->d_name, prefix, strlen(prefix)) == 0;
    closedir(dh);
    return n;
}

static void
test_rotate_root(void **state)
{
    struct consign_tuf_client *c;
    struct consign_ctx ctx;
    struct env e;
    char tuf[160], retired[160];
    long long v = 0;

    (void)state;
    env_init(&e, T0);
    e.o.root_keys = 3;
    e.o.root_threshold = 2;
    init_repo(&e);
    publish(&e, "1.0.0", "stable", 100, NULL);
    snprintf(tuf, sizeof(tuf), "%s/tuf", e.keydir);
    snprintf(retired, sizeof(retired), "%s/tuf/retired", e.keydir);
    assert_int_equal(count_keys(tuf, "root-"), 3);
    c = client_new(&e, T0 + 10);
    refresh(c);
    assert_int_equal(trusted_version(c, CONSIGN_TUF_ROOT), 1);
    assert_int_equal(
        consign_tuf_client_trusted(c, CONSIGN_TUF_ROOT)->roles[CONSIGN_TUF_ROOT].threshold, 2);
    consign_tuf_client_free(c);

    /* Root keys replaced (2 new keys, threshold 1 now): root 2 is signed by
     * the old keys and by the new ones; the client walks 1 -> 2. */
    e.o.now = T0 + 100;
    e.o.root_keys = 2;
    e.o.root_threshold = 1;
    consign_ctx_init(&ctx, NULL, NULL);
    CHECK(&ctx, consign_tufrepo_rotate(&ctx, &e.o, CONSIGN_TUF_ROOT, &v));
    assert_int_equal(v, 2);
    assert_true(file_exists(&e, "2.root.json"));
    assert_int_equal(count_keys(tuf, "root-"), 2);
    assert_int_equal(count_keys(retired, "root-"), 3);
    c = client_new(&e, T0 + 110);
    refresh(c);
    assert_int_equal(trusted_version(c, CONSIGN_TUF_ROOT), 2);
    assert_int_equal(
        consign_tuf_client_trusted(c, CONSIGN_TUF_ROOT)->roles[CONSIGN_TUF_ROOT].n_keyids, 2);
    expect_target(c, "agent/1.0.0/linux-amd64/agent.bin",
                  "{\"channel\":\"stable\",\"rollout\":100,\"version\":\"1.0.0\"}",
                  "agent 1.0.0 for amd64\n");
    consign_tuf_client_free(c);

    /* Again, keeping the count and threshold: root 3, and a fresh client walks 1 -> 2 -> 3. */
    e.o.root_keys = 0;
    e.o.root_threshold = 0;
    CHECK(&ctx, consign_tufrepo_rotate(&ctx, &e.o, CONSIGN_TUF_ROOT, &v));
    assert_int_equal(v, 3);
    {
        char path[160];
        snprintf(path, sizeof(path), "%s/root.json", e.client);
        unlink(path);
    }
    c = client_new(&e, T0 + 120);
    refresh(c);
    assert_int_equal(trusted_version(c, CONSIGN_TUF_ROOT), 3);
    consign_tuf_client_free(c);
    env_free(&e);
}

static void
test_rotate_roles(void **state)
{
    struct consign_tuf_client *c;
    struct consign_ctx ctx;
    struct env e;
    char tuf[160];
    long long v = 0;

    (void)state;
    env_init(&e, T0);
    init_repo(&e);
    publish(&e, "1.0.0", "stable", 100, NULL);
    c = client_new(&e, T0 + 10);
    refresh(c);
    consign_tuf_client_free(c);
    snprintf(tuf, sizeof(tuf), "%s/tuf", e.keydir);

    /* The timestamp key: root 2 lists the new key, a new timestamp is signed with it. */
    e.o.now = T0 + 20;
    consign_ctx_init(&ctx, NULL, NULL);
    CHECK(&ctx, consign_tufrepo_rotate(&ctx, &e.o, CONSIGN_TUF_TIMESTAMP, &v));
    assert_int_equal(v, 2);
    assert_int_equal(count_keys(tuf, "timestamp-"), 1);
    c = client_new(&e, T0 + 30);
    refresh(c);
    assert_int_equal(trusted_version(c, CONSIGN_TUF_ROOT), 2);
    assert_int_equal(trusted_version(c, CONSIGN_TUF_TIMESTAMP), 3);
    assert_int_equal(trusted_version(c, CONSIGN_TUF_SNAPSHOT), 2);
    consign_tuf_client_free(c);

    /* The targets and the snapshot keys. */
    CHECK(&ctx, consign_tufrepo_rotate(&ctx, &e.o, CONSIGN_TUF_TARGETS, &v));
    CHECK(&ctx, consign_tufrepo_rotate(&ctx, &e.o, CONSIGN_TUF_SNAPSHOT, &v));
    assert_int_equal(v, 4);
    c = client_new(&e, T0 + 40);
    refresh(c);
    assert_int_equal(trusted_version(c, CONSIGN_TUF_ROOT), 4);
    assert_int_equal(trusted_version(c, CONSIGN_TUF_TARGETS), 3);
    assert_int_equal(trusted_version(c, CONSIGN_TUF_SNAPSHOT), 4);
    expect_target(c, "agent/1.0.0/linux-arm64/agent.bin",
                  "{\"channel\":\"stable\",\"rollout\":100,\"version\":\"1.0.0\"}",
                  "agent 1.0.0 for arm64\n");
    consign_tuf_client_free(c);
    /* Publishing goes on with the new keys, without the root keys (offline). */
    {
        char cmd[1200];
        snprintf(cmd, sizeof(cmd),
                 "mkdir -p '%s/online/tuf' && cp '%s'/timestamp-*.pem '%s'/snapshot-*.pem "
                 "'%s'/targets-*.pem '%s'/root.json '%s/online/tuf/'",
                 e.base, tuf, tuf, tuf, tuf, e.base);
        assert_int_equal(system(cmd), 0);
        snprintf(e.keydir, sizeof(e.keydir), "%s/online", e.base);
    }
    publish(&e, "1.0.1", "stable", 100, NULL);
    CHECK(&ctx, consign_tufrepo_refresh_timestamp(&ctx, &e.o));
    assert_int_equal(consign_tufrepo_rotate(&ctx, &e.o, CONSIGN_TUF_TIMESTAMP, NULL),
                     CONSIGN_E_KEY);
    c = client_new(&e, T0 + 50);
    refresh(c);
    assert_int_equal(trusted_version(c, CONSIGN_TUF_TARGETS), 4);
    consign_tuf_client_free(c);
    env_free(&e);
}

/* Two repositories from the same keys and inputs are byte-identical. */
static void
test_reproducible(void **state)
{
    struct env a, b;
    struct dirent **ents = NULL;
    char cmd[512];
    int n, i;

    (void)state;
    env_init(&a, 0);
    env_init(&b, 0);
    setenv("SOURCE_DATE_EPOCH", "1900000000", 1);
    init_repo(&a);
    snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", a.keydir, b.keydir);
    assert_int_equal(system(cmd), 0);
    init_repo(&b);
    publish(&a, "2.0.0", "stable", 25, "1.0.0");
    publish(&b, "2.0.0", "stable", 25, "1.0.0");
    unsetenv("SOURCE_DATE_EPOCH");
    {
        char ma[160], mb[160];
        snprintf(ma, sizeof(ma), "%s/metadata", a.repo);
        snprintf(mb, sizeof(mb), "%s/metadata", b.repo);
        n = scandir(ma, &ents, NULL, alphasort);
        assert_int_equal(n, 2 + 7); /* . .. 1.root root 1/2.targets 1/2.snapshot timestamp */
        for (i = 0; i < n; i++) {
            char pa[512], pb[512];
            char *da, *db;
            size_t la = 0, lb = 0;
            if (ents[i]->d_name[0] != '.') {
                snprintf(pa, sizeof(pa), "%s/%s", ma, ents[i]->d_name);
                snprintf(pb, sizeof(pb), "%s/%s", mb, ents[i]->d_name);
                assert_non_null(da = get(pa, &la));
                assert_non_null(db = get(pb, &lb));
                if (la != lb || memcmp(da, db, la) != 0)
                    fail_msg("%s differs", ents[i]->d_name);
                /* The times are SOURCE_DATE_EPOCH's. */
                if (strcmp(ents[i]->d_name, "timestamp.json") == 0)
                    assert_non_null(strstr(da, "\"expires\":\"2030-03-18T17:46:40Z\""));
                free(da);
                free(db);
            }
            free(ents[i]);
        }
        free(ents);
    }
    env_free(&a);
    env_free(&b);
}

static void
test_key_files(void **state)
{
    struct dirent *d;
    struct stat st;
    struct env e;
    char tuf[160];
    DIR *dh;
    int n = 0;

    (void)state;
    env_init(&e, T0);
    init_repo(&e);
    snprintf(tuf, sizeof(tuf), "%s/tuf", e.keydir);
    assert_int_equal(stat(tuf, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_non_null(dh = opendir(tuf));
    while ((d = readdir(dh))) {
        char path[512];
        char *pem;
        if (d->d_name[0] == '.' || strcmp(d->d_name, "root.json") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", tuf, d->d_name);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_non_null(pem = get(path, NULL));
        assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
        free(pem);
        n++;
    }
    closedir(dh);
    assert_int_equal(n, 4);
    env_free(&e);
}

static void
test_errors(void **state)
{
    struct consign_tufrepo_artifact a = {"/nonexistent/agent.bin", NULL, "amd64", NULL};
    struct consign_tufrepo_release rel = {"agent", "1.0", NULL, 100, NULL, &a, 1};
    struct consign_ctx ctx;
    struct env e;
    char tuf[160], cmd[256];

    (void)state;
    env_init(&e, T0);
    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(consign_tufrepo_publish(&ctx, &e.o, &rel), CONSIGN_E_NOTFOUND);
    assert_int_equal(consign_tufrepo_refresh_timestamp(&ctx, &e.o), CONSIGN_E_NOTFOUND);
    init_repo(&e);
    assert_int_equal(consign_tufrepo_init(&ctx, &e.o), CONSIGN_E_EXISTS);
    assert_int_equal(consign_tufrepo_publish(&ctx, &e.o, &rel), CONSIGN_E_NOTFOUND);
    rel.rollout = 101;
    assert_int_equal(consign_tufrepo_publish(&ctx, &e.o, &rel), CONSIGN_E_INVALID);
    rel.rollout = 5;
    rel.version = "../1";
    assert_int_equal(consign_tufrepo_publish(&ctx, &e.o, &rel), CONSIGN_E_INVALID);
    rel.version = "1.0";
    a.arch = "amd 64";
    assert_int_equal(consign_tufrepo_publish(&ctx, &e.o, &rel), CONSIGN_E_INVALID);
    /* Nothing changed. */
    assert_false(file_exists(&e, "2.targets.json"));
    /* Without the snapshot key nothing can be signed. */
    snprintf(tuf, sizeof(tuf), "%s/tuf", e.keydir);
    snprintf(cmd, sizeof(cmd), "rm -f '%s'/snapshot-*.pem", tuf);
    assert_int_equal(system(cmd), 0);
    a.arch = "amd64";
    artifact(&e, "amd64", "agent.bin", "x", (char *)(a.file = malloc(256)), 256);
    assert_int_equal(consign_tufrepo_publish(&ctx, &e.o, &rel), CONSIGN_E_KEY);
    assert_non_null(strstr(consign_err_msg(&ctx), "snapshot"));
    free((char *)a.file);
    /* Bad root key counts. */
    e.o.root_keys = 2;
    e.o.root_threshold = 3;
    assert_int_equal(consign_tufrepo_rotate(&ctx, &e.o, CONSIGN_TUF_ROOT, NULL), CONSIGN_E_INVALID);
    env_free(&e);
}

/* The writer builds on its own signed state only: a repository changed
 * behind its back is refused, not re-signed. */
static void
test_tampered(void **state)
{
    struct consign_ctx ctx;
    struct env e, other;
    char path[256], *data, *p;
    size_t len = 0;

    (void)state;
    env_init(&e, T0);
    init_repo(&e);
    publish(&e, "1.0.0", "stable", 100, NULL);

    /* A target slipped into the current targets file (its signature no longer holds). */
    snprintf(path, sizeof(path), "%s/metadata/2.targets.json", e.repo);
    assert_non_null(data = get(path, &len));
    assert_non_null(p = strstr(data, "\"rollout\":100"));
    p[11] = '9';
    p[12] = '9';
    put(path, data);
    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(consign_tufrepo_refresh_timestamp(&ctx, &e.o), CONSIGN_E_BAD_SIGNATURE);
    e.o.now = T0 + 1;
    {
        char amd[256];
        struct consign_tufrepo_artifact a = {amd, NULL, "amd64", NULL};
        struct consign_tufrepo_release rel = {"agent", "1.0.1", NULL, 100, NULL, &a, 1};
        artifact(&e, "amd64", "x.bin", "x", amd, sizeof(amd));
        assert_int_equal(consign_tufrepo_publish(&ctx, &e.o, &rel), CONSIGN_E_BAD_SIGNATURE);
        assert_non_null(strstr(consign_err_msg(&ctx), "2.targets.json"));
        p[11] = '0';
        p[12] = '0';
        put(path, data);
        CHECK(&ctx, consign_tufrepo_publish(&ctx, &e.o, &rel));
    }
    free(data);

    /* Another repository's key directory. */
    env_init(&other, T0);
    init_repo(&other);
    other.o.repo = e.repo;
    assert_int_equal(consign_tufrepo_refresh_timestamp(&ctx, &other.o), CONSIGN_E_MISMATCH);
    /* A root added to the repository that the key directory did not write. */
    snprintf(path, sizeof(path), "%s/metadata/2.root.json", e.repo);
    put(path, "{}");
    assert_int_equal(consign_tufrepo_refresh_timestamp(&ctx, &e.o), CONSIGN_E_MISMATCH);
    env_free(&other);
    env_free(&e);
}

/* Concurrent publishes are serialised by the lock: every release is listed. */
static void
test_concurrent(void **state)
{
    struct consign_tuf_client *c;
    struct env e;
    pid_t pids[4];
    int i, status;

    (void)state;
    env_init(&e, T0);
    init_repo(&e);
    for (i = 0; i < 4; i++) {
        char version[16];
        snprintf(version, sizeof(version), "3.%d", i);
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            struct consign_tufrepo_artifact a = {NULL, NULL, "amd64", NULL};
            struct consign_tufrepo_release rel = {"agent", version, NULL, 100, NULL, &a, 1};
            struct consign_ctx ctx;
            char path[256], dir[200];
            snprintf(dir, sizeof(dir), "%s/%d", e.art, i);
            mkdir(dir, 0755);
            snprintf(path, sizeof(path), "%s/agent.bin", dir);
            put(path, version);
            a.file = path;
            consign_ctx_init(&ctx, NULL, NULL);
            _exit(consign_tufrepo_publish(&ctx, &e.o, &rel) ? 1 : 0);
        }
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    c = client_new(&e, T0 + 10);
    refresh(c);
    assert_int_equal(trusted_version(c, CONSIGN_TUF_TARGETS), 5);
    assert_int_equal(consign_tuf_client_trusted(c, CONSIGN_TUF_TARGETS)->n_targets, 4);
    expect_target(c, "agent/3.2/linux-amd64/agent.bin",
                  "{\"channel\":\"stable\",\"rollout\":100,\"version\":\"3.2\"}", "3.2");
    consign_tuf_client_free(c);
    env_free(&e);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publish_and_download),
        cmocka_unit_test(test_refresh_timestamp),
        cmocka_unit_test(test_rotate_root),
        cmocka_unit_test(test_rotate_roles),
        cmocka_unit_test(test_reproducible),
        cmocka_unit_test(test_key_files),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
