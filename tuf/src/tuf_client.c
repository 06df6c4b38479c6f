/* The TUF client workflow (specification section 5) over a fetch callback
 * and a local directory of trusted metadata. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "consign/buf.h"
#include "consign/fileio.h"
#include "consign/path.h"
#include "consign/tuf.h"
#include "tuf_internal.h"

#define DEFAULT_ROOT_MAX        512000
#define DEFAULT_TIMESTAMP_MAX   16384
#define DEFAULT_SNAPSHOT_MAX    2000000
#define DEFAULT_TARGETS_MAX     5000000
#define DEFAULT_TARGET_FILE_MAX (1u << 30)
#define DEFAULT_ROOT_ROTATIONS  32
#define DEFAULT_DELEGATIONS     32
#define ROLE_NAME_MAX           255

/* A delegated targets role loaded in this session. */
struct loaded_role {
    char *name;
    struct consign_tuf_metadata *md;
};

struct consign_tuf_client {
    char *dir;
    consign_tuf_fetch_fn fetch;
    void *fetch_user;
    long long fixed_now; /* from the options; 0: the clock */
    long long now;       /* this update's fixed start time */
    int started;         /* now is set */
    int refreshed;
    char *meta_prefix, *targets_prefix;
    struct consign_tuf_limits lim;
    struct consign_tuf_metadata *trusted[CONSIGN_TUF_NTYPES];
    struct loaded_role *roles;
    size_t n_roles, cap_roles;
};

void
consign_tuf_options_init(struct consign_tuf_options *o)
{
    memset(o, 0, sizeof(*o));
    o->metadata_prefix = "metadata/";
    o->targets_prefix = "targets/";
}

static void
drop_roles(struct consign_tuf_client *c)
{
    size_t i;

    for (i = 0; i < c->n_roles; i++) {
        free(c->roles[i].name);
        consign_tuf_metadata_free(c->roles[i].md);
    }
    c->n_roles = 0;
}

void
consign_tuf_client_free(struct consign_tuf_client *c)
{
    size_t i;

    if (!c)
        return;
    drop_roles(c);
    free(c->roles);
    for (i = 0; i < CONSIGN_TUF_NTYPES; i++)
        consign_tuf_metadata_free(c->trusted[i]);
    free(c->dir);
    free(c->meta_prefix);
    free(c->targets_prefix);
    free(c);
}

const struct consign_tuf_metadata *
consign_tuf_client_trusted(const struct consign_tuf_client *c, enum consign_tuf_type type)
{
    return (unsigned)type < CONSIGN_TUF_NTYPES ? c->trusted[type] : NULL;
}

/* ---- files ---- */

/* A role name as one file name component, for the request and the local
 * copy alike: [A-Za-z0-9._~-] kept, every other byte percent-encoded (as
 * URL quoting does it, so "../x" is "..%2Fx"), then ".json": never "." or
 * "..", never a '/'. Names are bounded, so this is too. */
static int
role_file(struct consign_ctx *ctx, const char *name, char **out)
{
    static const char hex[] = "0123456789ABCDEF";
    struct consign_buf b;
    const unsigned char *p;
    int rc = 0;

    *out = NULL;
    if (strlen(name) > ROLE_NAME_MAX)
        return consign_fail(ctx, CONSIGN_E_TOOBIG, "role name longer than %d bytes", ROLE_NAME_MAX);
    consign_buf_init(&b, 3 * ROLE_NAME_MAX + 8);
    for (p = (const unsigned char *)name; *p && !rc; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '.' || *p == '_' || *p == '-' || *p == '~') {
            rc = consign_buf_append(ctx, &b, p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            rc = consign_buf_append(ctx, &b, e, 3);
        }
    }
    if (!rc && !(rc = consign_buf_puts(ctx, &b, ".json")))
        *out = consign_buf_steal(&b, NULL);
    consign_buf_free(&b);
    return rc;
}

static int
persist(struct consign_ctx *ctx, struct consign_tuf_client *c, const char *file, const void *data,
        size_t len)
{
    char *path = consign_asprintf(ctx, "%s/%s", c->dir, file);
    int rc;

    if (!path)
        return CONSIGN_E_NOMEM;
    rc = consign_file_write_atomic(ctx, path, data, len, 0644);
    free(path);
    return rc;
}

