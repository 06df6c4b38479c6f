/* NAME-bootstrap: the signed bootstrap downloader (docs/bootstrap.md).
 *
 *   sudo ./NAME-bootstrap /i /q PROPERTY_TOKEN=... [PROPERTY_...=...]
 *
 * Checks its own signature, reads its embedded configuration (product,
 * channel, repository URLs, release keys, TUF root), fetches the newest
 * release through TUF, checks the .bin's own signature and installs it with
 * the same install flow as the .bin. This file only wires the libraries
 * together and talks to the user; exit codes are msiexec's. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "consign/bootcli.h"
#include "consign/bootconf.h"
#include "consign/buf.h"
#include "consign/fileio.h"
#include "consign/install.h"
#include "consign/net.h"
#include "consign/pac.h"
#include "consign/release.h"
#include "consign/sfx.h"
#include "consign/sfx_install.h"
#include "consign/tar.h"
#include "consign/ui.h"

extern char **environ;

#define EXIT_OK        CONSIGN_BOOTCLI_EXIT_OK
#define EXIT_CANCELLED CONSIGN_BOOTCLI_EXIT_CANCELLED
#define EXIT_FATAL     CONSIGN_BOOTCLI_EXIT_FATAL
#define EXIT_BUSY      CONSIGN_BOOTCLI_EXIT_BUSY
#define EXIT_BADCMD    CONSIGN_BOOTCLI_EXIT_BADCMD

#define ROOT_JSON_MAX (512 * 1024)

static const char *prog = "bootstrap";

/* ---- logging: stderr, the install log, the /l log ---------------------- */

struct logs {
    int quiet, verbose;
    int parsing;       /* the command line is being parsed: hold warnings */
    char held[4][512]; /* ... here, until /q is known */
    int n_held;
    FILE *install_log;  /* ROOT/var/opt/NAME/logs/install.log */
    FILE *user_log;     /* /l FILE */
    int progress_shown; /* a progress line is on the terminal: end it first */
};

static struct logs logs;

static void
log_line(FILE *f, enum consign_log_level level, const char *msg)
{
    char when[32];
    time_t now = time(NULL);
    struct tm tm;

    if (!f)
        return;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(f, "%s %s %s\n", when,
            level == CONSIGN_LOG_ERROR  ? "error"
            : level == CONSIGN_LOG_WARN ? "warning"
            : level == CONSIGN_LOG_INFO ? "info"
                                        : "debug",
            msg);
    fflush(f);
}

/* Messages never hold a secret: the command line parser never quotes
 * values, the network layer strips credentials from URLs. */
static void
on_log(void *user, enum consign_log_level level, const char *msg)
{
    struct logs *l = user;

    if (l->parsing && level == CONSIGN_LOG_WARN) {
        if (l->n_held < 4)
            snprintf(l->held[l->n_held++], sizeof(l->held[0]), "%s", msg);
        return;
    }
    if (level <= CONSIGN_LOG_INFO || l->verbose) {
        log_line(l->install_log, level, msg);
        log_line(l->user_log, level, msg);
    }
    if (level <= CONSIGN_LOG_WARN && !(l->quiet && level == CONSIGN_LOG_WARN)) {
        if (l->progress_shown) {
            fputc('\n', stderr);
            l->progress_shown = 0;
        }
        fprintf(stderr, "%s: %s%s\n", prog,
                level == CONSIGN_LOG_ERROR ? "error: " : "warning: ", msg);
    }
}

