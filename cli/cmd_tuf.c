/* consign tuf-client: a TUF client over HTTP(S), with the command line of the
 * tuf-conformance suite (init, refresh, download). Every failure exits 1. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consign/fileio.h"
#include "consign/net.h"
#include "consign/tuf.h"

#include "cli.h"

static const char tuf_help[] =
    "Usage: consign tuf-client --metadata-dir DIR init ROOT_FILE\n"
    "       consign tuf-client --metadata-dir DIR --metadata-url URL refresh\n"
    "       consign tuf-client --metadata-dir DIR --metadata-url URL --target-name PATH...\n"
    "                          --target-base-url URL --target-dir DIR download\n"
    "\n"
    "A client of The Update Framework (specification 1.0). init trusts ROOT_FILE as\n"
    "DIR/root.json (no request is made); refresh updates root, timestamp, snapshot\n"
    "and targets; download refreshes, then fetches and verifies each target (in the\n"
    "order given, stopping at the first failure) into the target directory, named\n"
    "by its percent-encoded target path. A target already there with the right\n"
    "length and hashes is not downloaded again.\n"
    "\n"
    "  -d, --metadata-dir DIR     trusted metadata (root.json, timestamp.json, ...)\n"
    "  -m, --metadata-url URL     the repository's metadata base URL\n"
    "  -n, --target-name PATH     a target path (repeatable)\n"
    "  -b, --target-base-url URL  the repository's targets base URL\n"
    "  -t, --target-dir DIR       where verified targets are written\n"
    "      --ca-file FILE         trusted CAs for https (repeatable; default: the system's)\n"
    "      --https-only           refuse http:// URLs (allowed by default)\n"
    "\n"
    "The proxy comes from https_proxy, http_proxy and no_proxy.\n"
    "Exit status: 0 success, 1 any failure (usage errors included).\n";

#define MAX_TARGETS 256

struct tuf_args {
    const char *metadata_dir, *metadata_url, *target_base_url, *target_dir;
    const char *targets[MAX_TARGETS];
    size_t n_targets;
    const char *ca_files[CONSIGN_NET_MAX_CA_FILES];
    size_t n_ca_files;
    int https_only;
};

static int
tuf_usage(struct cli *cli, const char *msg)
{
    cli_usage(cli, "%s", msg);
    return 1;
}

static int
tuf_fail(struct cli *cli, int code)
{
    cli_fail(cli, code);
    return 1;
}

/* The target's file name in the target directory: the whole path
 * percent-encoded into one component. */
static char *
target_file(struct consign_ctx *ctx, const char *dir, const char *path)
{
    static const char hexd[] = "0123456789ABCDEF";
    struct consign_buf b;
    char *out = NULL;
    size_t i;
    int rc = 0;

    consign_buf_init(&b, 65536);
    if ((rc = consign_buf_printf(ctx, &b, "%s/", dir)))
        goto out;
    for (i = 0; path[i] && !rc; i++) {
        unsigned char ch = (unsigned char)path[i];
        char esc[3] = {'%', hexd[ch >> 4], hexd[ch & 15]};
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || (ch == '.' && i > 0) || ch == '~')
            rc = consign_buf_append(ctx, &b, path + i, 1);
        else
            rc = consign_buf_append(ctx, &b, esc, 3);
    }
    if (!rc)
        out = consign_buf_steal(&b, NULL);
out:
    consign_buf_free(&b);
    return out;
}

static int
tuf_init(struct cli *cli, const struct tuf_args *a, const char *root_file)
{
    char *data = NULL, *dest = NULL;
    size_t len = 0;
    int rc;

    if ((rc = consign_file_read(&cli->ctx, root_file, 512000, &data, &len)) ||
        (rc = consign_mkdirs(&cli->ctx, a->metadata_dir, 0755)) ||
        !(dest = consign_asprintf(&cli->ctx, "%s/root.json", a->metadata_dir)) ||
        (rc = consign_file_write_atomic(&cli->ctx, dest, data, len, 0644))) {
        rc = tuf_fail(cli, rc ? rc : CONSIGN_E_NOMEM);
        goto out;
    }
    if (!cli->quiet)
        printf("trusted root: %s\n", dest);
out:
    free(data);
    free(dest);
    return rc;
}

/* Is the target already in place with the listed length and hashes? */
static int
cached(struct cli *cli, const struct consign_tuf_target *t, const char *dest)
{
    struct consign_ctx quiet;
    char *data = NULL;
    size_t len = 0;
    int ok = 0;

    consign_ctx_init(&quiet, NULL, NULL);
    if (!consign_is_file(dest) || t->length < 0)
        goto out;
    if (consign_file_read(&quiet, dest, (size_t)t->length + 1, &data, &len) ||
        consign_tuf_check_file(&quiet, data, len, t->length, &t->hashes, t->path))
        goto out;
    ok = 1;
    consign_log(&cli->ctx, CONSIGN_LOG_INFO, "%s: already downloaded", t->path);
out:
    free(data);
    return ok;
}