static void
remove_local(struct consign_ctx *ctx, struct consign_tuf_client *c, const char *file)
{
    char *path = consign_asprintf(ctx, "%s/%s", c->dir, file);

    if (path && unlink(path) == 0)
        consign_log(ctx, CONSIGN_LOG_INFO, "tuf: removed the local %s (its keys changed)", file);
    free(path);
}

/* A local metadata file, parsed (not yet verified). Any failure means "no
 * usable local copy"; the error is cleared. *data and *md are the caller's. */
static void
load_local(struct consign_ctx *ctx, struct consign_tuf_client *c, const char *file,
           enum consign_tuf_type type, size_t cap, char **data, size_t *len,
           struct consign_tuf_metadata **md)
{
    char *path = consign_asprintf(ctx, "%s/%s", c->dir, file);

    *data = NULL;
    *md = NULL;
    if (path && consign_file_read(ctx, path, cap, data, len) == 0 &&
        consign_tuf_metadata_parse(ctx, *data, *len, type, md) != 0) {
        consign_log(ctx, CONSIGN_LOG_DEBUG, "tuf: local %s ignored: %s", file,
                    consign_err_msg(ctx));
        free(*data);
        *data = NULL;
    }
    free(path);
    consign_err_clear(ctx);
}

static int
fetch(struct consign_ctx *ctx, struct consign_tuf_client *c, const char *prefix, const char *name,
      size_t max, struct consign_buf *out)
{
    char *full = consign_asprintf(ctx, "%s%s", prefix, name);
    int rc;

    consign_buf_free(out);
    consign_buf_init(out, max);
    if (!full)
        return CONSIGN_E_NOMEM;
    rc = c->fetch(c->fetch_user, full, max, out);
    if (!rc && out->len > max)
        rc = CONSIGN_E_TOOBIG;
    if (!rc && !out->data)
        rc = consign_buf_append(ctx, out, "", 0);
    if (rc == CONSIGN_E_TOOBIG)
        consign_fail(ctx, rc, "%s: more than %zu bytes", full, max);
    else if (rc == CONSIGN_E_NOTFOUND)
        consign_fail(ctx, rc, "%s: not found", full);
    else if (rc)
        consign_fail(ctx, rc, "%s: download failed (%s)", full, consign_strerror(rc));
    if (rc)
        consign_buf_free(out);
    free(full);
    return rc;
}

int
consign_tuf_fetch_dir(void *user, const char *name, size_t max_len, struct consign_buf *out)
{
    const char *dir = user;
    char *path = NULL, *data = NULL;
    size_t len = 0;
    int rc;

    if ((rc = consign_path_check_rel(NULL, name)))
        return rc;
    if (!(path = consign_asprintf(NULL, "%s/%s", dir, name)))
        return CONSIGN_E_NOMEM;
    if (!(rc = consign_file_read(NULL, path, max_len, &data, &len)))
        rc = consign_buf_append(NULL, out, data, len);
    free(data);
    free(path);
    return rc;
}

/* ---- setup ---- */

static size_t
or_default(size_t v, size_t def)
{
    return v ? v : def;
}

int
consign_tuf_client_new(struct consign_ctx *ctx, const struct consign_tuf_options *o,
                       struct consign_tuf_client **out)
{
    struct consign_tuf_client *c = NULL;
    struct consign_tuf_metadata *root = NULL;
    char *data = NULL, *path = NULL;
    size_t len = 0;
    int rc = 0;