/* An error for the user and the logs; returns the exit code. */
static int fail_with(struct consign_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int
fail_with(struct consign_ctx *ctx, int code, const char *fmt, ...)
{
    char msg[CONSIGN_ERR_MAX + 256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    consign_log(ctx, CONSIGN_LOG_ERROR, "%s", msg);
    return code;
}

static int
exit_for(int rc)
{
    switch (rc) {
    case 0:
        return EXIT_OK;
    case CONSIGN_E_CANCELLED:
        return EXIT_CANCELLED;
    case CONSIGN_E_LOCKED:
        return EXIT_BUSY;
    default:
        return EXIT_FATAL;
    }
}

static void
open_user_log(const struct consign_bootcli *b)
{
    int fd;

    if (!b->log)
        return;
    fd = open(b->log,
              O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (b->log_append ? O_APPEND : O_TRUNC),
              0600);
    if (fd >= 0)
        logs.user_log = fdopen(fd, b->log_append ? "a" : "w");
    if (!logs.user_log) {
        if (fd >= 0)
            close(fd);
        fprintf(stderr, "%s: warning: cannot write the log %s: %s\n", prog, b->log,
                strerror(errno));
    }
    logs.verbose = b->log_verbose;
}

/* ROOT/var/opt/NAME/logs/install.log, 0640: root reads it, others do not. */
static void
open_install_log(struct consign_ctx *ctx, const char *root, const char *name)
{
    char *dir = consign_asprintf(ctx, "%s/var/opt/%s/logs", root ? root : "", name), *path = NULL;
    int fd = -1;

    if (!dir || consign_mkdirs(ctx, dir, 0755) ||
        !(path = consign_asprintf(ctx, "%s/install.log", dir))) {
        consign_err_clear(ctx);
        goto out;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd >= 0 && (logs.install_log = fdopen(fd, "a")))
        fd = -1;
out:
    if (fd >= 0)
        close(fd);
    free(dir);
    free(path);
}

/* ---- the progress bar ---------------------------------------------------- */

struct bar {
    int on;
    int last_pct;
    time_t last;
};

static void
on_progress(void *user, unsigned long long done, unsigned long long total)
{
    struct bar *b = user;
    char line[128];
    int pct, filled, i;
    time_t now = time(NULL);

    if (!b->on || !total)
        return;
    pct = done >= total ? 100 : (int)(done * 100 / total);
    if (pct == b->last_pct || (now == b->last && pct != 100))
        return;
    b->last_pct = pct;
    b->last = now;
    filled = pct * 30 / 100;
    for (i = 0; i < 30; i++)
        line[i] = i < filled ? '#' : '.';
    line[30] = '\0';
    fprintf(stderr, "\r  [%s] %3d%%  %.1f / %.1f MiB", line, pct, (double)done / 1048576.0,
            (double)total / 1048576.0);
    if (pct == 100) {
        fputc('\n', stderr);
        logs.progress_shown = 0;
    } else
        logs.progress_shown = 1;
    fflush(stderr);
}

/* ---- our own embedded configuration -------------------------------------- */

struct embedded {
    struct consign_buf conf, root;
    struct consign_buf *cur;
    int seen_conf, seen_root;
};

static int
emb_entry(struct consign_ctx *ctx, void *user, const struct consign_tar_entry *e)
{
    struct embedded *m = user;

    m->cur = NULL;
    if (e->type != CONSIGN_TAR_FILE)
        return 0;
    if (strcmp(e->path, CONSIGN_BOOTCONF_FILE) == 0 && !m->seen_conf++)
        m->cur = &m->conf;
    else if (strcmp(e->path, CONSIGN_BOOTCONF_ROOT_FILE) == 0 && !m->seen_root++)
        m->cur = &m->root;
    else
        return consign_fail(ctx, CONSIGN_E_INVALID, "unexpected file %.100s", e->path);
    return 0;
}

static int
emb_data(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    struct embedded *m = user;

    return m->cur ? consign_buf_append(ctx, m->cur, p, n) : 0;
}

static int
feed_reader(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    return consign_tar_reader_feed(ctx, user, p, n);
}

/* Verify our own file, then read the configuration it carries. */
static int
load_self(struct consign_ctx *ctx, const char *argv0, struct consign_bootconf *conf,
          struct consign_buf *root_json)
{
    struct consign_tar_callbacks cb = {emb_entry, emb_data, NULL};
    struct consign_tar_reader *r = NULL;
    struct consign_sfx *s = NULL;
    struct embedded m;
    int fd, rc;

    memset(&m, 0, sizeof(m));
    consign_buf_init(&m.conf, CONSIGN_BOOTCONF_MAX);
    consign_buf_init(&m.root, ROOT_JSON_MAX);
    fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0 && argv0 && strchr(argv0, '/'))
        fd = open(argv0, O_RDONLY | O_CLOEXEC); /* no /proc (an empty chroot) */
    if (fd < 0) {
        rc = consign_fail_errno(ctx, errno, "cannot open my own file");
        goto out;
    }
    if ((rc = consign_sfx_open(ctx, fd, &s)) || (rc = consign_sfx_verify_meta(ctx, s))) {
        rc = consign_err_context(ctx, rc,
                                 "this bootstrap failed its signature check; download "
                                 "it again from your vendor");
        goto out;
    }
    if (strcmp(consign_sfx_info_get(s)->kind, CONSIGN_SFX_KIND_BOOTSTRAP) != 0) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "this file is not a bootstrap");
        goto out;
    }
    if ((rc = consign_tar_reader_new(ctx, NULL, &cb, &m, &r)) ||
        (rc = consign_sfx_stream(ctx, s, NULL, NULL, feed_reader, r)) ||
        (rc = consign_tar_reader_finish(ctx, r)))
        goto out;
    if (!m.seen_conf || !m.seen_root) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "no embedded configuration or TUF root");
        goto out;
    }
    if ((rc = consign_bootconf_parse(ctx, m.conf.data, m.conf.len, conf)))
        goto out;
    if (strcmp(conf->name, consign_sfx_info_get(s)->name) != 0) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "the embedded product name differs");
        goto out;
    }
    *root_json = m.root;
    consign_buf_init(&m.root, 0);
