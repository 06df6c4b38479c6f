/* The newest release of a product from a TUF repository (consign/release.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "consign/buf.h"
#include "consign/fileio.h"
#include "consign/json.h"
#include "consign/pac.h"
#include "consign/release.h"
#include "consign/version.h"

struct consign_release_client {
    struct consign_release_opts o;
    struct consign_net_tuf nt;
    char *urls[2 * CONSIGN_NET_MAX_MIRRORS];
    struct consign_tuf_client *tuf;
};

/* Metadata and targets from the mirrors in order, starting at first. */
static void
order_mirrors(struct consign_release_client *c, size_t first)
{
    size_t i, n = c->o.n_urls;

    for (i = 0; i < n; i++) {
        c->nt.metadata_urls[i] = c->urls[2 * ((first + i) % n)];
        c->nt.targets_urls[i] = c->urls[2 * ((first + i) % n) + 1];
    }
    c->nt.last_error[0] = '\0';
}

static int
open_tuf(struct consign_ctx *ctx, struct consign_release_client *c)
{
    struct consign_tuf_options to;

    consign_tuf_client_free(c->tuf);
    c->tuf = NULL;
    consign_tuf_options_init(&to);
    to.metadata_dir = c->o.metadata_dir;
    to.fetch = consign_net_tuf_fetch;
    to.fetch_user = &c->nt;
    to.now = c->o.now;
    return consign_tuf_client_new(ctx, &to, &c->tuf);
}

const char *
consign_release_host_arch(void)
{
#if defined(__x86_64__)
    return "amd64";
#elif defined(__aarch64__)
    return "arm64";
#elif defined(__i386__)
    return "i386";
#else
    return "unknown";
#endif
}

void
consign_release_client_free(struct consign_release_client *c)
{
    size_t i;

    if (!c)
        return;
    consign_tuf_client_free(c->tuf);
    for (i = 0; i < sizeof(c->urls) / sizeof(c->urls[0]); i++)
        free(c->urls[i]);
    free(c);
}

/* The trust anchor: the metadata directory's root.json, else the embedded
 * one written there (the chain walk then brings it up to date). */
static int
seed_root(struct consign_ctx *ctx, const struct consign_release_opts *o)
{
    struct stat st;
    char *path = NULL;
    int rc = 0;

    if ((rc = consign_mkdirs(ctx, o->metadata_dir, 0755)))
        return rc;
    if (!(path = consign_asprintf(ctx, "%s/root.json", o->metadata_dir)))
        return CONSIGN_E_NOMEM;
    if (lstat(path, &st) == 0)
        goto out;
    if (errno != ENOENT) {
        rc = consign_fail_errno(ctx, errno, "%s", path);
        goto out;
    }
    if (!o->root_json || !o->root_json_len) {
        rc = consign_fail(ctx, CONSIGN_E_NOTFOUND, "%s: no trusted root", path);
        goto out;
    }
    rc = consign_file_write_atomic(ctx, path, o->root_json, o->root_json_len, 0644);
out:
    free(path);
    return rc;
}

int
consign_release_client_new(struct consign_ctx *ctx, const struct consign_release_opts *o,
                           struct consign_release_client **out)
{
    struct consign_release_client *c = NULL;
    size_t i;
    int rc = 0;

