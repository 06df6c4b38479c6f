/* TUF metadata: parsing role files into checked structs, signature
 * thresholds, expiry, file lengths and hashes, delegation path matching. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consign/hash.h"
#include "consign/json.h"
#include "consign/tuf.h"
#include "consign/bytes.h"
#include "tuf_internal.h"

#define WHERE_MAX 160

static const char *const type_names[CONSIGN_TUF_NTYPES] = {"root", "timestamp", "snapshot",
                                                           "targets"};

const char *
consign_tuf_type_name(enum consign_tuf_type t)
{
    return (unsigned)t < CONSIGN_TUF_NTYPES ? type_names[t] : "unknown";
}

/* ---- time ---- */

static int
digits(const char *s, int n, int *out)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar: count
 * whole 400-year eras from year 0 (with the year starting in March, so the
 * leap day is the last day of the year), then the day within the era. */
static long long
days_since_epoch(int y, int m, int d)
{
    long long era, yoe, doy, doe;

    y -= m <= 2;
    era = y / 400; /* y >= -1 here, and the only negative year is handled below */
    if (y < 0)
        era = -1;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int
consign_tuf_parse_time(const char *s, long long *out)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, se, leap, maxd;

    if (strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':' || s[19] != 'Z' || digits(s, 4, &y) || digits(s + 5, 2, &mo) ||
        digits(s + 8, 2, &d) || digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) ||
        digits(s + 17, 2, &se))
        return -1;
    if (mo < 1 || mo > 12 || h > 23 || mi > 59 || se > 59)
        return -1;
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    maxd = mdays[mo - 1] + (mo == 2 && leap);
    if (d < 1 || d > maxd)
        return -1;
    *out = days_since_epoch(y, mo, d) * 86400 + h * 3600LL + mi * 60LL + se;
    return 0;
}

static void
format_time(long long t, char out[128])
{
    /* Enough for messages; the inverse of days_since_epoch for 1970..9999. */
    long long days = t >= 0 ? t / 86400 : (t - 86399) / 86400, secs = t - days * 86400;
    long long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
    long long m = mp < 10 ? mp + 3 : mp - 9;

    y += m <= 2;
    snprintf(out, 128, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ", y, m, d, secs / 3600,
             secs / 60 % 60, secs % 60);
}

/* ---- freeing ---- */