out:
    consign_tar_reader_free(r);
    consign_sfx_free(s);
    consign_buf_free(&m.conf);
    consign_buf_free(&m.root);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ---- the network ---------------------------------------------------------- */

/* The proxy of a PAC file for url: fetched directly (never through a proxy
 * it may name), evaluated in a limited child. *proxy_out: "http://h:p" or
 * NULL for DIRECT. */
/* ---- install --------------------------------------------------------------- */

static int
signer_allowed(const struct consign_bootconf *conf, const char *fpr)
{
    size_t i;

    for (i = 0; i < conf->n_signers; i++)
        if (consign_fpr_equal(conf->signers[i], fpr))
            return 1;
    return 0;
}

static int
install(struct consign_ctx *ctx, const struct consign_ui *ui, const struct consign_bootcli *b,
        const struct consign_bootconf *conf, const struct consign_buf *root_json)
{
    struct consign_bootcli_setting set[CONSIGN_BOOTCLI_SETTINGS_MAX];
    struct consign_release_opts ro;
    struct consign_release_net rn;
    struct consign_release rel;
    struct consign_release_client *rc_client = NULL;
    struct consign_sfx_install_opts so;
    struct consign_installed cur;
    struct consign_conf answers = {0};
    struct consign_net *net = NULL;
    struct consign_sfx *s = NULL;
    struct bar bar = {0, -1, 0};
    const char *root = b->root;
    char *updir = NULL, *mddir = NULL, *dldir = NULL, *dest = NULL, g[64];
    int interactive = !b->quiet && isatty(0), lockfd = -1, fd = -1, rc = 0;
    size_t i, n;

    memset(&rel, 0, sizeof(rel));
    if (!(updir = consign_asprintf(ctx, "%s/var/opt/%s/update", root ? root : "", conf->name)) ||
        !(mddir = consign_asprintf(ctx, "%s/metadata", updir)) ||
        !(dldir = consign_asprintf(ctx, "%s/downloads", updir))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = consign_release_lock(ctx, updir, 0, &lockfd)))
        goto out;
    open_install_log(ctx, root, conf->name);
    consign_log(ctx, CONSIGN_LOG_INFO, "%s bootstrap: install of %s (channel %s) from %s", prog,
                conf->name, conf->channel, conf->urls[0]);
    if ((rc = consign_install_query(ctx, root, conf->name, &cur)))
        goto out;

    /* The answers: the command line, then questions on a terminal. The
     * network settings are needed before the download. */
    n = consign_bootcli_settings(b, set);
    for (i = 0; i < n; i++)
        if ((rc = set[i].value ? consign_conf_set(ctx, &answers, set[i].key, set[i].value)
                               : consign_conf_set_removal(ctx, &answers, set[i].key)))
            goto out;
    if (interactive && !cur.present &&
        (rc = consign_answers_prompt(ctx, ui, 1, 1, !b->auto_update_given, NULL, &answers)))
        goto out;
    if (!cur.present && !consign_conf_get(&answers, "token")) {
        rc = consign_fail(ctx, CONSIGN_E_USAGE,
                          "an install token is required: PROPERTY_TOKEN=..., --token-file FILE "
                          "or " CONSIGN_BOOTCLI_ENV_TOKEN);
        goto out;
    }
    if (!consign_conf_get(&answers, "auto_update") &&
        (rc = consign_conf_set(ctx, &answers, "auto_update", b->auto_update ? "yes" : "no")))
        goto out;

    /* The release: TUF metadata, the newest target, the download. */
    memset(&rn, 0, sizeof(rn));
    rn.ca_bundle = b->ca_bundle;
    rn.urls = (const char *const *)conf->urls;
    rn.n_urls = conf->n_urls;
    rn.pin = conf->pin;
    rn.no_proxy = b->use_proxy_given && !consign_conf_get(&answers, "proxy_host") &&
                  !consign_conf_get(&answers, "proxy_pac_url");
    if ((rc = consign_release_net_new(ctx, &rn, &answers, &net)))
        goto out;
    memset(&ro, 0, sizeof(ro));
    ro.metadata_dir = mddir;
    ro.root_json = root_json->data;
    ro.root_json_len = root_json->len;
    ro.urls = (const char *const *)conf->urls;
    ro.n_urls = conf->n_urls;
    ro.net = net;
    ro.name = conf->name;
    ro.channel = conf->channel;
    ro.arch = consign_release_host_arch();
    consign_ui_sayf(ui, "Checking %s for the newest %s release ...\n", conf->urls[0], conf->name);
    if ((rc = consign_release_client_new(ctx, &ro, &rc_client)) ||
        (rc = consign_release_latest(ctx, rc_client, &rel)))
        goto out;
    if ((rc = consign_mkdirs(ctx, dldir, 0700)) ||
        !(dest = consign_asprintf(ctx, "%s/%s", dldir, strrchr(rel.target->path, '/') + 1))) {
        rc = rc ? rc : CONSIGN_E_NOMEM;
        goto out;
    }
    consign_log(ctx, CONSIGN_LOG_INFO, "release %s: %s (%lld bytes)", rel.version, rel.target->path,
                rel.target->length);
    consign_ui_sayf(ui, "Downloading %s %s (%.1f MiB) ...\n", conf->name, rel.version,
                    (double)rel.target->length / 1048576.0);
    bar.on = !b->quiet && isatty(2);
    if ((rc = consign_release_download(ctx, rc_client, &rel, dest, on_progress, &bar)))
        goto out;

    /* The .bin: its own signature, by a key this bootstrap names. */
    if ((fd = open(dest, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", dest);
        goto out;
    }
    if ((rc = consign_sfx_open(ctx, fd, &s)) || (rc = consign_sfx_verify_meta(ctx, s))) {
        rc = consign_err_context(ctx, rc, "the downloaded installer failed verification");
        goto out;
    }
    consign_fpr_group(consign_sfx_signer(s), g);
    if (!signer_allowed(conf, consign_sfx_signer(s))) {
        rc = consign_fail(ctx, CONSIGN_E_UNTRUSTED,
                          "the downloaded installer is signed by %s, not by a release key this "
                          "bootstrap trusts",
                          g);
        goto out;
    }
    if (strcmp(consign_sfx_info_get(s)->name, conf->name) != 0) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "the downloaded installer is for %s, not %s",
                          consign_sfx_info_get(s)->name, conf->name);
        goto out;
    }
    consign_log(ctx, CONSIGN_LOG_INFO, "verified %s %s: signed by %s", conf->name,
                consign_sfx_info_get(s)->version, g);
    consign_ui_sayf(ui, "Verified %s %s: signed by %s\n", conf->name,
                    consign_sfx_info_get(s)->version, g);

    memset(&so, 0, sizeof(so));
    so.root = root;
    so.interactive = interactive;
    so.asked = 1;              /* before the download: the proxy was needed for it */
    so.accept_eula = b->quiet; /* /q: unattended, as msiexec */
    so.token_hint = "PROPERTY_TOKEN=..., --token-file FILE or " CONSIGN_BOOTCLI_ENV_TOKEN;
    so.eula_hint = "run with /q (unattended: accepts the license)";
    so.no_wait = 1;
    so.keep_base = 1; /* the base of the next delta update */
    /* The key the bootstrap trusts may sign an upgrade of an install made
     * with an earlier key. */
    so.trust_new_key = consign_sfx_signer(s);
    if ((rc = consign_sfx_install(ctx, ui, s, fd, &so, &answers)))
        goto out;
    consign_log(ctx, CONSIGN_LOG_INFO, "%s %s installed", conf->name,
                consign_sfx_info_get(s)->version);
    unlink(dest); /* the install holds everything it needs */