    *out = NULL;
    if (!o->n_urls || o->n_urls > CONSIGN_NET_MAX_MIRRORS || !o->net || !o->name || !o->channel ||
        !o->arch || !o->metadata_dir)
        return consign_fail(ctx, CONSIGN_E_USAGE, "release: incomplete options");
    if (!(c = consign_calloc(ctx, 1, sizeof(*c))))
        return CONSIGN_E_NOMEM;
    c->o = *o;
    c->nt.net = o->net;
    c->nt.log_ctx = ctx;
    c->nt.cache_dir = o->metadata_dir; /* timestamp.json: a conditional GET */
    for (i = 0; i < o->n_urls; i++) {
        if (!(c->urls[2 * i] = consign_asprintf(ctx, "%s/metadata", o->urls[i])) ||
            !(c->urls[2 * i + 1] = consign_asprintf(ctx, "%s/targets", o->urls[i]))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
    }
    c->nt.n_metadata_urls = c->nt.n_targets_urls = o->n_urls;
    order_mirrors(c, 0);
    if ((rc = seed_root(ctx, o)) || (rc = open_tuf(ctx, c)))
        goto out;
    *out = c;
    c = NULL;
out:
    consign_release_client_free(c);
    return rc;
}

void
consign_release_clear(struct consign_release *r)
{
    if (!r)
        return;
    free(r->version);
    free(r->min_version);
    memset(r, 0, sizeof(*r));
}

/* A network failure under the TUF workflow: say what the network said (a
 * proxy refusing credentials, a certificate) rather than "download failed". */
static int
explain(struct consign_ctx *ctx, struct consign_release_client *c, int rc)
{
    if ((rc == CONSIGN_E_NETWORK || rc == CONSIGN_E_PERM || rc == CONSIGN_E_CRYPTO ||
         rc == CONSIGN_E_NOTFOUND || rc == CONSIGN_E_USAGE) &&
        c->nt.last_error[0])
        return consign_fail(ctx, rc, "%s", c->nt.last_error);
    return rc;
}

/* NAME/VERSION/linux-ARCH/FILE with our name, arch and a safe file name. */
static int
path_matches(const struct consign_release_opts *o, const char *path, const char *version)
{
    size_t n = strlen(o->name), v = strlen(version), a = strlen(o->arch), i;
    const char *p = path, *file;

    if (strncmp(p, o->name, n) != 0 || p[n] != '/')
        return 0;
    p += n + 1;
    if (strncmp(p, version, v) != 0 || p[v] != '/')
        return 0;
    p += v + 1;
    if (strncmp(p, "linux-", 6) != 0 || strncmp(p + 6, o->arch, a) != 0 || p[6 + a] != '/')
        return 0;
    file = p + 7 + a;
    if (!file[0] || file[0] == '.')
        return 0;
    for (i = 0; file[i]; i++) {
        char ch = file[i];
        if (!(('a' <= ch && ch <= 'z') || ('A' <= ch && ch <= 'Z') || ('0' <= ch && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '+' || ch == '~' || ch == '-'))
            return 0;
    }
    return 1;
}

static const char *
jstr(const struct consign_json *obj, const char *key)
{
    const struct consign_json *v = consign_json_get(obj, key);

    return v && v->type == CONSIGN_JSON_STRING && strlen(v->str) == v->len ? v->str : NULL;
}

int
consign_release_latest(struct consign_ctx *ctx, struct consign_release_client *c,
                       struct consign_release *out)
{
    const struct consign_tuf_metadata *targets;
    const struct consign_tuf_target *best = NULL;
    struct consign_json *custom = NULL, *best_custom = NULL;
    const char *best_version = NULL;
    size_t i;
    int rc;

    memset(out, 0, sizeof(*out));
    /* A mirror that serves metadata the client refuses (or none) is passed
     * over: the whole workflow again from the next one, with a fresh client
     * over what the refused attempt left trusted (a refused file changes
     * nothing). */
    for (i = 0; i < c->o.n_urls; i++) {
        if (i) {
            order_mirrors(c, i);
            if ((rc = open_tuf(ctx, c)))
                goto out;
        }
        if (!(rc = consign_tuf_client_refresh(ctx, c->tuf)))
            break;
        rc = consign_err_context(ctx, explain(ctx, c, rc), "update metadata");
        if (rc == CONSIGN_E_NOMEM || rc == CONSIGN_E_IO || i + 1 == c->o.n_urls)
            goto out;
        consign_log(ctx, CONSIGN_LOG_WARN, "%s; trying the next mirror", consign_err_msg(ctx));
        consign_err_clear(ctx);
    }
    targets = consign_tuf_client_trusted(c->tuf, CONSIGN_TUF_TARGETS);
    for (i = 0; targets && i < targets->n_targets; i++) {
        const struct consign_tuf_target *t = &targets->targets[i];
        const char *version, *channel;
        if (!t->custom)
            continue;
        consign_json_free(custom);
        custom = NULL;
        if (consign_json_parse(ctx, t->custom, strlen(t->custom), NULL, &custom)) {
            consign_err_clear(ctx);
            continue;
        }
        version = jstr(custom, "version");
        channel = jstr(custom, "channel");
        if (consign_json_get(custom, "patch"))
            continue; /* a delta, not an installer */
        if (!version || !channel || strcmp(channel, c->o.channel) != 0 ||
            !consign_deb_version_ok(version) || !path_matches(&c->o, t->path, version))
            continue;
        if (!best || consign_deb_vercmp(version, best_version) > 0) {
            consign_json_free(best_custom);
            best_custom = custom;
            custom = NULL;
            best = t;
            best_version = version;
        }
    }
    if (!best) {
        rc = consign_fail(ctx, CONSIGN_E_NOTFOUND,
                          "the update repository lists no release of %s for linux-%s in channel "
                          "%s",
                          c->o.name, c->o.arch, c->o.channel);
        goto out;
    }
    /* Look it up again the way the specification says (delegations). */
    if ((rc = consign_tuf_client_find_target(ctx, c->tuf, best->path, &out->target)))
        goto out;
    if (!(out->version = consign_strdup(ctx, best_version))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    out->rollout = 100;
    {
        const struct consign_json *r = consign_json_get(best_custom, "rollout");
        const char *mv = jstr(best_custom, "min_version");
        if (r && r->type == CONSIGN_JSON_INT && r->integer >= 0 && r->integer <= 100)
            out->rollout = (int)r->integer;
        if (mv && !(out->min_version = consign_strdup(ctx, mv))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
    }
out:
    consign_json_free(custom);
    consign_json_free(best_custom);
    if (rc)
        consign_release_clear(out);
    return rc;
}

static long long
jint(const struct consign_json *obj, const char *key)
{
    const struct consign_json *v = consign_json_get(obj, key);

    return v && v->type == CONSIGN_JSON_INT ? v->integer : -1;
}

static int
hex64(const char *s)
{
    size_t i;

    if (!s || strlen(s) != 64)
        return 0;
    for (i = 0; i < 64; i++)
        if (!(('0' <= s[i] && s[i] <= '9') || ('a' <= s[i] && s[i] <= 'f')))
            return 0;
    return 1;
}

int
consign_release_find_patch(struct consign_ctx *ctx, struct consign_release_client *c,
                           const struct consign_release *r, const char *from_sha256,
                           struct consign_release_patch *out)
{
    const struct consign_tuf_metadata *targets =
        consign_tuf_client_trusted(c->tuf, CONSIGN_TUF_TARGETS);
    struct consign_json *custom = NULL;
    size_t i;
    int rc = CONSIGN_E_NOTFOUND;

    memset(out, 0, sizeof(*out));
    for (i = 0; targets && i < targets->n_targets; i++) {
        const struct consign_tuf_target *t = &targets->targets[i];
        const struct consign_json *p;
        const char *version, *fs, *sha, *iv, *sg, *fv;
        consign_json_free(custom);
        custom = NULL;
        if (!t->custom || consign_json_parse(ctx, t->custom, strlen(t->custom), NULL, &custom)) {
            consign_err_clear(ctx);
            continue;
        }
        version = jstr(custom, "version");
        if (!(p = consign_json_get(custom, "patch")) || p->type != CONSIGN_JSON_OBJECT ||
            !version || strcmp(version, r->version) != 0 || !path_matches(&c->o, t->path, version))
            continue;
        fs = jstr(p, "from_sha256");
        sha = jstr(p, "sha256");
        iv = jstr(p, "install_version");
        sg = jstr(p, "signer");
        fv = jstr(p, "from_version");
        if (!hex64(fs) || strcmp(fs, from_sha256) != 0 || !hex64(sha) || !iv ||
            !consign_deb_version_ok(iv) || !sg || strlen(sg) != 40 || !fv ||
            jint(p, "from_length") <= 0 || jint(p, "length") <= 0)
            continue;
        if ((rc = consign_tuf_client_find_target(ctx, c->tuf, t->path, &out->target)))
            goto out;
        memcpy(out->from_sha256, fs, 65);
        memcpy(out->sha256, sha, 65);
        snprintf(out->install_version, sizeof(out->install_version), "%s", iv);
        snprintf(out->from_version, sizeof(out->from_version), "%s", fv);
        snprintf(out->signer, sizeof(out->signer), "%s", sg);
        out->from_length = (unsigned long long)jint(p, "from_length");
        out->length = (unsigned long long)jint(p, "length");
        rc = 0;
        goto out;
    }
out:
    consign_json_free(custom);
    return rc;
}

struct check {
    const struct consign_tuf_target *t;
};

static int
check_download(struct consign_ctx *ctx, void *user, const char *data, size_t len, const char *path)
{
    struct check *k = user;

    (void)data;
    (void)len;
    return consign_tuf_check_path(ctx, path, k->t->length, &k->t->hashes, k->t->path);
}

int
consign_release_download(struct consign_ctx *ctx, struct consign_release_client *c,
                         const struct consign_release *r, const char *dest,
                         void (*progress)(void *user, unsigned long long done,
                                          unsigned long long total),
                         void *progress_user)
{
    struct consign_net_request req;
    struct check k = {r->target};
    char *name = NULL;
    int rc;

    if ((rc = consign_tuf_client_target_name(ctx, c->tuf, r->target, &name)))
        goto out;
    memset(&req, 0, sizeof(req));
    req.mirrors = c->nt.targets_urls;
    req.n_mirrors = c->nt.n_targets_urls;
    req.name = name;
    req.max_len = (size_t)r->target->length;
    req.expect_len = r->target->length;
    req.check = check_download;
    req.check_user = &k;
    req.progress = progress;
    req.progress_user = progress_user;
    req.no_sync = 1; /* verified again before the install, removed after it */
    if (!req.max_len) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "%s: listed with length 0", r->target->path);
        goto out;
    }
    rc = consign_net_download(ctx, c->o.net, &req, dest);
out:
    free(name);
    return rc ? consign_err_context(ctx, rc, "download") : 0;
}

/* ---- network settings and the update lock ---------------------------------- */

/* Ask the PAC file which proxy serves url; DIRECT gives *proxy_out NULL. */
static int
pac_proxy(struct consign_ctx *ctx, const char *ca_bundle, const char *pac_url, const char *url,
          char **proxy_out)
{
    struct consign_net_options no;
    struct consign_net *net = NULL;
    struct consign_net_request req;
    struct consign_pac_result res;
    struct consign_buf pac;
    const char *mirror[1] = {pac_url};
    size_t i;
    int rc;

    *proxy_out = NULL;
    consign_buf_init(&pac, CONSIGN_PAC_DEFAULT_SCRIPT_MAX);
    consign_net_options_init(&no);
    no.no_env_proxy = 1;
    no.allow_http = 1; /* PAC files are commonly served over http (WPAD) */
    if (ca_bundle) {
        no.ca_files[0] = ca_bundle;
        no.n_ca_files = 1;
    }
    memset(&req, 0, sizeof(req));
    req.mirrors = mirror;
    req.n_mirrors = 1;
    req.max_len = CONSIGN_PAC_DEFAULT_SCRIPT_MAX;
    req.expect_len = -1;
    if ((rc = consign_net_new(ctx, &no, &net)) || (rc = consign_net_get(ctx, net, &req, &pac)) ||
        (rc = consign_pac_find_proxy(ctx, pac.data, pac.len, url, NULL, &res)))
        goto out;
    for (i = 0; i < res.n; i++) {
        const struct consign_pac_entry *e = &res.e[i];
        if (e->type == CONSIGN_PAC_DIRECT)
            break;
        if (e->type == CONSIGN_PAC_PROXY) {
            int v6 = strchr(e->host, ':') != NULL;
            if (!(*proxy_out = consign_asprintf(ctx, "http://%s%s%s:%u", v6 ? "[" : "", e->host,
                                                v6 ? "]" : "", e->port)))
                rc = CONSIGN_E_NOMEM;
            break;
        }
        consign_log(ctx, CONSIGN_LOG_INFO, "PAC: skipping %s %s (not supported)",
                    consign_pac_type_name(e->type), e->host);
    }
    if (!rc && i == res.n)
        rc = consign_fail(ctx, CONSIGN_E_NETWORK, "PAC: no usable proxy in the answer");
    if (!rc)
        consign_log(ctx, CONSIGN_LOG_INFO, "PAC: %s", *proxy_out ? *proxy_out : "DIRECT");
out:
    consign_net_free(net);
    consign_buf_free(&pac);
    return rc ? consign_err_context(ctx, rc, "proxy auto-configuration") : 0;
}

/* A setting's value; NULL when absent or to be removed (""). */
static const char *
conf_value(const struct consign_conf *c, const char *key)
{
    const char *v = consign_conf_get(c, key);

    return v && v[0] ? v : NULL;
}

int
consign_release_net_new(struct consign_ctx *ctx, const struct consign_release_net *o,
                        const struct consign_conf *answers, struct consign_net **out)
{
    struct consign_net_options no;
    const char *pac = conf_value(answers, "proxy_pac_url");
    const char *host = conf_value(answers, "proxy_host");
    const char *lst;
    unsigned long long v;
    char *proxy = NULL;
    size_t i;
    int rc = 0;

    consign_net_options_init(&no);
    if (o->ca_bundle) {
        no.ca_files[0] = o->ca_bundle;
        no.n_ca_files = 1;
    }
    for (i = 0; i < o->n_urls; i++)
        if (strncmp(o->urls[i], "http://", 7) == 0)
            no.allow_http = 1; /* loopback only (bootconf.c) */
    if (pac) {
        if ((rc = pac_proxy(ctx, o->ca_bundle, pac, o->n_urls ? o->urls[0] : pac, &proxy)))
            goto out;
        no.no_env_proxy = 1;
        /* The proxy the PAC file names may ask for the credentials given. */
        no.proxy_user = conf_value(answers, "proxy_user");
        no.proxy_password = conf_value(answers, "proxy_password");
    } else if (host) {
        const char *port = conf_value(answers, "proxy_port");
        int v6 = strchr(host, ':') != NULL;
        if (!(proxy = consign_asprintf(ctx, "http://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "",
                                       port ? port : "3128"))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        no.proxy_user = conf_value(answers, "proxy_user");
        no.proxy_password = conf_value(answers, "proxy_password");
    } else if (o->no_proxy)
        no.no_env_proxy = 1; /* PROPERTY_USE_PROXY= (empty): no proxy at all */
    no.proxy = proxy;
    no.pinned_pubkey = o->pin;
    /* A transfer slower than 1 KiB/s for this long is abandoned (default 30 s). */
    if ((lst = getenv("CONSIGN_LOW_SPEED_TIME")) && consign_parse_u64(lst, 3600, &v) == 0 && v)
        no.low_speed_time = (long)v;
    rc = consign_net_new(ctx, &no, out);
out:
    free(proxy);
    return rc;
}

int
consign_release_lock(struct consign_ctx *ctx, const char *updir, unsigned wait_s, int *fd_out)
{
    char *path = consign_asprintf(ctx, "%s/.lock", updir);
    int fd = -1, rc = 0;

    if (!path)
        return CONSIGN_E_NOMEM;
    if ((rc = consign_mkdirs(ctx, updir, 0755)))
        goto out;
    if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", path);
        goto out;
    }
    /* A holder that is going away (a killed run's helper) lets go soon. */
    while (flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK && wait_s-- > 0)
        sleep(1);
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        rc = errno == EWOULDBLOCK
                 ? consign_fail(ctx, CONSIGN_E_LOCKED,
                                "another install or update of this agent is running")
                 : consign_fail_errno(ctx, errno, "lock %s", path);
        goto out;
    }
    *fd_out = fd;
    fd = -1;
out:
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}
