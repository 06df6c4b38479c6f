/* The TUF client (consign/tuf.h) against repositories built here: metadata
 * written as JSON text, signed over its canonical form with keys OpenSSL
 * makes at test time (Ed25519 mostly, ECDSA P-256 and RSA-PSS too), served
 * from a directory through consign_tuf_fetch_dir. Each attack of the
 * specification's threat model must be refused with its own code and
 * message and leave the client's trusted files as they were. Then a real
 * chain: sigstore's root-signing repository (tests/fixtures/tuf/sigstore). */
#include <dirent.h>
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

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "consign/buf.h"
#include "consign/fileio.h"
#include "consign/hash.h"
#include "consign/json.h"
#include "consign/tuf.h"

#define NOW_TEXT "2030-01-01T00:00:00Z"
#define FUTURE   "2040-01-01T00:00:00Z"
#define PAST     "2029-12-31T23:59:59Z"

static long long now;

/* ---- keys ---- */

enum kind { K_ED25519, K_ECDSA, K_RSA };

struct tkey {
    enum kind kind;
    EVP_PKEY *pkey;
    char keyid[65];
    char *json; /* the key object as JSON text */
};

static struct tkey k_r1, k_r2, k_r3, k_ts1, k_ts2, k_snap, k_targ, k_d1, k_d2, k_d3, k_other;
static struct tkey k_ec, k_rsa;
static struct tkey *const all_keys[] = {&k_r1, &k_r2, &k_r3, &k_ts1,   &k_ts2, &k_snap, &k_targ,
                                        &k_d1, &k_d2, &k_d3, &k_other, &k_ec,  &k_rsa};

static void
hexs(const unsigned char *p, size_t n, char *out)
{
    consign_hex(p, n, out);
}

static void
sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[CONSIGN_HASH_MAX];
    assert_int_equal(consign_hash_buf(NULL, CONSIGN_HASH_SHA256, p, n, md), 0);
    hexs(md, 32, out);
}

/* The canonical form of a JSON text (must parse). */
static void
canonical_of(const char *text, struct consign_buf *out)
{
    struct consign_ctx ctx;
    struct consign_json *v = NULL;

    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(out, 16u << 20);
    if (consign_json_parse(&ctx, text, strlen(text), NULL, &v) ||
        consign_json_canonical(&ctx, v, out))
        fail_msg("canonical: %s in %.300s", consign_err_msg(&ctx), text);
    consign_json_free(v);
}

static void
tkey_make(struct tkey *k, enum kind kind)
{
    struct consign_buf b, c;
    char pub[4096];

    k->kind = kind;
    if (kind == K_ED25519) {
        unsigned char raw[32];
        size_t n = sizeof(raw);
        assert_non_null(k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
        assert_int_equal(EVP_PKEY_get_raw_public_key(k->pkey, raw, &n), 1);
        hexs(raw, 32, pub);
    } else {
        BIO *bio = BIO_new(BIO_s_mem());
        char *p, *o = pub;
        long n, i;
        if (kind == K_ECDSA)
            k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        else
            k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        assert_non_null(k->pkey);
        assert_int_equal(PEM_write_bio_PUBKEY(bio, k->pkey), 1);
        n = BIO_get_mem_data(bio, &p);
        for (i = 0; i < n; i++) { /* JSON-escape the PEM's newlines */
            if (p[i] == '\n') {
                *o++ = '\\';
                *o++ = 'n';
            } else
                *o++ = p[i];
        }
        *o = '\0';
        BIO_free(bio);
    }
    consign_buf_init(&b, 1 << 16);
    assert_int_equal(consign_buf_printf(NULL, &b,
                                        "{\"keytype\":\"%s\",\"keyval\":{\"public\":\"%s\"},"
                                        "\"scheme\":\"%s\"}",
                                        kind == K_ED25519 ? "ed25519"
                                        : kind == K_ECDSA ? "ecdsa"
                                                          : "rsa",
                                        pub,
                                        kind == K_ED25519 ? "ed25519"
                                        : kind == K_ECDSA ? "ecdsa-sha2-nistp256"
                                                          : "rsassa-pss-sha256"),
                     0);
    canonical_of(b.data, &c);
    sha256_hex(c.data, c.len, k->keyid);
    k->json = consign_buf_steal(&b, NULL);
    consign_buf_free(&c);
}

/* A hex signature of data. */
static char *
sign_hex(const struct tkey *k, const void *data, size_t len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *sig;
    size_t n = 0;
    char *hex;

    assert_int_equal(
        EVP_DigestSignInit(md, &pctx, k->kind == K_ED25519 ? NULL : EVP_sha256(), NULL, k->pkey),
        1);
    if (k->kind == K_RSA) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
    }
    assert_int_equal(EVP_DigestSign(md, NULL, &n, data, len), 1);
    sig = malloc(n);
    assert_int_equal(EVP_DigestSign(md, sig, &n, data, len), 1);
    hex = malloc(2 * n + 1);
    hexs(sig, n, hex);
    free(sig);
    EVP_MD_CTX_free(md);
    return hex;
}

/* A metadata file: signed_text, signed (in canonical form) by each of keys;
 * the signatures whose bit is set in corrupt get one digit changed. */
static char *
envelope(const char *signed_text, struct tkey *const *keys, size_t n, unsigned corrupt, size_t *len)
{
    struct consign_buf c, b;
    size_t i;

    canonical_of(signed_text, &c);
    consign_buf_init(&b, 16u << 20);
    assert_int_equal(consign_buf_puts(NULL, &b, "{\"signatures\":["), 0);
    for (i = 0; i < n; i++) {
        char *sig = sign_hex(keys[i], c.data, c.len);
        if (corrupt & (1u << i))
            sig[10] = sig[10] == '0' ? '1' : '0';
        assert_int_equal(consign_buf_printf(NULL, &b, "%s{\"keyid\":\"%s\",\"sig\":\"%s\"}",
                                            i ? "," : "", keys[i]->keyid, sig),
                         0);
        free(sig);
    }
    /* The file holds the text as written: the client must canonicalise it. */
    assert_int_equal(consign_buf_printf(NULL, &b, "],\"signed\":%s}", signed_text), 0);
    consign_buf_free(&c);
    return consign_buf_steal(&b, len);
}

/* ---- files ---- */

static void
put_file(const char *path, const void *data, size_t len)
{
    struct consign_ctx ctx;
    char dir[512];
    char *slash;

    consign_ctx_init(&ctx, NULL, NULL);
    snprintf(dir, sizeof(dir), "%s", path);
    if ((slash = strrchr(dir, '/'))) {
        *slash = '\0';
        assert_int_equal(consign_mkdirs(&ctx, dir, 0755), 0);
    }
    if (consign_file_write_atomic(&ctx, path, data, len, 0644))
        fail_msg("%s", consign_err_msg(&ctx));
}

static char *
get_file(const char *path, size_t *len)
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

/* "name sha256\n" for every file of dir, sorted: what the client trusts. */
static char *
dir_state(const char *dir)
{
    struct dirent **ents = NULL;
    struct consign_buf b;
    int n, i;

    consign_buf_init(&b, 1 << 20);
    assert_int_equal(consign_buf_puts(NULL, &b, ""), 0);
    n = scandir(dir, &ents, NULL, alphasort);
    assert_true(n >= 0);
    for (i = 0; i < n; i++) {
        char path[512], hex[65];
        size_t len = 0;
        char *data;
        snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
        if (ents[i]->d_name[0] != '.' && (data = get_file(path, &len))) {
            sha256_hex(data, len, hex);
            assert_int_equal(consign_buf_printf(NULL, &b, "%s %s\n", ents[i]->d_name, hex), 0);
            free(data);
        }
        free(ents[i]);
    }
    free(ents);
    return consign_buf_steal(&b, NULL);
}

/* The line of a dir_state for one file ("" if absent). */
static void
same_line(const char *before, const char *after, const char *name)
{
    char key[128];
    const char *a, *b;
    size_t la, lb;

    snprintf(key, sizeof(key), "\n%s ", name);
    a = strncmp(before, key + 1, strlen(key + 1)) == 0 ? before : strstr(before, key);
    b = strncmp(after, key + 1, strlen(key + 1)) == 0 ? after : strstr(after, key);
    a = a && *a == '\n' ? a + 1 : a;
    b = b && *b == '\n' ? b + 1 : b;
    if (!a || !b)
        fail_msg("%s: %s before, %s after", name, a ? "present" : "absent",
                 b ? "present" : "absent");
    la = strcspn(a, "\n");
    lb = strcspn(b, "\n");
    if (la != lb || memcmp(a, b, la) != 0)
        fail_msg("%s changed: %.*s -> %.*s", name, (int)la, a, (int)lb, b);
}

static int
has_file(const char *state, const char *name)
{
    char key[128];
    snprintf(key, sizeof(key), "\n%s ", name);
    return strncmp(state, key + 1, strlen(key + 1)) == 0 || strstr(state, key) != NULL;
}

/* ---- repositories ---- */

struct droles {
    char name[64];
    long long version;
};

struct repo {
    char base[64], meta[96], client[96];
    int consistent;
    struct tkey *root_keys[4];
    size_t n_root;
    long long root_thr;
    struct tkey *ts_keys[2];
    size_t n_ts;
    long long ts_thr;
    struct tkey *snap_key, *targ_key;
    long long root_v, ts_v, snap_v, targ_v;
    const char *root_exp, *ts_exp, *snap_exp, *targ_exp;
    struct consign_buf targets; /* members of "targets" */
    const char *delegations;    /* the value of "delegations", or NULL */
    struct droles roles[16];    /* delegated roles the snapshot lists */
    size_t n_roles;
    int ts_hashes; /* the timestamp lists the snapshot's length and hash */
    char *snapshot;
    size_t snapshot_len;
};

static void
repo_init(struct repo *r, int consistent)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->base, sizeof(r->base), "/tmp/tuf-test.XXXXXX");
    assert_non_null(mkdtemp(r->base));
    snprintf(r->meta, sizeof(r->meta), "%s/metadata", r->base);
    snprintf(r->client, sizeof(r->client), "%s/client", r->base);
    assert_int_equal(mkdir(r->meta, 0755), 0);
    assert_int_equal(mkdir(r->client, 0755), 0);
    r->consistent = consistent;
    r->root_keys[0] = &k_r1;
    r->n_root = 1;
    r->root_thr = 1;
    r->ts_keys[0] = &k_ts1;
    r->n_ts = 1;
    r->ts_thr = 1;
    r->snap_key = &k_snap;
    r->targ_key = &k_targ;
    r->root_v = r->ts_v = r->snap_v = r->targ_v = 1;
    r->root_exp = r->ts_exp = r->snap_exp = r->targ_exp = FUTURE;
    r->ts_hashes = 1;
    consign_buf_init(&r->targets, 1 << 20);
    assert_int_equal(consign_buf_puts(NULL, &r->targets, ""), 0);
}