    *out = NULL;
    if (!o->metadata_dir || !o->fetch) {
        rc = consign_fail(ctx, CONSIGN_E_USAGE,
                          "tuf: a metadata directory and a fetch callback "
                          "are required");
        goto out;
    }
    if (!(c = consign_calloc(ctx, 1, sizeof(*c))) ||
        !(c->dir = consign_strdup(ctx, o->metadata_dir)) ||
        !(c->meta_prefix = consign_strdup(ctx, o->metadata_prefix ? o->metadata_prefix : "")) ||
        !(c->targets_prefix = consign_strdup(ctx, o->targets_prefix ? o->targets_prefix : ""))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    c->fetch = o->fetch;
    c->fetch_user = o->fetch_user;
    c->fixed_now = o->now;
    c->lim.root_max = or_default(o->limits.root_max, DEFAULT_ROOT_MAX);
    c->lim.timestamp_max = or_default(o->limits.timestamp_max, DEFAULT_TIMESTAMP_MAX);
    c->lim.snapshot_max = or_default(o->limits.snapshot_max, DEFAULT_SNAPSHOT_MAX);
    c->lim.targets_max = or_default(o->limits.targets_max, DEFAULT_TARGETS_MAX);
    c->lim.target_file_max = or_default(o->limits.target_file_max, DEFAULT_TARGET_FILE_MAX);
    c->lim.max_root_rotations =
        (unsigned)or_default(o->limits.max_root_rotations, DEFAULT_ROOT_ROTATIONS);
    c->lim.max_delegations = (unsigned)or_default(o->limits.max_delegations, DEFAULT_DELEGATIONS);

    /* Section 5.2: the trusted root, which must at least be signed by itself. */
    if (!(path = consign_asprintf(ctx, "%s/root.json", c->dir))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = consign_file_read(ctx, path, c->lim.root_max, &data, &len)))
        goto out;
    if ((rc = consign_tuf_metadata_parse(ctx, data, len, CONSIGN_TUF_ROOT, &root))) {
        rc = consign_err_context(ctx, rc, "%s", path);
        goto out;
    }
    if ((rc = consign_tuf_verify_role(ctx, root, root->keys, root->n_keys,
                                      &root->roles[CONSIGN_TUF_ROOT], path)))
        goto out;
    c->trusted[CONSIGN_TUF_ROOT] = root;
    root = NULL;
    *out = c;
    c = NULL;
out:
    if (rc)
        consign_err_context(ctx, rc, "tuf");
    consign_tuf_metadata_free(root);
    consign_tuf_client_free(c);
    free(data);
    free(path);
    return rc;
}

static void
start(struct consign_tuf_client *c)
{
    if (c->started)
        return;
    c->now = c->fixed_now ? c->fixed_now : (long long)time(NULL);
    c->started = 1;
}

/* ---- root (5.3) ---- */

static int
same_role_keys(const struct consign_tuf_role *a, const struct consign_tuf_role *b)
{
    size_t i, j;

    if (a->threshold != b->threshold || a->n_keyids != b->n_keyids)
        return 0;
    /* keyids are unique in each list and are the hashes of their keys. */
    for (i = 0; i < a->n_keyids; i++) {
        for (j = 0; j < b->n_keyids && strcmp(a->keyids[i], b->keyids[j]) != 0; j++)
            ;
        if (j == b->n_keyids)
            return 0;
    }
    return 1;
}

static int
update_root(struct consign_ctx *ctx, struct consign_tuf_client *c)
{
    struct consign_tuf_metadata *orig = c->trusted[CONSIGN_TUF_ROOT], *next = NULL;
    struct consign_buf b;
    char name[48], what[96];
    unsigned n;
    int rc = 0;

    consign_buf_init(&b, 0);
    for (n = 0; n < c->lim.max_root_rotations; n++) {
        const struct consign_tuf_metadata *root = c->trusted[CONSIGN_TUF_ROOT];
        long long v = root->version;

        if (v == LLONG_MAX)
            break;
        snprintf(name, sizeof(name), "%lld.root.json", v + 1);
        rc = fetch(ctx, c, c->meta_prefix, name, c->lim.root_max, &b);
        if (rc == CONSIGN_E_NOTFOUND) {
            consign_err_clear(ctx);
            rc = 0;
            break;
        }
        if (rc)
            goto out;
        if ((rc = consign_tuf_metadata_parse(ctx, b.data, b.len, CONSIGN_TUF_ROOT, &next))) {
            rc = consign_err_context(ctx, rc, "%s", name);
            goto out;
        }
        snprintf(what, sizeof(what), "%s (keys of root version %lld)", name, v);
        if ((rc = consign_tuf_verify_role(ctx, next, root->keys, root->n_keys,
                                          &root->roles[CONSIGN_TUF_ROOT], what)))
            goto out;
        if (next->version != v + 1) {
            rc = consign_fail(ctx, CONSIGN_E_ROLLBACK, "%s: holds version %lld, expected %lld",
                              name, next->version, v + 1);
            goto out;
        }
        snprintf(what, sizeof(what), "%s (its own keys)", name);
        if ((rc = consign_tuf_verify_role(ctx, next, next->keys, next->n_keys,
                                          &next->roles[CONSIGN_TUF_ROOT], what)) ||
            (rc = persist(ctx, c, "root.json", b.data, b.len)))
            goto out;
        consign_log(ctx, CONSIGN_LOG_INFO, "tuf: root version %lld trusted", next->version);
        if (c->trusted[CONSIGN_TUF_ROOT] != orig)
            consign_tuf_metadata_free(c->trusted[CONSIGN_TUF_ROOT]);
        c->trusted[CONSIGN_TUF_ROOT] = next;
        next = NULL;
    }
    if (n == c->lim.max_root_rotations)
        consign_log(ctx, CONSIGN_LOG_WARN,
                    "tuf: stopped after %u new root versions; the next update continues", n);
    /* 5.3.10: only the final root's expiry matters. */
    if ((rc = consign_tuf_check_expiry(ctx, c->trusted[CONSIGN_TUF_ROOT], c->now, "root.json")))
        goto out;
    /* 5.3.11: recover from a fast-forward attack after a key rotation. */
    if (c->trusted[CONSIGN_TUF_ROOT] != orig) {
        const struct consign_tuf_metadata *root = c->trusted[CONSIGN_TUF_ROOT];
        if (!same_role_keys(&orig->roles[CONSIGN_TUF_TIMESTAMP],
                            &root->roles[CONSIGN_TUF_TIMESTAMP]) ||
            !same_role_keys(&orig->roles[CONSIGN_TUF_SNAPSHOT],
                            &root->roles[CONSIGN_TUF_SNAPSHOT])) {
            remove_local(ctx, c, "timestamp.json");
            remove_local(ctx, c, "snapshot.json");
        }
    }
out:
    if (c->trusted[CONSIGN_TUF_ROOT] != orig)
        consign_tuf_metadata_free(orig);
    consign_tuf_metadata_free(next);
    consign_buf_free(&b);
    return rc;
}

