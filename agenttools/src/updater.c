/* The on-target updater (consign/updater.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "consign/bootconf.h"
#include "consign/delta.h"
#include "consign/fileio.h"
#include "consign/hash.h"
#include "consign/install.h"
#include "consign/net.h"
#include "consign/release.h"
#include "consign/sfx.h"
#include "consign/sfx_install.h"
#include "consign/ui.h"
#include "consign/updater.h"
#include "consign/version.h"

#define STATE_MAX  (16 * 1024)
#define FAILED_MAX 16

/* What the updater remembers between runs. */
struct state {
    char pending[128];  /* a version being installed or on probation */
    char previous[128]; /* the version it replaced (the rollback target) */
    long long probation_until;
    char failed[FAILED_MAX][128]; /* versions that failed here: skipped */
    size_t n_failed;
    char last_failure[512];
    long long last_check;
    char last_result[512];
    long long not_before; /* a server's Retry-After: no automatic request before */
};

/* Everything one run needs, freed in one place. */
struct run {
    const struct consign_updater_opts *o;
    char *updir, *statefile, *confdir, *optdir;
    struct consign_conf settings;
    struct consign_bootconf uconf;
    int have_uconf;
    struct state st;
    int lockfd;
    long long now;
};

const char *
consign_update_verdict_name(enum consign_update_verdict v)
{
    switch (v) {
    case CONSIGN_UPDATE_DISABLED:
        return "disabled";
    case CONSIGN_UPDATE_UP_TO_DATE:
        return "up-to-date";
    case CONSIGN_UPDATE_AVAILABLE:
        return "available";
    case CONSIGN_UPDATE_NOT_YET:
        return "not-yet";
    case CONSIGN_UPDATE_SKIPPED:
        return "skipped";
    case CONSIGN_UPDATE_TOO_OLD:
        return "too-old";
    case CONSIGN_UPDATE_APPLIED:
        return "applied";
    case CONSIGN_UPDATE_DEFERRED:
        return "deferred";
    }
    return "?";
}

unsigned
consign_updater_bucket(const char *name, const char *agent_id)
{
    struct consign_ctx ctx;
    unsigned char md[CONSIGN_HASH_MAX];
    char *in;
    unsigned long v;
    size_t n = strlen(name) + strlen(agent_id) + 2;

    consign_ctx_init(&ctx, NULL, NULL);
    if (!(in = malloc(n)))
        return 99;
    snprintf(in, n, "%s:%s", name, agent_id);
    if (consign_hash_buf(&ctx, CONSIGN_HASH_SHA256, in, strlen(in), md)) {
        free(in);
        return 99;
    }
    free(in);
    v = ((unsigned long)md[0] << 24) | ((unsigned long)md[1] << 16) | ((unsigned long)md[2] << 8) |
        md[3];
    return (unsigned)(v % 100);
}

int
consign_updater_in_rollout(const char *name, const char *agent_id, int percent)
{
    if (percent >= 100)
        return 1;
    if (percent <= 0)
        return 0;
    return consign_updater_bucket(name, agent_id) < (unsigned)percent;
}

/* The repository names a release by the product's version ("1.2.0") or
 * with its package release ("1.2.0-1"); an install records the latter. */
static int
same_release(const char *tuf_version, const char *installed)
{
    size_t n = strlen(tuf_version);

    if (strcmp(tuf_version, installed) == 0)
        return 1;
    return strncmp(tuf_version, installed, n) == 0 && installed[n] == '-' &&
           !strchr(tuf_version, '-') && installed[n + 1] && !strchr(installed + n + 1, '-');
}

/* ---- state file --------------------------------------------------------- */