static void
repo_free(struct repo *r)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->base);
    assert_int_equal(system(cmd), 0);
    consign_buf_free(&r->targets);
    free(r->snapshot);
}

static void
put_keys(struct consign_buf *b, struct tkey *const *keys, size_t n)
{
    size_t i, j;
    for (i = 0; i < n; i++) {
        for (j = 0; j < i && keys[j] != keys[i]; j++)
            ;
        if (j == i)
            assert_int_equal(consign_buf_printf(NULL, b, "%s\"%s\":%s",
                                                b->data[b->len - 1] == '{' ? "" : ",",
                                                keys[i]->keyid, keys[i]->json),
                             0);
    }
}

static void
put_keyids(struct consign_buf *b, struct tkey *const *keys, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        assert_int_equal(consign_buf_printf(NULL, b, "%s\"%s\"", i ? "," : "", keys[i]->keyid), 0);
}

/* Write metadata/NAME, signed by signers. */
static void
write_meta(struct repo *r, const char *name, const char *signed_text, struct tkey *const *signers,
           size_t n, unsigned corrupt)
{
    char path[256];
    size_t len = 0;
    char *data = envelope(signed_text, signers, n, corrupt, &len);

    snprintf(path, sizeof(path), "%s/%s", r->meta, name);
    put_file(path, data, len);
    if (strstr(name, "snapshot.json")) {
        free(r->snapshot);
        r->snapshot = data;
        r->snapshot_len = len;
    } else
        free(data);
}

static char *
root_text(struct repo *r)
{
    struct tkey *all[8];
    struct consign_buf b;
    size_t n = 0, i;

    for (i = 0; i < r->n_root; i++)
        all[n++] = r->root_keys[i];
    for (i = 0; i < r->n_ts; i++)
        all[n++] = r->ts_keys[i];
    all[n++] = r->snap_key;
    all[n++] = r->targ_key;
    consign_buf_init(&b, 1 << 20);
    assert_int_equal(consign_buf_printf(NULL, &b,
                                        "{\"_type\":\"root\",\"spec_version\":\"1.0.31\","
                                        "\"version\":%lld,\"expires\":\"%s\","
                                        "\"consistent_snapshot\":%s,\"keys\":{",
                                        r->root_v, r->root_exp, r->consistent ? "true" : "false"),
                     0);
    put_keys(&b, all, n);
    assert_int_equal(consign_buf_puts(NULL, &b, "},\"roles\":{\"root\":{\"keyids\":["), 0);
    put_keyids(&b, r->root_keys, r->n_root);
    assert_int_equal(consign_buf_printf(NULL, &b,
                                        "],\"threshold\":%lld},\"timestamp\":{\"keyids\":[",
                                        r->root_thr),
                     0);
    put_keyids(&b, r->ts_keys, r->n_ts);
    assert_int_equal(
        consign_buf_printf(NULL, &b, "],\"threshold\":%lld},\"snapshot\":{\"keyids\":[", r->ts_thr),
        0);
    put_keyids(&b, &r->snap_key, 1);
    assert_int_equal(consign_buf_puts(NULL, &b, "],\"threshold\":1},\"targets\":{\"keyids\":["), 0);
    put_keyids(&b, &r->targ_key, 1);
    assert_int_equal(consign_buf_puts(NULL, &b, "],\"threshold\":1}}}"), 0);
    return consign_buf_steal(&b, NULL);
}

/* metadata/V.root.json for the repository's current root settings. */
static void
repo_root(struct repo *r, struct tkey *const *signers, size_t n)
{
    char name[64], *text = root_text(r);
    snprintf(name, sizeof(name), "%lld.root.json", r->root_v);
    write_meta(r, name, text, signers, n, 0);
    free(text);
}

/* The client starts out trusting the repository's current root. */
static void
repo_trust_root(struct repo *r)
{
    char from[256], to[256];
    size_t len = 0;
    char *data;

    snprintf(from, sizeof(from), "%s/%lld.root.json", r->meta, r->root_v);
    snprintf(to, sizeof(to), "%s/root.json", r->client);
    assert_non_null(data = get_file(from, &len));
    put_file(to, data, len);
    free(data);
}

/* A target file on the server (HASH.name under consistent snapshots) and
 * its entry for the next targets metadata (members: where to list it). */
static void
serve_target(struct repo *r, const char *path, const void *data, size_t len)
{
    char file[512], hex[65];
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path) + 1 : 0;

    sha256_hex(data, len, hex);
    if (r->consistent)
        snprintf(file, sizeof(file), "%s/targets/%.*s%s.%s", r->base, dirlen, path, hex,
                 path + dirlen);
    else
        snprintf(file, sizeof(file), "%s/targets/%s", r->base, path);
    put_file(file, data, len);
}

static void
list_target(struct consign_buf *members, const char *path, const void *data, size_t len)
{
    char hex[65];
    sha256_hex(data, len, hex);
    assert_int_equal(consign_buf_printf(NULL, members,
                                        "%s\"%s\":{\"hashes\":{\"sha256\":\"%s\"},\"length\":%zu}",
                                        members->len ? "," : "", path, hex, len),
                     0);
}

static void
repo_target(struct repo *r, const char *path, const void *data, size_t len)
{
    serve_target(r, path, data, len);
    list_target(&r->targets, path, data, len);
}

static char *
targets_text(long long version, const char *expires, const char *members, const char *delegations)
{
    struct consign_buf b;
    consign_buf_init(&b, 1 << 20);
    assert_int_equal(consign_buf_printf(NULL, &b,
                                        "{\"_type\":\"targets\",\"spec_version\":\"1.0\","
                                        "\"version\":%lld,\"expires\":\"%s\",\"targets\":{%s}%s%s}",
                                        version, expires, members,
                                        delegations ? ",\"delegations\":" : "",
                                        delegations ? delegations : ""),
                     0);
    return consign_buf_steal(&b, NULL);
}

static void
repo_targets(struct repo *r)
{
    char name[64], *text = targets_text(r->targ_v, r->targ_exp, r->targets.data, r->delegations);
    if (r->consistent)
        snprintf(name, sizeof(name), "%lld.targets.json", r->targ_v);
    else
        snprintf(name, sizeof(name), "targets.json");
    write_meta(r, name, text, &r->targ_key, 1, 0);
    free(text);
}

/* A delegated role's file, listed in the next snapshot. */
static void
repo_role(struct repo *r, const char *role, long long version, struct tkey *key,
          const char *members, const char *delegations)
{
    char name[128], *text = targets_text(version, FUTURE, members, delegations);
    size_t i;

    char file[96], *o = file;
    const char *p;

    /* The file name percent-encodes all but [A-Za-z0-9._~-] (URL quoting). */
    for (p = role; *p && o < file + sizeof(file) - 4; p++)
        if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~-", *p))
            *o++ = *p;
        else
            o += snprintf(o, 4, "%%%02X", (unsigned char)*p);
    *o = '\0';
    if (r->consistent)
        snprintf(name, sizeof(name), "%lld.%s.json", version, file);
    else
        snprintf(name, sizeof(name), "%s.json", file);
    write_meta(r, name, text, &key, 1, 0);
    free(text);
    for (i = 0; i < r->n_roles && strcmp(r->roles[i].name, role) != 0; i++)
        ;
    assert_true(i < 16);
    if (i == r->n_roles)
        r->n_roles++;
    snprintf(r->roles[i].name, sizeof(r->roles[i].name), "%s", role);
    r->roles[i].version = version;
}

static void
repo_snapshot(struct repo *r)
{
    struct consign_buf b;
    char name[64];
    size_t i;

    consign_buf_init(&b, 1 << 20);
    assert_int_equal(consign_buf_printf(NULL, &b,
                                        "{\"_type\":\"snapshot\",\"spec_version\":\"1.0\","
                                        "\"version\":%lld,\"expires\":\"%s\",\"meta\":{"
                                        "\"targets.json\":{\"version\":%lld}",
                                        r->snap_v, r->snap_exp, r->targ_v),
                     0);
    for (i = 0; i < r->n_roles; i++)
        assert_int_equal(consign_buf_printf(NULL, &b, ",\"%s.json\":{\"version\":%lld}",
                                            r->roles[i].name, r->roles[i].version),
                         0);
    assert_int_equal(consign_buf_puts(NULL, &b, "}}"), 0);
    if (r->consistent)
        snprintf(name, sizeof(name), "%lld.snapshot.json", r->snap_v);
    else
        snprintf(name, sizeof(name), "snapshot.json");
    write_meta(r, name, b.data, &r->snap_key, 1, 0);
    consign_buf_free(&b);
}

static void
repo_timestamp_by(struct repo *r, struct tkey *const *signers, size_t n, unsigned corrupt)
{
    struct consign_buf b;
    char hex[65];

    consign_buf_init(&b, 1 << 20);
    assert_int_equal(consign_buf_printf(NULL, &b,
                                        "{\"_type\":\"timestamp\",\"spec_version\":\"1.0\","
                                        "\"version\":%lld,\"expires\":\"%s\",\"meta\":{"
                                        "\"snapshot.json\":{\"version\":%lld",
                                        r->ts_v, r->ts_exp, r->snap_v),
                     0);
    if (r->ts_hashes && r->snapshot) {
        sha256_hex(r->snapshot, r->snapshot_len, hex);
        assert_int_equal(consign_buf_printf(NULL, &b,
                                            ",\"length\":%zu,\"hashes\":{\"sha256\":\"%s\"}",
                                            r->snapshot_len, hex),
                         0);
    }
    assert_int_equal(consign_buf_puts(NULL, &b, "}}}"), 0);
    write_meta(r, "timestamp.json", b.data, signers, n, corrupt);
    consign_buf_free(&b);
}

static void
repo_timestamp(struct repo *r)
{
    repo_timestamp_by(r, r->ts_keys, r->n_ts, 0);
}

/* targets, snapshot, timestamp at their current versions. */
static void
repo_publish(struct repo *r)
{
    repo_targets(r);
    repo_snapshot(r);
    repo_timestamp(r);
}

/* A repository at version 1 with two targets, trusted by the client. */
static void
repo_basic(struct repo *r, int consistent)
{
    repo_init(r, consistent);
    repo_root(r, r->root_keys, r->n_root);
    repo_trust_root(r);
    repo_target(r, "agent.bin", "agent payload v1", 16);
    repo_target(r, "dir/sub/tool", "tool", 4);
    repo_publish(r);
}

/* ---- the client ---- */

static int
client_open(struct consign_ctx *ctx, struct repo *r, const struct consign_tuf_limits *lim,
            struct consign_tuf_client **c)
{
    struct consign_tuf_options o;

    consign_tuf_options_init(&o);
    o.metadata_dir = r->client;
    o.fetch = consign_tuf_fetch_dir;
    o.fetch_user = r->base;
    o.now = now;
    if (lim)
        o.limits = *lim;
    return consign_tuf_client_new(ctx, &o, c);
}

