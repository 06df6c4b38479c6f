/* The TUF repository writer: key directory, metadata building and signing,
 * the repository layout and its update order (consign/tufrepo.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "consign/buf.h"
#include "consign/fileio.h"
#include "consign/hash.h"
#include "consign/json.h"
#include "consign/tufrepo.h"

#include "tufrepo_internal.h"

#define SPEC_VERSION  "1.0.31"
#define KEYFILE_MAX   4096
#define MAX_KEYS      256
#define MAX_ROOTS     100000
#define NAME_MAX_LEN  128
#define META_MAX      (64u << 20)
#define ROLE_NAME_MAX 16

static const long long default_expiry[CONSIGN_TUF_NTYPES] = {
    [CONSIGN_TUF_ROOT] = CONSIGN_TUFREPO_ROOT_EXPIRY,
    [CONSIGN_TUF_TIMESTAMP] = CONSIGN_TUFREPO_TIMESTAMP_EXPIRY,
    [CONSIGN_TUF_SNAPSHOT] = CONSIGN_TUFREPO_SNAPSHOT_EXPIRY,
    [CONSIGN_TUF_TARGETS] = CONSIGN_TUFREPO_TARGETS_EXPIRY,
};

/* A private key of KEYDIR/tuf/. */
struct rkey {
    struct consign__tufrepo_sk *sk;
    char pub[65];
    char keyid[65];
    char role[ROLE_NAME_MAX]; /* from the file name: ROLE-....pem */
    char *path;
};

/* Everything a change of the repository works with. */
struct repo {
    const struct consign_tufrepo_options *o;
    long long now;
    char *metadir, *targetsdir, *tufdir;
    int lockfd;
    struct rkey *keys; /* sorted by file name */
    size_t n_keys;
    struct consign_json *root; /* "signed" of the newest root */
    long long root_v, targets_v, snapshot_v, timestamp_v;
    struct consign_json *targets; /* the "targets" member of the newest targets */
};

void
consign_tufrepo_options_init(struct consign_tufrepo_options *o)
{
    memset(o, 0, sizeof(*o));
}

int
consign_tufrepo_role_parse(const char *name, enum consign_tuf_type *out)
{
    int t;

    for (t = 0; t < CONSIGN_TUF_NTYPES; t++) {
        if (strcmp(name, consign_tuf_type_name((enum consign_tuf_type)t)) == 0) {
            *out = (enum consign_tuf_type)t;
            return 0;
        }
    }
    return CONSIGN_E_INVALID;
}

/* ---- small helpers ---- */

static int
resolve_now(struct consign_ctx *ctx, const struct consign_tufrepo_options *o, long long *now)
{
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    unsigned long long v;

    if (o->now > 0) {
        *now = o->now;
        return 0;
    }
    if (sde && *sde) {
        if (consign_parse_u64(sde, 253402300799ULL, &v))
            return consign_fail(ctx, CONSIGN_E_INVALID,
                                "SOURCE_DATE_EPOCH: expected seconds since 1970, got '%.40s'", sde);
        *now = (long long)v;
        return 0;
    }
    *now = (long long)time(NULL);
    return 0;
}

static int
format_time(struct consign_ctx *ctx, long long t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (t < 0 || !gmtime_r(&tt, &tm) || tm.tm_year + 1900 > 9999 ||
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return consign_fail(ctx, CONSIGN_E_INVALID, "time %lld out of range", t);
    return 0;
}

static long long
expiry_of(const struct repo *r, enum consign_tuf_type t)
{
    return r->o->expiry[t] > 0 ? r->o->expiry[t] : default_expiry[t];
}

/* Names that become target path components or custom values. */
static int
check_name(struct consign_ctx *ctx, const char *what, const char *s)
{
    size_t i, n = s ? strlen(s) : 0;

    if (n == 0 || n > NAME_MAX_LEN || s[0] == '.' || s[0] == '-')
        goto bad;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '+' || c == '~' || c == '-'))
            goto bad;
    }
    return 0;
bad:
    return consign_fail(ctx, CONSIGN_E_INVALID,
                        "%s: expected 1 to %d of letters, digits and '._+~-' (not starting with "
                        "'.' or '-'), got '%.80s'",
                        what, NAME_MAX_LEN, s ? s : "");
}

static int
jset(struct consign_ctx *ctx, struct consign_json *obj, const char *key, struct consign_json *v)
{
    if (!v)
        return CONSIGN_E_NOMEM;
    return consign_json_object_set(ctx, obj, key, v);
}

static int
jset_str(struct consign_ctx *ctx, struct consign_json *obj, const char *key, const char *s)
{
    return jset(ctx, obj, key, consign_json_new_string(ctx, s, strlen(s)));
}

static int
jset_int(struct consign_ctx *ctx, struct consign_json *obj, const char *key, long long v)
{
    return jset(ctx, obj, key, consign_json_new_int(ctx, v));
}

static int
jset_time(struct consign_ctx *ctx, struct consign_json *obj, const char *key, long long t)
{
    char buf[32];
    int rc = format_time(ctx, t, buf);
    return rc ? rc : jset_str(ctx, obj, key, buf);
}

/* {"keytype": "ed25519", "keyval": {"public": HEX}, "scheme": "ed25519"} */
static int
key_json(struct consign_ctx *ctx, const char *pub, struct consign_json **out)
{
    struct consign_json *k = NULL, *kv = NULL;
    int rc = 0;

    *out = NULL;
    if (!(k = consign_json_new(ctx, CONSIGN_JSON_OBJECT)) ||
        !(kv = consign_json_new(ctx, CONSIGN_JSON_OBJECT))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = jset_str(ctx, kv, "public", pub)))
        goto out;
    rc = consign_json_object_set(ctx, k, "keyval", kv);
    kv = NULL;
    if (rc || (rc = jset_str(ctx, k, "keytype", "ed25519")) ||
        (rc = jset_str(ctx, k, "scheme", "ed25519")))
        goto out;
    *out = k;
    k = NULL;
out:
    consign_json_free(kv);
    consign_json_free(k);
    return rc;
}