static void
copy_field(char *dst, size_t cap, const char *v)
{
    size_t n = strlen(v);

    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static int
state_load(struct consign_ctx *ctx, const char *path, struct state *st)
{
    char *data = NULL, *line, *next;
    size_t len = 0;
    int rc;

    memset(st, 0, sizeof(*st));
    rc = consign_file_read(ctx, path, STATE_MAX, &data, &len);
    if (rc == CONSIGN_E_NOTFOUND) {
        consign_err_clear(ctx);
        return 0;
    }
    if (rc)
        return consign_err_context(ctx, rc, "update state");
    for (line = data; line && line < data + len; line = next) {
        char *eq, *nl = memchr(line, '\n', (size_t)(data + len - line));
        unsigned long long v;
        next = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        else
            data[len] = '\0'; /* consign_file_read leaves room for it */
        if (!(eq = strchr(line, '=')))
            continue;
        *eq++ = '\0';
        if (strcmp(line, "pending") == 0)
            copy_field(st->pending, sizeof(st->pending), eq);
        else if (strcmp(line, "previous") == 0)
            copy_field(st->previous, sizeof(st->previous), eq);
        else if (strcmp(line, "probation_until") == 0 && consign_parse_u64(eq, 1ULL << 62, &v) == 0)
            st->probation_until = (long long)v;
        else if (strcmp(line, "failed") == 0 && st->n_failed < FAILED_MAX && eq[0])
            copy_field(st->failed[st->n_failed++], sizeof(st->failed[0]), eq);
        else if (strcmp(line, "last_failure") == 0)
            copy_field(st->last_failure, sizeof(st->last_failure), eq);
        else if (strcmp(line, "last_check") == 0 && consign_parse_u64(eq, 1ULL << 62, &v) == 0)
            st->last_check = (long long)v;
        else if (strcmp(line, "last_result") == 0)
            copy_field(st->last_result, sizeof(st->last_result), eq);
        else if (strcmp(line, "not_before") == 0 && consign_parse_u64(eq, 1ULL << 62, &v) == 0)
            st->not_before = (long long)v;
        /* Unknown keys: a newer updater's; ignored. */
    }
    free(data);
    return 0;
}

static int
state_save(struct consign_ctx *ctx, const char *path, const struct state *st)
{
    struct consign_buf b;
    size_t i;
    int rc;

    consign_buf_init(&b, STATE_MAX);
    rc = consign_buf_printf(ctx, &b,
                            "# consign updater state (written by NAME-update; do not edit)\n"
                            "pending=%s\nprevious=%s\nprobation_until=%lld\nlast_check=%lld\n"
                            "last_result=%s\nlast_failure=%s\nnot_before=%lld\n",
                            st->pending, st->previous, st->probation_until, st->last_check,
                            st->last_result, st->last_failure, st->not_before);
    for (i = 0; !rc && i < st->n_failed; i++)
        rc = consign_buf_printf(ctx, &b, "failed=%s\n", st->failed[i]);
    if (!rc)
        rc = consign_file_write_atomic(ctx, path, b.data, b.len, 0644);
    consign_buf_free(&b);
    return rc ? consign_err_context(ctx, rc, "update state") : 0;
}

static int
state_failed(const struct state *st, const char *v)
{
    size_t i;

    for (i = 0; i < st->n_failed; i++)
        if (same_release(st->failed[i], v) || same_release(v, st->failed[i]))
            return 1;
    return 0;
}

static void
state_add_failed(struct state *st, const char *v)
{
    if (state_failed(st, v))
        return;
    if (st->n_failed == FAILED_MAX) { /* the oldest goes */
        memmove(st->failed[0], st->failed[1], sizeof(st->failed[0]) * (FAILED_MAX - 1));
        st->n_failed--;
    }
    copy_field(st->failed[st->n_failed++], sizeof(st->failed[0]), v);
}

/* ---- one run ------------------------------------------------------------ */

static void
run_free(struct run *r)
{
    if (r->lockfd >= 0)
        close(r->lockfd);
    free(r->updir);
    free(r->statefile);
    free(r->confdir);
    free(r->optdir);
    consign_conf_free(&r->settings);
    consign_bootconf_free(&r->uconf);
}

static int
run_begin(struct consign_ctx *ctx, const struct consign_updater_opts *o, struct run *r, int lock)
{
    const char *root = o->root ? o->root : "";
    int rc;

    memset(r, 0, sizeof(*r));
    r->o = o;
    r->lockfd = -1;
    r->now = o->now ? o->now : (long long)time(NULL);
    if (!consign_install_name_ok(o->name))
        return consign_fail(ctx, CONSIGN_E_INVALID, "invalid product name '%.64s'", o->name);
    if (!(r->updir = consign_asprintf(ctx, "%s/var/opt/%s/update", root, o->name)) ||
        !(r->statefile = consign_asprintf(ctx, "%s/state", r->updir)) ||
        !(r->confdir = consign_asprintf(ctx, "%s/var/opt/%s/conf", root, o->name)) ||
        !(r->optdir = consign_asprintf(ctx, "%s/opt/%s", root, o->name)))
        return CONSIGN_E_NOMEM;
    if (lock && (rc = consign_release_lock(ctx, r->updir, 10, &r->lockfd)))
        return rc;
    if ((rc = consign_conf_load(ctx, r->confdir, &r->settings)))
        return rc;
    return state_load(ctx, r->statefile, &r->st);
}

/* The update configuration the installed version carries (signed with it). */
static int
load_uconf(struct consign_ctx *ctx, struct run *r, struct consign_buf *root_json)
{
    char *path = NULL, *data = NULL;
    size_t len = 0;
    int rc;

    if (!(path = consign_asprintf(ctx, "%s/current/%s", r->optdir, CONSIGN_UPDATECONF_FILE)))
        return CONSIGN_E_NOMEM;
    rc = consign_file_read(ctx, path, CONSIGN_BOOTCONF_MAX, &data, &len);
    if (rc == CONSIGN_E_NOTFOUND)
        rc = consign_fail(ctx, CONSIGN_E_NOTFOUND,
                          "this install has no update source (%s is missing: the installer was "
                          "built without --tuf-root)",
                          path);
    if (!rc && (rc = consign_bootconf_parse(ctx, data, len, &r->uconf)) == 0)
        r->have_uconf = 1;
    free(data);
    data = NULL;
    free(path);
    if (rc)
        return rc;
    if (strcmp(r->uconf.name, r->o->name) != 0)
        return consign_fail(ctx, CONSIGN_E_INVALID, "update.conf names %s, not %s", r->uconf.name,
                            r->o->name);
    if (!(path = consign_asprintf(ctx, "%s/current/%s", r->optdir, CONSIGN_UPDATEROOT_FILE)))
        return CONSIGN_E_NOMEM;
    rc = consign_file_read(ctx, path, 1 << 20, &data, &len);
    if (!rc)
        rc = consign_buf_append(ctx, root_json, data, len);
    free(data);
    free(path);
    return rc;
}

static int
run_restart_command(struct consign_ctx *ctx, const char *cmd)
{
    pid_t pid;
    int st;

    consign_log(ctx, CONSIGN_LOG_INFO, "restarting the agent: %s", cmd);
    if ((pid = fork()) < 0)
        return consign_fail_errno(ctx, errno, "fork");
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return consign_fail_errno(ctx, errno, "waitpid");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        consign_log(ctx, CONSIGN_LOG_WARN, "the restart command failed (status %d)",
                    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 0;
}

static int
service_active(const char *name)
{
    char unit[CONSIGN_NAME_MAX + 16];
    struct stat sb;
    pid_t pid;
    int st;

    if (lstat("/run/systemd/system", &sb) < 0)
        return 1; /* SysV: the init script started it; its own checks reported */
    snprintf(unit, sizeof(unit), "%s.service", name);
    if ((pid = fork()) < 0)
        return 0;
    if (pid == 0) {
        int fd = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execlp("systemctl", "systemctl", "is-active", "--quiet", unit, (char *)NULL);
        _exit(127);
    }
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return 0;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* One health request: 2xx within a few seconds. */
static int
health_once(struct consign_ctx *ctx, const char *url)
{
    struct consign_net_options no;
    struct consign_net_request req;
    struct consign_net *net = NULL;
    struct consign_buf body;
    struct consign_ctx quiet;
    const char *mirror[1] = {url};
    int ok;

    consign_ctx_init(&quiet, NULL, NULL);
    (void)ctx;
    consign_buf_init(&body, 64 * 1024);
    consign_net_options_init(&no);
    no.allow_http = 1;
    no.no_env_proxy = 1; /* the loopback, never through a proxy */
    no.connect_timeout = 2;
    no.timeout = 5;
    no.retries = -1;
    memset(&req, 0, sizeof(req));
    req.mirrors = mirror;
    req.n_mirrors = 1;
    req.max_len = 64 * 1024;
    req.expect_len = -1;
    ok = consign_net_new(&quiet, &no, &net) == 0 && consign_net_get(&quiet, net, &req, &body) == 0;
    consign_net_free(net);
    consign_buf_free(&body);
    return ok;
}

/* Wait until the new version answers its health check, or the deadline. */
static int
wait_healthy(struct consign_ctx *ctx, struct run *r, long long deadline)
{
    const char *url = r->have_uconf ? r->uconf.health_url : NULL;

    if (!url) {
        /* No health check: the service must still be running a little after
         * the start (a crash loop is not). */
        long long settle = deadline - (long long)time(NULL);
        if (!r->o->root || !r->o->root[0]) {
            sleep((unsigned)(settle > 10 ? 10 : settle > 0 ? settle : 0));
            return service_active(r->o->name);
        }
        return 1;
    }
    for (;;) {
        if (health_once(ctx, url))
            return 1;
        if ((long long)time(NULL) >= deadline)
            return 0;
        sleep(1);
    }
}

static int
switch_back(struct consign_ctx *ctx, struct run *r, const char *bad, const char *why)
{
    int rc;

    consign_log(ctx, CONSIGN_LOG_WARN, "%s %s: %s; switching back to %s", r->o->name, bad, why,
                r->st.previous);
    if ((rc = consign_install_switch(ctx, r->o->root, r->o->name, r->st.previous, 0)))
        return consign_err_context(ctx, rc, "rollback to %s", r->st.previous);
    if (r->o->restart_command)
        run_restart_command(ctx, r->o->restart_command);
    state_add_failed(&r->st, bad);
    snprintf(r->st.last_failure, sizeof(r->st.last_failure), "%s: %s (back on %s)", bad, why,
             r->st.previous);
    snprintf(r->st.last_result, sizeof(r->st.last_result), "rolled back %s to %s", bad,
             r->st.previous);
    r->st.pending[0] = '\0';
    r->st.probation_until = 0;
    return state_save(ctx, r->statefile, &r->st);
}

static unsigned long
probation_of(const struct run *r)
{
    return r->o->probation ? r->o->probation : r->have_uconf ? r->uconf.probation : 120;
}

/* After a switch: the service manager's restart on the real system (the
 * install core's), the restart command where one is given. */
static void
restart_agent(struct consign_ctx *ctx, struct run *r)
{
    if (r->o->restart_command)
        run_restart_command(ctx, r->o->restart_command);
    else
        consign_install_restart(ctx, r->o->root, r->o->name);
}

/* A previous run was stopped with a version pending: the install did not
 * happen (forget it) or it did and its probation was not finished (finish
 * it now, within what is left of it). */
static int
settle_pending(struct consign_ctx *ctx, struct run *r, const char *installed)
{
    char why[256];
    int rc;

    if (!r->st.pending[0])
        return 0;
    if (!same_release(r->st.pending, installed)) {
        consign_log(ctx, CONSIGN_LOG_INFO, "an update to %s did not complete; %s still runs",
                    r->st.pending, installed);
        r->st.pending[0] = '\0';
        r->st.probation_until = 0;
        return state_save(ctx, r->statefile, &r->st);
    }
    /* Killed between the switch and the restart, the old code may still
     * run: restart, and give the new version a whole probation again. */
    consign_log(ctx, CONSIGN_LOG_INFO, "finishing the probation of %s: restarting it", installed);
    restart_agent(ctx, r);
    if (r->st.probation_until < (long long)time(NULL) + (long long)probation_of(r))
        r->st.probation_until = (long long)time(NULL) + (long long)probation_of(r);
    if (wait_healthy(ctx, r, r->st.probation_until)) {
        snprintf(r->st.last_result, sizeof(r->st.last_result), "updated %s to %s",
                 r->st.previous[0] ? r->st.previous : "?", installed);
        r->st.pending[0] = '\0';
        r->st.probation_until = 0;
        return state_save(ctx, r->statefile, &r->st);
    }
    snprintf(why, sizeof(why), "no healthy answer within its probation");
    rc = switch_back(ctx, r, r->st.pending, why);
    return rc ? rc
              : consign_fail(ctx, CONSIGN_E_UNHEALTHY, "%s %s failed its probation; %s runs",
                             r->o->name, installed, r->st.previous);
}

static int
signer_listed(const struct consign_bootconf *c, const char *fpr)
{
    size_t i;

    for (i = 0; i < c->n_signers; i++)
        if (consign_fpr_equal(c->signers[i], fpr))
            return 1;
    return 0;
}

/* ---- delta updates -------------------------------------------------------- */

/* The installed version's payload tar, from the base cache, whole and
 * checked against the SHA-256 the signed patch names. */
static int
load_base(struct consign_ctx *ctx, const char *path, const struct consign_release_patch *pt,
          struct consign_buf *out)
{
    unsigned char in[64 * 1024], md[CONSIGN_HASH_MAX];
    char hex[65];
    ZSTD_DStream *z = NULL;
    int fd = -1, rc = 0;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
        return consign_fail_errno(ctx, errno, "%s", path);
    if (!(z = ZSTD_createDStream()) ||
        ZSTD_isError(ZSTD_DCtx_setParameter(z, ZSTD_d_windowLogMax, 27))) {
        rc = consign_fail(ctx, CONSIGN_E_NOMEM, "zstd");
        goto out;
    }
    for (;;) {
        ssize_t got = consign_read(fd, in, sizeof(in));
        ZSTD_inBuffer zi = {in, got > 0 ? (size_t)got : 0, 0};
        if (got < 0) {
            rc = consign_fail_errno(ctx, errno, "%s", path);
            goto out;
        }
        if (got == 0)
            break;
        while (zi.pos < zi.size) {
            unsigned char o[128 * 1024];
            ZSTD_outBuffer zo = {o, sizeof(o), 0};
            size_t r = ZSTD_decompressStream(z, &zo, &zi);
            if (ZSTD_isError(r)) {
                rc = consign_fail(ctx, CONSIGN_E_MISMATCH, "%s: %s", path, ZSTD_getErrorName(r));
                goto out;
            }
            if ((rc = consign_buf_append(ctx, out, o, zo.pos)))
                goto out;
        }
    }
    if (out->len != pt->from_length ||
        (rc = consign_hash_buf(ctx, CONSIGN_HASH_SHA256, out->data ? out->data : "", out->len,
                               md))) {
        rc = rc ? rc : consign_fail(ctx, CONSIGN_E_MISMATCH, "the kept base is not the patch's");
        goto out;
    }
    consign_hex(md, 32, hex);
    if (strcmp(hex, pt->from_sha256) != 0)
        rc = consign_fail(ctx, CONSIGN_E_MISMATCH, "the kept base is not the patch's");
out:
    ZSTD_freeDStream(z);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Where the patched tar goes: the install core, the hash, the next base. */
struct patched {
    struct consign_install *in;
    struct consign_hash *h;
    ZSTD_CCtx *cc;
    int cache_fd;
    unsigned long long n, max;
};

static int
patched_out(struct consign_ctx *ctx, struct patched *p, const void *data, size_t n, int end)
{
    unsigned char buf[64 * 1024];
    ZSTD_inBuffer zi = {data, n, 0};
    int rc;

    if (n > p->max - p->n)
        return consign_fail(ctx, CONSIGN_E_TOOBIG, "the patch gives more than its signed length");
    p->n += n;
    if ((n && (rc = consign_hash_update(ctx, p->h, data, n))) ||
        (n && (rc = consign_install_feed(ctx, p->in, data, n))))
        return rc;
    for (;;) {
        ZSTD_outBuffer zo = {buf, sizeof(buf), 0};
        size_t left = ZSTD_compressStream2(p->cc, &zo, &zi, end ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(left))
            return consign_fail(ctx, CONSIGN_E_INTERNAL, "zstd: %s", ZSTD_getErrorName(left));
        if (zo.pos && consign_write_all(ctx, p->cache_fd, buf, zo.pos, "base cache"))
            return ctx->err_code;
        if (end ? left == 0 : zi.pos == zi.size)
            return 0;
    }
}

/* Install the release through its patch from the kept base. 0: committed
 * (the caller goes on with the probation); an error: nothing changed, the
 * caller downloads the full release. */
static int
apply_delta(struct consign_ctx *ctx, struct run *r, struct consign_release_client *client,
            const struct consign_release *rel, const char *dldir, unsigned long long *fetched)
{
    struct consign_base_info bi;
    struct consign_release_patch pt;
    struct consign_release prel;
    struct consign_install_opts io;
    struct patched p;
    struct consign_buf base;
    unsigned char in[64 * 1024], md[CONSIGN_HASH_MAX];
    char hex[65], *cache = NULL, *basefile = NULL, *part = NULL, *patch = NULL;
    ZSTD_DStream *z = NULL;
    int fd = -1, rc;

    memset(&p, 0, sizeof(p));
    p.cache_fd = -1;
    consign_buf_init(&base, (size_t)CONSIGN_DELTA_MAX_TAR);
    if (!(cache = consign_asprintf(ctx, "%s/cache", r->updir)) ||
        !(basefile = consign_asprintf(ctx, "%s/" CONSIGN_BASE_TAR, cache)) ||
        !(part = consign_asprintf(ctx, "%s/" CONSIGN_BASE_TAR ".part", cache))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = consign_base_info_read(ctx, cache, &bi)) ||
        (rc = consign_release_find_patch(ctx, client, rel, bi.sha256, &pt)))
        goto out;
    if (pt.from_length > CONSIGN_DELTA_MAX_TAR || pt.length > CONSIGN_DELTA_MAX_TAR) {
        rc = consign_fail(ctx, CONSIGN_E_TOOBIG, "patch sizes over the limit");
        goto out;
    }
    if (!consign_install_trusts(ctx, r->o->root, r->o->name, pt.signer) &&
        !signer_listed(&r->uconf, pt.signer)) {
        rc = consign_fail(ctx, CONSIGN_E_UNTRUSTED,
                          "the patch's release is signed by %s, a key "
                          "this install does not trust",
                          pt.signer);
        goto out;
    }
    if (!(patch = consign_asprintf(ctx, "%s/%s", dldir, strrchr(pt.target->path, '/') + 1))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    consign_log(ctx, CONSIGN_LOG_INFO, "delta: %s (%lld bytes) from %s", pt.target->path,
                pt.target->length, pt.from_version);
    prel = *rel;
    prel.target = pt.target;
    if ((rc = consign_release_download(ctx, client, &prel, patch, NULL, NULL)))
        goto out;
    *fetched = (unsigned long long)pt.target->length;
    if ((rc = load_base(ctx, basefile, &pt, &base)))
        goto out;

    /* Patch, install, hash and keep as the next base, in one stream. */
    memset(&io, 0, sizeof(io));
    io.root = r->o->root;
    io.name = r->o->name;
    io.version = pt.install_version;
    io.signer_fpr = pt.signer;
    io.max_bytes = pt.length;
    io.max_entries = pt.length / 512 + 1;
    io.no_wait = 0;
    p.max = pt.length;
    if ((rc = consign_install_begin(ctx, &io, &p.in)) ||
        (rc = consign_hash_new(ctx, CONSIGN_HASH_SHA256, &p.h)))
        goto out;
    if ((p.cache_fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644)) <
        0) {
        rc = consign_fail_errno(ctx, errno, "%s", part);
        goto out;
    }
    if (!(p.cc = ZSTD_createCCtx()) || !(z = ZSTD_createDStream()) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(p.cc, ZSTD_c_compressionLevel, 3)) ||
        ZSTD_isError(ZSTD_DCtx_setParameter(
            z, ZSTD_d_windowLogMax, (int)consign_delta_window_log(pt.from_length, pt.length))) ||
        ZSTD_isError(ZSTD_DCtx_refPrefix(z, base.data ? base.data : "", base.len))) {
        rc = consign_fail(ctx, CONSIGN_E_NOMEM, "zstd");
        goto out;
    }
    if ((fd = open(patch, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", patch);
        goto out;
    }
    for (;;) {
        ssize_t got = consign_read(fd, in, sizeof(in));
        ZSTD_inBuffer zi = {in, got > 0 ? (size_t)got : 0, 0};
        if (got < 0) {
            rc = consign_fail_errno(ctx, errno, "%s", patch);
            goto out;
        }
        if (got == 0)
            break;
        while (zi.pos < zi.size) {
            unsigned char o[128 * 1024];
            ZSTD_outBuffer zo = {o, sizeof(o), 0};
            size_t zr = ZSTD_decompressStream(z, &zo, &zi);
            if (ZSTD_isError(zr)) {
                rc = consign_fail(ctx, CONSIGN_E_MISMATCH, "patch: %s", ZSTD_getErrorName(zr));
                goto out;
            }
            if ((rc = patched_out(ctx, &p, o, zo.pos, 0)))
                goto out;
        }
    }
    if ((rc = patched_out(ctx, &p, NULL, 0, 1)) || (rc = consign_hash_final(ctx, p.h, md)))
        goto out;
    consign_hex(md, 32, hex);
    if (p.n != pt.length || strcmp(hex, pt.sha256) != 0) {
        rc = consign_fail(ctx, CONSIGN_E_MISMATCH,
                          "the patched payload is not the release's (%llu bytes, SHA-256 %.16s...)",
                          p.n, hex);
        goto out;
    }
    if ((rc = consign_install_commit(ctx, p.in, NULL)))
        goto out;
    /* The next base; a failure here costs only a full download later. */
    if (fsync(p.cache_fd) == 0 && close(p.cache_fd) == 0 && rename(part, basefile) == 0) {
        struct consign_base_info nb;
        memset(&nb, 0, sizeof(nb));
        snprintf(nb.version, sizeof(nb.version), "%s", pt.install_version);
        memcpy(nb.sha256, hex, 65);
        nb.length = p.n;
        if (consign_base_info_write(ctx, cache, &nb))
            consign_err_clear(ctx);
    }
    p.cache_fd = -1;
    unlink(patch);
out:
    if (p.cache_fd >= 0) {
        close(p.cache_fd);
        unlink(part);
    }
    if (fd >= 0)
        close(fd);
    ZSTD_freeDStream(z);
    ZSTD_freeCCtx(p.cc);
    consign_hash_free(p.h);
    consign_install_free(p.in);
    consign_buf_free(&base);
    free(cache);
    free(basefile);
    free(part);
    free(patch);
    return rc;
}

static void
ui_quiet(struct consign_ui *ui)
{
    memset(ui, 0, sizeof(*ui));
}

/* check (install == 0) or apply (install == 1). */
static int
update(struct consign_ctx *ctx, const struct consign_updater_opts *o,
       struct consign_update_result *out, int install)
{
    struct run r;
    struct consign_installed cur;
    struct consign_release_opts ro;
    struct consign_release_net rn;
    struct consign_release rel;
    struct consign_release_client *client = NULL;
    struct consign_net *net = NULL;
    struct consign_buf root_json;
    struct consign_sfx *s = NULL;
    struct consign_sfx_install_opts so;
    struct consign_conf answers = {0};
    struct consign_ui ui;
    const char *au, *agent_id, *channel;
    char *mddir = NULL, *dldir = NULL, *dest = NULL, why[256];
    unsigned long long fetched = 0;
    int rc, fd = -1, via_delta = 0;

    memset(out, 0, sizeof(*out));
    memset(&rel, 0, sizeof(rel));
    consign_buf_init(&root_json, 1 << 20);
    if ((rc = run_begin(ctx, o, &r, 1)))
        goto out;
    au = consign_conf_get(&r.settings, "auto_update");
    if (o->automatic && au && strcmp(au, "no") == 0) {
        out->verdict = CONSIGN_UPDATE_DISABLED;
        consign_log(ctx, CONSIGN_LOG_INFO, "auto-update is off: no check");
        goto out;
    }
    if ((rc = consign_install_query(ctx, o->root, o->name, &cur)))
        goto out;
    if (!cur.present) {
        rc = consign_fail(ctx, cur.foreign ? CONSIGN_E_USAGE : CONSIGN_E_NOTFOUND,
                          cur.foreign ? "%s was installed by a package: it updates with apt-get "
                                        "or yum, not NAME-update"
                                      : "%s is not installed",
                          o->name);
        goto out;
    }
    copy_field(out->installed, sizeof(out->installed), cur.version);
    if ((rc = load_uconf(ctx, &r, &root_json)))
        goto out;
    if (install && (rc = settle_pending(ctx, &r, cur.version)))
        goto out;

    if (o->automatic && r.now < r.st.not_before) {
        out->verdict = CONSIGN_UPDATE_DEFERRED;
        consign_log(ctx, CONSIGN_LOG_INFO,
                    "the update server asked to come back later: no request for %lld s more",
                    r.st.not_before - r.now);
        goto out;
    }

    /* The repository. */
    memset(&rn, 0, sizeof(rn));
    rn.ca_bundle = o->ca_bundle;
    rn.urls = (const char *const *)r.uconf.urls;
    rn.n_urls = r.uconf.n_urls;
    rn.pin = r.uconf.pin;
    if ((rc = consign_release_net_new(ctx, &rn, &r.settings, &net)))
        goto out;
    channel = consign_conf_get(&r.settings, "channel");
    if (!channel || !channel[0])
        channel = r.uconf.channel;
    if (!(mddir = consign_asprintf(ctx, "%s/metadata", r.updir)) ||
        !(dldir = consign_asprintf(ctx, "%s/downloads", r.updir))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    memset(&ro, 0, sizeof(ro));
    ro.metadata_dir = mddir;
    ro.root_json = root_json.data;
    ro.root_json_len = root_json.len;
    ro.urls = (const char *const *)r.uconf.urls;
    ro.n_urls = r.uconf.n_urls;
    ro.net = net;
    ro.name = o->name;
    ro.channel = channel;
    ro.arch = consign_release_host_arch();
    ro.now = o->now;
    r.st.last_check = r.now;
    rc = consign_release_client_new(ctx, &ro, &client);
    if (!rc)
        rc = consign_release_latest(ctx, client, &rel);
    if (rc == CONSIGN_E_NOTFOUND) {
        consign_err_clear(ctx);
        rc = 0;
        out->verdict = CONSIGN_UPDATE_UP_TO_DATE;
        snprintf(r.st.last_result, sizeof(r.st.last_result), "no release on channel %s", channel);
        goto save;
    }
    if (rc) {
        long long ra = consign_net_retry_after(net);
        if (ra > 0) {
            /* Honoured by the timer's runs; at most a week. */
            r.st.not_before = r.now + (ra > 7 * 86400 ? 7 * 86400 : ra);
            snprintf(r.st.last_result, sizeof(r.st.last_result),
                     "the server asked to retry after %lld s", ra);
            state_save(ctx, r.statefile, &r.st);
        }
        goto out;
    }
    r.st.not_before = 0;
    copy_field(out->latest, sizeof(out->latest), rel.version);
    out->rollout = rel.rollout;
    agent_id = consign_conf_get(&r.settings, "agent_id");
    out->bucket = consign_updater_bucket(o->name, agent_id ? agent_id : "");

    /* The decision. */
    if (consign_deb_vercmp(rel.version, cur.version) <= 0 || same_release(rel.version, cur.version))
        out->verdict = CONSIGN_UPDATE_UP_TO_DATE;
    else if (state_failed(&r.st, rel.version))
        out->verdict = CONSIGN_UPDATE_SKIPPED;
    else if (rel.min_version && consign_deb_vercmp(cur.version, rel.min_version) < 0)
        out->verdict = CONSIGN_UPDATE_TOO_OLD;
    else if (!o->ignore_rollout &&
             !consign_updater_in_rollout(o->name, agent_id ? agent_id : "", rel.rollout))
        out->verdict = CONSIGN_UPDATE_NOT_YET;
    else
        out->verdict = CONSIGN_UPDATE_AVAILABLE;
    consign_log(ctx, CONSIGN_LOG_INFO, "installed %s, newest %s (rollout %d%%, bucket %u): %s",
                cur.version, rel.version, rel.rollout, out->bucket,
                consign_update_verdict_name(out->verdict));
    snprintf(r.st.last_result, sizeof(r.st.last_result), "%s %s",
             consign_update_verdict_name(out->verdict), rel.version);
    if (!install || out->verdict != CONSIGN_UPDATE_AVAILABLE)
        goto save;

    if ((rc = consign_mkdirs(ctx, dldir, 0700)))
        goto out;
    /* Recorded before the install: a kill after the switch is settled by
     * the next run (settle_pending). */
    copy_field(r.st.pending, sizeof(r.st.pending), rel.version);
    copy_field(r.st.previous, sizeof(r.st.previous), cur.version);
    r.st.probation_until = r.now + (long long)probation_of(&r);
    if ((rc = state_save(ctx, r.statefile, &r.st)))
        goto out;

    /* A patch from the kept base when the repository has one, else (or when
     * anything about it fails) the full release. */
    if (!o->no_delta) {
        rc = apply_delta(ctx, &r, client, &rel, dldir, &fetched);
        if (!rc) {
            via_delta = 1;
            goto installed;
        }
        if (rc != CONSIGN_E_NOTFOUND)
            consign_log(ctx, CONSIGN_LOG_WARN,
                        "delta update failed (%s); downloading the full "
                        "release",
                        consign_err_msg(ctx));
        else
            consign_log(ctx, CONSIGN_LOG_INFO, "no patch from this version: the full release");
        consign_err_clear(ctx);
        fetched = 0;
    }

    /* The download, then the .bin's own checks. */
    if (!(dest = consign_asprintf(ctx, "%s/%s", dldir, strrchr(rel.target->path, '/') + 1))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    consign_log(ctx, CONSIGN_LOG_INFO, "downloading %s (%lld bytes)", rel.target->path,
                rel.target->length);
    if ((rc = consign_release_download(ctx, client, &rel, dest, NULL, NULL)))
        goto out;
    if ((fd = open(dest, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", dest);
        goto out;
    }
    if ((rc = consign_sfx_open(ctx, fd, &s)) || (rc = consign_sfx_verify_meta(ctx, s))) {
        rc = consign_err_context(ctx, rc, "the downloaded installer failed verification");
        goto out;
    }
    if (strcmp(consign_sfx_info_get(s)->name, o->name) != 0 ||
        !same_release(rel.version, consign_sfx_info_get(s)->version)) {
        rc = consign_fail(
            ctx, CONSIGN_E_MISMATCH, "the downloaded installer is %s %s, the repository said %s %s",
            consign_sfx_info_get(s)->name, consign_sfx_info_get(s)->version, o->name, rel.version);
        goto out;
    }

    ui_quiet(&ui);
    memset(&so, 0, sizeof(so));
    so.root = o->root;
    so.accept_eula = 1; /* accepted with auto-update on */
    so.no_wait = 0; /* we hold the update lock; a killed run's helper may hold this one a moment */
    so.keep_base = 1; /* the base of the next delta update */
    /* A release key this version names may sign the next one (rotation). */
    if (signer_listed(&r.uconf, consign_sfx_signer(s)))
        so.trust_new_key = consign_sfx_signer(s);
    if ((rc = consign_sfx_install(ctx, &ui, s, fd, &so, &answers))) {
        r.st.pending[0] = '\0';
        r.st.probation_until = 0;
        state_save(ctx, r.statefile, &r.st);
        goto out;
    }
    unlink(dest);
    fetched = (unsigned long long)rel.target->length;
installed:
    out->fetched = fetched;
    out->delta = via_delta;
    consign_log(ctx, CONSIGN_LOG_INFO,
                "%s %s installed (%s, %llu bytes fetched); on probation for %llu s", o->name,
                rel.version, via_delta ? "delta" : "full", fetched,
                (unsigned long long)(r.st.probation_until - r.now));
    if (o->restart_command)
        run_restart_command(ctx, o->restart_command);
    if (!wait_healthy(ctx, &r, r.st.probation_until)) {
        snprintf(why, sizeof(why), "no healthy answer%s%s within %lld s",
                 r.uconf.health_url ? " from " : "", r.uconf.health_url ? r.uconf.health_url : "",
                 r.st.probation_until - r.now);
        if ((rc = switch_back(ctx, &r, rel.version, why)))
            goto out;
        rc = consign_fail(ctx, CONSIGN_E_UNHEALTHY, "%s %s: %s; %s runs again", o->name,
                          rel.version, why, cur.version);
        goto out;
    }
    out->verdict = CONSIGN_UPDATE_APPLIED;
    snprintf(r.st.last_result, sizeof(r.st.last_result), "updated %s to %s (%s, %llu bytes)",
             cur.version, rel.version, via_delta ? "delta" : "full", fetched);
    r.st.pending[0] = '\0';
    r.st.probation_until = 0;
    consign_log(ctx, CONSIGN_LOG_INFO, "%s %s is healthy: update done", o->name, rel.version);
save:
    rc = state_save(ctx, r.statefile, &r.st);
out:
    consign_sfx_free(s);
    if (fd >= 0)
        close(fd);
    consign_release_clear(&rel);
    consign_release_client_free(client);
    consign_net_free(net);
    consign_conf_free(&answers);
    consign_buf_free(&root_json);
    free(mddir);
    free(dldir);
    free(dest);
    run_free(&r);
    return rc;
}

int
consign_updater_check(struct consign_ctx *ctx, const struct consign_updater_opts *o,
                      struct consign_update_result *out)
{
    return update(ctx, o, out, 0);
}

int
consign_updater_apply(struct consign_ctx *ctx, const struct consign_updater_opts *o,
                      struct consign_update_result *out)
{
    return update(ctx, o, out, 1);
}

int
consign_updater_rollback(struct consign_ctx *ctx, const struct consign_updater_opts *o)
{
    struct consign_installed cur;
    struct run r;
    int rc;

    if ((rc = run_begin(ctx, o, &r, 1)) ||
        (rc = consign_install_query(ctx, o->root, o->name, &cur)))
        goto out;
    if (!cur.present) {
        rc = consign_fail(ctx, CONSIGN_E_NOTFOUND, "%s is not installed", o->name);
        goto out;
    }
    if (!r.st.previous[0] || strcmp(r.st.previous, cur.version) == 0) {
        rc =
            consign_fail(ctx, CONSIGN_E_NOTFOUND,
                         "no earlier version to go back to (%s is the only one kept)", cur.version);
        goto out;
    }
    rc = switch_back(ctx, &r, cur.version, "rolled back by the administrator");
out:
    run_free(&r);
    return rc;
}

int
consign_updater_status(struct consign_ctx *ctx, const struct consign_updater_opts *o,
                       struct consign_buf *b)
{
    struct consign_installed cur;
    struct run r;
    const char *au, *ch, *id;
    char when[64] = "never";
    size_t i;
    int rc;

    if ((rc = run_begin(ctx, o, &r, 0)) ||
        (rc = consign_install_query(ctx, o->root, o->name, &cur)))
        goto out;
    au = consign_conf_get(&r.settings, "auto_update");
    ch = consign_conf_get(&r.settings, "channel");
    id = consign_conf_get(&r.settings, "agent_id");
    if (r.st.last_check) {
        time_t t = (time_t)r.st.last_check;
        struct tm tm;
        if (gmtime_r(&t, &tm))
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    rc = consign_buf_printf(
        ctx, b,
        "installed: %s\nauto-update: %s\nchannel: %s\nbucket: %u\n"
        "last check: %s\nlast result: %s\n",
        cur.present ? cur.version : "(not installed)", au && strcmp(au, "no") == 0 ? "off" : "on",
        ch && ch[0] ? ch : "(default)", consign_updater_bucket(o->name, id ? id : ""), when,
        r.st.last_result[0] ? r.st.last_result : "-");
    if (!rc && r.st.pending[0])
        rc = consign_buf_printf(ctx, b, "on probation: %s (until %lld)\n", r.st.pending,
                                r.st.probation_until);
    if (!rc && r.st.previous[0])
        rc = consign_buf_printf(ctx, b, "previous: %s\n", r.st.previous);
    if (!rc && r.st.last_failure[0])
        rc = consign_buf_printf(ctx, b, "last failure: %s\n", r.st.last_failure);
    for (i = 0; !rc && i < r.st.n_failed; i++)
        rc = consign_buf_printf(ctx, b, "skipped: %s\n", r.st.failed[i]);
out:
    run_free(&r);
    return rc;
}