out:
    if (rc && rc != CONSIGN_E_LOCKED)
        consign_log(ctx, CONSIGN_LOG_INFO, "install failed; the previous state was kept");
    consign_sfx_free(s);
    if (fd >= 0)
        close(fd);
    consign_release_clear(&rel);
    consign_release_client_free(rc_client);
    consign_net_free(net);
    consign_conf_free(&answers);
    if (lockfd >= 0)
        close(lockfd);
    free(updir);
    free(mddir);
    free(dldir);
    free(dest);
    return rc;
}

static int
uninstall(struct consign_ctx *ctx, const struct consign_ui *ui, const struct consign_bootcli *b,
          const struct consign_bootconf *conf)
{
    struct consign_installed cur;
    int rc;

    if ((rc = consign_install_query(ctx, b->root, conf->name, &cur)))
        return rc;
    if (!cur.present && !b->purge)
        return consign_fail(ctx, CONSIGN_E_NOTFOUND, "%s is not installed%s%s", conf->name,
                            b->root ? " under " : "", b->root ? b->root : "");
    if ((rc = consign_uninstall(ctx, b->root, conf->name, b->purge, 0)))
        return rc;
    if (b->purge)
        consign_ui_sayf(ui, "%s was removed. Its settings and logs were deleted.\n", conf->name);
    else
        consign_ui_sayf(ui, "%s was removed. Settings and logs are kept in /var/opt/%s.\n",
                        conf->name, conf->name);
    return 0;
}