/* ---- timestamp (5.4) ---- */

static int
update_timestamp(struct consign_ctx *ctx, struct consign_tuf_client *c)
{
    const struct consign_tuf_metadata *root = c->trusted[CONSIGN_TUF_ROOT];
    const struct consign_tuf_role *role = &root->roles[CONSIGN_TUF_TIMESTAMP];
    struct consign_tuf_metadata *old = NULL, *md = NULL;
    struct consign_buf b;
    char *olddata = NULL;
    size_t oldlen = 0;
    int rc = 0, keep_old = 0;

    consign_buf_init(&b, 0);
    load_local(ctx, c, "timestamp.json", CONSIGN_TUF_TIMESTAMP, c->lim.timestamp_max, &olddata,
               &oldlen, &old);
    if (old && consign_tuf_verify_role(ctx, old, root->keys, root->n_keys, role, "local")) {
        consign_err_clear(ctx);
        consign_tuf_metadata_free(old);
        old = NULL;
    }
    if ((rc = fetch(ctx, c, c->meta_prefix, "timestamp.json", c->lim.timestamp_max, &b)))
        goto out;
    if ((rc = consign_tuf_metadata_parse(ctx, b.data, b.len, CONSIGN_TUF_TIMESTAMP, &md))) {
        rc = consign_err_context(ctx, rc, "timestamp.json");
        goto out;
    }
    if ((rc = consign_tuf_verify_role(ctx, md, root->keys, root->n_keys, role, "timestamp.json")))
        goto out;
    if (old) {
        const struct consign_tuf_metafile *ns = consign_tuf_find_meta(md, "snapshot.json");
        const struct consign_tuf_metafile *os = consign_tuf_find_meta(old, "snapshot.json");
        if (md->version < old->version) {
            rc = consign_fail(ctx, CONSIGN_E_ROLLBACK,
                              "timestamp.json: version %lld is older than the trusted version %lld",
                              md->version, old->version);
            goto out;
        }
        if (md->version == old->version) {
            /* Nothing new: keep what is trusted (5.4.3.1). */
            keep_old = 1;
            consign_tuf_metadata_free(md);
            md = old;
            old = NULL;
        } else if (ns->version < os->version) {
            rc = consign_fail(ctx, CONSIGN_E_ROLLBACK,
                              "timestamp.json: lists snapshot.json version %lld, the trusted "
                              "timestamp lists version %lld",
                              ns->version, os->version);
            goto out;
        }
    }
    if ((rc = consign_tuf_check_expiry(ctx, md, c->now, "timestamp.json")))
        goto out;
    if (!keep_old && (rc = persist(ctx, c, "timestamp.json", b.data, b.len)))
        goto out;
    c->trusted[CONSIGN_TUF_TIMESTAMP] = md;
    md = NULL;
out:
    consign_tuf_metadata_free(old);
    consign_tuf_metadata_free(md);
    free(olddata);
    consign_buf_free(&b);
    return rc;
}