/* A whole refresh with a new client; its code. */
static int
refresh(struct consign_ctx *ctx, struct repo *r)
{
    struct consign_tuf_client *c = NULL;
    int rc;

    consign_ctx_init(ctx, NULL, NULL);
    if (!(rc = client_open(ctx, r, NULL, &c)))
        rc = consign_tuf_client_refresh(ctx, c);
    consign_tuf_client_free(c);
    return rc;
}

static void
expect(struct consign_ctx *ctx, int rc, int code, const char *msg)
{
    if (rc != code || !strstr(consign_err_msg(ctx), msg))
        fail_msg("got %s '%s', want %s with '%s'", consign_strcode(rc), consign_err_msg(ctx),
                 consign_strcode(code), msg);
}

/* Look a target up and download it; the code, with the bytes in *out. */
static int
get_target(struct consign_ctx *ctx, struct repo *r, const struct consign_tuf_limits *lim,
           const char *path, struct consign_buf *out)
{
    struct consign_tuf_client *c = NULL;
    const struct consign_tuf_target *t = NULL;
    int rc;

    consign_ctx_init(ctx, NULL, NULL);
    consign_buf_init(out, 0);
    if (!(rc = client_open(ctx, r, lim, &c)) &&
        !(rc = consign_tuf_client_find_target(ctx, c, path, &t)))
        rc = consign_tuf_client_download_target(ctx, c, t, out);
    consign_tuf_client_free(c);
    return rc;
}

static void
expect_target(struct repo *r, const char *path, const char *content)
{
    struct consign_ctx ctx;
    struct consign_buf b;
    int rc = get_target(&ctx, r, NULL, path, &b);

    if (rc)
        fail_msg("%s: %s", path, consign_err_msg(&ctx));
    assert_int_equal(b.len, strlen(content));
    assert_memory_equal(b.data, content, b.len);
    consign_buf_free(&b);
}

/* ---- tests ---- */

static void
happy(int consistent)
{
    struct consign_tuf_client *c = NULL;
    const struct consign_tuf_target *t = NULL;
    struct consign_ctx ctx;
    struct repo r;
    char dest[256], *data, *state1;
    size_t len = 0;

    repo_basic(&r, consistent);
    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(client_open(&ctx, &r, NULL, &c), 0);
    if (consign_tuf_client_refresh(&ctx, c))
        fail_msg("%s", consign_err_msg(&ctx));
    assert_int_equal(consign_tuf_client_trusted(c, CONSIGN_TUF_ROOT)->version, 1);
    assert_int_equal(consign_tuf_client_trusted(c, CONSIGN_TUF_TIMESTAMP)->version, 1);
    assert_int_equal(consign_tuf_client_trusted(c, CONSIGN_TUF_SNAPSHOT)->version, 1);
    assert_int_equal(consign_tuf_client_trusted(c, CONSIGN_TUF_TARGETS)->version, 1);
    assert_int_equal(consign_tuf_client_find_target(&ctx, c, "dir/sub/tool", &t), 0);
    assert_int_equal(t->length, 4);
    snprintf(dest, sizeof(dest), "%s/tool.out", r.base);
    assert_int_equal(consign_tuf_client_download_target_to(&ctx, c, t, dest, 0600), 0);
    assert_non_null(data = get_file(dest, &len));
    assert_int_equal(len, 4);
    assert_memory_equal(data, "tool", 4);
    free(data);
    expect(&ctx, consign_tuf_client_find_target(&ctx, c, "nope", &t), CONSIGN_E_NOTFOUND,
           "tuf: no trusted role lists target nope");
    consign_tuf_client_free(c);
    expect_target(&r, "agent.bin", "agent payload v1");

    /* Every verified file was persisted; the next update uses them as they are. */
    state1 = dir_state(r.client);
    assert_true(has_file(state1, "root.json"));
    assert_true(has_file(state1, "timestamp.json"));
    assert_true(has_file(state1, "snapshot.json"));
    assert_true(has_file(state1, "targets.json"));
    assert_int_equal(refresh(&ctx, &r), 0);
    {
        char *state2 = dir_state(r.client);
        assert_string_equal(state1, state2);
        free(state2);
    }
    free(state1);

    /* A new release: targets 2, snapshot 2, timestamp 2. */
    r.targ_v = r.snap_v = r.ts_v = 2;
    repo_target(&r, "agent.bin.v2", "agent payload v2", 16);
    repo_publish(&r);
    expect_target(&r, "agent.bin.v2", "agent payload v2");
    assert_int_equal(refresh(&ctx, &r), 0);
    repo_free(&r);
}

static void
test_happy_consistent(void **state)
{
    (void)state;
    happy(1);
}

static void
test_happy_plain(void **state)
{
    (void)state;
    happy(0);
}

/* Ed25519 root, ECDSA P-256 timestamp (keytype "ecdsa"), RSA-PSS snapshot. */
static void
test_schemes(void **state)
{
    struct consign_ctx ctx;
    struct repo r;

    (void)state;
    repo_init(&r, 1);
    r.ts_keys[0] = &k_ec;
    r.snap_key = &k_rsa;
    r.targ_key = &k_ec;
    repo_root(&r, r.root_keys, 1);
    repo_trust_root(&r);
    repo_target(&r, "a", "A", 1);
    repo_publish(&r);
    if (refresh(&ctx, &r))
        fail_msg("%s", consign_err_msg(&ctx));
    expect_target(&r, "a", "A");
    /* An RSA key signing where the root expects the ECDSA key. */
    r.ts_v = 2;
    repo_timestamp_by(&r, (struct tkey *[]){&k_rsa}, 1, 0);
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_UNTRUSTED,
           "tuf: timestamp.json: not signed by any of the 1 trusted");
    repo_free(&r);
}

static void
test_arbitrary_target(void **state)
{
    struct consign_ctx ctx;
    struct consign_buf b;
    struct repo r;

    (void)state;
    repo_basic(&r, 1);
    /* Same length, other bytes. */
    serve_target(&r, "agent.bin", "agent payload v1", 16);
    {
        char path[256], hex[65];
        sha256_hex("agent payload v1", 16, hex);
        snprintf(path, sizeof(path), "%s/targets/%s.agent.bin", r.base, hex);
        put_file(path, "malware payload!", 16);
    }
    expect(&ctx, get_target(&ctx, &r, NULL, "agent.bin", &b), CONSIGN_E_MISMATCH,
           "tuf: agent.bin: sha256 differs from the trusted hash");
    assert_null(b.data);
    repo_free(&r);
}

static void
test_wrong_length(void **state)
{
    struct consign_ctx ctx;
    struct consign_buf b;
    struct repo r;
    char path[256], hex[65];

    (void)state;
    repo_basic(&r, 0);
    snprintf(path, sizeof(path), "%s/targets/agent.bin", r.base);
    put_file(path, "agent payload v1 and more", 25);
    expect(&ctx, get_target(&ctx, &r, NULL, "agent.bin", &b), CONSIGN_E_TOOBIG,
           "tuf: targets/agent.bin: more than 16 bytes");
    put_file(path, "agent payload", 13);
    expect(&ctx, get_target(&ctx, &r, NULL, "agent.bin", &b), CONSIGN_E_MISMATCH,
           "tuf: agent.bin: 13 bytes, the trusted length is 16");
    /* A target listed longer than the client accepts is not even fetched. */
    {
        struct consign_tuf_limits lim = {0};
        lim.target_file_max = 10;
        put_file(path, "agent payload v1", 16);
        expect(&ctx, get_target(&ctx, &r, &lim, "agent.bin", &b), CONSIGN_E_TOOBIG,
               "agent.bin: listed as 16 bytes, the limit is 10");
    }
    (void)hex;
    repo_free(&r);
}

/* The pieces a caller that downloads by itself uses: the name to fetch and
 * the streamed check of the file it wrote. */
static void
test_target_name_and_path(void **state)
{
    struct consign_tuf_client *c = NULL;
    const struct consign_tuf_target *t = NULL;
    struct consign_ctx ctx;
    struct repo r;
    char path[256], *name = NULL;
    int consistent;

    (void)state;
    for (consistent = 0; consistent < 2; consistent++) {
        repo_basic(&r, consistent);
        consign_ctx_init(&ctx, NULL, NULL);
        if (client_open(&ctx, &r, NULL, &c) ||
            consign_tuf_client_find_target(&ctx, c, "dir/sub/tool", &t))
            fail_msg("%s", consign_err_msg(&ctx));
        assert_int_equal(consign_tuf_client_target_name(&ctx, c, t, &name), 0);
        if (consistent) /* dir/sub/SHA256(tool).tool */
            assert_string_equal(name, "dir/sub/"
                                      "7c9bbe5ec9b3fb774e8fa0f54247e93c34ddf8e5d16fe3073420de0a"
                                      "e81a262d.tool");
        else
            assert_string_equal(name, "dir/sub/tool");
        free(name);
        name = NULL;
        assert_string_equal(consign_tuf_client_targets_prefix(c), "targets/");
        snprintf(path, sizeof(path), "%s/check", r.base);
        put_file(path, "tool", 4);
        assert_int_equal(consign_tuf_check_path(&ctx, path, t->length, &t->hashes, "tool"), 0);
        put_file(path, "tooL", 4);
        expect(&ctx, consign_tuf_check_path(&ctx, path, t->length, &t->hashes, "tool"),
               CONSIGN_E_MISMATCH, "tool: sha256 differs from the trusted hash");
        put_file(path, "tool!", 5);
        expect(&ctx, consign_tuf_check_path(&ctx, path, t->length, &t->hashes, "tool"),
               CONSIGN_E_MISMATCH, "tool: 5 bytes, the trusted length is 4");
        consign_tuf_client_free(c);
        c = NULL;
        repo_free(&r);
    }
}

static void
test_oversized_metadata(void **state)
{
    struct consign_ctx ctx;
    struct repo r;
    char path[256], *data, *before;
    size_t len = 0;

    (void)state;
    repo_basic(&r, 1);
    assert_int_equal(refresh(&ctx, &r), 0);
    before = dir_state(r.client);
    /* A valid timestamp, padded with white space past the 16384-byte default. */
    r.ts_v = 2;
    repo_timestamp(&r);
    snprintf(path, sizeof(path), "%s/timestamp.json", r.meta);
    assert_non_null(data = get_file(path, &len));
    data = realloc(data, 20000);
    memset(data + len, ' ', 20000 - len);
    put_file(path, data, 20000);
    free(data);
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_TOOBIG,
           "tuf: metadata/timestamp.json: more than 16384 bytes");
    {
        char *after = dir_state(r.client);
        assert_string_equal(before, after);
        free(after);
    }
    /* A snapshot longer than the length the timestamp lists. */
    r.snap_v = 2;
    repo_snapshot(&r);
    repo_timestamp(&r);
    snprintf(path, sizeof(path), "%s/2.snapshot.json", r.meta);
    assert_non_null(data = get_file(path, &len));
    data = realloc(data, len + 1);
    data[len] = ' ';
    put_file(path, data, len + 1);
    free(data);
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_TOOBIG, "tuf: metadata/2.snapshot.json: more than");
    free(before);
    repo_free(&r);
}

