/* netget: drives the consign_net library for tests/e2e/net.sh.
 *
 *   netget [OPTIONS] MIRROR...
 *
 * Fetches NAME (--name, default: none, the mirror URL itself) from the
 * mirrors in order: into memory and then to standard output, or with --out
 * FILE through consign_net_download (FILE.part, resumed with Range).
 *
 *   --ca FILE            a CA file (repeatable)
 *   --pin PIN            sha256//BASE64 of the server's public key
 *   --proxy URL          the proxy (else the environment's)
 *   --no-env-proxy       ignore https_proxy and friends
 *   --proxy-user USER
 *   --proxy-password-env VAR   the proxy password, from an environment variable
 *   --allow-http         accept http:// URLs
 *   --max N              the length cap (default 1 MiB)
 *   --expect N           the exact length required
 *   --sha256 HEX         refuse (and try the next mirror) unless the bytes hash to HEX
 *   --low-speed-limit N, --low-speed-time S, --connect-timeout S
 *   --retries N (-1: none), --backoff-ms N
 *   --verbose            the library's log lines on standard error
 *
 * Exit 0 on success; 1 with one line "netget: MESSAGE [CODE]" on standard
 * error (CODE: the consign code's symbolic name); 2 for a usage error. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consign/buf.h"
#include "consign/fileio.h"
#include "consign/hash.h"
#include "consign/net.h"
#include "consign/secret.h"

static void
log_stderr(void *user, enum consign_log_level level, const char *msg)
{
    (void)user;
    (void)level;
    fprintf(stderr, "netget: log: %s\n", msg);
}

static int
parse_long(const char *s, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);

    if (!*s || *end)
        return -1;
    *out = v;
    return 0;
}

static int
check_sha256(struct consign_ctx *ctx, void *user, const char *data, size_t len, const char *path)
{
    const char *want = user;
    unsigned char d[CONSIGN_HASH_MAX];
    char hex[65];
    int rc;

    if (path)
        rc = consign_hash_file(ctx, CONSIGN_HASH_SHA256, path, d, NULL);
    else
        rc = consign_hash_buf(ctx, CONSIGN_HASH_SHA256, data, len, d);
    if (rc)
        return rc;
    consign_hex(d, 32, hex);
    if (strcmp(hex, want) != 0)
        return consign_fail(ctx, CONSIGN_E_MISMATCH, "sha256 %.16s..., expected %.16s...", hex,
                            want);
    return 0;
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {{"ca", required_argument, NULL, 'c'},
                                         {"pin", required_argument, NULL, 'p'},
                                         {"proxy", required_argument, NULL, 'x'},
                                         {"no-env-proxy", no_argument, NULL, 'N'},
                                         {"proxy-user", required_argument, NULL, 'u'},
                                         {"proxy-password-env", required_argument, NULL, 'P'},
                                         {"allow-http", no_argument, NULL, 'H'},
                                         {"max", required_argument, NULL, 'm'},
                                         {"expect", required_argument, NULL, 'e'},
                                         {"sha256", required_argument, NULL, 's'},
                                         {"low-speed-limit", required_argument, NULL, 'l'},
                                         {"low-speed-time", required_argument, NULL, 'L'},
                                         {"connect-timeout", required_argument, NULL, 'C'},
                                         {"retries", required_argument, NULL, 'r'},
                                         {"backoff-ms", required_argument, NULL, 'b'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"verbose", no_argument, NULL, 'v'},
                                         {NULL, 0, NULL, 0}};
    struct consign_net_options o;
    struct consign_net_request r;
    struct consign_ctx ctx;
    struct consign_net *n = NULL;
    struct consign_secret *pw = NULL;
    struct consign_buf body;
    const char *out = NULL;
    long v;
    int c, rc = 0;

    consign_net_options_init(&o);
    memset(&r, 0, sizeof(r));
    r.max_len = 1u << 20;
    r.expect_len = -1;
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&body, 1u << 30);
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        v = 0;
        if (optarg && strchr("melLCrb", c) && parse_long(optarg, &v) != 0) {
            fprintf(stderr, "netget: %s: not a number\n", optarg);
            return 2;
        }
        switch (c) {
        case 'c':
            if (o.n_ca_files == CONSIGN_NET_MAX_CA_FILES)
                return 2;
            o.ca_files[o.n_ca_files++] = optarg;
            break;
        case 'p':
            o.pinned_pubkey = optarg;
            break;
        case 'x':
            o.proxy = optarg;
            break;
        case 'N':
            o.no_env_proxy = 1;
            break;
        case 'u':
            o.proxy_user = optarg;
            break;
        case 'P':
            if ((rc = consign_secret_from_env(&ctx, optarg, &pw)))
                goto out;
            o.proxy_password = pw->data;
            break;
        case 'H':
            o.allow_http = 1;
            break;
        case 'm':
            r.max_len = (size_t)v;
            break;
        case 'e':
            r.expect_len = v;
            break;
        case 's':
            r.check = check_sha256;
            r.check_user = optarg;
            break;
        case 'l':
            o.low_speed_limit = v;
            break;
        case 'L':
            o.low_speed_time = v;
            break;
        case 'C':
            o.connect_timeout = v;
            break;
        case 'r':
            o.retries = (int)v;
            break;
        case 'b':
            o.backoff_ms = (unsigned)v;
            break;
        case 'n':
            r.name = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'v':
            consign_ctx_init(&ctx, log_stderr, NULL);
            ctx.log_level = CONSIGN_LOG_DEBUG;
            break;
        default:
            fprintf(stderr, "netget: usage error\n");
            return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "netget: no mirror\n");
        return 2;
    }
    r.mirrors = (const char *const *)(argv + optind);
    r.n_mirrors = (size_t)(argc - optind);
    if ((rc = consign_net_new(&ctx, &o, &n)))
        goto out;
    if (out)
        rc = consign_net_download(&ctx, n, &r, out);
    else if (!(rc = consign_net_get(&ctx, n, &r, &body)) &&
             fwrite(body.data, 1, body.len, stdout) != body.len)
        rc = consign_fail(&ctx, CONSIGN_E_IO, "standard output");
out:
    if (rc) {
        fprintf(stderr, "netget: %s [%s]\n", consign_err_msg(&ctx), consign_strcode(rc));
        rc = 1;
    }
    consign_buf_free(&body);
    consign_net_free(n);
    consign_secret_free(pw);
    return rc;
}