/* ---- snapshot (5.5) ---- */

static int
fetch_cap(struct consign_ctx *ctx, const struct consign_tuf_metafile *mf, size_t cap,
          const char *what, size_t *out)
{
    if (mf->length < 0) {
        *out = cap;
        return 0;
    }
    if ((unsigned long long)mf->length > cap)
        return consign_fail(ctx, CONSIGN_E_TOOBIG, "%s: listed as %lld bytes, the limit is %zu",
                            what, mf->length, cap);
    *out = (size_t)mf->length;
    return 0;
}

static int
update_snapshot(struct consign_ctx *ctx, struct consign_tuf_client *c)
{
    const struct consign_tuf_metadata *root = c->trusted[CONSIGN_TUF_ROOT];
    const struct consign_tuf_role *role = &root->roles[CONSIGN_TUF_SNAPSHOT];
    const struct consign_tuf_metafile *sm =
        consign_tuf_find_meta(c->trusted[CONSIGN_TUF_TIMESTAMP], "snapshot.json");
    struct consign_tuf_metadata *old = NULL, *md = NULL;
    struct consign_buf b;
    char *olddata = NULL, name[48];
    size_t oldlen = 0, i, cap = 0;
    int rc = 0;

    consign_buf_init(&b, 0);
    load_local(ctx, c, "snapshot.json", CONSIGN_TUF_SNAPSHOT, c->lim.snapshot_max, &olddata,
               &oldlen, &old);
    if (old && consign_tuf_verify_role(ctx, old, root->keys, root->n_keys, role, "local")) {
        consign_err_clear(ctx);
        consign_tuf_metadata_free(old);
        old = NULL;
    }
    /* The local copy is the one the timestamp names: nothing to download. */
    if (old && old->version == sm->version && old->expires > c->now &&
        consign_tuf_check_file(ctx, olddata, oldlen, sm->length,
                               sm->has_hashes ? &sm->hashes : NULL, "local") == 0) {
        c->trusted[CONSIGN_TUF_SNAPSHOT] = old;
        old = NULL;
        goto out;
    }
    consign_err_clear(ctx);
    if (root->consistent_snapshot)
        snprintf(name, sizeof(name), "%lld.snapshot.json", sm->version);
    else
        snprintf(name, sizeof(name), "snapshot.json");
    if ((rc = fetch_cap(ctx, sm, c->lim.snapshot_max, "snapshot.json", &cap)) ||
        (rc = fetch(ctx, c, c->meta_prefix, name, cap, &b)) ||
        (rc = consign_tuf_check_file(ctx, b.data, b.len, sm->length,
                                     sm->has_hashes ? &sm->hashes : NULL, "snapshot.json")))
        goto out;
    if ((rc = consign_tuf_metadata_parse(ctx, b.data, b.len, CONSIGN_TUF_SNAPSHOT, &md))) {
        rc = consign_err_context(ctx, rc, "snapshot.json");
        goto out;
    }
    if ((rc = consign_tuf_verify_role(ctx, md, root->keys, root->n_keys, role, "snapshot.json")))
        goto out;
    if (md->version != sm->version) {
        rc = consign_fail(ctx, CONSIGN_E_MISMATCH,
                          "snapshot.json: version %lld, timestamp.json lists version %lld",
                          md->version, sm->version);
        goto out;
    }
    for (i = 0; old && i < old->n_meta; i++) {
        const struct consign_tuf_metafile *of = &old->meta[i];
        const struct consign_tuf_metafile *nf = consign_tuf_find_meta(md, of->name);
        if (!nf) {
            rc = consign_fail(ctx, CONSIGN_E_ROLLBACK,
                              "snapshot.json: no longer lists %.80s (trusted version %lld)",
                              of->name, of->version);
            goto out;
        }
        if (nf->version < of->version) {
            rc = consign_fail(ctx, CONSIGN_E_ROLLBACK,
                              "snapshot.json: lists %.80s version %lld, older than the trusted "
                              "version %lld",
                              of->name, nf->version, of->version);
            goto out;
        }
    }
    if ((rc = consign_tuf_check_expiry(ctx, md, c->now, "snapshot.json")) ||
        (rc = persist(ctx, c, "snapshot.json", b.data, b.len)))
        goto out;
    c->trusted[CONSIGN_TUF_SNAPSHOT] = md;
    md = NULL;
out:
    consign_tuf_metadata_free(old);
    consign_tuf_metadata_free(md);
    free(olddata);
    consign_buf_free(&b);
    return rc;
}