static void
free_strv(char **v, size_t n)
{
    size_t i;

    if (!v)
        return;
    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void
role_clear(struct consign_tuf_role *r)
{
    free(r->name);
    free_strv(r->keyids, r->n_keyids);
    free_strv(r->paths, r->n_paths);
    free_strv(r->hash_prefixes, r->n_hash_prefixes);
    memset(r, 0, sizeof(*r));
}

void
consign_tuf_metadata_free(struct consign_tuf_metadata *md)
{
    size_t i;

    if (!md)
        return;
    free(md->spec_version);
    free(md->signed_bytes);
    for (i = 0; i < md->n_sigs; i++) {
        free(md->sigs[i].keyid);
        free(md->sigs[i].sig);
    }
    free(md->sigs);
    for (i = 0; i < md->n_keys; i++) {
        free(md->keys[i].keyid);
        free(md->keys[i].keytype);
        free(md->keys[i].scheme);
        consign__tuf_pkey_free(md->keys[i].pkey);
    }
    free(md->keys);
    for (i = 0; i < CONSIGN_TUF_NTYPES; i++)
        role_clear(&md->roles[i]);
    for (i = 0; i < md->n_meta; i++)
        free(md->meta[i].name);
    free(md->meta);
    for (i = 0; i < md->n_targets; i++) {
        free(md->targets[i].path);
        free(md->targets[i].custom);
    }
    free(md->targets);
    for (i = 0; i < md->n_delegations; i++)
        role_clear(&md->delegations[i]);
    free(md->delegations);
    free(md);
}

/* ---- typed field access ---- */

static int
field(struct consign_ctx *ctx, const struct consign_json *obj, const char *where, const char *key,
      enum consign_json_type type, int required, const struct consign_json **out)
{
    const struct consign_json *v = consign_json_get(obj, key);

    *out = v;
    if (!v)
        return required ? consign_fail(ctx, CONSIGN_E_INVALID, "%s: '%s' is missing", where, key)
                        : 0;
    if (v->type != type) {
        *out = NULL;
        return consign_fail(ctx, CONSIGN_E_INVALID, "%s: '%s' must be a%s %s, not a %s", where, key,
                            type == CONSIGN_JSON_ARRAY || type == CONSIGN_JSON_OBJECT ||
                                    type == CONSIGN_JSON_INT
                                ? "n"
                                : "",
                            consign_json_type_name(type), consign_json_type_name(v->type));
    }
    return 0;
}

/* A copy of a string value that holds no NUL byte. */
static int
dup_str(struct consign_ctx *ctx, const struct consign_json *v, const char *where, char **out)
{
    *out = NULL;
    if (!consign_json_str(v))
        return consign_fail(ctx, CONSIGN_E_INVALID, "%s: must be a string without NUL bytes",
                            where);
    return (*out = consign_strdup(ctx, v->str)) ? 0 : CONSIGN_E_NOMEM;
}

static int
str_field(struct consign_ctx *ctx, const struct consign_json *obj, const char *where,
          const char *key, char **out)
{
    const struct consign_json *v;
    char w[WHERE_MAX];
    int rc;

    *out = NULL;
    if ((rc = field(ctx, obj, where, key, CONSIGN_JSON_STRING, 1, &v)))
        return rc;
    snprintf(w, sizeof(w), "%s.%s", where, key);
    return dup_str(ctx, v, w, out);
}

static int
key_is_plain(const struct consign_json_member *m)
{
    return strlen(m->key) == m->key_len;
}

static int
cmp_strp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* An array of strings into a new vector; unique: refuse repeated values. */
static int
strv_field(struct consign_ctx *ctx, const struct consign_json *obj, const char *where,
           const char *key, int required, int unique, char ***out, size_t *n)
{
    const struct consign_json *arr;
    char **v = NULL, **sorted = NULL;
    char w[WHERE_MAX];
    size_t i;
    int rc;

    *out = NULL;
    *n = 0;
    if ((rc = field(ctx, obj, where, key, CONSIGN_JSON_ARRAY, required, &arr)) || !arr)
        return rc;
    if (!(v = consign_calloc(ctx, arr->count, sizeof(*v)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    for (i = 0; i < arr->count; i++) {
        snprintf(w, sizeof(w), "%s.%s[%zu]", where, key, i);
        if ((rc = dup_str(ctx, arr->items[i], w, &v[i])))
            goto out;
    }
    if (unique && arr->count > 1) {
        if (!(sorted = consign_calloc(ctx, arr->count, sizeof(*sorted)))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        memcpy(sorted, v, arr->count * sizeof(*v));
        qsort(sorted, arr->count, sizeof(*sorted), cmp_strp);
        for (i = 1; i < arr->count; i++)
            if (strcmp(sorted[i - 1], sorted[i]) == 0) {
                rc = consign_fail(ctx, CONSIGN_E_INVALID, "%s.%s: '%.80s' is listed twice", where,
                                  key, sorted[i]);
                goto out;
            }
    }
    *out = v;
    *n = arr->count;
    v = NULL;
out:
    free(sorted);
    free_strv(v, arr->count);
    return rc;
}

static int
int_field(struct consign_ctx *ctx, const struct consign_json *obj, const char *where,
          const char *key, long long min, long long *out)
{
    const struct consign_json *v;
    int rc;

    if ((rc = field(ctx, obj, where, key, CONSIGN_JSON_INT, 1, &v)))
        return rc;
    if (v->integer < min)
        return consign_fail(ctx, CONSIGN_E_INVALID, "%s.%s: %lld is below %lld", where, key,
                            v->integer, min);
    *out = v->integer;
    return 0;
}

/* ---- parts ---- */

static int
parse_spec_version(struct consign_ctx *ctx, const char *s)
{
    const char *p = s;
    int parts = 0, major = -1, ok = 1;

    /* One to nine digits per part, parts separated by single dots. */
    for (;;) {
        int v = 0, nd = 0;
        while (*p >= '0' && *p <= '9' && nd < 9) {
            v = v * 10 + (*p++ - '0');
            nd++;
        }
        if (!nd) {
            ok = 0;
            break;
        }
        if (parts++ == 0)
            major = v;
        if (*p != '.')
            break;
        p++;
    }
    if (!ok || *p || parts < 2 || parts > 3)
        return consign_fail(ctx, CONSIGN_E_INVALID,
                            "spec_version '%.32s' is not MAJOR.MINOR[.PATCH]", s);
    if (major != 1)
        return consign_fail(ctx, CONSIGN_E_INVALID,
                            "spec_version '%.32s': only major version 1 is supported", s);
    return 0;
}

static int
parse_hashes(struct consign_ctx *ctx, const struct consign_json *obj, const char *where,
             struct consign_tuf_hashes *h)
{
    size_t i;

    memset(h, 0, sizeof(*h));
    if (!obj->count)
        return consign_fail(ctx, CONSIGN_E_INVALID, "%s.hashes: empty", where);
    for (i = 0; i < obj->count; i++) {
        const struct consign_json_member *m = &obj->members[i];
        const char *hex = consign_json_str(m->value);
        if (!hex)
            return consign_fail(ctx, CONSIGN_E_INVALID, "%s.hashes: values must be strings", where);
        if (strcmp(m->key, "sha256") == 0 && key_is_plain(m)) {
            if (consign_unhex(hex, strlen(hex), h->sha256, sizeof(h->sha256)))
                return consign_fail(ctx, CONSIGN_E_INVALID, "%s.hashes.sha256: not 64 hex digits",
                                    where);
            h->has_sha256 = 1;
        } else if (strcmp(m->key, "sha512") == 0 && key_is_plain(m)) {
            if (consign_unhex(hex, strlen(hex), h->sha512, sizeof(h->sha512)))
                return consign_fail(ctx, CONSIGN_E_INVALID, "%s.hashes.sha512: not 128 hex digits",
                                    where);
            h->has_sha512 = 1;
        } else
            h->n_other++;
    }
    return 0;
}

static int
compute_keyid(struct consign_ctx *ctx, const struct consign_json *key, char out[65])
{
    unsigned char md[CONSIGN_HASH_MAX];
    struct consign_buf b;
    int rc;

    consign_buf_init(&b, CONSIGN_TUF_PUBLIC_MAX * 4);
    if (!(rc = consign_json_canonical(ctx, key, &b)) &&
        !(rc = consign_hash_buf(ctx, CONSIGN_HASH_SHA256, b.data, b.len, md)))
        consign_hex(md, 32, out);
    consign_buf_free(&b);
    return rc;
}

static int
parse_keys(struct consign_ctx *ctx, const struct consign_json *obj, const char *where,
           struct consign_tuf_metadata *md)
{
    size_t i;
    int rc = 0;

    if (!(md->keys = consign_calloc(ctx, obj->count, sizeof(*md->keys))))
        return CONSIGN_E_NOMEM;
    for (i = 0; i < obj->count; i++) {
        const struct consign_json_member *m = &obj->members[i];
        struct consign_tuf_key *k = &md->keys[i];
        const struct consign_json *keyval, *pub;
        char w[WHERE_MAX], id[65];

        md->n_keys = i + 1;
        snprintf(w, sizeof(w), "%s.keys.%.70s", where, m->key);
        if (!key_is_plain(m) || m->value->type != CONSIGN_JSON_OBJECT)
            return consign_fail(ctx, CONSIGN_E_INVALID, "%s: must be a key object", w);
        if (!(k->keyid = consign_strdup(ctx, m->key)))
            return CONSIGN_E_NOMEM;
        if ((rc = str_field(ctx, m->value, w, "keytype", &k->keytype)) ||
            (rc = str_field(ctx, m->value, w, "scheme", &k->scheme)) ||
            (rc = field(ctx, m->value, w, "keyval", CONSIGN_JSON_OBJECT, 1, &keyval)))
            return rc;
        snprintf(w, sizeof(w), "%s.keys.%.70s.keyval", where, m->key);
        if ((rc = field(ctx, keyval, w, "public", CONSIGN_JSON_STRING, 1, &pub)))
            return rc;
        if (!consign_json_str(pub))
            return consign_fail(ctx, CONSIGN_E_INVALID, "%s.public: holds a NUL byte", w);
        if ((rc = compute_keyid(ctx, m->value, id)))
            return rc;
        /* The specification wants keyids to be their keys' hashes, but real
         * repositories do not always keep to it (sigstore's root 11 lists a key
         * under the keyid of its previous form). Thresholds therefore count
         * distinct key material, not distinct keyids (consign_tuf_verify_role). */
        if (strcmp(id, k->keyid) != 0)
            consign_log(ctx, CONSIGN_LOG_DEBUG,
                        "tuf: %s.keys: keyid %.16s... is not its key's "
                        "SHA-256 (%.16s...)",
                        where, k->keyid, id);
        rc = consign__tuf_pkey_load(ctx, k->keytype, k->scheme, pub->str, &k->pkey);
        if (rc == CONSIGN_E_KEY) {
            /* Listed but unusable here: it never counts towards a threshold. */
            consign_log(ctx, CONSIGN_LOG_DEBUG, "tuf: key %.16s: %s", k->keyid,
                        consign_err_msg(ctx));
            consign_err_clear(ctx);
            rc = 0;
        } else if (rc)
            return rc;
    }
    return 0;
}

static int
parse_role(struct consign_ctx *ctx, const struct consign_json *obj, const char *where,
           int delegated, struct consign_tuf_role *r)
{
    const struct consign_json *v;
    int rc;

    if (obj->type != CONSIGN_JSON_OBJECT)
        return consign_fail(ctx, CONSIGN_E_INVALID, "%s: must be an object", where);
    if ((rc = strv_field(ctx, obj, where, "keyids", 1, 1, &r->keyids, &r->n_keyids)) ||
        (rc = int_field(ctx, obj, where, "threshold", 1, &r->threshold)))
        return rc;
    if (!delegated)
        return 0;
    if ((rc = str_field(ctx, obj, where, "name", &r->name)) ||
        (rc = field(ctx, obj, where, "terminating", CONSIGN_JSON_BOOL, 1, &v)))
        return rc;
    r->terminating = v->boolean;
    if (!r->name[0])
        return consign_fail(ctx, CONSIGN_E_INVALID, "%s.name: empty", where);
    if (consign_json_get(obj, "paths") && consign_json_get(obj, "path_hash_prefixes"))
        return consign_fail(ctx, CONSIGN_E_INVALID,
                            "%s: both 'paths' and 'path_hash_prefixes' are set", where);
    if ((rc = strv_field(ctx, obj, where, "paths", 0, 0, &r->paths, &r->n_paths)) ||
        (rc = strv_field(ctx, obj, where, "path_hash_prefixes", 0, 0, &r->hash_prefixes,
                         &r->n_hash_prefixes)))
        return rc;
    return 0;
}

static int
parse_signatures(struct consign_ctx *ctx, const struct consign_json *arr,
                 struct consign_tuf_metadata *md)
{
    size_t i, j;
    int rc;

    if (!(md->sigs = consign_calloc(ctx, arr->count, sizeof(*md->sigs))))
        return CONSIGN_E_NOMEM;
    for (i = 0; i < arr->count; i++) {
        struct consign_tuf_signature *s = &md->sigs[i];
        const struct consign_json *o = arr->items[i], *sig;
        char w[WHERE_MAX];
        size_t hexlen;

        md->n_sigs = i + 1;
        snprintf(w, sizeof(w), "signatures[%zu]", i);
        if (o->type != CONSIGN_JSON_OBJECT)
            return consign_fail(ctx, CONSIGN_E_INVALID, "%s: must be an object", w);
        if ((rc = str_field(ctx, o, w, "keyid", &s->keyid)) ||
            (rc = field(ctx, o, w, "sig", CONSIGN_JSON_STRING, 1, &sig)))
            return rc;
        /* "The keyid MUST be unique in the signatures array." Few signatures
         * per file in practice; the JSON size bounds the quadratic check. */
        for (j = 0; j < i; j++)
            if (strcmp(md->sigs[j].keyid, s->keyid) == 0)
                return consign_fail(ctx, CONSIGN_E_INVALID,
                                    "signatures: keyid %.16s... signs more than once", s->keyid);
        /* Empty or malformed hex is kept as no signature: it cannot count. */
        hexlen = sig->len;
        if (hexlen && hexlen % 2 == 0) {
            if (!(s->sig = malloc(hexlen / 2)))
                return consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
            if (consign_unhex(sig->str, hexlen, s->sig, hexlen / 2) == 0)
                s->sig_len = hexlen / 2;
            else {
                free(s->sig);
                s->sig = NULL;
            }
        }
    }
    return 0;
}

static int
parse_meta(struct consign_ctx *ctx, const struct consign_json *obj, struct consign_tuf_metadata *md)
{
    size_t i;
    int rc;

    if (!(md->meta = consign_calloc(ctx, obj->count, sizeof(*md->meta))))
        return CONSIGN_E_NOMEM;
    for (i = 0; i < obj->count; i++) {
        const struct consign_json_member *m = &obj->members[i];
        struct consign_tuf_metafile *f = &md->meta[i];
        const struct consign_json *v;
        char w[WHERE_MAX];

        md->n_meta = i + 1;
        f->length = -1;
        snprintf(w, sizeof(w), "signed.meta.%.80s", m->key);
        if (!key_is_plain(m) || m->value->type != CONSIGN_JSON_OBJECT)
            return consign_fail(ctx, CONSIGN_E_INVALID, "%s: must be an object", w);
        if (!(f->name = consign_strdup(ctx, m->key)))
            return CONSIGN_E_NOMEM;
        if ((rc = int_field(ctx, m->value, w, "version", 1, &f->version)))
            return rc;
        if (consign_json_get(m->value, "length") &&
            (rc = int_field(ctx, m->value, w, "length", 0, &f->length)))
            return rc;
        if ((rc = field(ctx, m->value, w, "hashes", CONSIGN_JSON_OBJECT, 0, &v)))
            return rc;
        if (v) {
            if ((rc = parse_hashes(ctx, v, w, &f->hashes)))
                return rc;
            f->has_hashes = 1;
        }
    }
    return 0;
}

static int
parse_targets(struct consign_ctx *ctx, const struct consign_json *obj,
              struct consign_tuf_metadata *md)
{
    size_t i;
    int rc;

    if (!(md->targets = consign_calloc(ctx, obj->count, sizeof(*md->targets))))
        return CONSIGN_E_NOMEM;
    for (i = 0; i < obj->count; i++) {
        const struct consign_json_member *m = &obj->members[i];
        struct consign_tuf_target *t = &md->targets[i];
        const struct consign_json *v;
        char w[WHERE_MAX];

        md->n_targets = i + 1;
        snprintf(w, sizeof(w), "signed.targets.%.80s", m->key);
        if (!key_is_plain(m) || m->value->type != CONSIGN_JSON_OBJECT)
            return consign_fail(ctx, CONSIGN_E_INVALID, "%s: must be an object", w);
        if (!(t->path = consign_strdup(ctx, m->key)))
            return CONSIGN_E_NOMEM;
        if ((rc = int_field(ctx, m->value, w, "length", 0, &t->length)) ||
            (rc = field(ctx, m->value, w, "hashes", CONSIGN_JSON_OBJECT, 1, &v)) ||
            (rc = parse_hashes(ctx, v, w, &t->hashes)) ||
            (rc = field(ctx, m->value, w, "custom", CONSIGN_JSON_OBJECT, 0, &v)))
            return rc;
        if (v) {
            struct consign_buf b;
            consign_buf_init(&b, SIZE_MAX / 2);
            if ((rc = consign_json_canonical(ctx, v, &b))) {
                consign_buf_free(&b);
                return consign_err_context(ctx, rc, "%s.custom", w);
            }
            if (!b.data && (rc = consign_buf_append(ctx, &b, "", 0)))
                return rc;
            t->custom = consign_buf_steal(&b, NULL);
        }
    }
    return 0;
}

static int
parse_delegations(struct consign_ctx *ctx, const struct consign_json *obj,
                  struct consign_tuf_metadata *md)
{
    const struct consign_json *keys, *roles;
    size_t i, j;
    int rc;

    md->has_delegations = 1;
    if ((rc = field(ctx, obj, "signed.delegations", "keys", CONSIGN_JSON_OBJECT, 1, &keys)) ||
        (rc = field(ctx, obj, "signed.delegations", "roles", CONSIGN_JSON_ARRAY, 1, &roles)) ||
        (rc = parse_keys(ctx, keys, "signed.delegations", md)))
        return rc;
    if (!(md->delegations = consign_calloc(ctx, roles->count, sizeof(*md->delegations))))
        return CONSIGN_E_NOMEM;
    for (i = 0; i < roles->count; i++) {
        struct consign_tuf_role *r = &md->delegations[i];
        char w[WHERE_MAX];

        md->n_delegations = i + 1;
        snprintf(w, sizeof(w), "signed.delegations.roles[%zu]", i);
        if ((rc = parse_role(ctx, roles->items[i], w, 1, r)))
            return rc;
        for (j = 0; j < CONSIGN_TUF_NTYPES; j++)
            if (strcmp(r->name, type_names[j]) == 0)
                return consign_fail(ctx, CONSIGN_E_INVALID,
                                    "%s: a delegated role may not be named '%s'", w, r->name);
        /* Few roles per file in practice; the JSON size bounds the quadratic check. */
        for (j = 0; j < i; j++)
            if (strcmp(md->delegations[j].name, r->name) == 0)
                return consign_fail(ctx, CONSIGN_E_INVALID, "%s: role '%.80s' is delegated twice",
                                    w, r->name);
    }
    return 0;
}

static int
parse_root(struct consign_ctx *ctx, const struct consign_json *sg, struct consign_tuf_metadata *md)
{
    const struct consign_json *v, *roles;
    size_t i;
    int rc;

    if ((rc = field(ctx, sg, "signed", "consistent_snapshot", CONSIGN_JSON_BOOL, 0, &v)))
        return rc;
    md->consistent_snapshot = v && v->boolean;
    if ((rc = field(ctx, sg, "signed", "keys", CONSIGN_JSON_OBJECT, 1, &v)) ||
        (rc = parse_keys(ctx, v, "signed", md)) ||
        (rc = field(ctx, sg, "signed", "roles", CONSIGN_JSON_OBJECT, 1, &roles)))
        return rc;
    for (i = 0; i < CONSIGN_TUF_NTYPES; i++) {
        char w[WHERE_MAX];
        snprintf(w, sizeof(w), "signed.roles.%s", type_names[i]);
        if ((rc = field(ctx, roles, "signed.roles", type_names[i], CONSIGN_JSON_OBJECT, 1, &v)) ||
            (rc = parse_role(ctx, v, w, 0, &md->roles[i])))
            return rc;
    }
    return 0;
}

/* The lengths bounding one file: its JSON size is capped by the caller's
 * download cap; these bound what a file can make us do. */
static const struct consign_json_limits meta_limits = {
    .max_size = 64u << 20, .max_depth = 64, .max_nodes = 4000000, .flags = 0};

int
consign_tuf_metadata_parse(struct consign_ctx *ctx, const char *data, size_t len,
                           enum consign_tuf_type type, struct consign_tuf_metadata **out)
{
    struct consign_tuf_metadata *md = NULL;
    struct consign_json *doc = NULL;
    const struct consign_json *sg, *sigs, *v;
    struct consign_buf canon;
    char *t = NULL;
    int rc;

    *out = NULL;
    consign_buf_init(&canon, len + 1);
    if ((unsigned)type >= CONSIGN_TUF_NTYPES) {
        rc = consign_fail(ctx, CONSIGN_E_INTERNAL, "tuf: bad metadata type %d", (int)type);
        goto out;
    }
    if ((rc = consign_json_parse(ctx, data, len, &meta_limits, &doc)))
        goto out;
    if (!(md = consign_calloc(ctx, 1, sizeof(*md)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    md->type = type;
    if (doc->type != CONSIGN_JSON_OBJECT) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "not a JSON object");
        goto out;
    }
    if ((rc = field(ctx, doc, "metadata", "signed", CONSIGN_JSON_OBJECT, 1, &sg)) ||
        (rc = field(ctx, doc, "metadata", "signatures", CONSIGN_JSON_ARRAY, 1, &sigs)) ||
        (rc = str_field(ctx, sg, "signed", "_type", &t)))
        goto out;
    if (strcmp(t, type_names[type]) != 0) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "signed._type is '%.32s', expected '%s'", t,
                          type_names[type]);
        goto out;
    }
    if ((rc = str_field(ctx, sg, "signed", "spec_version", &md->spec_version)) ||
        (rc = parse_spec_version(ctx, md->spec_version)) ||
        (rc = int_field(ctx, sg, "signed", "version", 1, &md->version)) ||
        (rc = field(ctx, sg, "signed", "expires", CONSIGN_JSON_STRING, 1, &v)))
        goto out;
    if (!consign_json_str(v) || consign_tuf_parse_time(v->str, &md->expires)) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID,
                          "signed.expires: '%.40s' is not a YYYY-MM-DDTHH:MM:SSZ time", v->str);
        goto out;
    }
    /* The canonical form is never longer than the parsed text. */
    if ((rc = consign_json_canonical(ctx, sg, &canon)) || (rc = parse_signatures(ctx, sigs, md)))
        goto out;
    md->signed_bytes = (unsigned char *)consign_buf_steal(&canon, &md->signed_len);

    switch (type) {
    case CONSIGN_TUF_ROOT:
        rc = parse_root(ctx, sg, md);
        break;
    case CONSIGN_TUF_TIMESTAMP:
        if ((rc = field(ctx, sg, "signed", "meta", CONSIGN_JSON_OBJECT, 1, &v)))
            break;
        if (v->count != 1 || !consign_json_get(v, "snapshot.json")) {
            rc = consign_fail(ctx, CONSIGN_E_INVALID,
                              "signed.meta: must describe snapshot.json and nothing else");
            break;
        }
        rc = parse_meta(ctx, v, md);
        break;
    case CONSIGN_TUF_SNAPSHOT:
        if (!(rc = field(ctx, sg, "signed", "meta", CONSIGN_JSON_OBJECT, 1, &v)))
            rc = parse_meta(ctx, v, md);
        break;
    case CONSIGN_TUF_TARGETS:
        if ((rc = field(ctx, sg, "signed", "targets", CONSIGN_JSON_OBJECT, 1, &v)) ||
            (rc = parse_targets(ctx, v, md)) ||
            (rc = field(ctx, sg, "signed", "delegations", CONSIGN_JSON_OBJECT, 0, &v)))
            break;
        if (v)
            rc = parse_delegations(ctx, v, md);
        break;
    }
    if (rc)
        goto out;
    *out = md;
    md = NULL;
out:
    free(t);
    consign_buf_free(&canon);
    consign_json_free(doc);
    consign_tuf_metadata_free(md);
    return rc;
}

/* ---- lookups ---- */

const struct consign_tuf_key *
consign_tuf_find_key(const struct consign_tuf_key *keys, size_t n_keys, const char *keyid)
{
    size_t lo = 0, hi = n_keys;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(keyid, keys[mid].keyid);
        if (!c)
            return &keys[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const struct consign_tuf_metafile *
consign_tuf_find_meta(const struct consign_tuf_metadata *md, const char *name)
{
    size_t lo = 0, hi = md->n_meta;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, md->meta[mid].name);
        if (!c)
            return &md->meta[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const struct consign_tuf_target *
consign_tuf_find_target(const struct consign_tuf_metadata *md, const char *path)
{
    size_t lo = 0, hi = md->n_targets;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(path, md->targets[mid].path);
        if (!c)
            return &md->targets[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* ---- verification ---- */

int
consign_tuf_verify_role(struct consign_ctx *ctx, const struct consign_tuf_metadata *md,
                        const struct consign_tuf_key *keys, size_t n_keys,
                        const struct consign_tuf_role *role, const char *what)
{
    const struct consign_tuf_key **counted = NULL;
    long long good = 0, bad = 0;
    size_t i, j;
    int rc = 0;

    if (!(counted = consign_calloc(ctx, role->n_keyids, sizeof(*counted))))
        return CONSIGN_E_NOMEM;
    /* role->keyids are unique (checked when parsed), and a key listed under
     * two keyids still counts once; only the first signature listed for a
     * keyid is tried. */
    for (i = 0; i < role->n_keyids && good < role->threshold; i++) {
        const struct consign_tuf_key *k = consign_tuf_find_key(keys, n_keys, role->keyids[i]);
        if (!k || !k->pkey)
            continue;
        for (j = 0; j < (size_t)good && !consign__tuf_pkey_equal(counted[j]->pkey, k->pkey); j++)
            ;
        if (j < (size_t)good)
            continue;
        for (j = 0; j < md->n_sigs && strcmp(md->sigs[j].keyid, k->keyid) != 0; j++)
            ;
        if (j == md->n_sigs)
            continue;
        rc = consign__tuf_pkey_verify(ctx, k->pkey, md->signed_bytes, md->signed_len,
                                      md->sigs[j].sig, md->sigs[j].sig_len);
        if (rc == 0)
            counted[good++] = k;
        else if (rc == CONSIGN_E_BAD_SIGNATURE)
            bad++;
        else
            break;
    }
    free(counted);
    if (rc && rc != CONSIGN_E_BAD_SIGNATURE)
        return consign_err_context(ctx, rc, "%s", what);
    if (good >= role->threshold)
        return 0;
    if (!good && !bad)
        return consign_fail(ctx, CONSIGN_E_UNTRUSTED,
                            "%s: not signed by any of the %zu trusted %s keys", what,
                            role->n_keyids, role->name ? role->name : "role");
    return consign_fail(ctx, CONSIGN_E_BAD_SIGNATURE,
                        "%s: %lld valid signature%s of the %lld required (%lld bad)", what, good,
                        good == 1 ? "" : "s", role->threshold, bad);
}

int
consign_tuf_check_expiry(struct consign_ctx *ctx, const struct consign_tuf_metadata *md,
                         long long now, const char *what)
{
    char when[128], at[128];

    if (now < md->expires)
        return 0;
    format_time(md->expires, when);
    format_time(now, at);
    return consign_fail(ctx, CONSIGN_E_EXPIRED, "%s: version %lld expired at %s (now %s)", what,
                        md->version, when, at);
}

int
consign_tuf_check_file(struct consign_ctx *ctx, const void *data, size_t len, long long length,
                       const struct consign_tuf_hashes *hashes, const char *what)
{
    unsigned char md[CONSIGN_HASH_MAX];
    int rc;

    if (length >= 0 && (unsigned long long)length != len)
        return consign_fail(ctx, CONSIGN_E_MISMATCH, "%s: %zu bytes, the trusted length is %lld",
                            what, len, length);
    if (!hashes)
        return 0;
    if (!hashes->has_sha256 && !hashes->has_sha512)
        return consign_fail(ctx, CONSIGN_E_INVALID,
                            "%s: no hash algorithm consign knows is listed (sha256, sha512)", what);
    if (hashes->has_sha256) {
        if ((rc = consign_hash_buf(ctx, CONSIGN_HASH_SHA256, data, len, md)))
            return rc;
        if (memcmp(md, hashes->sha256, 32) != 0)
            return consign_fail(ctx, CONSIGN_E_MISMATCH, "%s: sha256 differs from the trusted hash",
                                what);
    }
    if (hashes->has_sha512) {
        if ((rc = consign_hash_buf(ctx, CONSIGN_HASH_SHA512, data, len, md)))
            return rc;
        if (memcmp(md, hashes->sha512, 64) != 0)
            return consign_fail(ctx, CONSIGN_E_MISMATCH, "%s: sha512 differs from the trusted hash",
                                what);
    }
    return 0;
}

int
consign_tuf_check_path(struct consign_ctx *ctx, const char *path, long long length,
                       const struct consign_tuf_hashes *hashes, const char *what)
{
    unsigned char md[CONSIGN_HASH_MAX];
    unsigned long long size = 0;
    int rc;

    if (!hashes->has_sha256 && !hashes->has_sha512)
        return consign_fail(ctx, CONSIGN_E_INVALID,
                            "%s: no hash algorithm consign knows is listed (sha256, sha512)", what);
    if (hashes->has_sha256) {
        if ((rc = consign_hash_file(ctx, CONSIGN_HASH_SHA256, path, md, &size)))
            return rc;
        if (length >= 0 && (unsigned long long)length != size)
            return consign_fail(ctx, CONSIGN_E_MISMATCH,
                                "%s: %llu bytes, the trusted length is %lld", what, size, length);
        if (memcmp(md, hashes->sha256, 32) != 0)
            return consign_fail(ctx, CONSIGN_E_MISMATCH, "%s: sha256 differs from the trusted hash",
                                what);
    }
    if (hashes->has_sha512) {
        if ((rc = consign_hash_file(ctx, CONSIGN_HASH_SHA512, path, md, &size)))
            return rc;
        if (length >= 0 && (unsigned long long)length != size)
            return consign_fail(ctx, CONSIGN_E_MISMATCH,
                                "%s: %llu bytes, the trusted length is %lld", what, size, length);
        if (memcmp(md, hashes->sha512, 64) != 0)
            return consign_fail(ctx, CONSIGN_E_MISMATCH, "%s: sha512 differs from the trusted hash",
                                what);
    }
    return 0;
}

/* ---- delegation paths ---- */

/* Match one path component against a pattern component: '*' any run of
 * characters, '?' one character, everything else itself. Linear back-tracking
 * to the last star only, so no pattern can make this slow. */
static int
component_match(const char *pat, size_t plen, const char *s, size_t slen)
{
    size_t p = 0, i = 0, star_p = (size_t)-1, star_i = 0;

    while (i < slen) {
        if (p < plen && (pat[p] == '?' || pat[p] == s[i])) {
            p++;
            i++;
        } else if (p < plen && pat[p] == '*') {
            star_p = p++;
            star_i = i;
        } else if (star_p != (size_t)-1) {
            p = star_p + 1;
            i = ++star_i;
        } else
            return 0;
    }
    while (p < plen && pat[p] == '*')
        p++;
    return p == plen;
}

/* Patterns and paths are compared component by component ('/' separated),
 * with the same number of components: a wildcard never matches a '/'. */
static int
path_match(const char *pat, const char *path)
{
    for (;;) {
        const char *pe = strchr(pat, '/'), *se = strchr(path, '/');
        size_t pl = pe ? (size_t)(pe - pat) : strlen(pat);
        size_t sl = se ? (size_t)(se - path) : strlen(path);
        if (!component_match(pat, pl, path, sl))
            return 0;
        if (!pe || !se)
            return !pe && !se;
        pat = pe + 1;
        path = se + 1;
    }
}

int
consign_tuf_role_matches(const struct consign_tuf_role *role, const char *target_path)
{
    unsigned char md[CONSIGN_HASH_MAX];
    char hex[65];
    size_t i;

    for (i = 0; i < role->n_paths; i++)
        if (path_match(role->paths[i], target_path))
            return 1;
    if (!role->n_hash_prefixes)
        return 0;
    if (consign_hash_buf(NULL, CONSIGN_HASH_SHA256, target_path, strlen(target_path), md))
        return 0;
    consign_hex(md, 32, hex);
    for (i = 0; i < role->n_hash_prefixes; i++)
        if (strncmp(hex, role->hash_prefixes[i], strlen(role->hash_prefixes[i])) == 0 &&
            strlen(role->hash_prefixes[i]) <= 64)
            return 1;
    return 0;
}
