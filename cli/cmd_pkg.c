/* consign pkg deb|rpm: the agent's and the runtime's native packages. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consign/deb.h"
#include "consign/fileio.h"
#include "consign/pkg.h"
#include "consign/product.h"
#include "consign/rpm.h"
#include "consign/secret.h"

#include "cli.h"
#include "defines.h"

static const char deb_help[] =
    "Usage: consign pkg deb --product FILE --out DIR [OPTIONS]\n"
    "\n"
    "Build NAME_V-R_ARCH.deb and, when the product has a runtime, RUNTIME_V-R_ARCH.deb\n"
    "(the agent depends on exactly that runtime version). Both appear in DIR only\n"
    "when both were built.\n"
    "\n"
    "  -p, --product FILE        the product file\n"
    "  -o, --out DIR             where the packages go (created if missing)\n"
    "  -D, --define NAME=VALUE   value for ${NAME} in source paths (else the environment)\n"
    "      --compress xz|zstd    payload compression (default xz; zstd needs dpkg >= 1.21.18)\n"
    "      --only agent|runtime  build one of the two\n"
    "      --launcher PATH       the launcher to ship (default: the one built with consign)\n"
    "\n"
    "SOURCE_DATE_EPOCH, when set, makes the output byte-for-byte reproducible.\n";

static const char rpm_help[] =
    "Usage: consign pkg rpm --product FILE --keydir DIR --out DIR [OPTIONS]\n"
    "\n"
    "Build NAME-V-R.ARCH.rpm and, when the product has a runtime, RUNTIME-V-R.ARCH.rpm\n"
    "(the agent requires exactly that runtime version), signed by the key directory's\n"
    "active key. Both appear in DIR only when both were built.\n"
    "\n"
    "  -p, --product FILE        the product file\n"
    "  -k, --keydir DIR          the release key directory (consign keys generate)\n"
    "  -o, --out DIR             where the packages go (created if missing)\n"
    "      --no-sign             leave the packages unsigned (digests only)\n"
    "      --passphrase-file F   the key's passphrase, from a file\n"
    "      --passphrase-env VAR  the key's passphrase, from an environment variable\n"
    "  -D, --define NAME=VALUE   value for ${NAME} in source paths (else the environment)\n"
    "      --compress xz|zstd    payload compression (default xz, which RHEL 7 reads;\n"
    "                            zstd needs rpm >= 4.14)\n"
    "      --only agent|runtime  build one of the two\n"
    "      --launcher PATH       the launcher to ship (default: the one built with consign)\n"
    "\n"
    "SOURCE_DATE_EPOCH, when set, makes the output byte-for-byte reproducible.\n";

struct pkg_args {
    enum consign_pkg_format format;
    const char *product, *out, *keydir, *launcher, *tool, *pass_file, *pass_env;
    enum consign_pkg_compress compress;
    int only; /* -1 both, else enum consign_pkg_kind */
    int no_sign;
    struct cli_defines defs;
};