/* ---- targets and delegated targets (5.6) ---- */

/* Load the targets role `name` as the snapshot describes it, verified with
 * the delegating role's keys: the local copy if it is that version and
 * still valid, else a download, persisted once it passes. */
static int
load_targets_role(struct consign_ctx *ctx, struct consign_tuf_client *c, const char *name,
                  const struct consign_tuf_key *keys, size_t n_keys,
                  const struct consign_tuf_role *role, struct consign_tuf_metadata **out)
{
    const struct consign_tuf_metadata *root = c->trusted[CONSIGN_TUF_ROOT];
    struct consign_tuf_metadata *old = NULL, *md = NULL;
    const struct consign_tuf_metafile *mf;
    char *file = NULL, *metaname = NULL, *remote = NULL, *olddata = NULL;
    struct consign_buf b;
    size_t oldlen = 0, cap = 0;
    int rc = 0;

    *out = NULL;
    consign_buf_init(&b, 0);
    if ((rc = role_file(ctx, name, &file)))
        goto out;
    if (!(metaname = consign_asprintf(ctx, "%s.json", name))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if (!(mf = consign_tuf_find_meta(c->trusted[CONSIGN_TUF_SNAPSHOT], metaname))) {
        rc = consign_fail(ctx, CONSIGN_E_NOTFOUND, "snapshot.json does not list %.80s", metaname);
        goto out;
    }
    load_local(ctx, c, file, CONSIGN_TUF_TARGETS, c->lim.targets_max, &olddata, &oldlen, &old);
    if (old && old->version == mf->version && old->expires > c->now &&
        consign_tuf_check_file(ctx, olddata, oldlen, mf->length,
                               mf->has_hashes ? &mf->hashes : NULL, "local") == 0 &&
        consign_tuf_verify_role(ctx, old, keys, n_keys, role, "local") == 0) {
        *out = old;
        old = NULL;
        goto out;
    }
    consign_err_clear(ctx);
    if (!(remote = root->consistent_snapshot ? consign_asprintf(ctx, "%lld.%s", mf->version, file)
                                             : consign_strdup(ctx, file))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = fetch_cap(ctx, mf, c->lim.targets_max, metaname, &cap)) ||
        (rc = fetch(ctx, c, c->meta_prefix, remote, cap, &b)) ||
        (rc = consign_tuf_check_file(ctx, b.data, b.len, mf->length,
                                     mf->has_hashes ? &mf->hashes : NULL, metaname)))
        goto out;
    if ((rc = consign_tuf_metadata_parse(ctx, b.data, b.len, CONSIGN_TUF_TARGETS, &md))) {
        rc = consign_err_context(ctx, rc, "%.80s", metaname);
        goto out;
    }
    if ((rc = consign_tuf_verify_role(ctx, md, keys, n_keys, role, metaname)))
        goto out;
    if (md->version != mf->version) {
        rc = consign_fail(ctx, CONSIGN_E_MISMATCH,
                          "%.80s: version %lld, snapshot.json lists version %lld", metaname,
                          md->version, mf->version);
        goto out;
    }
    if ((rc = consign_tuf_check_expiry(ctx, md, c->now, metaname)) ||
        (rc = persist(ctx, c, file, b.data, b.len)))
        goto out;
    *out = md;
    md = NULL;
out:
    consign_tuf_metadata_free(old);
    consign_tuf_metadata_free(md);
    free(olddata);
    free(remote);
    free(metaname);
    free(file);
    consign_buf_free(&b);
    return rc;
}

static int
refresh(struct consign_ctx *ctx, struct consign_tuf_client *c)
{
    const struct consign_tuf_metadata *root;
    int i, rc;

    c->refreshed = 0;
    c->started = 0;
    start(c);
    drop_roles(c);
    for (i = CONSIGN_TUF_TIMESTAMP; i < CONSIGN_TUF_NTYPES; i++) {
        consign_tuf_metadata_free(c->trusted[i]);
        c->trusted[i] = NULL;
    }
    if ((rc = update_root(ctx, c)) || (rc = update_timestamp(ctx, c)) ||
        (rc = update_snapshot(ctx, c)))
        return rc;
    root = c->trusted[CONSIGN_TUF_ROOT];
    if ((rc = load_targets_role(ctx, c, "targets", root->keys, root->n_keys,
                                &root->roles[CONSIGN_TUF_TARGETS],
                                &c->trusted[CONSIGN_TUF_TARGETS])))
        return rc;
    c->refreshed = 1;
    return 0;
}