/* The key ID: SHA-256 of the key object's canonical JSON. */
static int
key_id(struct consign_ctx *ctx, const char *pub, char out[65])
{
    struct consign_json *k = NULL;
    struct consign_buf b;
    unsigned char md[CONSIGN_HASH_MAX];
    int rc;

    consign_buf_init(&b, 4096);
    if ((rc = key_json(ctx, pub, &k)) || (rc = consign_json_canonical(ctx, k, &b)) ||
        (rc = consign_hash_buf(ctx, CONSIGN_HASH_SHA256, b.data, b.len, md)))
        goto out;
    consign_hex(md, 32, out);
out:
    consign_json_free(k);
    consign_buf_free(&b);
    return rc;
}

static char *
path_join(struct consign_ctx *ctx, const char *a, const char *b)
{
    return consign_asprintf(ctx, "%s/%s", a, b);
}

/* ---- the key directory ---- */

static void
keys_free(struct repo *r)
{
    size_t i;

    for (i = 0; i < r->n_keys; i++) {
        consign__tufrepo_sk_free(r->keys[i].sk);
        free(r->keys[i].path);
    }
    free(r->keys);
    r->keys = NULL;
    r->n_keys = 0;
}

static int
keys_add(struct consign_ctx *ctx, struct repo *r, struct consign__tufrepo_sk *sk, const char *role,
         char *path)
{
    struct rkey *k, *grown;
    int rc = 0;

    if (r->n_keys >= MAX_KEYS) {
        rc = consign_fail(ctx, CONSIGN_E_TOOBIG, "%s: more than %d keys", r->tufdir, MAX_KEYS);
        goto out;
    }
    if (!(grown = consign_reallocarray(ctx, r->keys, r->n_keys + 1, sizeof(*r->keys)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    r->keys = grown;
    k = &r->keys[r->n_keys];
    memset(k, 0, sizeof(*k));
    snprintf(k->role, sizeof(k->role), "%s", role);
    if ((rc = consign__tufrepo_sk_public_hex(ctx, sk, k->pub)) ||
        (rc = key_id(ctx, k->pub, k->keyid)))
        goto out;
    k->sk = sk;
    k->path = path;
    sk = NULL;
    path = NULL;
    r->n_keys++;
out:
    consign__tufrepo_sk_free(sk);
    free(path);
    return rc;
}

static int
name_cmp(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Load every KEYDIR/tuf/ *.pem (sorted by name). */
static int
keys_load(struct consign_ctx *ctx, struct repo *r)
{
    struct dirent **ents = NULL;
    struct consign__tufrepo_sk *sk = NULL;
    char *path = NULL, *pem = NULL, role[ROLE_NAME_MAX];
    struct stat st;
    size_t len = 0;
    int n, i, rc = 0;

    if (stat(r->tufdir, &st) == 0 && (st.st_mode & 077))
        consign_log(ctx, CONSIGN_LOG_WARN, "%s: mode %03o, readable by others (chmod 700)",
                    r->tufdir, (unsigned)(st.st_mode & 0777));
    n = scandir(r->tufdir, &ents, NULL, name_cmp);
    if (n < 0) {
        rc = errno == ENOENT ? 0 : consign_fail_errno(ctx, errno, "%s", r->tufdir);
        n = 0;
        goto out;
    }
    for (i = 0; i < n; i++) {
        const char *name = ents[i]->d_name, *dash = strchr(name, '-');
        size_t nl = strlen(name);
        if (name[0] == '.' || nl < 5 || strcmp(name + nl - 4, ".pem") != 0)
            continue;
        if (!(path = path_join(ctx, r->tufdir, name))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        if (!consign_is_file(path)) {
            free(path);
            path = NULL;
            continue;
        }
        snprintf(role, sizeof(role), "%.*s",
                 dash && (size_t)(dash - name) < sizeof(role) ? (int)(dash - name) : 0, name);
        if ((rc = consign_file_read(ctx, path, KEYFILE_MAX, &pem, &len)) ||
            (rc = consign__tufrepo_sk_load(ctx, pem, len, path, &sk)))
            goto out;
        explicit_bzero(pem, len);
        free(pem);
        pem = NULL;
        rc = keys_add(ctx, r, sk, role, path);
        sk = NULL;
        path = NULL;
        if (rc)
            goto out;
    }
out:
    if (pem) {
        explicit_bzero(pem, len);
        free(pem);
    }
    consign__tufrepo_sk_free(sk);
    free(path);
    for (i = 0; i < n; i++)
        free(ents[i]);
    free(ents);
    return rc;
}

/* A new key for role, saved as KEYDIR/tuf/ROLE-KEYID16.pem (0600). *idx: its index. */
static int
keys_generate(struct consign_ctx *ctx, struct repo *r, const char *role, size_t *idx)
{
    struct consign__tufrepo_sk *sk = NULL;
    char pub[65], keyid[65], *path = NULL;
    int rc;

    if ((rc = consign__tufrepo_sk_generate(ctx, &sk)) ||
        (rc = consign__tufrepo_sk_public_hex(ctx, sk, pub)) || (rc = key_id(ctx, pub, keyid)))
        goto out;
    if (!(path = consign_asprintf(ctx, "%s/%s-%.16s.pem", r->tufdir, role, keyid))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = consign__tufrepo_sk_save(ctx, sk, path)))
        goto out;
    consign_log(ctx, CONSIGN_LOG_INFO, "new %s key %s", role, keyid);
    *idx = r->n_keys;
    rc = keys_add(ctx, r, sk, role, path);
    sk = NULL;
    path = NULL;
out:
    consign__tufrepo_sk_free(sk);
    free(path);
    return rc;
}

static const struct rkey *
keys_find(const struct repo *r, const char *keyid)
{
    size_t i;

    for (i = 0; i < r->n_keys; i++)
        if (strcmp(r->keys[i].keyid, keyid) == 0)
            return &r->keys[i];
    return NULL;
}

/* ---- opening a repository ---- */

static void
repo_close(struct repo *r)
{
    keys_free(r);
    consign_json_free(r->root);
    consign_json_free(r->targets);
    free(r->metadir);
    free(r->targetsdir);
    free(r->tufdir);
    if (r->lockfd >= 0)
        close(r->lockfd); /* releases the lock */
    r->lockfd = -1;
}

/* Paths, directories, time, the lock and the keys. */
static int
repo_open(struct consign_ctx *ctx, struct repo *r, const struct consign_tufrepo_options *o,
          int create)
{
    char *lock = NULL;
    int rc = 0;

    memset(r, 0, sizeof(*r));
    r->o = o;
    r->lockfd = -1;
    if (!o->keydir || !o->repo) {
        rc = consign_fail(ctx, CONSIGN_E_USAGE, "a key directory and a repository are required");
        goto out;
    }
    if ((rc = resolve_now(ctx, o, &r->now)))
        goto out;
    if (!(r->metadir = path_join(ctx, o->repo, "metadata")) ||
        !(r->targetsdir = path_join(ctx, o->repo, "targets")) ||
        !(r->tufdir = path_join(ctx, o->keydir, "tuf")) ||
        !(lock = path_join(ctx, o->repo, ".lock"))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if (create) {
        if ((rc = consign_mkdirs(ctx, o->repo, 0755)) ||
            (rc = consign_mkdirs(ctx, r->metadir, 0755)) ||
            (rc = consign_mkdirs(ctx, r->targetsdir, 0755)) ||
            (rc = consign_mkdirs(ctx, o->keydir, 0700)) ||
            (rc = consign_mkdirs(ctx, r->tufdir, 0700)))
            goto out;
    } else if (!consign_is_dir(r->metadir)) {
        rc = consign_fail(ctx, CONSIGN_E_NOTFOUND, "%s: not a TUF repository (run 'init' first)",
                          o->repo);
        goto out;
    }
    r->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (r->lockfd < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", lock);
        goto out;
    }
    while (flock(r->lockfd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            rc = consign_fail_errno(ctx, errno, "%s: lock", lock);
            goto out;
        }
    }
    rc = keys_load(ctx, r);
out:
    free(lock);
    return rc;
}

/* Read dir/NAME as metadata of type t. With verify (the pinned root), its
 * signatures must reach the role's threshold. *signed_out: its "signed"
 * member (borrowed from *doc); data (may be NULL): the file's bytes. */
static int
meta_read(struct consign_ctx *ctx, const char *dir, const char *name, enum consign_tuf_type t,
          const struct consign_tuf_metadata *verify, struct consign_json **doc,
          const struct consign_json **signed_out, struct consign_tuf_metadata **md_out,
          char **data_out, size_t *len_out)
{
    struct consign_tuf_metadata *md = NULL;
    char *path = NULL, *data = NULL;
    const struct consign_json *s;
    size_t len = 0;
    int rc;

    *doc = NULL;
    if (!(path = path_join(ctx, dir, name))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = consign_file_read(ctx, path, META_MAX, &data, &len)) ||
        (rc = consign_tuf_metadata_parse(ctx, data, len, t, &md)) ||
        (verify && (rc = consign_tuf_verify_role(ctx, md, verify->keys, verify->n_keys,
                                                 &verify->roles[t], name))) ||
        (rc = consign_json_parse(ctx, data, len, NULL, doc)))
        goto out;
    if (!(s = consign_json_get(*doc, "signed"))) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "no signed object");
        goto out;
    }
    *signed_out = s;
    if (md_out) {
        *md_out = md;
        md = NULL;
    }
    if (data_out) {
        *data_out = data;
        *len_out = len;
        data = NULL;
    }
out:
    if (rc) {
        consign_json_free(*doc);
        *doc = NULL;
        if (path)
            consign_err_context(ctx, rc, "%s", path);
    }
    consign_tuf_metadata_free(md);
    free(data);
    free(path);
    return rc;
}

/* The version a timestamp or snapshot lists for file. */
static int
meta_version(struct consign_ctx *ctx, const struct consign_json *s, const char *file,
             long long *out)
{
    const struct consign_json *v =
        consign_json_get(consign_json_get(consign_json_get(s, "meta"), file), "version");
    if (!v || v->type != CONSIGN_JSON_INT || v->integer < 1)
        return consign_fail(ctx, CONSIGN_E_INVALID, "no version listed for %s", file);
    *out = v->integer;
    return 0;
}

/* The state to build on. The root is the one pinned in KEYDIR/tuf/root.json
 * (written with every root), which must be the repository's newest root, byte
 * for byte; the snapshot and targets files must carry the signatures that
 * root requires, so a tampered repository directory is refused rather than
 * re-signed. */
static int
repo_load(struct consign_ctx *ctx, struct repo *r)
{
    struct consign_json *doc = NULL;
    struct consign_tuf_metadata *pin = NULL;
    const struct consign_json *s = NULL, *t;
    char name[64], *path = NULL, *pdata = NULL, *rdata = NULL;
    size_t plen = 0, rlen = 0;
    long long n;
    int rc = 0;

    if ((rc = meta_read(ctx, r->tufdir, "root.json", CONSIGN_TUF_ROOT, NULL, &doc, &s, &pin, &pdata,
                        &plen)) ||
        (rc = consign_json_dup(ctx, s, &r->root)))
        goto out;
    r->root_v = pin->version;
    consign_json_free(doc);
    doc = NULL;
    for (n = r->root_v; n <= MAX_ROOTS; n++) {
        snprintf(name, sizeof(name), "%lld.root.json", n + 1);
        free(path);
        if (!(path = path_join(ctx, r->metadir, name))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        if (!consign_is_file(path))
            break;
    }
    snprintf(name, sizeof(name), "%lld.root.json", n);
    free(path);
    if (!(path = path_join(ctx, r->metadir, name))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if (consign_file_read(ctx, path, META_MAX, &rdata, &rlen) || n != r->root_v || rlen != plen ||
        memcmp(rdata, pdata, plen) != 0) {
        rc = consign_fail(ctx, CONSIGN_E_MISMATCH,
                          "%s/root.json (version %lld) is not the newest root of %s (version "
                          "%lld): another repository's keys, or a changed repository",
                          r->tufdir, r->root_v, r->o->repo, n);
        goto out;
    }

    if ((rc = meta_read(ctx, r->metadir, "timestamp.json", CONSIGN_TUF_TIMESTAMP, NULL, &doc, &s,
                        NULL, NULL, NULL)))
        goto out;
    r->timestamp_v = consign_json_get(s, "version")->integer;
    if ((rc = meta_version(ctx, s, "snapshot.json", &r->snapshot_v)))
        goto out;
    consign_json_free(doc);
    doc = NULL;

    snprintf(name, sizeof(name), "%lld.snapshot.json", r->snapshot_v);
    if ((rc = meta_read(ctx, r->metadir, name, CONSIGN_TUF_SNAPSHOT, pin, &doc, &s, NULL, NULL,
                        NULL)) ||
        (rc = meta_version(ctx, s, "targets.json", &r->targets_v)))
        goto out;
    consign_json_free(doc);
    doc = NULL;

    snprintf(name, sizeof(name), "%lld.targets.json", r->targets_v);
    if ((rc = meta_read(ctx, r->metadir, name, CONSIGN_TUF_TARGETS, pin, &doc, &s, NULL, NULL,
                        NULL)))
        goto out;
    t = consign_json_get(s, "targets");
    if (!t || t->type != CONSIGN_JSON_OBJECT) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "%s: no targets object", name);
        goto out;
    }
    if ((rc = consign_json_dup(ctx, t, &r->targets)))
        goto out;
    if (pin->expires < r->now + 30 * 86400)
        consign_log(ctx, CONSIGN_LOG_WARN,
                    "root version %lld expires in less than 30 days: rotate a key to renew it",
                    r->root_v);
out:
    consign_tuf_metadata_free(pin);
    consign_json_free(doc);
    free(pdata);
    free(rdata);
    free(path);
    return rc;
}

/* ---- signing and writing ---- */

/* The role's key IDs and threshold in the root being written. */
static int
role_of(struct consign_ctx *ctx, const struct consign_json *root, enum consign_tuf_type t,
        const struct consign_json **keyids, long long *threshold)
{
    const struct consign_json *role =
        consign_json_get(consign_json_get(root, "roles"), consign_tuf_type_name(t));
    const struct consign_json *thr = consign_json_get(role, "threshold");

    *keyids = consign_json_get(role, "keyids");
    if (!*keyids || (*keyids)->type != CONSIGN_JSON_ARRAY || !thr ||
        thr->type != CONSIGN_JSON_INT || thr->integer < 1)
        return consign_fail(ctx, CONSIGN_E_INVALID, "root: bad %s role", consign_tuf_type_name(t));
    *threshold = thr->integer;
    return 0;
}

/* Add the keys of role t in root that we hold to signers (no duplicates);
 * CONSIGN_E_KEY when fewer than its threshold. */
static int
collect_signers(struct consign_ctx *ctx, const struct repo *r, const struct consign_json *root,
                enum consign_tuf_type t, const struct rkey **signers, size_t *n, size_t max)
{
    const struct consign_json *ids;
    long long thr, have = 0;
    size_t i, j;
    int rc;

    if ((rc = role_of(ctx, root, t, &ids, &thr)))
        return rc;
    for (i = 0; i < ids->count; i++) {
        const char *id = consign_json_str(ids->items[i]);
        const struct rkey *k = id ? keys_find(r, id) : NULL;
        if (!k)
            continue;
        have++;
        for (j = 0; j < *n && signers[j] != k; j++)
            ;
        if (j == *n && *n < max)
            signers[(*n)++] = k;
    }
    if (have < thr)
        return consign_fail(ctx, CONSIGN_E_KEY,
                            "%s: %lld of the %s role's keys found, its threshold is %lld",
                            r->tufdir, have, consign_tuf_type_name(t), thr);
    return 0;
}

static int
signer_cmp(const void *a, const void *b)
{
    return strcmp((*(const struct rkey *const *)a)->keyid, (*(const struct rkey *const *)b)->keyid);
}

/* Sign sig (its canonical JSON) with signers and write each of names in
 * metadata/ (the same bytes). */
static int
write_signed(struct consign_ctx *ctx, const struct repo *r, const struct consign_json *sig,
             const struct rkey **signers, size_t n, const char *const *names, size_t n_names)
{
    struct consign_buf canon, file;
    unsigned char s[CONSIGN_TUFREPO_SIG_LEN];
    char hex[2 * CONSIGN_TUFREPO_SIG_LEN + 1], *path = NULL;
    size_t i;
    int rc;

    consign_buf_init(&canon, META_MAX);
    consign_buf_init(&file, META_MAX);
    qsort(signers, n, sizeof(*signers), signer_cmp);
    if ((rc = consign_json_canonical(ctx, sig, &canon)) ||
        (rc = consign_buf_puts(ctx, &file, "{\"signatures\":[")))
        goto out;
    for (i = 0; i < n; i++) {
        if ((rc = consign__tufrepo_sk_sign(ctx, signers[i]->sk, canon.data, canon.len, s)))
            goto out;
        consign_hex(s, sizeof(s), hex);
        if ((rc = consign_buf_printf(ctx, &file, "%s{\"keyid\":\"%s\",\"sig\":\"%s\"}",
                                     i ? "," : "", signers[i]->keyid, hex)))
            goto out;
    }
    /* "signatures" < "signed": this is the envelope's canonical form too. */
    if ((rc = consign_buf_puts(ctx, &file, "],\"signed\":")) ||
        (rc = consign_buf_append(ctx, &file, canon.data, canon.len)) ||
        (rc = consign_buf_puts(ctx, &file, "}")))
        goto out;
    for (i = 0; i < n_names; i++) {
        free(path);
        if (!(path = path_join(ctx, r->metadir, names[i]))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        if ((rc = consign_file_write_atomic(ctx, path, file.data, file.len, 0644)))
            goto out;
    }
out:
    free(path);
    consign_buf_free(&canon);
    consign_buf_free(&file);
    return rc;
}

/* {"_type": type, "spec_version", "version", "expires"} */
static int
signed_new(struct consign_ctx *ctx, const struct repo *r, enum consign_tuf_type t,
           long long version, struct consign_json **out)
{
    struct consign_json *s = consign_json_new(ctx, CONSIGN_JSON_OBJECT);
    int rc;

    *out = NULL;
    if (!s)
        return CONSIGN_E_NOMEM;
    if ((rc = jset_str(ctx, s, "_type", consign_tuf_type_name(t))) ||
        (rc = jset_str(ctx, s, "spec_version", SPEC_VERSION)) ||
        (rc = jset_int(ctx, s, "version", version)) ||
        (rc = jset_time(ctx, s, "expires", r->now + expiry_of(r, t)))) {
        consign_json_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* Sign with role t's keys of the current root. */
static int
write_role(struct consign_ctx *ctx, struct repo *r, enum consign_tuf_type t,
           const struct consign_json *s, const char *name)
{
    const struct rkey *signers[MAX_KEYS];
    size_t n = 0;
    int rc;

    if ((rc = collect_signers(ctx, r, r->root, t, signers, &n, MAX_KEYS)))
        return rc;
    return write_signed(ctx, r, s, signers, n, &name, 1);
}

/* {"version", "length", "hashes": {"sha256"}} of metadata/NAME. */
static int
meta_entry(struct consign_ctx *ctx, const struct repo *r, const char *name, long long version,
           struct consign_json **out)
{
    struct consign_json *e = NULL, *h = NULL;
    unsigned char md[CONSIGN_HASH_MAX];
    unsigned long long size = 0;
    char hex[65], *path = NULL;
    int rc;

    *out = NULL;
    if (!(path = path_join(ctx, r->metadir, name)) ||
        !(e = consign_json_new(ctx, CONSIGN_JSON_OBJECT)) ||
        !(h = consign_json_new(ctx, CONSIGN_JSON_OBJECT))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = consign_hash_file(ctx, CONSIGN_HASH_SHA256, path, md, &size)))
        goto out;
    consign_hex(md, 32, hex);
    if ((rc = jset_str(ctx, h, "sha256", hex)))
        goto out;
    rc = consign_json_object_set(ctx, e, "hashes", h);
    h = NULL;
    if (rc || (rc = jset_int(ctx, e, "length", (long long)size)) ||
        (rc = jset_int(ctx, e, "version", version)))
        goto out;
    *out = e;
    e = NULL;
out:
    consign_json_free(h);
    consign_json_free(e);
    free(path);
    return rc;
}

static int
write_targets(struct consign_ctx *ctx, struct repo *r)
{
    struct consign_json *s = NULL, *t = NULL;
    char name[64];
    int rc;

    snprintf(name, sizeof(name), "%lld.targets.json", r->targets_v + 1);
    if ((rc = signed_new(ctx, r, CONSIGN_TUF_TARGETS, r->targets_v + 1, &s)) ||
        (rc = consign_json_dup(ctx, r->targets, &t)))
        goto out;
    rc = consign_json_object_set(ctx, s, "targets", t);
    if (rc || (rc = write_role(ctx, r, CONSIGN_TUF_TARGETS, s, name)))
        goto out;
    r->targets_v++;
out:
    consign_json_free(s);
    return rc;
}

/* A snapshot or timestamp: "meta": {file: entry of metadata/source}. */
static int
write_meta_role(struct consign_ctx *ctx, struct repo *r, enum consign_tuf_type t)
{
    int snap = t == CONSIGN_TUF_SNAPSHOT;
    long long version = snap ? r->snapshot_v + 1 : r->timestamp_v + 1;
    long long listed = snap ? r->targets_v : r->snapshot_v;
    struct consign_json *s = NULL, *meta = NULL, *e = NULL;
    char name[64], source[64];
    int rc;

    if (snap) {
        snprintf(name, sizeof(name), "%lld.snapshot.json", version);
        snprintf(source, sizeof(source), "%lld.targets.json", listed);
    } else {
        snprintf(name, sizeof(name), "timestamp.json");
        snprintf(source, sizeof(source), "%lld.snapshot.json", listed);
    }
    if ((rc = signed_new(ctx, r, t, version, &s)))
        goto out;
    if (!(meta = consign_json_new(ctx, CONSIGN_JSON_OBJECT))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = meta_entry(ctx, r, source, listed, &e)))
        goto out;
    rc = consign_json_object_set(ctx, meta, snap ? "targets.json" : "snapshot.json", e);
    e = NULL;
    if (rc)
        goto out;
    rc = consign_json_object_set(ctx, s, "meta", meta);
    meta = NULL;
    if (rc || (rc = write_role(ctx, r, t, s, name)))
        goto out;
    if (snap)
        r->snapshot_v = version;
    else
        r->timestamp_v = version;
out:
    consign_json_free(e);
    consign_json_free(meta);
    consign_json_free(s);
    return rc;
}

/* Targets (when asked), then snapshot, then timestamp: a timestamp only
 * ever names files that exist. */
static int
write_chain(struct consign_ctx *ctx, struct repo *r, int targets)
{
    int rc = 0;

    if (targets && (rc = write_targets(ctx, r)))
        return rc;
    if ((rc = write_meta_role(ctx, r, CONSIGN_TUF_SNAPSHOT)))
        return rc;
    return write_meta_role(ctx, r, CONSIGN_TUF_TIMESTAMP);
}

/* Write r->root as N.root.json and root.json, signed by the keys of
 * prev's root role (when prev is not NULL) and of its own. */
static int
write_root(struct consign_ctx *ctx, struct repo *r, const struct consign_json *prev)
{
    const struct rkey *signers[2 * MAX_KEYS];
    const char *names[2];
    char name[64];
    size_t n = 0;
    int rc;

    snprintf(name, sizeof(name), "%lld.root.json", r->root_v);
    names[0] = name;
    names[1] = "root.json";
    if (prev && (rc = collect_signers(ctx, r, prev, CONSIGN_TUF_ROOT, signers, &n, 2 * MAX_KEYS)))
        return consign_err_context(ctx, rc, "the trusted root (version %lld)", r->root_v - 1);
    if ((rc = collect_signers(ctx, r, r->root, CONSIGN_TUF_ROOT, signers, &n, 2 * MAX_KEYS)))
        return rc;
    return write_signed(ctx, r, r->root, signers, n, names, 2);
}

/* The pinned copy of the newest root, written after the repository's. */
static int
pin_root(struct consign_ctx *ctx, struct repo *r)
{
    char name[64], *from = NULL, *to = NULL, *data = NULL;
    size_t len = 0;
    int rc;

    snprintf(name, sizeof(name), "%lld.root.json", r->root_v);
    if (!(from = path_join(ctx, r->metadir, name)) ||
        !(to = path_join(ctx, r->tufdir, "root.json"))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = consign_file_read(ctx, from, META_MAX, &data, &len)))
        goto out;
    rc = consign_file_write_atomic(ctx, to, data, len, 0644);
out:
    free(data);
    free(from);
    free(to);
    return rc;
}

/* roles[t] = {"keyids": ids of keys idx[0..n), "threshold": thr}, each key
 * added to "keys". */
static int
root_set_role(struct consign_ctx *ctx, struct repo *r, struct consign_json *root,
              enum consign_tuf_type t, const size_t *idx, size_t n, long long thr)
{
    struct consign_json *keys = (struct consign_json *)consign_json_get(root, "keys");
    struct consign_json *roles = (struct consign_json *)consign_json_get(root, "roles");
    struct consign_json *role = NULL, *ids = NULL, *k = NULL;
    size_t i;
    int rc = 0;

    if (!keys || !roles) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "root: no keys or roles");
        goto out;
    }
    if (!(role = consign_json_new(ctx, CONSIGN_JSON_OBJECT)) ||
        !(ids = consign_json_new(ctx, CONSIGN_JSON_ARRAY))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    for (i = 0; i < n; i++) {
        const struct rkey *key = &r->keys[idx[i]];
        if ((rc = consign_json_array_append(
                 ctx, ids, consign_json_new_string(ctx, key->keyid, strlen(key->keyid)))) ||
            (rc = key_json(ctx, key->pub, &k)))
            goto out;
        rc = consign_json_object_set(ctx, keys, key->keyid, k);
        k = NULL;
        if (rc)
            goto out;
    }
    rc = consign_json_object_set(ctx, role, "keyids", ids);
    ids = NULL;
    if (rc || (rc = jset_int(ctx, role, "threshold", thr)))
        goto out;
    rc = consign_json_object_set(ctx, roles, consign_tuf_type_name(t), role);
    role = NULL;
out:
    consign_json_free(k);
    consign_json_free(ids);
    consign_json_free(role);
    return rc;
}

/* Drop the "keys" no role lists any more. */
static int
root_prune_keys(struct consign_ctx *ctx, struct consign_json *root)
{
    struct consign_json *keys = (struct consign_json *)consign_json_get(root, "keys");
    size_t i = 0, j;
    int t, used, rc;

    while (keys && i < keys->count) {
        used = 0;
        for (t = 0; t < CONSIGN_TUF_NTYPES && !used; t++) {
            const struct consign_json *ids = NULL;
            long long thr;
            if ((rc = role_of(ctx, root, (enum consign_tuf_type)t, &ids, &thr)))
                return rc;
            for (j = 0; j < ids->count && !used; j++)
                used = consign_json_str(ids->items[j]) &&
                       strcmp(consign_json_str(ids->items[j]), keys->members[i].key) == 0;
        }
        if (used)
            i++;
        else if ((rc = consign_json_object_remove(ctx, keys, keys->members[i].key)))
            return rc;
    }
    return 0;
}

/* ---- the operations ---- */

static int
check_root_keys(struct consign_ctx *ctx, unsigned n, unsigned thr)
{
    if (n < 1 || n > CONSIGN_TUFREPO_MAX_ROOT_KEYS || thr < 1 || thr > n)
        return consign_fail(ctx, CONSIGN_E_INVALID,
                            "root: %u keys with threshold %u (1 <= threshold <= keys <= %d)", n,
                            thr, CONSIGN_TUFREPO_MAX_ROOT_KEYS);
    return 0;
}

int
consign_tufrepo_init(struct consign_ctx *ctx, const struct consign_tufrepo_options *o)
{
    unsigned n_root = o->root_keys ? o->root_keys : 1;
    unsigned thr = o->root_threshold ? o->root_threshold : 1;
    size_t idx[CONSIGN_TUFREPO_MAX_ROOT_KEYS], n, i, nk;
    struct repo r;
    char *first = NULL;
    int t, rc;

    memset(&r, 0, sizeof(r));
    r.lockfd = -1;
    if ((rc = check_root_keys(ctx, n_root, thr)) || (rc = repo_open(ctx, &r, o, 1)))
        goto out;
    if (!(first = path_join(ctx, r.metadir, "1.root.json"))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if (consign_is_file(first)) {
        rc = consign_fail(ctx, CONSIGN_E_EXISTS, "%s: already a TUF repository", o->repo);
        goto out;
    }
    free(first);
    if (!(first = path_join(ctx, r.tufdir, "root.json"))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if (consign_is_file(first))
        consign_log(ctx, CONSIGN_LOG_WARN,
                    "%s: the key directory served another repository; it now belongs to %s",
                    o->keydir, o->repo);
    r.root_v = 1;
    if (!(r.root = consign_json_new(ctx, CONSIGN_JSON_OBJECT)) ||
        !(r.targets = consign_json_new(ctx, CONSIGN_JSON_OBJECT))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = jset_str(ctx, r.root, "_type", "root")) ||
        (rc = jset_str(ctx, r.root, "spec_version", SPEC_VERSION)) ||
        (rc = jset_int(ctx, r.root, "version", 1)) ||
        (rc = jset_time(ctx, r.root, "expires", r.now + expiry_of(&r, CONSIGN_TUF_ROOT))) ||
        (rc = jset(ctx, r.root, "consistent_snapshot", consign_json_new_bool(ctx, 1))) ||
        (rc = jset(ctx, r.root, "keys", consign_json_new(ctx, CONSIGN_JSON_OBJECT))) ||
        (rc = jset(ctx, r.root, "roles", consign_json_new(ctx, CONSIGN_JSON_OBJECT))))
        goto out;
    /* Reuse the keys the directory has for each role (by file name), make the rest. */
    for (t = 0; t < CONSIGN_TUF_NTYPES; t++) {
        const char *role = consign_tuf_type_name((enum consign_tuf_type)t);
        size_t want = t == CONSIGN_TUF_ROOT ? n_root : 1;
        nk = r.n_keys;
        for (i = 0, n = 0; i < nk && n < want; i++)
            if (strcmp(r.keys[i].role, role) == 0)
                idx[n++] = i;
        while (n < want)
            if ((rc = keys_generate(ctx, &r, role, &idx[n++])))
                goto out;
        if ((rc = root_set_role(ctx, &r, r.root, (enum consign_tuf_type)t, idx, n,
                                t == CONSIGN_TUF_ROOT ? thr : 1)))
            goto out;
    }
    /* Targets, snapshot, timestamp, and root last: a half-made repository
     * has no 1.root.json and can be initialised again. */
    if ((rc = write_chain(ctx, &r, 1)) || (rc = write_root(ctx, &r, NULL)) ||
        (rc = pin_root(ctx, &r)))
        goto out;
out:
    free(first);
    repo_close(&r);
    return rc;
}

/* Put file in targets/DIR/HASH.BASE through a temporary file, hashing the
 * copy itself; out: the hex SHA-256 and length. */
struct copy_state {
    const char *src;
    struct consign_hash *h;
    int fd;
};

static int
copy_block(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    struct copy_state *cs = user;
    int rc = consign_hash_update(ctx, cs->h, p, n);
    return rc ? rc : consign_write_all(ctx, cs->fd, p, n, "target copy");
}

static int
copy_writer(struct consign_ctx *ctx, int fd, void *user)
{
    struct copy_state *cs = user;
    cs->fd = fd;
    return consign_file_stream(ctx, cs->src, copy_block, cs, NULL);
}

static int
add_target(struct consign_ctx *ctx, struct repo *r, const struct consign_tufrepo_release *rel,
           const struct consign_tufrepo_artifact *a, struct consign_json *custom)
{
    const char *os = a->os ? a->os : "linux", *slash = strrchr(a->file, '/');
    const char *base = slash ? slash + 1 : a->file;
    struct copy_state cs = {a->file, NULL, -1};
    struct consign_json *e = NULL, *h = NULL, *c = NULL;
    char *dir = NULL, *tmp = NULL, *final = NULL, *tpath = NULL, hex[65];
    unsigned char md[CONSIGN_HASH_MAX];
    struct stat st;
    int rc;

    if ((rc = check_name(ctx, "os", os)) || (rc = check_name(ctx, "arch", a->arch)) ||
        (rc = check_name(ctx, "artifact file name", base)))
        goto out;
    if (!(tpath = consign_asprintf(ctx, "%s/%s/%s-%s/%s", rel->product, rel->version, os, a->arch,
                                   base)) ||
        !(dir = consign_asprintf(ctx, "%s/%s/%s/%s-%s", r->targetsdir, rel->product, rel->version,
                                 os, a->arch)) ||
        !(tmp = consign_asprintf(ctx, "%s/.incoming.%s", dir, base))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = consign_mkdirs(ctx, dir, 0755)) ||
        (rc = consign_hash_new(ctx, CONSIGN_HASH_SHA256, &cs.h)) ||
        (rc = consign_file_write_atomic_with(ctx, tmp, 0644, copy_writer, &cs)) ||
        (rc = consign_hash_final(ctx, cs.h, md)))
        goto out;
    consign_hex(md, 32, hex);
    if (!(final = consign_asprintf(ctx, "%s/%s.%s", dir, hex, base))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if (stat(tmp, &st) < 0 || rename(tmp, final) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", final);
        goto out;
    }
    if (!(e = consign_json_new(ctx, CONSIGN_JSON_OBJECT)) ||
        !(h = consign_json_new(ctx, CONSIGN_JSON_OBJECT))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = jset_str(ctx, h, "sha256", hex)))
        goto out;
    rc = consign_json_object_set(ctx, e, "hashes", h);
    h = NULL;
    if (rc || (rc = jset_int(ctx, e, "length", (long long)st.st_size)) ||
        (rc = consign_json_dup(ctx, custom, &c)))
        goto out;
    if (a->patch) {
        const struct consign_tufrepo_patch *p = a->patch;
        struct consign_json *pj = consign_json_new(ctx, CONSIGN_JSON_OBJECT);
        if (!pj) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        if ((rc = jset_str(ctx, pj, "from_version", p->from_version)) ||
            (rc = jset_str(ctx, pj, "from_sha256", p->from_sha256)) ||
            (rc = jset_int(ctx, pj, "from_length", p->from_length)) ||
            (rc = jset_str(ctx, pj, "install_version", p->install_version)) ||
            (rc = jset_str(ctx, pj, "sha256", p->sha256)) ||
            (rc = jset_int(ctx, pj, "length", p->length)) ||
            (rc = jset_str(ctx, pj, "signer", p->signer))) {
            consign_json_free(pj);
            goto out;
        }
        if ((rc = consign_json_object_set(ctx, c, "patch", pj)))
            goto out;
    }
    rc = consign_json_object_set(ctx, e, "custom", c);
    c = NULL;
    if (rc)
        goto out;
    rc = consign_json_object_set(ctx, r->targets, tpath, e);
    e = NULL;
    if (!rc)
        consign_log(ctx, CONSIGN_LOG_INFO, "target %s (%lld bytes)", tpath, (long long)st.st_size);
out:
    if (tmp)
        unlink(tmp);
    consign_hash_free(cs.h);
    consign_json_free(c);
    consign_json_free(h);
    consign_json_free(e);
    free(tpath);
    free(dir);
    free(tmp);
    free(final);
    return rc;
}

int
consign_tufrepo_publish(struct consign_ctx *ctx, const struct consign_tufrepo_options *o,
                        const struct consign_tufrepo_release *rel)
{
    const char *channel = rel->channel ? rel->channel : "stable";
    struct consign_json *custom = NULL;
    struct repo r;
    size_t i, j;
    int rc;

    memset(&r, 0, sizeof(r));
    r.lockfd = -1;
    if ((rc = check_name(ctx, "product", rel->product)) ||
        (rc = check_name(ctx, "version", rel->version)) ||
        (rc = check_name(ctx, "channel", channel)) ||
        (rel->min_version && (rc = check_name(ctx, "min_version", rel->min_version))))
        goto out;
    if (rel->rollout < 0 || rel->rollout > 100) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "rollout: expected 0 to 100, got %d",
                          rel->rollout);
        goto out;
    }
    if (rel->n_artifacts == 0) {
        rc = consign_fail(ctx, CONSIGN_E_USAGE, "no artifact to publish");
        goto out;
    }
    for (i = 0; i < rel->n_artifacts; i++) {
        const struct consign_tufrepo_artifact *a = &rel->artifacts[i];
        if (!a->file || !a->arch) {
            rc = consign_fail(ctx, CONSIGN_E_USAGE, "artifact %zu: a file and an arch are required",
                              i + 1);
            goto out;
        }
        for (j = 0; j < i; j++) {
            const struct consign_tufrepo_artifact *b = &rel->artifacts[j];
            const char *ba = strrchr(a->file, '/'), *bb = strrchr(b->file, '/');
            if (strcmp(a->os ? a->os : "linux", b->os ? b->os : "linux") == 0 &&
                strcmp(a->arch, b->arch) == 0 &&
                strcmp(ba ? ba + 1 : a->file, bb ? bb + 1 : b->file) == 0) {
                rc = consign_fail(ctx, CONSIGN_E_INVALID, "%s and %s: the same target", b->file,
                                  a->file);
                goto out;
            }
        }
    }
    if (!(custom = consign_json_new(ctx, CONSIGN_JSON_OBJECT))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = jset_str(ctx, custom, "version", rel->version)) ||
        (rc = jset_str(ctx, custom, "channel", channel)) ||
        (rc = jset_int(ctx, custom, "rollout", rel->rollout)) ||
        (rel->min_version && (rc = jset_str(ctx, custom, "min_version", rel->min_version))))
        goto out;
    if ((rc = repo_open(ctx, &r, o, 0)) || (rc = repo_load(ctx, &r)))
        goto out;
    for (i = 0; i < rel->n_artifacts; i++)
        if ((rc = add_target(ctx, &r, rel, &rel->artifacts[i], custom)))
            goto out;
    rc = write_chain(ctx, &r, 1);