static int
parse_pkg_args(struct cli *cli, int argc, char **argv, struct pkg_args *a)
{
    enum { O_COMPRESS = 256, O_ONLY, O_LAUNCHER, O_NOSIGN, O_PFILE, O_PENV };
    static const struct option opts[] = {{"product", required_argument, NULL, 'p'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"keydir", required_argument, NULL, 'k'},
                                         {"define", required_argument, NULL, 'D'},
                                         {"compress", required_argument, NULL, O_COMPRESS},
                                         {"only", required_argument, NULL, O_ONLY},
                                         {"launcher", required_argument, NULL, O_LAUNCHER},
                                         {"no-sign", no_argument, NULL, O_NOSIGN},
                                         {"passphrase-file", required_argument, NULL, O_PFILE},
                                         {"passphrase-env", required_argument, NULL, O_PENV},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int deb = a->format == CONSIGN_PKG_DEB, c, rc;

    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, deb ? "+p:o:D:h" : "+p:o:k:D:h", opts, NULL)) != -1) {
        if (deb && (c == 'k' || c == O_NOSIGN || c == O_PFILE || c == O_PENV))
            return cli_usage(cli, "'%s' is an option of consign pkg rpm only",
                             argv[optind - 1 - (c == 'k' || c == O_PFILE || c == O_PENV)]);
        switch (c) {
        case 'p':
            a->product = optarg;
            break;
        case 'o':
            a->out = optarg;
            break;
        case 'k':
            a->keydir = optarg;
            break;
        case 'D':
            if ((rc = cli_define_add(cli, &a->defs, optarg)))
                return rc;
            break;
        case O_COMPRESS:
            if (strcmp(optarg, "xz") == 0)
                a->compress = CONSIGN_COMPRESS_XZ;
            else if (strcmp(optarg, "zstd") == 0)
                a->compress = CONSIGN_COMPRESS_ZSTD;
            else
                return cli_usage(cli, "--compress takes xz or zstd, not '%s'", optarg);
            break;
        case O_ONLY:
            if (strcmp(optarg, "agent") == 0)
                a->only = CONSIGN_PKG_AGENT;
            else if (strcmp(optarg, "runtime") == 0)
                a->only = CONSIGN_PKG_RUNTIME;
            else
                return cli_usage(cli, "--only takes agent or runtime, not '%s'", optarg);
            break;
        case O_LAUNCHER:
            a->launcher = optarg;
            break;
        case O_NOSIGN:
            a->no_sign = 1;
            break;
        case O_PFILE:
            a->pass_file = optarg;
            break;
        case O_PENV:
            a->pass_env = optarg;
            break;
        case 'h':
            fputs(deb ? deb_help : rpm_help, stdout);
            return -1;
        default:
            return cli_usage(cli, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    if (!a->product || !a->out)
        return cli_usage(cli, "--product and --out are required");
    if (!deb && !a->keydir && !a->no_sign)
        return cli_usage(cli, "--keydir is required (or --no-sign)");
    if (a->pass_file && a->pass_env)
        return cli_usage(cli, "give --passphrase-file or --passphrase-env, not both");
    return 0;
}

/* Remove the staging directory and whatever a failed run left in it. */
static void
remove_staging(const char *dir)
{
    struct dirent **ents = NULL;
    int n, i;

    n = scandir(dir, &ents, NULL, NULL);
    for (i = 0; i < n; i++) {
        char path[4096];
        if (strcmp(ents[i]->d_name, ".") != 0 && strcmp(ents[i]->d_name, "..") != 0 &&
            snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name) < (int)sizeof(path))
            unlink(path);
        free(ents[i]);
    }
    free(ents);
    rmdir(dir);
}

/* Build every package into a staging directory inside out, then move them
 * all into out; a failure anywhere leaves out as it was. */
static int
build_all(struct cli *cli, const struct pkg_args *a, const struct consign_product *p,
          const struct consign_secret *pass)
{
    struct consign_ctx *ctx = &cli->ctx;
    char *staging = NULL, *built[2] = {NULL, NULL};
    int kinds[2], nkinds = 0, i, rc;

    if (a->only != CONSIGN_PKG_RUNTIME)
        kinds[nkinds++] = CONSIGN_PKG_AGENT;
    if (a->only != CONSIGN_PKG_AGENT && p->runtime.nfiles)
        kinds[nkinds++] = CONSIGN_PKG_RUNTIME;
    if (!nkinds)
        return consign_fail(ctx, CONSIGN_E_INVALID, "%s: the product has no runtime", p->path);
    if ((rc = consign_mkdirs(ctx, a->out, 0755)))
        return rc;
    if (!(staging = consign_asprintf(ctx, "%s/.consign-pkg.XXXXXX", a->out)))
        return CONSIGN_E_NOMEM;
    if (!mkdtemp(staging)) {
        rc = consign_fail_errno(ctx, errno, "%s", a->out);
        free(staging);
        return rc;
    }
    for (i = 0; i < nkinds; i++) {
        struct consign_pkg_opts o;
        memset(&o, 0, sizeof(o));
        o.format = a->format;
        o.kind = (enum consign_pkg_kind)kinds[i];
        o.compress = a->compress;
        o.launcher_path = a->launcher;
        o.tool_path = a->tool;
        struct consign_pkg *pkg = NULL;
        /* The writers compute the digests they need while they read each file. */
        if (!(rc = consign_pkg_new(ctx, p, &o, &pkg))) {
            if (a->format == CONSIGN_PKG_DEB) {
                rc = consign_deb_write(ctx, pkg, staging, &built[i]);
            } else {
                struct consign_rpm_sign sign = {a->no_sign ? NULL : a->keydir, pass};
                rc = consign_rpm_write(ctx, pkg, &sign, staging, &built[i]);
            }
        }
        consign_pkg_free(pkg);
        if (rc)
            goto out;
    }
    for (i = 0; i < nkinds; i++) {
        const char *base = strrchr(built[i], '/') ? strrchr(built[i], '/') + 1 : built[i];
        char *dst = consign_asprintf(ctx, "%s/%s", a->out, base);
        if (!dst) {
            rc = CONSIGN_E_NOMEM;
            goto out;
        }
        if (rename(built[i], dst) < 0) {
            rc = consign_fail_errno(ctx, errno, "%s", dst);
            free(dst);
            goto out;
        }
        if (!cli->quiet)
            printf("%s\n", dst);
        free(dst);
    }
out:
    remove_staging(staging);
    free(staging);
    free(built[0]);
    free(built[1]);
    return rc;
}

static int
run_pkg(struct cli *cli, int argc, char **argv, enum consign_pkg_format format)
{
    struct pkg_args a;
    struct consign_product *p = NULL;
    struct consign_secret *pass = NULL;
    int rc;

    memset(&a, 0, sizeof(a));
    a.format = format;
    a.only = -1;
    a.launcher = getenv("CONSIGN_LAUNCHER");
    if (!a.launcher || !a.launcher[0])
        a.launcher = CONSIGN_LAUNCHER_PATH;
    a.tool = getenv("CONSIGN_CONFIG_TOOL");
    if (!a.tool || !a.tool[0])
        a.tool = CONSIGN_CONFIG_TOOL_PATH;
    if ((rc = parse_pkg_args(cli, argc, argv, &a)))
        return rc < 0 ? 0 : rc;
    if ((a.pass_file && (rc = consign_secret_from_file(&cli->ctx, a.pass_file, &pass))) ||
        (a.pass_env && (rc = consign_secret_from_env(&cli->ctx, a.pass_env, &pass))) ||
        (rc = consign_product_load(&cli->ctx, a.product, cli_define_lookup, &a.defs, &p)) ||
        (rc = consign_product_check_files(&cli->ctx, p)) || (rc = build_all(cli, &a, p, pass)))
        rc = cli_fail(cli, rc);
    consign_product_free(p);
    consign_secret_free(pass);
    return rc;
}

static int
run_deb(struct cli *cli, int argc, char **argv)
{
    return run_pkg(cli, argc, argv, CONSIGN_PKG_DEB);
}

static int
run_rpm(struct cli *cli, int argc, char **argv)
{
    return run_pkg(cli, argc, argv, CONSIGN_PKG_RPM);
}

static const char pkg_help[] = "Usage: consign pkg COMMAND [ARGS...]\n"
                               "\n"
                               "Commands:\n"
                               "  deb   build the agent's and the runtime's .deb packages\n"
                               "  rpm   build the agent's and the runtime's signed .rpm packages\n"
                               "\n"
                               "See docs/packages.md.\n";

int
cmd_pkg(struct cli *cli, int argc, char **argv)
{
    static const struct cli_cmd cmds[] = {
        {"deb", "Debian packages", run_deb},
        {"rpm", "RPM packages", run_rpm},
    };
    return cli_dispatch(cli, cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv, pkg_help);
}