int
consign_tuf_client_update_root(struct consign_ctx *ctx, struct consign_tuf_client *c)
{
    int rc;

    start(c);
    if ((rc = update_root(ctx, c)))
        consign_err_context(ctx, rc, "tuf");
    return rc;
}

int
consign_tuf_client_refresh(struct consign_ctx *ctx, struct consign_tuf_client *c)
{
    int rc = refresh(ctx, c);
    if (rc)
        consign_err_context(ctx, rc, "tuf");
    return rc;
}

/* A delegated role, from this session's cache or loaded; its signatures are
 * checked against this delegation every time, as another delegating role
 * may have loaded it first. */
static int
delegated_role(struct consign_ctx *ctx, struct consign_tuf_client *c,
               const struct consign_tuf_metadata *parent, const struct consign_tuf_role *role,
               const struct consign_tuf_metadata **out)
{
    struct consign_tuf_metadata *md = NULL;
    char *name = NULL;
    size_t i;
    int rc;

    *out = NULL;
    for (i = 0; i < c->n_roles; i++)
        if (strcmp(c->roles[i].name, role->name) == 0) {
            if ((rc = consign_tuf_verify_role(ctx, c->roles[i].md, parent->keys, parent->n_keys,
                                              role, role->name)))
                return rc;
            *out = c->roles[i].md;
            return 0;
        }
    if ((rc = load_targets_role(ctx, c, role->name, parent->keys, parent->n_keys, role, &md)))
        return rc;
    if (c->n_roles == c->cap_roles) {
        size_t ncap = c->cap_roles ? 2 * c->cap_roles : 8;
        struct loaded_role *p = consign_reallocarray(ctx, c->roles, ncap, sizeof(*p));
        if (!p) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        c->roles = p;
        c->cap_roles = ncap;
    }
    if (!(name = consign_strdup(ctx, role->name))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    c->roles[c->n_roles].name = name;
    c->roles[c->n_roles].md = md;
    c->n_roles++;
    *out = md;
    md = NULL;
out:
    consign_tuf_metadata_free(md);
    return rc;
}

/* One role to visit: its name and who delegated it (NULL: top-level targets). */
struct visit {
    const struct consign_tuf_metadata *parent;
    const struct consign_tuf_role *role;
};

int
consign_tuf_client_find_target(struct consign_ctx *ctx, struct consign_tuf_client *c,
                               const char *path, const struct consign_tuf_target **out)
{
    struct visit *stack = NULL;
    const char **visited = NULL;
    size_t n_stack = 0, cap_stack = 0, n_visited = 0, i;
    int rc = 0;

    *out = NULL;
    if (!c->refreshed && (rc = refresh(ctx, c)))
        goto out;
    if (!(visited = consign_calloc(ctx, c->lim.max_delegations, sizeof(*visited))) ||
        !(stack = consign_calloc(ctx, 8, sizeof(*stack)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    cap_stack = 8;
    stack[n_stack++] = (struct visit){NULL, NULL};
    /* Pre-order depth first: the stack's top is the next role in priority order. */
    while (n_stack && n_visited < c->lim.max_delegations) {
        struct visit v = stack[--n_stack];
        const char *name = v.role ? v.role->name : "targets";
        const struct consign_tuf_metadata *md;
        const struct consign_tuf_target *t;
        size_t first;

        for (i = 0; i < n_visited && strcmp(visited[i], name) != 0; i++)
            ;
        if (i < n_visited)
            continue; /* a cycle, or a role delegated twice */
        visited[n_visited++] = name;
        if (!v.role)
            md = c->trusted[CONSIGN_TUF_TARGETS];
        else if ((rc = delegated_role(ctx, c, v.parent, v.role, &md))) {
            rc = consign_err_context(ctx, rc, "looking for %.200s in role %.80s", path, name);
            goto out;
        }
        if ((t = consign_tuf_find_target(md, path))) {
            *out = t;
            goto out;
        }
        /* Children that cover the path, in order, up to and including the
         * first terminating one, which also ends every search still pending. */
        first = n_stack;
        for (i = 0; i < md->n_delegations; i++) {
            const struct consign_tuf_role *r = &md->delegations[i];
            if (!consign_tuf_role_matches(r, path))
                continue;
            if (r->terminating) {
                memmove(stack, stack + first, (n_stack - first) * sizeof(*stack));
                n_stack -= first;
                first = 0;
            }
            if (n_stack == cap_stack) {
                struct visit *p = consign_reallocarray(ctx, stack, 2 * cap_stack, sizeof(*p));
                if (!p) {
                    rc = CONSIGN_E_NOMEM;
                    goto out;
                }
                stack = p;
                cap_stack *= 2;
            }
            stack[n_stack++] = (struct visit){md, r};
            if (r->terminating)
                break;
        }
        /* Reverse this role's children so the first one is popped first. */
        for (i = 0; i < (n_stack - first) / 2; i++) {
            struct visit tmp = stack[first + i];
            stack[first + i] = stack[n_stack - 1 - i];
            stack[n_stack - 1 - i] = tmp;
        }
    }
    if (n_stack)
        consign_log(ctx, CONSIGN_LOG_WARN, "tuf: %.200s: gave up after visiting %zu roles", path,
                    n_visited);
    rc = consign_fail(ctx, CONSIGN_E_NOTFOUND, "no trusted role lists target %.200s", path);
out:
    if (rc)
        consign_err_context(ctx, rc, "tuf");
    free(stack);
    free(visited);
    return rc;
}

/* ---- target files (5.7) ---- */

int
consign_tuf_client_target_name(struct consign_ctx *ctx, const struct consign_tuf_client *c,
                               const struct consign_tuf_target *t, char **out)
{
    const struct consign_tuf_metadata *root = c->trusted[CONSIGN_TUF_ROOT];
    char hex[2 * CONSIGN_HASH_MAX + 1];

    *out = NULL;
    if (t->length < 0 || (unsigned long long)t->length > c->lim.target_file_max)
        return consign_fail(ctx, CONSIGN_E_TOOBIG, "%.200s: listed as %lld bytes, the limit is %zu",
                            t->path, t->length, c->lim.target_file_max);
    if (root->consistent_snapshot) {
        /* HASH.FILENAME in the target's directory. */
        const char *slash = strrchr(t->path, '/');
        int dirlen = slash ? (int)(slash - t->path) + 1 : 0;
        if (t->hashes.has_sha256)
            consign_hex(t->hashes.sha256, 32, hex);
        else if (t->hashes.has_sha512)
            consign_hex(t->hashes.sha512, 64, hex);
        else
            return consign_fail(ctx, CONSIGN_E_INVALID, "%.200s: no sha256 or sha512 hash listed",
                                t->path);
        *out = consign_asprintf(ctx, "%.*s%s.%s", dirlen, t->path, hex, t->path + dirlen);
    } else
        *out = consign_strdup(ctx, t->path);
    return *out ? 0 : CONSIGN_E_NOMEM;
}

const char *
consign_tuf_client_targets_prefix(const struct consign_tuf_client *c)
{
    return c->targets_prefix;
}

int
consign_tuf_client_download_target(struct consign_ctx *ctx, struct consign_tuf_client *c,
                                   const struct consign_tuf_target *t, struct consign_buf *out)
{
    char *name = NULL;
    int rc = 0;

    if ((rc = consign_tuf_client_target_name(ctx, c, t, &name)) ||
        (rc = fetch(ctx, c, c->targets_prefix, name, (size_t)t->length, out)) ||
        (rc = consign_tuf_check_file(ctx, out->data, out->len, t->length, &t->hashes, t->path)))
        goto out;
out:
    if (rc) {
        consign_buf_free(out);
        consign_err_context(ctx, rc, "tuf");
    }
    free(name);
    return rc;
}

int
consign_tuf_client_download_target_to(struct consign_ctx *ctx, struct consign_tuf_client *c,
                                      const struct consign_tuf_target *t, const char *dest,
                                      mode_t mode)
{
    struct consign_buf b;
    int rc;

    consign_buf_init(&b, 0);
    if (!(rc = consign_tuf_client_download_target(ctx, c, t, &b)))
        rc = consign_file_write_atomic(ctx, dest, b.data, b.len, mode);
    consign_buf_free(&b);
    return rc;
}
