/* Building a bootstrap (consign/bootstrap.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consign/bootconf.h"
#include "consign/bootstrap.h"
#include "consign/buf.h"
#include "consign/fileio.h"
#include "consign/keys.h"
#include "consign/product.h"
#include "consign/sfx.h"
#include "consign/tuf.h"

#define ROOT_MAX (512 * 1024)

/* The anchor must be a root that signs itself: a bootstrap with a broken
 * one could never install. */
static int
check_root(struct consign_ctx *ctx, const char *path, const char *data, size_t len)
{
    struct consign_tuf_metadata *md = NULL;
    int rc;

    if (!(rc = consign_tuf_metadata_parse(ctx, data, len, CONSIGN_TUF_ROOT, &md)))
        rc = consign_tuf_verify_role(ctx, md, md->keys, md->n_keys, &md->roles[CONSIGN_TUF_ROOT],
                                     "root.json");
    consign_tuf_metadata_free(md);
    return rc ? consign_err_context(ctx, rc, "%s", path) : 0;
}

static int
read_fd(struct consign_ctx *ctx, void *user, void *buf, size_t n, size_t *got)
{
    ssize_t r = consign_read(*(int *)user, buf, n);

    if (r < 0)
        return consign_fail_errno(ctx, errno, "read the bootstrap");
    *got = (size_t)r;
    return 0;
}

/* out.asc: a detached armored signature of the whole file. */
static int
sign_file(struct consign_ctx *ctx, const struct consign_bootstrap_build_opts *o, const char *out)
{
    struct consign_sign_opts so;
    struct consign_buf sig;
    char *asc = NULL;
    int fd = -1, rc;

    consign_buf_init(&sig, 64 * 1024);
    memset(&so, 0, sizeof(so));
    so.mode = CONSIGN_SIG_DETACHED;
    so.armor = 1;
    if ((rc = consign_keys_sig_time_env(ctx, &so.created)))
        goto out;
    if ((fd = open(out, O_RDONLY | O_CLOEXEC)) < 0) {
        rc = consign_fail_errno(ctx, errno, "%s", out);
        goto out;
    }
    if (!(asc = consign_asprintf(ctx, "%s.asc", out))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = consign_keys_sign_ext(ctx, o->keydir, o->passphrase, &so, NULL, 0, read_fd, &fd,
                                    &sig)) ||
        (rc = consign_file_write_atomic(ctx, asc, sig.data, sig.len, 0644)))
        goto out;
out:
    if (fd >= 0)
        close(fd);
    free(asc);
    consign_buf_free(&sig);
    return rc;
}

int
consign_bootstrap_make_conf(struct consign_ctx *ctx, const struct consign_product *product,
                            const struct consign_bootstrap_build_opts *o, int for_updater,
                            struct consign_buf *text, char **root_out, size_t *root_len_out)
{
    struct consign_bootconf conf;
    char fpr[CONSIGN_FPR_LEN + 1], *root = NULL, *root_path = NULL;
    size_t root_len = 0, i;
    int rc;

    memset(&conf, 0, sizeof(conf));
    *root_out = NULL;
    *root_len_out = 0;
    if (!o->keydir) {
        rc = consign_fail(ctx, CONSIGN_E_USAGE, "no key directory");
        goto out;
    }
    if (!o->n_urls && !product->dist.nurls) {
        rc = consign_fail(ctx, CONSIGN_E_USAGE,
                          "no repository URL (--url, or distribution.url in the "
                          "product file)");
        goto out;
    }
    if (o->n_urls + o->n_extra_signers > 2 * CONSIGN_BOOTCONF_URLS) {
        rc = consign_fail(ctx, CONSIGN_E_INVALID, "too many URLs or signers");
        goto out;
    }
    if (!(root_path = o->tuf_root ? consign_strdup(ctx, o->tuf_root)
                                  : consign_asprintf(ctx, "%s/tuf/root.json", o->keydir))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if ((rc = consign_file_read(ctx, root_path, ROOT_MAX, &root, &root_len)) ||
        (rc = check_root(ctx, root_path, root, root_len)) ||
        (rc = consign_keys_active(ctx, o->keydir, fpr)))
        goto out;

    /* The configuration, built as bootconf.c reads it back. */
    conf.name = (char *)product->name;
    conf.channel = (char *)(o->channel              ? o->channel
                            : product->dist.channel ? product->dist.channel
                                                    : "stable");
    if (o->n_urls) {
        for (i = 0; i < o->n_urls && i < CONSIGN_BOOTCONF_URLS; i++)
            conf.urls[conf.n_urls++] = (char *)o->urls[i];
    } else {
        for (i = 0; i < product->dist.nurls && i < CONSIGN_BOOTCONF_URLS; i++)
            conf.urls[conf.n_urls++] = product->dist.urls[i];
    }
    conf.signers[conf.n_signers++] = fpr;
    for (i = 0; i < o->n_extra_signers && conf.n_signers < CONSIGN_BOOTCONF_SIGNERS; i++)
        conf.signers[conf.n_signers++] = (char *)o->extra_signers[i];
    conf.pin = (char *)o->pin;
    if (for_updater) {
        conf.health_url = product->service.health_url;
        conf.probation = product->service.probation_sec;
    }
    rc = consign_bootconf_format(ctx, &conf, text);
    memset(&conf, 0, sizeof(conf)); /* borrowed strings: nothing to free */
    if (rc)
        goto out;
    *root_out = root;
    *root_len_out = root_len;
    root = NULL;
out:
    free(root);
    free(root_path);
    return rc;
}

int
consign_bootstrap_build(struct consign_ctx *ctx, const struct consign_product *product,
                        const struct consign_bootstrap_build_opts *o, const char *out)
{
    struct consign_sfx_build_opts so;
    struct consign_sfx_file files[2];
    struct consign_buf text;
    char *root = NULL;
    size_t root_len = 0;
    int rc;

    consign_buf_init(&text, CONSIGN_BOOTCONF_MAX);
    if (!o->program_path) {
        rc = consign_fail(ctx, CONSIGN_E_USAGE, "no program given");
        goto out;
    }
    if ((rc = consign_bootstrap_make_conf(ctx, product, o, 0, &text, &root, &root_len)))
        goto out;
    files[0] = (struct consign_sfx_file){CONSIGN_BOOTCONF_FILE, text.data, text.len, 0644};
    files[1] = (struct consign_sfx_file){CONSIGN_BOOTCONF_ROOT_FILE, root, root_len, 0644};
    memset(&so, 0, sizeof(so));
    so.stub_path = o->program_path;
    so.keydir = o->keydir;
    so.passphrase = o->passphrase;
    so.threads = 1;
    if ((rc = consign_sfx_build_files(ctx, product, &so, CONSIGN_SFX_KIND_BOOTSTRAP, files, 2,
                                      out)) ||
        (rc = sign_file(ctx, o, out)))
        goto out;
    consign_log(ctx, CONSIGN_LOG_INFO, "bootstrap %s: %s, channel %s, %zu URL(s)", out,
                product->name,
                o->channel              ? o->channel
                : product->dist.channel ? product->dist.channel
                                        : "stable",
                o->n_urls ? o->n_urls : product->dist.nurls);
out:
    free(root);
    consign_buf_free(&text);
    return rc ? consign_err_context(ctx, rc, "bootstrap") : 0;
}
