/* Install or upgrade from a verified .bin (consign/sfx_install.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "consign/buf.h"
#include "consign/fileio.h"
#include "consign/sfx_install.h"

void
consign_fpr_group(const char *fpr, char out[64])
{
    size_t i, o = 0;

    for (i = 0; i < 40 && fpr[i]; i++) {
        if (i && i % 4 == 0)
            out[o++] = ' ';
        if (i == 20)
            out[o++] = ' ';
        out[o++] = fpr[i];
    }
    out[o] = '\0';
}

int
consign_fpr_equal(const char *a, const char *b)
{
    char x[41], y[41];
    size_t i, n = 0, m = 0;

    for (i = 0; a[i] && n < 40; i++)
        if (a[i] != ' ')
            x[n++] = a[i];
    for (i = 0; b[i] && m < 40; i++)
        if (b[i] != ' ')
            y[m++] = b[i];
    x[n] = y[m] = '\0';
    return n == 40 && m == 40 && strcasecmp(x, y) == 0;
}

static int
feed_install(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    return consign_install_feed(ctx, user, p, n);
}

/* The stub's chunks are checked on the way; their bytes are not needed. */
static int
feed_none(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    (void)ctx;
    (void)user;
    (void)p;
    (void)n;
    return 0;
}

/* Enough free space where /opt/NAME will live (or its nearest parent). */
static int
check_space(struct consign_ctx *ctx, const char *root, unsigned long long need)
{
    char path[PATH_MAX];
    struct statvfs vs;
    char *slash;

    snprintf(path, sizeof(path), "%s/opt", root && root[0] ? root : "");
    while (statvfs(path[0] ? path : "/", &vs) < 0) {
        if (!(slash = strrchr(path, '/')))
            return 0;
        *slash = '\0';
    }
    need += 16ULL << 20;
    if ((unsigned long long)vs.f_bavail * vs.f_frsize < need)
        return consign_fail(ctx, CONSIGN_E_IO,
                            "not enough free space under %s/opt: %llu MiB needed, %llu MiB free",
                            root && root[0] ? root : "", need >> 20,
                            ((unsigned long long)vs.f_bavail * vs.f_frsize) >> 20);
    return 0;
}

/* The license, when the product has one and it was not accepted yet. */
static int
license(struct consign_ctx *ctx, const struct consign_ui *ui, const struct consign_sfx_info *info,
        const struct consign_sfx_install_opts *o)
{
    if (!info->eula || o->accept_eula)
        return 0;
    if (!o->interactive)
        return consign_fail(ctx, CONSIGN_E_USAGE,
                            "the license must be accepted: run on a terminal, or %s",
                            o->eula_hint ? o->eula_hint : "pass --accept-eula");
    consign_ui_sayf(ui, "\n");
    if (ui->page)
        ui->page(ui->user, info->eula, info->eula_len);
    if (consign_ui_yes_no(ui, "\nDo you accept the license terms? [yes/no] ", -1) != 1)
        return consign_fail(ctx, CONSIGN_E_CANCELLED,
                            "the license was not accepted; nothing was installed");
    return 0;
}