out:
    consign_json_free(custom);
    repo_close(&r);
    return rc;
}

int
consign_tufrepo_refresh_timestamp(struct consign_ctx *ctx, const struct consign_tufrepo_options *o)
{
    struct repo r;
    int rc;

    if ((rc = repo_open(ctx, &r, o, 0)) || (rc = repo_load(ctx, &r)))
        goto out;
    rc = write_meta_role(ctx, &r, CONSIGN_TUF_TIMESTAMP);
out:
    repo_close(&r);
    return rc;
}

/* Move a replaced key's file to KEYDIR/tuf/retired/. */
static int
retire_key(struct consign_ctx *ctx, const struct repo *r, const struct rkey *k)
{
    const char *base = strrchr(k->path, '/');
    char *dir = NULL, *dst = NULL;
    int rc = 0;

    if (!(dir = path_join(ctx, r->tufdir, "retired")) ||
        !(dst = path_join(ctx, dir, base ? base + 1 : k->path))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = consign_mkdirs(ctx, dir, 0700)))
        goto out;
    if (rename(k->path, dst) < 0)
        rc = consign_fail_errno(ctx, errno, "%s", dst);
out:
    free(dir);
    free(dst);
    return rc;
}

int
consign_tufrepo_rotate(struct consign_ctx *ctx, const struct consign_tufrepo_options *o,
                       enum consign_tuf_type role, long long *new_version)
{
    size_t idx[CONSIGN_TUFREPO_MAX_ROOT_KEYS], n = 0, i;
    struct consign_json *prev = NULL;
    const struct consign_json *old_ids = NULL;
    long long old_thr = 0;
    unsigned want, thr;
    struct repo r;
    int rc;