static void
test_expired(void **state)
{
    struct consign_ctx ctx;
    struct repo r;
    char *before, *after;

    (void)state;
    repo_basic(&r, 1);
    assert_int_equal(refresh(&ctx, &r), 0);
    before = dir_state(r.client);
    r.ts_v = 2;
    r.ts_exp = PAST;
    repo_timestamp(&r);
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_EXPIRED,
           "tuf: timestamp.json: version 2 expired at 2029-12-31T23:59:59Z (now "
           "2030-01-01T00:00:00Z)");
    after = dir_state(r.client);
    assert_string_equal(before, after);
    free(after);
    /* Expiring exactly at the update's start time is expired too. */
    r.ts_exp = NOW_TEXT;
    repo_timestamp(&r);
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_EXPIRED, "timestamp.json: version 2 expired");
    /* Snapshot and targets. */
    r.ts_exp = FUTURE;
    r.snap_v = 2;
    r.snap_exp = PAST;
    repo_snapshot(&r);
    repo_timestamp(&r);
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_EXPIRED, "tuf: snapshot.json: version 2 expired");
    r.snap_exp = FUTURE;
    r.ts_v = 3;
    r.snap_v = 3;
    r.targ_v = 2;
    r.targ_exp = PAST;
    repo_publish(&r);
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_EXPIRED, "tuf: targets.json: version 2 expired");
    after = dir_state(r.client);
    /* targets.json is still version 1. */
    same_line(before, after, "targets.json");
    free(after);
    free(before);
    repo_free(&r);
}

static void
test_rollback(void **state)
{
    struct consign_ctx ctx;
    struct repo r;
    char *before, *after;

    (void)state;
    repo_basic(&r, 1);
    r.ts_v = r.snap_v = r.targ_v = 3;
    repo_publish(&r);
    assert_int_equal(refresh(&ctx, &r), 0);
    before = dir_state(r.client);

    /* An older timestamp, validly signed. */
    r.ts_v = 2;
    repo_timestamp(&r);
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_ROLLBACK,
           "tuf: timestamp.json: version 2 is older than the trusted version 3");
    after = dir_state(r.client);
    assert_string_equal(before, after);
    free(after);

    /* A newer timestamp that points at an older snapshot. */
    r.ts_v = 4;
    r.snap_v = 2;
    repo_timestamp(&r);
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_ROLLBACK,
           "tuf: timestamp.json: lists snapshot.json version 2, the trusted timestamp lists "
           "version 3");
    after = dir_state(r.client);
    assert_string_equal(before, after);
    free(after);

    /* A newer snapshot that lists an older targets. */
    r.snap_v = 4;
    r.targ_v = 2;
    repo_publish(&r);
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_ROLLBACK,
           "tuf: snapshot.json: lists targets.json version 2, older than the trusted version 3");
    after = dir_state(r.client);
    /* The new timestamp passed and was kept; snapshot and targets were not touched. */
    same_line(before, after, "snapshot.json");
    same_line(before, after, "targets.json");
    free(after);

    /* A newer snapshot that drops a role the trusted one listed. */
    repo_role(&r, "gone", 1, &k_d1, "", NULL);
    r.ts_v = 5;
    r.snap_v = 5;
    r.targ_v = 3;
    repo_publish(&r);
    assert_int_equal(refresh(&ctx, &r), 0);
    r.n_roles = 0;
    r.ts_v = 6;
    r.snap_v = 6;
    repo_publish(&r);
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_ROLLBACK,
           "snapshot.json: no longer lists gone.json (trusted version 1)");
    free(before);
    repo_free(&r);
}

static void
test_mix_and_match(void **state)
{
    struct consign_ctx ctx;
    struct repo r;
    char from[256], to[256], *data, *before, *after;
    size_t len = 0;

    (void)state;
    repo_basic(&r, 1);
    assert_int_equal(refresh(&ctx, &r), 0);
    before = dir_state(r.client);
    /* The snapshot says targets 2; the server hands out targets 1 under that name. */
    r.targ_v = r.snap_v = r.ts_v = 2;
    repo_publish(&r);
    snprintf(from, sizeof(from), "%s/1.targets.json", r.meta);
    snprintf(to, sizeof(to), "%s/2.targets.json", r.meta);
    assert_non_null(data = get_file(from, &len));
    put_file(to, data, len);
    free(data);
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_MISMATCH,
           "tuf: targets.json: version 1, snapshot.json lists version 2");
    after = dir_state(r.client);
    same_line(before, after, "targets.json");
    free(after);

    /* The timestamp (without hashes) says snapshot 3; the server hands out 2. */
    r.ts_hashes = 0;
    r.ts_v = 3;
    r.snap_v = 3;
    repo_timestamp(&r);
    snprintf(from, sizeof(from), "%s/2.snapshot.json", r.meta);
    snprintf(to, sizeof(to), "%s/3.snapshot.json", r.meta);
    assert_non_null(data = get_file(from, &len));
    put_file(to, data, len);
    free(data);
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_MISMATCH,
           "tuf: snapshot.json: version 2, timestamp.json lists version 3");
    /* With hashes in the timestamp, the hash check catches it first. */
    r.ts_hashes = 1;
    r.ts_v = 4;
    r.snap_v = 4;
    r.targ_v = 3;
    repo_publish(&r);
    snprintf(from, sizeof(from), "%s/2.snapshot.json", r.meta);
    snprintf(to, sizeof(to), "%s/4.snapshot.json", r.meta);
    assert_non_null(data = get_file(from, &len));
    put_file(to, data, len);
    free(data);
    {
        int rc = refresh(&ctx, &r);
        if (rc != CONSIGN_E_MISMATCH && rc != CONSIGN_E_TOOBIG)
            fail_msg("%s", consign_err_msg(&ctx));
    }
    free(before);
    repo_free(&r);
}

static void
test_signatures(void **state)
{
    struct consign_ctx ctx;
    struct repo r;
    char *before, *after;

    (void)state;
    repo_init(&r, 1);
    r.ts_keys[1] = &k_ts2;
    r.n_ts = 2;
    r.ts_thr = 2;
    repo_root(&r, r.root_keys, 1);
    repo_trust_root(&r);
    repo_target(&r, "a", "A", 1);
    repo_publish(&r);
    assert_int_equal(refresh(&ctx, &r), 0);
    before = dir_state(r.client);
    r.ts_v = 2;

    /* A key the root does not know. */
    repo_timestamp_by(&r, (struct tkey *[]){&k_other}, 1, 0);
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_UNTRUSTED,
           "tuf: timestamp.json: not signed by any of the 2 trusted");
    /* One of two. */
    repo_timestamp_by(&r, (struct tkey *[]){&k_ts1}, 1, 0);
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_BAD_SIGNATURE,
           "tuf: timestamp.json: 1 valid signature of the 2 required (0 bad)");
    /* The same keyid twice is refused (the specification: keyids are unique). */
    repo_timestamp_by(&r, (struct tkey *[]){&k_ts1, &k_ts1}, 2, 0);
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_INVALID, "tuf: timestamp.json: signatures: keyid");
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_INVALID, "signs more than once");
    repo_timestamp_by(&r, (struct tkey *[]){&k_ts1, &k_ts2, &k_ts1}, 3, 0);
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_INVALID, "signs more than once");
    /* A bad signature does not count. */
    repo_timestamp_by(&r, (struct tkey *[]){&k_ts1, &k_ts2}, 2, 2);
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_BAD_SIGNATURE,
           "1 valid signature of the 2 required (1 bad)");
    /* The unknown key's signature is ignored next to a bad one. */
    repo_timestamp_by(&r, (struct tkey *[]){&k_other, &k_ts2}, 2, 2);
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_BAD_SIGNATURE,
           "0 valid signatures of the 2 required (1 bad)");
    after = dir_state(r.client);
    assert_string_equal(before, after);
    free(after);
    /* Both, with a stranger's signature in between: accepted. */
    repo_timestamp_by(&r, (struct tkey *[]){&k_ts2, &k_other, &k_ts1}, 3, 0);
    assert_int_equal(refresh(&ctx, &r), 0);

    /* Tampered content under valid signatures: the canonical bytes differ. */
    {
        char path[256], *data, *p;
        size_t len = 0;
        r.ts_v = 3;
        repo_timestamp(&r);
        snprintf(path, sizeof(path), "%s/timestamp.json", r.meta);
        assert_non_null(data = get_file(path, &len));
        assert_non_null(p = strstr(data, "\"version\":3"));
        p[10] = '9';
        put_file(path, data, len);
        free(data);
        expect(&ctx, refresh(&ctx, &r), CONSIGN_E_BAD_SIGNATURE,
               "0 valid signatures of the 2 required (2 bad)");
    }
    /* Snapshot and targets signed by the wrong role's key. */
    r.ts_v = 4;
    r.snap_v = 2;
    r.snap_key = &k_targ;
    repo_snapshot(&r);
    repo_timestamp(&r);
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_UNTRUSTED,
           "tuf: snapshot.json: not signed by any of the 1 trusted");
    free(before);
    repo_free(&r);
}

static void
test_root_chain(void **state)
{
    struct consign_tuf_client *c = NULL;
    struct consign_ctx ctx;
    struct repo r;
    char path[256], *a, *b;

    (void)state;
    repo_basic(&r, 1);
    /* v2 rotates the root key r1 -> r2, v3 r2 -> r3 (with threshold 2 of r2, r3). */
    r.root_v = 2;
    r.root_keys[0] = &k_r2;
    repo_root(&r, (struct tkey *[]){&k_r1, &k_r2}, 2);
    r.root_v = 3;
    r.root_keys[0] = &k_r2;
    r.root_keys[1] = &k_r3;
    r.n_root = 2;
    r.root_thr = 2;
    repo_root(&r, (struct tkey *[]){&k_r2, &k_r3}, 2);
    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(client_open(&ctx, &r, NULL, &c), 0);
    if (consign_tuf_client_refresh(&ctx, c))
        fail_msg("%s", consign_err_msg(&ctx));
    assert_int_equal(consign_tuf_client_trusted(c, CONSIGN_TUF_ROOT)->version, 3);
    consign_tuf_client_free(c);
    snprintf(path, sizeof(path), "%s/3.root.json", r.meta);
    a = get_file(path, NULL);
    snprintf(path, sizeof(path), "%s/root.json", r.client);
    b = get_file(path, NULL);
    assert_string_equal(a, b);
    free(a);
    free(b);
    expect_target(&r, "agent.bin", "agent payload v1");

    /* v4 with threshold 2 but signed by one of the trusted root's keys. */
    r.root_v = 4;
    repo_root(&r, (struct tkey *[]){&k_r3}, 1);
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_BAD_SIGNATURE,
           "tuf: 4.root.json (keys of root version 3): 1 valid signature of the 2 required");
    snprintf(path, sizeof(path), "%s/root.json", r.client);
    a = get_file(path, NULL);
    assert_non_null(strstr(a, "\"version\":3"));
    free(a);
    repo_free(&r);
}