static int
tuf_update(struct cli *cli, const struct tuf_args *a, int download)
{
    struct consign_net_options no;
    struct consign_tuf_options to;
    struct consign_net_tuf nt;
    struct consign_tuf_client *c = NULL;
    const struct consign_tuf_target *t = NULL;
    char *dest = NULL;
    size_t i;
    int rc = 0;

    memset(&nt, 0, sizeof(nt));
    consign_net_options_init(&no);
    for (i = 0; i < a->n_ca_files; i++)
        no.ca_files[i] = a->ca_files[i];
    no.n_ca_files = a->n_ca_files;
    no.allow_http = !a->https_only;
    nt.metadata_urls[0] = a->metadata_url;
    nt.n_metadata_urls = 1;
    nt.targets_urls[0] = a->target_base_url ? a->target_base_url : a->metadata_url;
    nt.n_targets_urls = 1;
    nt.log_ctx = &cli->ctx;
    consign_tuf_options_init(&to);
    to.metadata_dir = a->metadata_dir;
    to.fetch = consign_net_tuf_fetch;
    to.fetch_user = &nt;
    if ((rc = consign_net_new(&cli->ctx, &no, &nt.net)) ||
        (rc = consign_tuf_client_new(&cli->ctx, &to, &c)) ||
        (rc = consign_tuf_client_refresh(&cli->ctx, c)))
        goto out;
    for (i = 0; download && i < a->n_targets; i++) {
        free(dest);
        if (!(dest = target_file(&cli->ctx, a->target_dir, a->targets[i]))) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        if ((rc = consign_tuf_client_find_target(&cli->ctx, c, a->targets[i], &t)))
            goto out;
        if (cached(cli, t, dest))
            continue;
        if ((rc = consign_mkdirs(&cli->ctx, a->target_dir, 0755)) ||
            (rc = consign_tuf_client_download_target_to(&cli->ctx, c, t, dest, 0644)))
            goto out;
        if (!cli->quiet)
            printf("%s: %lld bytes, verified: %s\n", t->path, t->length, dest);
    }
    if (!download && !cli->quiet)
        printf("refreshed: targets version %lld\n",
               consign_tuf_client_trusted(c, CONSIGN_TUF_TARGETS)->version);
out:
    if (rc)
        rc = tuf_fail(cli, rc);
    free(dest);
    consign_tuf_client_free(c);
    consign_net_free(nt.net);
    return rc;
}

int
cmd_tuf_client(struct cli *cli, int argc, char **argv)
{
    enum { OPT_CA = 256, OPT_HTTPS_ONLY };
    static const struct option opts[] = {{"metadata-dir", required_argument, NULL, 'd'},
                                         {"metadata-url", required_argument, NULL, 'm'},
                                         {"target-name", required_argument, NULL, 'n'},
                                         {"target-base-url", required_argument, NULL, 'b'},
                                         {"target-dir", required_argument, NULL, 't'},
                                         {"ca-file", required_argument, NULL, OPT_CA},
                                         {"https-only", no_argument, NULL, OPT_HTTPS_ONLY},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct tuf_args a;
    const char *cmd;
    int c;

    memset(&a, 0, sizeof(a));
    optind = 0;
    opterr = 0;
    /* Options and the command in any order, as the conformance suite writes them. */
    while ((c = getopt_long(argc, argv, "d:m:n:b:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            a.metadata_dir = optarg;
            break;
        case 'm':
            a.metadata_url = optarg;
            break;
        case 'n':
            if (a.n_targets == MAX_TARGETS)
                return tuf_usage(cli, "too many --target-name");
            a.targets[a.n_targets++] = optarg;
            break;
        case 'b':
            a.target_base_url = optarg;
            break;
        case 't':
            a.target_dir = optarg;
            break;
        case OPT_CA:
            if (a.n_ca_files == CONSIGN_NET_MAX_CA_FILES)
                return tuf_usage(cli, "too many --ca-file");
            a.ca_files[a.n_ca_files++] = optarg;
            break;
        case OPT_HTTPS_ONLY:
            a.https_only = 1;
            break;
        case 'h':
            fputs(tuf_help, stdout);
            return 0;
        default:
            cli_usage(cli, "unknown or incomplete option '%s'", argv[optind - 1]);
            return 1;
        }
    }
    if (optind >= argc)
        return tuf_usage(cli, "a command is required: init, refresh or download");
    cmd = argv[optind];
    if (!a.metadata_dir)
        return tuf_usage(cli, "--metadata-dir is required");
    if (strcmp(cmd, "init") == 0) {
        if (optind + 2 != argc)
            return tuf_usage(cli, "init takes one argument: the trusted root file");
        return tuf_init(cli, &a, argv[optind + 1]);
    }
    if (optind + 1 != argc)
        return tuf_usage(cli, "unexpected argument after the command");
    if (!a.metadata_url)
        return tuf_usage(cli, "--metadata-url is required");
    if (strcmp(cmd, "refresh") == 0)
        return tuf_update(cli, &a, 0);
    if (strcmp(cmd, "download") == 0) {
        if (!a.n_targets || !a.target_dir || !a.target_base_url)
            return tuf_usage(cli,
                             "download needs --target-name, --target-base-url and --target-dir");
        return tuf_update(cli, &a, 1);
    }
    return tuf_usage(cli, "unknown command (init, refresh or download)");
}