    if ((rc = repo_open(ctx, &r, o, 0)) || (rc = repo_load(ctx, &r)) ||
        (rc = consign_json_dup(ctx, r.root, &prev)) ||
        (rc = role_of(ctx, prev, role, &old_ids, &old_thr)))
        goto out;
    want = role != CONSIGN_TUF_ROOT ? 1 : o->root_keys ? o->root_keys : (unsigned)old_ids->count;
    thr = role != CONSIGN_TUF_ROOT     ? 1
          : o->root_threshold          ? o->root_threshold
          : old_thr <= (long long)want ? (unsigned)old_thr
                                       : want;
    if ((rc = check_root_keys(ctx, want, thr)))
        goto out;
    /* The new root: the old one with the role's new keys, version N+1. */
    for (n = 0; n < want; n++)
        if ((rc = keys_generate(ctx, &r, consign_tuf_type_name(role), &idx[n])))
            goto out;
    r.root_v++;
    if ((rc = jset_int(ctx, r.root, "version", r.root_v)) ||
        (rc = jset_time(ctx, r.root, "expires", r.now + expiry_of(&r, CONSIGN_TUF_ROOT))) ||
        (rc = root_set_role(ctx, &r, r.root, role, idx, n, thr)) ||
        (rc = root_prune_keys(ctx, r.root)))
        goto out;
    /* Re-sign what the new keys cover: new targets and snapshot versions
     * first (nothing names them yet; clients take the new root before them),
     * then the root, then the timestamp. */
    if ((role == CONSIGN_TUF_TARGETS && (rc = write_targets(ctx, &r))) ||
        ((role == CONSIGN_TUF_TARGETS || role == CONSIGN_TUF_SNAPSHOT) &&
         (rc = write_meta_role(ctx, &r, CONSIGN_TUF_SNAPSHOT))) ||
        (rc = write_root(ctx, &r, prev)) || (rc = pin_root(ctx, &r)) ||
        (role != CONSIGN_TUF_ROOT && (rc = write_meta_role(ctx, &r, CONSIGN_TUF_TIMESTAMP))))
        goto out;
    /* The old keys of the role that no role uses now. */
    for (i = 0; i < old_ids->count; i++) {
        const char *id = consign_json_str(old_ids->items[i]);
        const struct rkey *k = id ? keys_find(&r, id) : NULL;
        if (k && !consign_json_get(consign_json_get(r.root, "keys"), id) &&
            (rc = retire_key(ctx, &r, k)))
            goto out;
    }
    if (new_version)
        *new_version = r.root_v;
out:
    consign_json_free(prev);
    repo_close(&r);
    return rc;
}