static void
test_root_refused(void **state)
{
    struct consign_ctx ctx;
    struct repo r;
    char *before, *after;

    (void)state;
    repo_basic(&r, 1);
    assert_int_equal(refresh(&ctx, &r), 0);
    before = dir_state(r.client);

    /* Signed only by its own new key. */
    r.root_v = 2;
    r.root_keys[0] = &k_r2;
    repo_root(&r, (struct tkey *[]){&k_r2}, 1);
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_UNTRUSTED,
           "tuf: 2.root.json (keys of root version 1): not signed by any of the 1 trusted");
    after = dir_state(r.client);
    assert_string_equal(before, after);
    free(after);

    /* Signed only by the old key: the new root's own threshold is not met. */
    repo_root(&r, (struct tkey *[]){&k_r1}, 1);
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_UNTRUSTED,
           "tuf: 2.root.json (its own keys): not signed by any of the 1 trusted");
    after = dir_state(r.client);
    assert_string_equal(before, after);
    free(after);

    /* 2.root.json that holds version 3. */
    r.root_keys[0] = &k_r1;
    r.root_v = 3;
    repo_root(&r, (struct tkey *[]){&k_r1}, 1);
    {
        char from[256], to[256];
        snprintf(from, sizeof(from), "%s/3.root.json", r.meta);
        snprintf(to, sizeof(to), "%s/2.root.json", r.meta);
        assert_int_equal(rename(from, to), 0);
    }
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_ROLLBACK,
           "tuf: 2.root.json: holds version 3, expected 2");
    after = dir_state(r.client);
    assert_string_equal(before, after);
    free(after);

    /* The final root has expired (an expired intermediate one is fine). */
    r.root_v = 2;
    r.root_exp = PAST;
    repo_root(&r, (struct tkey *[]){&k_r1}, 1);
    expect(&ctx, refresh(&ctx, &r), CONSIGN_E_EXPIRED,
           "tuf: root.json: version 2 expired at 2029-12-31T23:59:59Z");
    r.root_v = 3;
    r.root_exp = FUTURE;
    repo_root(&r, (struct tkey *[]){&k_r1}, 1);
    assert_int_equal(refresh(&ctx, &r), 0);
    free(before);
    repo_free(&r);
}

static void
test_root_cap(void **state)
{
    struct consign_tuf_limits lim = {0};
    struct consign_tuf_client *c = NULL;
    struct consign_ctx ctx;
    struct repo r;

    (void)state;
    repo_basic(&r, 1);
    for (r.root_v = 2; r.root_v <= 7; r.root_v++)
        repo_root(&r, r.root_keys, 1);
    lim.max_root_rotations = 3;
    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(client_open(&ctx, &r, &lim, &c), 0);
    assert_int_equal(consign_tuf_client_update_root(&ctx, c), 0);
    assert_int_equal(consign_tuf_client_trusted(c, CONSIGN_TUF_ROOT)->version, 4);
    consign_tuf_client_free(c);
    /* The next update goes on from the persisted version 4. */
    assert_int_equal(client_open(&ctx, &r, &lim, &c), 0);
    assert_int_equal(consign_tuf_client_update_root(&ctx, c), 0);
    assert_int_equal(consign_tuf_client_trusted(c, CONSIGN_TUF_ROOT)->version, 7);
    consign_tuf_client_free(c);
    /* The default cap is 32: a chain of 40 stops at 33. */
    for (r.root_v = 8; r.root_v <= 40; r.root_v++)
        repo_root(&r, r.root_keys, 1);
    r.root_v = 1;
    repo_root(&r, r.root_keys, 1);
    repo_trust_root(&r);
    assert_int_equal(client_open(&ctx, &r, NULL, &c), 0);
    assert_int_equal(consign_tuf_client_update_root(&ctx, c), 0);
    assert_int_equal(consign_tuf_client_trusted(c, CONSIGN_TUF_ROOT)->version, 33);
    consign_tuf_client_free(c);
    repo_free(&r);
}

/* 5.3.11: a new timestamp key removes the local timestamp and snapshot. */
static void
test_key_rotation(void **state)
{
    struct consign_tuf_client *c = NULL;
    struct consign_ctx ctx;
    struct repo r;
    char *st;

    (void)state;
    repo_basic(&r, 1);
    r.ts_v = r.snap_v = 5;
    repo_publish(&r);
    assert_int_equal(refresh(&ctx, &r), 0);
    /* The new timestamp key starts again at version 1 (recovering from a fast-forward). */
    r.root_v = 2;
    r.ts_keys[0] = &k_ts2;
    repo_root(&r, (struct tkey *[]){&k_r1}, 1);
    r.ts_v = 1;
    r.snap_v = 1;
    repo_snapshot(&r);
    repo_timestamp(&r);
    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(client_open(&ctx, &r, NULL, &c), 0);
    assert_int_equal(consign_tuf_client_update_root(&ctx, c), 0);
    st = dir_state(r.client);
    assert_false(has_file(st, "timestamp.json"));
    assert_false(has_file(st, "snapshot.json"));
    assert_true(has_file(st, "targets.json"));
    free(st);
    assert_int_equal(consign_tuf_client_refresh(&ctx, c), 0);
    assert_int_equal(consign_tuf_client_trusted(c, CONSIGN_TUF_TIMESTAMP)->version, 1);
    consign_tuf_client_free(c);
    repo_free(&r);
}

/* targets delegates, in this order: a (paths a/x and a/x/y), t (p/..., terminating
 * or not), later (p/... and a/...), h (by hash prefix), bad (b/..., signed by
 * a stranger); a delegates a2 (a/deep/...) and cyc (a/c/...), which
 * delegates back to a. */
static void
publish_delegations(struct repo *r, int terminating, long long version)
{
    char hex[65], deleg[8192];
    struct consign_buf m;

    sha256_hex("hp/file", 7, hex);
    snprintf(deleg, sizeof(deleg),
             "{\"keys\":{\"%s\":%s,\"%s\":%s,\"%s\":%s},\"roles\":["
             "{\"name\":\"a\",\"keyids\":[\"%s\"],\"threshold\":1,\"paths\":[\"a/*\",\"a/*/*\"],"
             "\"terminating\":false},"
             "{\"name\":\"t\",\"keyids\":[\"%s\"],\"threshold\":1,\"paths\":[\"p/*\"],"
             "\"terminating\":%s},"
             "{\"name\":\"later\",\"keyids\":[\"%s\"],\"threshold\":1,\"paths\":[\"p/*\",\"a/*\"],"
             "\"terminating\":false},"
             "{\"name\":\"h\",\"keyids\":[\"%s\"],\"threshold\":1,"
             "\"path_hash_prefixes\":[\"%.3s\"],\"terminating\":false},"
             "{\"name\":\"bad\",\"keyids\":[\"%s\"],\"threshold\":1,\"paths\":[\"b/*\"],"
             "\"terminating\":false}]}",
             k_d1.keyid, k_d1.json, k_d2.keyid, k_d2.json, k_d3.keyid, k_d3.json, k_d1.keyid,
             k_d2.keyid, terminating ? "true" : "false", k_d3.keyid, k_d1.keyid, hex, k_d2.keyid);
    r->delegations = deleg;
    r->targ_v = version;
    repo_targets(r);
    r->delegations = NULL;

    consign_buf_init(&m, 1 << 16);
    assert_int_equal(consign_buf_puts(NULL, &m, ""), 0);
    list_target(&m, "a/x", "A from a", 8);
    snprintf(deleg, sizeof(deleg),
             "{\"keys\":{\"%s\":%s},\"roles\":["
             "{\"name\":\"a2\",\"keyids\":[\"%s\"],\"threshold\":1,\"paths\":[\"a/deep/*\"],"
             "\"terminating\":false},"
             "{\"name\":\"cyc\",\"keyids\":[\"%s\"],\"threshold\":1,\"paths\":[\"a/c/*\"],"
             "\"terminating\":false}]}",
             k_d2.keyid, k_d2.json, k_d2.keyid, k_d2.keyid);
    repo_role(r, "a", version, &k_d1, m.data, deleg);
    consign_buf_reset(&m);
    list_target(&m, "a/deep/f", "deep", 4);
    list_target(&m, "z/outside", "outside", 7);
    repo_role(r, "a2", version, &k_d2, m.data, NULL);
    snprintf(deleg, sizeof(deleg),
             "{\"keys\":{\"%s\":%s},\"roles\":[{\"name\":\"a\",\"keyids\":[\"%s\"],\"threshold\":1,"
             "\"paths\":[\"a/c/*\"],\"terminating\":false}]}",
             k_d1.keyid, k_d1.json, k_d1.keyid);
    repo_role(r, "cyc", version, &k_d2, "", deleg);
    repo_role(r, "t", version, &k_d2, "", NULL);
    consign_buf_reset(&m);
    list_target(&m, "p/f", "from later", 10);
    list_target(&m, "a/x", "A from later", 12);
    repo_role(r, "later", version, &k_d3, m.data, NULL);
    consign_buf_reset(&m);
    list_target(&m, "hp/file", "hashed", 6);
    repo_role(r, "h", version, &k_d1, m.data, NULL);
    consign_buf_reset(&m);
    list_target(&m, "b/x", "bx", 2);
    repo_role(r, "bad", version, &k_other, m.data, NULL);
    consign_buf_free(&m);

    serve_target(r, "a/x", "A from a", 8);
    serve_target(r, "a/x", "A from later", 12);
    serve_target(r, "a/deep/f", "deep", 4);
    serve_target(r, "z/outside", "outside", 7);
    serve_target(r, "p/f", "from later", 10);
    serve_target(r, "hp/file", "hashed", 6);
    serve_target(r, "b/x", "bx", 2);
    r->snap_v = r->ts_v = version;
    repo_snapshot(r);
    repo_timestamp(r);
}

