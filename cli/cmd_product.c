/* consign product check|show: validate a product file and print what it says. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consign/product.h"

#include "cli.h"
#include "defines.h"

int
cli_define_add(struct cli *cli, struct cli_defines *d, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return cli_usage(cli, "--define wants NAME=VALUE, got '%s'", arg);
    if (d->n >= CLI_MAX_DEFINES)
        return cli_usage(cli, "too many --define options (at most %d)", CLI_MAX_DEFINES);
    d->kv[d->n++] = arg;
    return 0;
}

const char *
cli_define_lookup(void *user, const char *name)
{
    const struct cli_defines *d = user;
    size_t n = strlen(name);
    int i;

    /* The last definition wins, as on most command lines. */
    for (i = d->n - 1; i >= 0; i--)
        if (strncmp(d->kv[i], name, n) == 0 && d->kv[i][n] == '=')
            return d->kv[i] + n + 1;
    return getenv(name);
}

static const char check_help[] =
    "Usage: consign product check [--define NAME=VALUE]... [--no-files] FILE\n"
    "\n"
    "Parse and validate a product file; unless --no-files, also check that every\n"
    "source file and the EULA exist. Errors name file, line and field.\n"
    "\n"
    "  -D, --define NAME=VALUE   value for ${NAME} in source paths (else the environment)\n"
    "      --no-files            do not look at the source files\n";

static const char show_help[] =
    "Usage: consign product show [--define NAME=VALUE]... FILE\n"
    "\n"
    "Print every field of a product file, defaults filled in, one 'field: value' per line.\n";

/* Shared option parsing of check and show; *file receives the product path. */
static int
parse_args(struct cli *cli, int argc, char **argv, const char *help, struct cli_defines *defs,
           int *no_files, const char **file)
{
    static const struct option opts[] = {{"define", required_argument, NULL, 'D'},
                                         {"no-files", no_argument, NULL, 'N'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c, rc;

    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+D:h", opts, NULL)) != -1) {
        switch (c) {
        case 'D':
            if ((rc = cli_define_add(cli, defs, optarg)))
                return rc;
            break;
        case 'N':
            if (!no_files)
                return cli_usage(cli, "unknown option '--no-files'");
            *no_files = 1;
            break;
        case 'h':
            fputs(help, stdout);
            return -1;
        default:
            return cli_usage(cli, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return cli_usage(cli, "expected one product file");
    *file = argv[optind];
    return 0;
}

static int
run_check(struct cli *cli, int argc, char **argv)
{
    struct cli_defines defs = {.n = 0};
    struct consign_product *p = NULL;
    const char *file = NULL;
    int no_files = 0, rc;

    if ((rc = parse_args(cli, argc, argv, check_help, &defs, &no_files, &file)))
        return rc < 0 ? 0 : rc;
    if ((rc = consign_product_load(&cli->ctx, file, cli_define_lookup, &defs, &p)) ||
        (!no_files && (rc = consign_product_check_files(&cli->ctx, p)))) {
        rc = cli_fail(cli, rc);
        goto out;
    }
    if (!cli->quiet)
        printf("%s: ok: %s %s-%s (%s), %zu agent entries, runtime %s with %zu entries\n", file,
               p->name, p->version, p->release, consign_arch_deb(p->arch), p->agent.nfiles,
               p->runtime.nfiles ? p->runtime.name : "(none)", p->runtime.nfiles);
out:
    consign_product_free(p);
    return rc;
}

static void
show_files(const char *prefix, const struct consign_package_spec *s)
{
    size_t i;
    for (i = 0; i < s->nfiles; i++) {
        printf("%s.files[%zu]: %s -> %s", prefix, i, s->files[i].src, s->files[i].dst);
        if (s->files[i].mode >= 0)
            printf(" mode=%04o", (unsigned)s->files[i].mode);
        printf("%s\n", s->files[i].config ? " config" : "");
    }
}

static int
run_show(struct cli *cli, int argc, char **argv)
{
    struct cli_defines defs = {.n = 0};
    struct consign_product *p = NULL;
    const char *file = NULL;
    size_t i;
    int rc;

    if ((rc = parse_args(cli, argc, argv, show_help, &defs, NULL, &file)))
        return rc < 0 ? 0 : rc;
    if ((rc = consign_product_load(&cli->ctx, file, cli_define_lookup, &defs, &p)))
        return cli_fail(cli, rc);
    printf("name: %s\nversion: %s\nrelease: %s\n", p->name, p->version, p->release);
    if (p->has_epoch)
        printf("epoch: %lu\n", p->epoch);
    printf("architecture: %s (rpm %s)\nsummary: %s\nvendor: %s\nmaintainer: %s\n",
           consign_arch_deb(p->arch), consign_arch_rpm(p->arch), p->summary,
           p->vendor ? p->vendor : "", p->maintainer);
    printf("homepage: %s\nlicense: %s\neula: %s\nsection: %s\ngroup: %s\n",
           p->homepage ? p->homepage : "", p->license, p->eula ? p->eula : "", p->section,
           p->group);
    printf("agent.package: %s\n", p->agent.name);
    show_files("agent", &p->agent);
    if (p->runtime.nfiles) {
        printf("runtime.package: %s\nruntime.summary: %s\n", p->runtime.name, p->runtime.summary);
        show_files("runtime", &p->runtime);
    }
    printf("service.name: %s\nservice.user: %s\nservice.group: %s\n", p->service.name,
           p->service.user, p->service.group);
    for (i = 0; i < p->service.nexec; i++)
        printf("service.exec[%zu]: %s\n", i, p->service.exec[i]);
    printf("service.restart: %s\nservice.restart_sec: %lu\nservice.stop_timeout: %lu\n",
           consign_restart_name(p->service.restart), p->service.restart_sec,
           p->service.stop_timeout_sec);
    printf("service.options_file: %s\n", p->service.options_file);
    printf("settings.token: %s\nsettings.proxy: %s\nsettings.auto_update: %s\n",
           consign_token_policy_name(p->settings.token), p->settings.proxy ? "true" : "false",
           p->settings.auto_update ? "true" : "false");
    for (i = 0; i < p->dist.nurls; i++)
        printf("distribution.%s: %s\n", i ? "mirror" : "url", p->dist.urls[i]);
    printf("distribution.channel: %s\n", p->dist.channel);
    consign_product_free(p);
    return 0;
}

static const char product_help[] = "Usage: consign product COMMAND [ARGS...]\n"
                                   "\n"
                                   "Commands:\n"
                                   "  check   validate a product file (and its source files)\n"
                                   "  show    print every field, defaults filled in\n"
                                   "\n"
                                   "The format is described in docs/product-file.md.\n";

int
cmd_product(struct cli *cli, int argc, char **argv)
{
    static const struct cli_cmd cmds[] = {
        {"check", "validate", run_check},
        {"show", "print", run_show},
    };
    return cli_dispatch(cli, cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv, product_help);
}