int
consign_sfx_install(struct consign_ctx *ctx, const struct consign_ui *ui, struct consign_sfx *s,
                    int fd, const struct consign_sfx_install_opts *o, struct consign_conf *answers)
{
    const struct consign_sfx_header *h = consign_sfx_header_get(s);
    const struct consign_sfx_info *info = consign_sfx_info_get(s);
    const char *signer = consign_sfx_signer(s);
    struct consign_installed cur;
    struct consign_install_opts io;
    struct consign_install *in = NULL;
    struct consign_conf existing = {0};
    char g[64], *confdir = NULL;
    int rc, upgrade;

    consign_fpr_group(signer, g);
    if (strcmp(info->kind, CONSIGN_SFX_KIND_INSTALLER) != 0) {
        rc =
            consign_fail(ctx, CONSIGN_E_INVALID, "this file is a %s, not an installer", info->kind);
        goto out;
    }
    if ((rc = consign_install_query(ctx, o->root, info->name, &cur)))
        goto out;
    upgrade = cur.present;
    if (upgrade && !consign_install_trusts(ctx, o->root, info->name, signer) &&
        !(o->trust_new_key && consign_fpr_equal(o->trust_new_key, signer))) {
        rc = consign_fail(ctx, CONSIGN_E_UNTRUSTED,
                          "%s %s is installed and this installer is signed by a key it does "
                          "not trust:\n  %s\nIf your vendor announced this key, run again with "
                          "--trust-new-key '%s'. Nothing was changed",
                          info->name, cur.version, g, signer);
        goto out;
    }
    if (!(confdir =
              consign_asprintf(ctx, "%s/var/opt/%s/conf", o->root ? o->root : "", info->name)) ||
        (upgrade && (rc = consign_conf_load(ctx, confdir, &existing)))) {
        rc = rc ? rc : CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = license(ctx, ui, info, o)))
        goto out;
    if (o->interactive && !o->asked && !upgrade &&
        (rc = consign_answers_prompt(ctx, ui, info->token_required, info->proxy, info->auto_update,
                                     &existing, answers)))
        goto out;
    if (!upgrade && info->token_required && !consign_conf_get(answers, "token")) {
        rc = consign_fail(ctx, CONSIGN_E_USAGE, "an install token is required: %s",
                          o->token_hint ? o->token_hint : "pass --token-file FILE");
        goto out;
    }
    if (!upgrade && !consign_conf_get(answers, "auto_update") &&
        (rc = consign_conf_set(ctx, answers, "auto_update", info->auto_update ? "yes" : "no")))
        goto out;
    if ((rc = check_space(ctx, o->root, h->payload_files)))
        goto out;

    /* Staged, then one switch. */
    memset(&io, 0, sizeof(io));
    io.root = o->root;
    io.name = info->name;
    io.version = info->version;
    io.signer_fpr = signer;
    io.max_bytes = h->payload_files;
    io.max_entries = h->payload_entries;
    io.no_wait = o->no_wait;
    consign_ui_sayf(ui, "%s %s %s%s%s ...\n", upgrade ? "Upgrading" : "Installing", info->name,
                    info->version, o->root ? " under " : "", o->root ? o->root : "");
    /* One pass over the file, every chunk checked against the signed table
     * before it is used. The stub first (its bytes are not kept: the
     * installed tools come in the payload), so the code that runs is
     * checked before anything is written. */
    (void)fd;
    if (h->stub_size > 16ULL << 20) {
        rc = consign_fail(ctx, CONSIGN_E_TOOBIG, "the installer's stub is over 16 MiB");
        goto out;
    }
    if ((rc = consign_sfx_stream_stub(ctx, s, feed_none, NULL)))
        goto out;
    if ((rc = consign_install_begin(ctx, &io, &in)) ||
        (rc = consign_sfx_stream(ctx, s, NULL, NULL, feed_install, in)) ||
        (rc = consign_install_commit(ctx, in, answers)))
        goto out;
    if (o->save_response && (rc = consign_answers_save(ctx, o->save_response, answers)))
        goto out;
    consign_ui_sayf(ui,
                    "\n%s %s is installed.\n"
                    "  Program:        /opt/%s\n"
                    "  Configuration:  /etc/opt/%s (runtime options), /var/opt/%s/conf (settings)\n"
                    "  Logs:           /var/opt/%s/logs\n"
                    "  Settings tool:  sudo /opt/%s/%s-config interactive\n"
                    "  Uninstall:      sudo /opt/%s/%s-uninstall [--purge]\n",
                    info->name, info->version, info->name, info->name, info->name, info->name,
                    info->name, info->name, info->name, info->name);
out:
    consign_install_free(in);
    consign_conf_free(&existing);
    free(confdir);
    return rc;
}
