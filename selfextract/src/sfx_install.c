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
#include "consign/hash.h"
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

/* The payload's way into the install core, hashed on the way (the base
 * of later delta updates is named by its tar's SHA-256). */
struct feed {
    struct consign_install *in;
    struct consign_hash *h;
    unsigned long long n;
};

static int
feed_install(struct consign_ctx *ctx, void *user, const void *p, size_t n)
{
    struct feed *f = user;
    int rc;

    if (f->h && (rc = consign_hash_update(ctx, f->h, p, n)))
        return rc;
    f->n += n;
    return consign_install_feed(ctx, f->in, p, n);
}

int
consign_base_info_read(struct consign_ctx *ctx, const char *dir, struct consign_base_info *out)
{
    char *path = consign_asprintf(ctx, "%s/" CONSIGN_BASE_INFO, dir), *data = NULL, *line, *nl;
    size_t len = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    if (!path)
        return CONSIGN_E_NOMEM;
    if ((rc = consign_file_read(ctx, path, 4096, &data, &len)))
        goto out;
    for (line = data; line && *line; line = nl ? nl + 1 : NULL) {
        unsigned long long v;
        if ((nl = strchr(line, '\n')))
            *nl = '\0';
        if (strncmp(line, "version=", 8) == 0 && strlen(line + 8) < sizeof(out->version))
            memcpy(out->version, line + 8, strlen(line + 8) + 1);
        else if (strncmp(line, "sha256=", 7) == 0 && strlen(line + 7) == 64)
            memcpy(out->sha256, line + 7, 65);
        else if (strncmp(line, "length=", 7) == 0 &&
                 consign_parse_u64(line + 7, 1ULL << 40, &v) == 0)
            out->length = v;
    }
    if (!out->version[0] || !out->sha256[0] || !out->length)
        rc = consign_fail(ctx, CONSIGN_E_SYNTAX, "%s: incomplete", path);
out:
    free(path);
    free(data);
    return rc;
}

int
consign_base_info_write(struct consign_ctx *ctx, const char *dir,
                        const struct consign_base_info *in)
{
    char *path = consign_asprintf(ctx, "%s/" CONSIGN_BASE_INFO, dir);
    char text[512];
    int n, rc;

    if (!path)
        return CONSIGN_E_NOMEM;
    n = snprintf(text, sizeof(text), "version=%s\nsha256=%s\nlength=%llu\n", in->version,
                 in->sha256, in->length);
    rc = consign_file_write_atomic(ctx, path, text, (size_t)n, 0644);
    free(path);
    return rc;
}

struct range_copy {
    int fd;
    unsigned long long off, len;
};

/* In the kernel where it can (copy_file_range: no second pass through
 * this process, a reflink on file systems that share blocks), else by
 * reading. */
static int
copy_range(struct consign_ctx *ctx, int out, void *user)
{
    struct range_copy *rc = user;
    unsigned char buf[64 * 1024];
    unsigned long long done = 0;
    off_t in_off = (off_t)rc->off;

    while (done < rc->len) {
        ssize_t n = copy_file_range(rc->fd, &in_off, out, NULL, (size_t)(rc->len - done), 0);
        if (n <= 0)
            break;
        done += (unsigned long long)n;
    }
    while (done < rc->len) {
        size_t want = rc->len - done < sizeof(buf) ? (size_t)(rc->len - done) : sizeof(buf);
        ssize_t got = pread(rc->fd, buf, want, (off_t)(rc->off + done));
        if (got <= 0)
            return consign_fail_errno(ctx, got < 0 ? errno : EIO, "read the installer");
        if (consign_write_all(ctx, out, buf, (size_t)got, "base cache"))
            return ctx->err_code;
        done += (unsigned long long)got;
    }
    return 0;
}

/* After the install: the payload's compressed bytes become the base of the
 * next delta update. A failure costs only a full download later. */
static void
keep_base(struct consign_ctx *ctx, const char *dir, int fd, const struct consign_sfx_header *h,
          const char *version, const unsigned char md[32], unsigned long long length)
{
    struct consign_base_info bi;
    struct range_copy r = {fd, h->payload_off, h->payload_size};
    char *tar = consign_asprintf(ctx, "%s/" CONSIGN_BASE_TAR, dir);
    int rc;

    memset(&bi, 0, sizeof(bi));
    snprintf(bi.version, sizeof(bi.version), "%s", version);
    consign_hex(md, 32, bi.sha256);
    bi.length = length;
    if (!tar || (rc = consign_mkdirs(ctx, dir, 0700)) ||
        (rc = consign_file_write_atomic_with(ctx, tar, 0644, copy_range, &r)) ||
        (rc = consign_base_info_write(ctx, dir, &bi)))
        consign_log(ctx, CONSIGN_LOG_WARN, "the base for delta updates was not kept: %s",
                    consign_err_msg(ctx));
    consign_err_clear(ctx);
    free(tar);
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
    struct feed fe = {NULL, NULL, 0};
    int rc, upgrade;

    consign_fpr_group(signer, g);
    /* One pass over the file, every chunk checked against the signed table
     * before it is used. The stub first, before any question or license
     * (its bytes are not kept: the installed tools come in the payload):
     * the code that runs is checked before it talks or writes. */
    if (h->stub_size > 16ULL << 20) {
        rc = consign_fail(ctx, CONSIGN_E_TOOBIG, "the installer's stub is over 16 MiB");
        goto out;
    }
    if ((rc = consign_sfx_stream_stub(ctx, s, feed_none, NULL)))
        goto out;
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
    if ((rc = consign_install_begin(ctx, &io, &in)))
        goto out;
    fe.in = in;
    if ((o->keep_base && (rc = consign_hash_new(ctx, CONSIGN_HASH_SHA256, &fe.h))) ||
        (rc = consign_sfx_stream(ctx, s, NULL, NULL, feed_install, &fe)) ||
        (rc = consign_install_commit(ctx, in, answers)))
        goto out;
    if (o->keep_base) {
        unsigned char md[CONSIGN_HASH_MAX];
        char *dir = consign_asprintf(ctx, "%s/var/opt/%s/" CONSIGN_BASE_DIR, o->root ? o->root : "",
                                     info->name);
        if (dir && consign_hash_final(ctx, fe.h, md) == 0)
            keep_base(ctx, dir, fd, h, info->version, md, fe.n);
        consign_err_clear(ctx);
        free(dir);
    }
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
    consign_hash_free(fe.h);
    consign_install_free(in);
    consign_conf_free(&existing);
    free(confdir);
    return rc;
}