static void
test_delegations(void **state)
{
    struct consign_tuf_limits lim = {0};
    struct consign_ctx ctx;
    struct consign_buf b;
    struct repo r;
    char *st;

    (void)state;
    repo_init(&r, 1);
    repo_root(&r, r.root_keys, 1);
    repo_trust_root(&r);
    publish_delegations(&r, 1, 1);

    expect_target(&r, "a/x", "A from a");   /* a comes before later */
    expect_target(&r, "a/deep/f", "deep");  /* targets -> a -> a2 */
    expect_target(&r, "hp/file", "hashed"); /* by hash prefix */
    /* a2 lists it, but no delegation on the way covers the path. */
    expect(&ctx, get_target(&ctx, &r, NULL, "z/outside", &b), CONSIGN_E_NOTFOUND,
           "no trusted role lists target z/outside");
    /* t is terminating and does not list p/f: later is never asked. */
    expect(&ctx, get_target(&ctx, &r, NULL, "p/f", &b), CONSIGN_E_NOTFOUND,
           "no trusted role lists target p/f");
    /* a <-> cyc: each role once. */
    expect(&ctx, get_target(&ctx, &r, NULL, "a/c/none", &b), CONSIGN_E_NOTFOUND,
           "no trusted role lists target a/c/none");
    /* At most two roles visited: targets and a, never a2. */
    lim.max_delegations = 2;
    expect(&ctx, get_target(&ctx, &r, &lim, "a/deep/f", &b), CONSIGN_E_NOTFOUND,
           "no trusted role lists target a/deep/f");
    /* A delegated role signed by a key its delegation does not name. */
    expect(&ctx, get_target(&ctx, &r, NULL, "b/x", &b), CONSIGN_E_UNTRUSTED,
           "tuf: looking for b/x in role bad: bad.json: not signed by any of the 1 trusted bad");
    /* Loaded delegated roles were persisted under their names. */
    st = dir_state(r.client);
    assert_true(has_file(st, "a.json"));
    assert_true(has_file(st, "a2.json"));
    assert_true(has_file(st, "targets.json"));
    assert_false(has_file(st, "bad.json"));
    free(st);

    /* t no longer terminating: later is asked after t. */
    publish_delegations(&r, 0, 2);
    expect_target(&r, "p/f", "from later");
    expect_target(&r, "a/x", "A from a");

    /* A delegated role whose version differs from the snapshot's. */
    {
        char from[256], to[256], *data;
        size_t len = 0;
        r.ts_v = r.snap_v = 3;
        r.roles[1].version = 3; /* a2 */
        repo_snapshot(&r);
        repo_timestamp(&r);
        snprintf(from, sizeof(from), "%s/2.a2.json", r.meta);
        snprintf(to, sizeof(to), "%s/3.a2.json", r.meta);
        assert_non_null(data = get_file(from, &len));
        put_file(to, data, len);
        free(data);
        assert_string_equal(r.roles[1].name, "a2");
        expect(&ctx, get_target(&ctx, &r, NULL, "a/deep/f", &b), CONSIGN_E_MISMATCH,
               "role a2: a2.json: version 2, snapshot.json lists version 3");
    }
    repo_free(&r);
}

/* ---- metadata parsing ---- */

static int
parse_signed(struct consign_ctx *ctx, const char *signed_text, enum consign_tuf_type type,
             struct consign_tuf_metadata **md)
{
    size_t len = 0;
    char *data = envelope(signed_text, (struct tkey *[]){&k_r1}, 1, 0, &len);
    int rc;

    consign_ctx_init(ctx, NULL, NULL);
    rc = consign_tuf_metadata_parse(ctx, data, len, type, md);
    free(data);
    return rc;
}

static void
parse_refused(const char *signed_text, enum consign_tuf_type type, int code, const char *msg)
{
    struct consign_tuf_metadata *md = NULL;
    struct consign_ctx ctx;
    expect(&ctx, parse_signed(&ctx, signed_text, type, &md), code, msg);
    assert_null(md);
}

#define TS_HEAD "{\"_type\":\"timestamp\",\"spec_version\":\"1.0\",\"expires\":\"" FUTURE "\","
#define TS_META "\"meta\":{\"snapshot.json\":{\"version\":1}}"

static void
test_parse(void **state)
{
    struct consign_tuf_metadata *md = NULL;
    struct consign_ctx ctx;
    char text[2048];

    (void)state;
    assert_int_equal(
        parse_signed(&ctx, TS_HEAD "\"version\":7," TS_META "}", CONSIGN_TUF_TIMESTAMP, &md), 0);
    assert_int_equal(md->version, 7);
    assert_int_equal(md->n_sigs, 1);
    assert_string_equal(md->sigs[0].keyid, k_r1.keyid);
    assert_int_equal(md->sigs[0].sig_len, 64);
    assert_non_null(consign_tuf_find_meta(md, "snapshot.json"));
    consign_tuf_metadata_free(md);
    md = NULL;

    parse_refused(TS_HEAD "\"version\":1," TS_META "}", CONSIGN_TUF_SNAPSHOT, CONSIGN_E_INVALID,
                  "signed._type is 'timestamp', expected 'snapshot'");
    parse_refused(TS_HEAD "\"version\":0," TS_META "}", CONSIGN_TUF_TIMESTAMP, CONSIGN_E_INVALID,
                  "signed.version: 0 is below 1");
    {
        static const char f[] =
            "{\"signatures\":[],\"signed\":" TS_HEAD "\"version\":1.0," TS_META "}}";
        consign_ctx_init(&ctx, NULL, NULL);
        expect(&ctx, consign_tuf_metadata_parse(&ctx, f, sizeof(f) - 1, CONSIGN_TUF_TIMESTAMP, &md),
               CONSIGN_E_INVALID, "signed: 'version' must be an integer, not a non-integer number");
    }
    parse_refused(TS_HEAD "\"version\":\"1\"," TS_META "}", CONSIGN_TUF_TIMESTAMP,
                  CONSIGN_E_INVALID, "'version' must be an integer, not a string");
    parse_refused("{\"_type\":\"timestamp\",\"spec_version\":\"2.0\",\"expires\":\"" FUTURE
                  "\",\"version\":1," TS_META "}",
                  CONSIGN_TUF_TIMESTAMP, CONSIGN_E_INVALID,
                  "spec_version '2.0': only major version 1");
    parse_refused("{\"_type\":\"timestamp\",\"spec_version\":\"1\",\"expires\":\"" FUTURE
                  "\",\"version\":1," TS_META "}",
                  CONSIGN_TUF_TIMESTAMP, CONSIGN_E_INVALID, "is not MAJOR.MINOR[.PATCH]");
    {
        static const char *const bad[] = {"1.0.",    ".1", "1..0", "1.0.0.0",
                                          "1.0-rc1", "",   "1.x",  "1.0000000000"};
        size_t i;
        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            snprintf(text, sizeof(text),
                     "{\"_type\":\"timestamp\",\"spec_version\":\"%s\",\"expires\":\"" FUTURE
                     "\",\"version\":1," TS_META "}",
                     bad[i]);
            parse_refused(text, CONSIGN_TUF_TIMESTAMP, CONSIGN_E_INVALID,
                          "is not MAJOR.MINOR[.PATCH]");
        }
    }
    parse_refused("{\"_type\":\"timestamp\",\"spec_version\":\"1.0\",\"expires\":"
                  "\"2030-01-01T00:00:00+00:00\",\"version\":1," TS_META "}",
                  CONSIGN_TUF_TIMESTAMP, CONSIGN_E_INVALID, "is not a YYYY-MM-DDTHH:MM:SSZ time");
    parse_refused(TS_HEAD "\"version\":1,\"meta\":{}}", CONSIGN_TUF_TIMESTAMP, CONSIGN_E_INVALID,
                  "must describe snapshot.json and nothing else");
    parse_refused(TS_HEAD "\"version\":1,\"meta\":{\"snapshot.json\":{\"version\":1,"
                          "\"hashes\":{\"sha256\":\"abc\"}}}}",
                  CONSIGN_TUF_TIMESTAMP, CONSIGN_E_INVALID, "hashes.sha256: not 64 hex digits");
    parse_refused(TS_HEAD "\"version\":1,\"meta\":{\"snapshot.json\":{\"version\":1,"
                          "\"hashes\":{}}}}",
                  CONSIGN_TUF_TIMESTAMP, CONSIGN_E_INVALID, "hashes: empty");
    parse_refused(TS_HEAD "\"version\":1,\"meta\":{\"snapshot.json\":{\"version\":1,"
                          "\"length\":-1}}}",
                  CONSIGN_TUF_TIMESTAMP, CONSIGN_E_INVALID, "length: -1 is below 0");

    /* Root: a keyid that is not its key's hash; a role without keys; threshold 0. */
    snprintf(text, sizeof(text),
             "{\"_type\":\"root\",\"spec_version\":\"1.0\",\"version\":1,\"expires\":\"" FUTURE
             "\",\"keys\":{\"%s\":%s},\"roles\":{"
             "\"root\":{\"keyids\":[\"%s\"],\"threshold\":1},"
             "\"timestamp\":{\"keyids\":[],\"threshold\":1},"
             "\"snapshot\":{\"keyids\":[],\"threshold\":1},"
             "\"targets\":{\"keyids\":[],\"threshold\":1}}}",
             k_r2.keyid, k_r1.json, k_r2.keyid);
    /* Parsed (real repositories have such keyids), but one key listed under
     * two keyids counts once towards a threshold of 2. */
    {
        struct consign_buf c, f;
        char *sig;
        snprintf(text, sizeof(text),
                 "{\"_type\":\"root\",\"spec_version\":\"1.0\",\"version\":1,\"expires\":\"" FUTURE
                 "\",\"keys\":{\"%s\":%s,\"%s\":%s},\"roles\":{"
                 "\"root\":{\"keyids\":[\"%s\",\"%s\"],\"threshold\":2},"
                 "\"timestamp\":{\"keyids\":[],\"threshold\":1},"
                 "\"snapshot\":{\"keyids\":[],\"threshold\":1},"
                 "\"targets\":{\"keyids\":[],\"threshold\":1}}}",
                 k_r1.keyid, k_r1.json, k_r2.keyid, k_r1.json, k_r1.keyid, k_r2.keyid);
        canonical_of(text, &c);
        sig = sign_hex(&k_r1, c.data, c.len);
        consign_buf_init(&f, 1 << 16);
        assert_int_equal(consign_buf_printf(NULL, &f,
                                            "{\"signatures\":[{\"keyid\":\"%s\",\"sig\":\"%s\"},"
                                            "{\"keyid\":\"%s\",\"sig\":\"%s\"}],\"signed\":%s}",
                                            k_r1.keyid, sig, k_r2.keyid, sig, text),
                         0);
        consign_ctx_init(&ctx, NULL, NULL);
        assert_int_equal(consign_tuf_metadata_parse(&ctx, f.data, f.len, CONSIGN_TUF_ROOT, &md), 0);
        expect(&ctx,
               consign_tuf_verify_role(&ctx, md, md->keys, md->n_keys, &md->roles[CONSIGN_TUF_ROOT],
                                       "twice"),
               CONSIGN_E_BAD_SIGNATURE, "twice: 1 valid signature of the 2 required (0 bad)");
        consign_tuf_metadata_free(md);
        md = NULL;
        free(sig);
        consign_buf_free(&c);
        consign_buf_free(&f);
    }
    snprintf(text, sizeof(text),
             "{\"_type\":\"root\",\"spec_version\":\"1.0\",\"version\":1,\"expires\":\"" FUTURE
             "\",\"keys\":{\"%s\":%s},\"roles\":{"
             "\"root\":{\"keyids\":[\"%s\",\"%s\"],\"threshold\":1},"
             "\"timestamp\":{\"keyids\":[],\"threshold\":1},"
             "\"snapshot\":{\"keyids\":[],\"threshold\":1},"
             "\"targets\":{\"keyids\":[],\"threshold\":1}}}",
             k_r1.keyid, k_r1.json, k_r1.keyid, k_r1.keyid);
    parse_refused(text, CONSIGN_TUF_ROOT, CONSIGN_E_INVALID, "is listed twice");
    snprintf(text, sizeof(text),
             "{\"_type\":\"root\",\"spec_version\":\"1.0\",\"version\":1,\"expires\":\"" FUTURE
             "\",\"keys\":{},\"roles\":{"
             "\"root\":{\"keyids\":[],\"threshold\":0},"
             "\"timestamp\":{\"keyids\":[],\"threshold\":1},"
             "\"snapshot\":{\"keyids\":[],\"threshold\":1},"
             "\"targets\":{\"keyids\":[],\"threshold\":1}}}");
    parse_refused(text, CONSIGN_TUF_ROOT, CONSIGN_E_INVALID, "signed.roles.root.threshold: 0");
    parse_refused("{\"_type\":\"root\",\"spec_version\":\"1.0\",\"version\":1,\"expires\":\"" FUTURE
                  "\",\"keys\":{},\"roles\":{\"root\":{\"keyids\":[],\"threshold\":1}}}",
                  CONSIGN_TUF_ROOT, CONSIGN_E_INVALID, "signed.roles: 'timestamp' is missing");
    /* An unknown key type is kept but never counts. */
    snprintf(text, sizeof(text),
             "{\"keytype\":\"sphincs\",\"keyval\":{\"public\":\"00\"},"
             "\"scheme\":\"sphincs\"}");
    {
        struct consign_buf c;
        char id[65], root[8192];
        canonical_of(text, &c);
        sha256_hex(c.data, c.len, id);
        consign_buf_free(&c);
        snprintf(root, sizeof(root),
                 "{\"_type\":\"root\",\"spec_version\":\"1.0\",\"version\":1,\"expires\":\"" FUTURE
                 "\",\"keys\":{\"%s\":%s},\"roles\":{"
                 "\"root\":{\"keyids\":[\"%s\"],\"threshold\":1},"
                 "\"timestamp\":{\"keyids\":[],\"threshold\":1},"
                 "\"snapshot\":{\"keyids\":[],\"threshold\":1},"
                 "\"targets\":{\"keyids\":[],\"threshold\":1}},\"x-extra\":[1]}",
                 id, text, id);
        assert_int_equal(parse_signed(&ctx, root, CONSIGN_TUF_ROOT, &md), 0);
        assert_int_equal(md->n_keys, 1);
        assert_null(md->keys[0].pkey);
        expect(&ctx,
               consign_tuf_verify_role(&ctx, md, md->keys, md->n_keys, &md->roles[CONSIGN_TUF_ROOT],
                                       "r"),
               CONSIGN_E_UNTRUSTED, "r: not signed by any of the 1 trusted");
        consign_tuf_metadata_free(md);
        md = NULL;
    }

    /* Delegations: both kinds of paths; a top-level name; a name twice. */
    parse_refused(
        "{\"_type\":\"targets\",\"spec_version\":\"1.0\",\"version\":1,\"expires\":\"" FUTURE
        "\",\"targets\":{},\"delegations\":{\"keys\":{},\"roles\":[{\"name\":\"x\","
        "\"keyids\":[],\"threshold\":1,\"terminating\":false,\"paths\":[],"
        "\"path_hash_prefixes\":[]}]}}",
        CONSIGN_TUF_TARGETS, CONSIGN_E_INVALID, "both 'paths' and 'path_hash_prefixes' are set");
    parse_refused(
        "{\"_type\":\"targets\",\"spec_version\":\"1.0\",\"version\":1,\"expires\":\"" FUTURE
        "\",\"targets\":{},\"delegations\":{\"keys\":{},\"roles\":[{\"name\":\"root\","
        "\"keyids\":[],\"threshold\":1,\"terminating\":false,\"paths\":[]}]}}",
        CONSIGN_TUF_TARGETS, CONSIGN_E_INVALID, "may not be named 'root'");
    parse_refused(
        "{\"_type\":\"targets\",\"spec_version\":\"1.0\",\"version\":1,\"expires\":\"" FUTURE
        "\",\"targets\":{},\"delegations\":{\"keys\":{},\"roles\":["
        "{\"name\":\"x\",\"keyids\":[],\"threshold\":1,\"terminating\":false},"
        "{\"name\":\"x\",\"keyids\":[],\"threshold\":1,\"terminating\":true}]}}",
        CONSIGN_TUF_TARGETS, CONSIGN_E_INVALID, "role 'x' is delegated twice");
    parse_refused(
        "{\"_type\":\"targets\",\"spec_version\":\"1.0\",\"version\":1,\"expires\":\"" FUTURE
        "\",\"targets\":{\"f\":{\"length\":1}}}",
        CONSIGN_TUF_TARGETS, CONSIGN_E_INVALID, "signed.targets.f: 'hashes' is missing");
    /* custom is kept as canonical JSON. */
    assert_int_equal(
        parse_signed(
            &ctx,
            "{\"_type\":\"targets\",\"spec_version\":\"1.0\",\"version\":1,\"expires\":\"" FUTURE
            "\",\"targets\":{\"f\":{\"length\":1,\"hashes\":{\"sha256\":\""
            "0000000000000000000000000000000000000000000000000000000000000000\","
            "\"blake2b\":\"00\"},\"custom\":{ \"b\" : 1, \"a\" : [ ] }}}}",
            CONSIGN_TUF_TARGETS, &md),
        0);
    assert_string_equal(md->targets[0].custom, "{\"a\":[],\"b\":1}");
    assert_int_equal(md->targets[0].hashes.n_other, 1);
    consign_tuf_metadata_free(md);

    /* Not metadata at all. */
    consign_ctx_init(&ctx, NULL, NULL);
    md = NULL;
    expect(&ctx, consign_tuf_metadata_parse(&ctx, "[]", 2, CONSIGN_TUF_ROOT, &md),
           CONSIGN_E_INVALID, "not a JSON object");
    expect(&ctx, consign_tuf_metadata_parse(&ctx, "{\"signed\":{}}", 13, CONSIGN_TUF_ROOT, &md),
           CONSIGN_E_INVALID, "metadata: 'signatures' is missing");
    expect(&ctx,
           consign_tuf_metadata_parse(&ctx, "{\"signed\":{},\"signed\":{}}", 25, CONSIGN_TUF_ROOT,
                                      &md),
           CONSIGN_E_INVALID, "duplicate key 'signed'");
    consign_tuf_metadata_free(NULL);
}