int
main(int argc, char **argv)
{
    struct consign_ctx ctx;
    struct consign_bootcli b;
    struct consign_bootconf conf;
    struct consign_buf root_json;
    struct consign_ui ui;
    const char *base = argc > 0 && argv[0] ? argv[0] : "bootstrap";
    int rc, code, i;

    if (strrchr(base, '/'))
        base = strrchr(base, '/') + 1;
    prog = base;
    memset(&conf, 0, sizeof(conf));
    consign_buf_init(&root_json, 0);
    consign_ctx_init(&ctx, on_log, &logs);
    logs.parsing = 1;
    code = consign_bootcli_parse(&ctx, argc, argv, (const char *const *)environ, &b);
    logs.parsing = 0;
    logs.quiet = b.quiet;
    if (!code)
        for (i = 0; i < logs.n_held; i++)
            on_log(&logs, CONSIGN_LOG_WARN, logs.held[i]);
    if (code) {
        fprintf(stderr, "%s: error: %s\nTry '%s /?'.\n", prog, consign_err_msg(&ctx), prog);
        goto out;
    }
    logs.quiet = b.quiet;
    consign_ui_tty(&ui, b.quiet);
    if (b.action == CONSIGN_BOOTCLI_HELP) {
        printf("Usage: %s [/i | /x] [/q] [/l FILE] [PROPERTY=VALUE ...] [OPTIONS]\n\n%s", prog,
               consign_bootcli_usage());
        goto out;
    }
    if (b.action == CONSIGN_BOOTCLI_VERSION) {
        printf("%s (consign %s)\n", prog, CONSIGN_VERSION);
        goto out;
    }
    open_user_log(&b);
    if ((rc = load_self(&ctx, argc > 0 ? argv[0] : NULL, &conf, &root_json))) {
        code = fail_with(&ctx, EXIT_FATAL, "%s; nothing was installed", consign_err_msg(&ctx));
        goto out;
    }
    if (!b.root && geteuid() != 0) {
        code = fail_with(&ctx, EXIT_FATAL, "run as root (sudo), or pass --root DIR");
        goto out;
    }
    if (b.action == CONSIGN_BOOTCLI_UNINSTALL)
        rc = uninstall(&ctx, &ui, &b, &conf);
    else
        rc = install(&ctx, &ui, &b, &conf, &root_json);
    if (rc == CONSIGN_E_USAGE)
        code = fail_with(&ctx, EXIT_BADCMD, "%s", consign_err_msg(&ctx));
    else if (rc == CONSIGN_E_CANCELLED)
        code = fail_with(&ctx, EXIT_CANCELLED, "%s", consign_err_msg(&ctx));
    else if (rc)
        code = fail_with(&ctx, exit_for(rc), "%s", consign_err_msg(&ctx));
    else
        code = EXIT_OK;
    /* A process exit status has 8 bits: the log keeps msiexec's number. */
    consign_log(&ctx, CONSIGN_LOG_INFO, "returning %d (exit status %d)", code, code & 0xff);
out:
    consign_bootcli_free(&b);
    consign_bootconf_free(&conf);
    consign_buf_free(&root_json);
    if (logs.install_log)
        fclose(logs.install_log);
    if (logs.user_log)
        fclose(logs.user_log);
    return code;
}