static void
test_time_and_paths(void **state)
{
    struct consign_tuf_role role;
    long long t = 0;
    char *paths[] = {"a/*.tgz", "x-?.tgz", "*", "deep/*/f", "st*r*"};

    (void)state;
    assert_int_equal(consign_tuf_parse_time("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(consign_tuf_parse_time("2000-02-29T12:00:01Z", &t), 0);
    assert_int_equal(t, 951825601);
    assert_int_equal(consign_tuf_parse_time("2038-01-19T03:14:08Z", &t), 0);
    assert_int_equal(t, 2147483648LL);
    assert_int_equal(consign_tuf_parse_time("9999-12-31T23:59:59Z", &t), 0);
    assert_int_equal(t, 253402300799LL);
    assert_int_equal(consign_tuf_parse_time("1900-02-29T00:00:00Z", &t), -1);
    assert_int_equal(consign_tuf_parse_time("2001-02-29T00:00:00Z", &t), -1);
    assert_int_equal(consign_tuf_parse_time("2001-13-01T00:00:00Z", &t), -1);
    assert_int_equal(consign_tuf_parse_time("2001-12-01T24:00:00Z", &t), -1);
    assert_int_equal(consign_tuf_parse_time("2001-12-01T23:00:60Z", &t), -1);
    assert_int_equal(consign_tuf_parse_time("2001-12-01T23:00:00", &t), -1);
    assert_int_equal(consign_tuf_parse_time("2001-12-01T23:00:00.5Z", &t), -1);
    assert_int_equal(consign_tuf_parse_time("2001-12-01 23:00:00Z", &t), -1);
    assert_int_equal(consign_tuf_parse_time("+001-12-01T23:00:00Z", &t), -1);

    memset(&role, 0, sizeof(role));
    role.paths = paths;
    role.n_paths = 1;
    assert_true(consign_tuf_role_matches(&role, "a/foo.tgz"));
    assert_false(consign_tuf_role_matches(&role, "a/foo.txt"));
    assert_false(consign_tuf_role_matches(&role, "a/b/foo.tgz")); /* '*' never crosses '/' */
    role.paths = paths + 1;
    assert_true(consign_tuf_role_matches(&role, "x-2.tgz"));
    assert_false(consign_tuf_role_matches(&role, "x-22.tgz"));
    role.paths = paths + 2;
    assert_true(consign_tuf_role_matches(&role, "foo"));
    assert_false(consign_tuf_role_matches(&role, "dir/foo"));
    role.paths = paths + 3;
    assert_true(consign_tuf_role_matches(&role, "deep/x/f"));
    assert_false(consign_tuf_role_matches(&role, "deep/x/y/f"));
    assert_false(consign_tuf_role_matches(&role, "deep/f"));
    role.paths = paths + 4;
    assert_true(consign_tuf_role_matches(&role, "star"));
    assert_true(consign_tuf_role_matches(&role, "stXrY"));
    assert_false(consign_tuf_role_matches(&role, "sta"));
    /* A pattern of many stars against a long name stays quick. */
    {
        static char pat[200], name[4000];
        char *pp[] = {pat};
        memset(pat, 0, sizeof(pat));
        for (size_t i = 0; i < 99; i++) {
            pat[2 * i] = '*';
            pat[2 * i + 1] = 'a';
        }
        pat[198] = 'b';
        memset(name, 'a', sizeof(name) - 1);
        role.paths = pp;
        assert_false(consign_tuf_role_matches(&role, name));
    }
    role.n_paths = 0;
    assert_false(consign_tuf_role_matches(&role, "foo"));
}

/* A delegated role name that is not a file name; a target with only a
 * sha512 hash (its consistent name uses that); custom data. */
static void
test_odd_names(void **state)
{
    const struct consign_tuf_target *t = NULL;
    struct consign_tuf_client *c = NULL;
    char deleg[2048], members[512], h512[129];
    unsigned char md[CONSIGN_HASH_MAX];
    struct consign_ctx ctx;
    struct consign_buf b;
    struct repo r;

    (void)state;
    repo_init(&r, 1);
    repo_root(&r, r.root_keys, 1);
    repo_trust_root(&r);
    snprintf(deleg, sizeof(deleg),
             "{\"keys\":{\"%s\":%s},\"roles\":[{\"name\":\"../we/ird name\",\"keyids\":[\"%s\"],"
             "\"threshold\":1,\"paths\":[\"odd/*\"],\"terminating\":true}]}",
             k_d1.keyid, k_d1.json, k_d1.keyid);
    r.delegations = deleg;
    assert_int_equal(consign_hash_buf(NULL, CONSIGN_HASH_SHA512, "five!", 5, md), 0);
    consign_hex(md, 64, h512);
    snprintf(members, sizeof(members),
             "\"odd/f\":{\"length\":5,\"hashes\":{\"sha512\":\"%s\"},"
             "\"custom\":{\"os\":\"linux\",\"arch\":\"x86_64\"}}",
             h512);
    {
        char path[512];
        snprintf(path, sizeof(path), "%s/targets/odd/%s.f", r.base, h512);
        put_file(path, "five!", 5);
    }
    repo_role(&r, "../we/ird name", 1, &k_d1, members, NULL);
    repo_publish(&r);
    r.delegations = NULL;
    consign_ctx_init(&ctx, NULL, NULL);
    assert_int_equal(client_open(&ctx, &r, NULL, &c), 0);
    if (consign_tuf_client_find_target(&ctx, c, "odd/f", &t))
        fail_msg("%s", consign_err_msg(&ctx));
    assert_string_equal(t->custom, "{\"arch\":\"x86_64\",\"os\":\"linux\"}");
    assert_false(t->hashes.has_sha256);
    consign_buf_init(&b, 0);
    assert_int_equal(consign_tuf_client_download_target(&ctx, c, t, &b), 0);
    assert_int_equal(b.len, 5);
    consign_buf_free(&b);
    consign_tuf_client_free(c);
    {
        char path[256];
        snprintf(path, sizeof(path), "%s/..%%2Fwe%%2Fird%%20name.json", r.client);
        assert_true(consign_is_file(path));
        snprintf(path, sizeof(path), "%s/1...%%2Fwe%%2Fird%%20name.json", r.meta);
        assert_true(consign_is_file(path));
    }
    repo_free(&r);
}

static void
test_fetch_dir(void **state)
{
    struct consign_buf b;

    (void)state;
    consign_buf_init(&b, 100);
    assert_int_equal(consign_tuf_fetch_dir((void *)"/tmp", "../etc/passwd", 100, &b),
                     CONSIGN_E_UNSAFE_PATH);
    assert_int_equal(consign_tuf_fetch_dir((void *)"/tmp", "/etc/passwd", 100, &b),
                     CONSIGN_E_UNSAFE_PATH);
    assert_int_equal(consign_tuf_fetch_dir((void *)"/nonexistent-dir", "x", 100, &b),
                     CONSIGN_E_NOTFOUND);
    consign_buf_free(&b);
}

/* ---- sigstore's root-signing repository ---- */

#define SIGSTORE CONSIGN_FIXTURES "/tuf/sigstore"

static void
sigstore_client(char *base, size_t n)
{
    char cmd[512];
    snprintf(base, n, "/tmp/tuf-sigstore.XXXXXX");
    assert_non_null(mkdtemp(base));
    snprintf(cmd, sizeof(cmd), "cp '%s/client/root.json' '%s/'", SIGSTORE, base);
    assert_int_equal(system(cmd), 0);
}

static void
test_sigstore(void **state)
{
    struct consign_tuf_options o;
    struct consign_tuf_client *c = NULL;
    const struct consign_tuf_target *t = NULL;
    struct consign_ctx ctx;
    struct consign_buf b;
    char base[64], cmd[128];
    long long t0;

    (void)state;
    assert_int_equal(consign_tuf_parse_time("2026-08-22T00:00:00Z", &t0), 0);
    sigstore_client(base, sizeof(base));
    consign_ctx_init(&ctx, NULL, NULL);
    consign_tuf_options_init(&o);
    o.metadata_dir = base;
    o.fetch = consign_tuf_fetch_dir;
    o.fetch_user = (void *)(SIGSTORE "/repo");
    o.now = t0;
    assert_int_equal(consign_tuf_client_new(&ctx, &o, &c), 0);
    assert_int_equal(consign_tuf_client_trusted(c, CONSIGN_TUF_ROOT)->version, 10);
    /* 10 -> 15: ECDSA P-256 keys of type "ecdsa", empty signatures in 12, 13, 14. */
    if (consign_tuf_client_refresh(&ctx, c))
        fail_msg("%s", consign_err_msg(&ctx));
    assert_int_equal(consign_tuf_client_trusted(c, CONSIGN_TUF_ROOT)->version, 15);
    assert_int_equal(consign_tuf_client_trusted(c, CONSIGN_TUF_TIMESTAMP)->version, 762);
    assert_int_equal(consign_tuf_client_trusted(c, CONSIGN_TUF_SNAPSHOT)->version, 165);
    assert_int_equal(consign_tuf_client_trusted(c, CONSIGN_TUF_TARGETS)->version, 14);
    consign_buf_init(&b, 0);
    assert_int_equal(consign_tuf_client_find_target(&ctx, c, "trusted_root.json", &t), 0);
    assert_int_equal(consign_tuf_client_download_target(&ctx, c, t, &b), 0);
    assert_int_equal(b.len, 6787);
    /* Through the terminating delegation to registry.npmjs.org. */
    if (consign_tuf_client_find_target(&ctx, c, "registry.npmjs.org/keys.json", &t))
        fail_msg("%s", consign_err_msg(&ctx));
    assert_int_equal(consign_tuf_client_download_target(&ctx, c, t, &b), 0);
    assert_int_equal(b.len, 2121);
    consign_buf_free(&b);
    consign_tuf_client_free(c);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    assert_int_equal(system(cmd), 0);

    /* A month later the timestamp has expired (root 15 has not). */
    sigstore_client(base, sizeof(base));
    o.metadata_dir = base;
    o.now = t0 + 30 * 86400;
    assert_int_equal(consign_tuf_client_new(&ctx, &o, &c), 0);
    expect(&ctx, consign_tuf_client_refresh(&ctx, c), CONSIGN_E_EXPIRED,
           "tuf: timestamp.json: version 762 expired at 2026-08-28T19:25:56Z");
    assert_int_equal(consign_tuf_client_trusted(c, CONSIGN_TUF_ROOT)->version, 15);
    consign_tuf_client_free(c);
    /* In 2027 root 15 has expired too. */
    o.now = t0 + 365 * 86400;
    assert_int_equal(consign_tuf_client_new(&ctx, &o, &c), 0);
    expect(&ctx, consign_tuf_client_refresh(&ctx, c), CONSIGN_E_EXPIRED,
           "tuf: root.json: version 15 expired at 2026-11-20T13:58:18Z");
    consign_tuf_client_free(c);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    assert_int_equal(system(cmd), 0);
}

/* Root 11 checked by hand against root 10's keys, and a flipped byte. */
static void
test_sigstore_verify(void **state)
{
    struct consign_tuf_metadata *r10 = NULL, *r11 = NULL;
    struct consign_ctx ctx;
    char *d10, *d11;
    size_t l10 = 0, l11 = 0;

    (void)state;
    consign_ctx_init(&ctx, NULL, NULL);
    assert_non_null(d10 = get_file(SIGSTORE "/client/root.json", &l10));
    assert_non_null(d11 = get_file(SIGSTORE "/repo/metadata/11.root.json", &l11));
    assert_int_equal(consign_tuf_metadata_parse(&ctx, d10, l10, CONSIGN_TUF_ROOT, &r10), 0);
    assert_int_equal(consign_tuf_metadata_parse(&ctx, d11, l11, CONSIGN_TUF_ROOT, &r11), 0);
    assert_int_equal(r10->roles[CONSIGN_TUF_ROOT].threshold, 3);
    assert_non_null(r10->keys[0].pkey);
    assert_int_equal(consign_tuf_verify_role(&ctx, r11, r10->keys, r10->n_keys,
                                             &r10->roles[CONSIGN_TUF_ROOT], "11"),
                     0);
    assert_int_equal(consign_tuf_verify_role(&ctx, r11, r11->keys, r11->n_keys,
                                             &r11->roles[CONSIGN_TUF_ROOT], "11"),
                     0);
    /* Root 10 did not sign for timestamp keys: its timestamp role does not accept root 11. */
    assert_int_not_equal(consign_tuf_verify_role(&ctx, r11, r10->keys, r10->n_keys,
                                                 &r10->roles[CONSIGN_TUF_TIMESTAMP], "11"),
                         0);
    consign_tuf_metadata_free(r11);
    r11 = NULL;
    /* "expires" one second later: every signature fails. */
    {
        char *p = strstr(d11, "\"expires\": \"2025-08-05T08:37:20Z\"");
        assert_non_null(p);
        p[strlen("\"expires\": \"2025-08-05T08:37:2")] = '1';
        assert_int_equal(consign_tuf_metadata_parse(&ctx, d11, l11, CONSIGN_TUF_ROOT, &r11), 0);
        expect(&ctx,
               consign_tuf_verify_role(&ctx, r11, r10->keys, r10->n_keys,
                                       &r10->roles[CONSIGN_TUF_ROOT], "11"),
               CONSIGN_E_BAD_SIGNATURE, "11: 0 valid signatures of the 3 required (5 bad)");
    }
    consign_tuf_metadata_free(r10);
    consign_tuf_metadata_free(r11);
    free(d10);
    free(d11);
}

static int
setup(void **state)
{
    size_t i;

    (void)state;
    assert_int_equal(consign_tuf_parse_time(NOW_TEXT, &now), 0);
    for (i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++)
        tkey_make(all_keys[i], all_keys[i] == &k_ec    ? K_ECDSA
                               : all_keys[i] == &k_rsa ? K_RSA
                                                       : K_ED25519);
    return 0;
}

static int
teardown(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++) {
        EVP_PKEY_free(all_keys[i]->pkey);
        free(all_keys[i]->json);
    }
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_happy_consistent),
        cmocka_unit_test(test_happy_plain),
        cmocka_unit_test(test_schemes),
        cmocka_unit_test(test_arbitrary_target),
        cmocka_unit_test(test_wrong_length),
        cmocka_unit_test(test_oversized_metadata),
        cmocka_unit_test(test_target_name_and_path),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_rollback),
        cmocka_unit_test(test_mix_and_match),
        cmocka_unit_test(test_signatures),
        cmocka_unit_test(test_root_chain),
        cmocka_unit_test(test_root_refused),
        cmocka_unit_test(test_root_cap),
        cmocka_unit_test(test_key_rotation),
        cmocka_unit_test(test_delegations),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_time_and_paths),
        cmocka_unit_test(test_odd_names),
        cmocka_unit_test(test_fetch_dir),
        cmocka_unit_test(test_sigstore),
        cmocka_unit_test(test_sigstore_verify),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
