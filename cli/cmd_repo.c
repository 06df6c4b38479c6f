/* consign repo apt|yum add|remove|list|publish: signed package repositories. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consign/keys.h"
#include "consign/repository.h"
#include "consign/secret.h"

#include "cli.h"

enum {
    OPT_ROOT = 256,
    OPT_SUITE,
    OPT_COMPONENT,
    OPT_KEEP,
    OPT_KEYDIR,
    OPT_PASS_FILE,
    OPT_PASS_ENV,
    OPT_ORIGIN,
    OPT_LABEL,
    OPT_ARCHS,
    OPT_DESCRIPTION,
    OPT_VALID_FOR,
    OPT_SHA512,
    OPT_NO_SHA512,
    OPT_BYHASH_KEEP,
    OPT_URL,
    OPT_NAME,
    OPT_COMPAT,
    OPT_KEEP_METADATA,
};

static const struct option all_opts[] = {
    {"root", required_argument, NULL, OPT_ROOT},
    {"suite", required_argument, NULL, OPT_SUITE},
    {"component", required_argument, NULL, OPT_COMPONENT},
    {"keep", required_argument, NULL, OPT_KEEP},
    {"keydir", required_argument, NULL, OPT_KEYDIR},
    {"passphrase-file", required_argument, NULL, OPT_PASS_FILE},
    {"passphrase-env", required_argument, NULL, OPT_PASS_ENV},
    {"origin", required_argument, NULL, OPT_ORIGIN},
    {"label", required_argument, NULL, OPT_LABEL},
    {"architectures", required_argument, NULL, OPT_ARCHS},
    {"description", required_argument, NULL, OPT_DESCRIPTION},
    {"valid-for", required_argument, NULL, OPT_VALID_FOR},
    {"sha512", no_argument, NULL, OPT_SHA512},
    {"no-sha512", no_argument, NULL, OPT_NO_SHA512},
    {"by-hash-keep", required_argument, NULL, OPT_BYHASH_KEEP},
    {"url", required_argument, NULL, OPT_URL},
    {"name", required_argument, NULL, OPT_NAME},
    {"compat", no_argument, NULL, OPT_COMPAT},
    {"keep-metadata", required_argument, NULL, OPT_KEEP_METADATA},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct repo_args {
    const char *root, *component, *keydir, *pass_file, *pass_env, *origin, *label, *archs,
        *description, *url, *name;
    const char *suites[64];
    size_t nsuites;
    unsigned keep, byhash_keep, keep_metadata;
    long long valid;
    int sha512, compat;
    char **rest;
    int nrest;
};

static const char repo_help[] =
    "Usage: consign repo apt|yum COMMAND [OPTIONS]\n"
    "\n"
    "Build and keep signed APT and YUM repositories in a directory that a web\n"
    "server serves as it is.\n"
    "\n"
    "Commands (for both):\n"
    "  add       copy packages into the repository\n"
    "  remove    take packages out (by name, or name=version)\n"
    "  list      show what the repository holds\n"
    "  publish   write, sign and switch in the indexes; write the files customers add\n"
    "\n"
    "Run 'consign repo apt COMMAND --help' for the options of a command.\n";

static const char apt_help[] =
    "Usage: consign repo apt add|remove|list|publish [OPTIONS]\n"
    "\n"
    "A Debian repository: dists/SUITE/{InRelease,Release,Release.gpg}, Packages\n"
    "indexes (plain, .gz, .xz) with by-hash copies, and the pool.\n"
    "\n"
    "Run 'consign repo apt COMMAND --help' for the options of a command.\n";

static const char apt_add_help[] =
    "Usage: consign repo apt add --root DIR --suite CODENAME [--component NAME]\n"
    "                            [--keep N] PACKAGE.deb...\n"
    "\n"
    "Copy .deb files into the pool (pool/COMPONENT/n/NAME/) and list them in the\n"
    "suite. Nothing is published until 'consign repo apt publish'. A package whose\n"
    "name, version and architecture are already in the repository with other\n"
    "content is refused; one with the same content is listed again.\n"
    "\n"
    "      --root DIR          the repository (created if missing)\n"
    "      --suite CODENAME    the distribution codename, e.g. bookworm\n"
    "      --component NAME    default: main\n"
    "      --keep N            keep the newest N versions of each package in the\n"
    "                          suite and component (0: all; default 0)\n"
    "  -h, --help              this help\n";

static const char apt_remove_help[] =
    "Usage: consign repo apt remove --root DIR --suite CODENAME [--component NAME]\n"
    "                               NAME[=VERSION]...\n"
    "\n"
    "Take packages out of a suite (of every component unless --component is\n"
    "given). A pool file no suite lists any more is deleted by the next publish.\n"
    "A name matching nothing is an error and nothing is removed.\n";

static const char apt_list_help[] =
    "Usage: consign repo apt list --root DIR [--suite CODENAME]\n"
    "\n"
    "Print SUITE COMPONENT NAME VERSION ARCH POOL-PATH for each package.\n";

static const char apt_publish_help[] =
    "Usage: consign repo apt publish --root DIR --keydir DIR [--suite CODENAME]...\n"
    "                                [--origin TEXT] [--label TEXT] [--description TEXT]\n"
    "                                [--architectures \"amd64 arm64\"] [--valid-for TIME]\n"
    "                                [--sha512|--no-sha512] [--by-hash-keep N]\n"
    "                                [--url URL --name NAME]\n"
    "                                [--passphrase-file FILE | --passphrase-env VAR]\n"
    "\n"
    "Write the Packages indexes of every suite (or of the --suite ones), sign\n"
    "Release as InRelease and Release.gpg with the key directory's active key\n"
    "(SHA-512), and switch them in atomically. Settings given once are recorded\n"
    "and kept by later publishes. With SOURCE_DATE_EPOCH set, Date and the\n"
    "signatures use it, so the same repository gives the same bytes.\n"
    "\n"
    "      --origin, --label   Release fields (default: --name, else consign);\n"
    "                          apt refuses a repository whose Origin or Label\n"
    "                          changes, so choose them once\n"
    "      --architectures     default \"amd64 arm64\"; packages of architecture all\n"
    "                          appear in each\n"
    "      --valid-for TIME    Valid-Until = Date + TIME (days, or Nd, Nw, Nm, Ns; 0: no\n"
    "                          Valid-Until); default 30d. Publish again before then\n"
    "      --sha512            also SHA512 in Release and Packages\n"
    "      --by-hash-keep N    index generations kept under by-hash (default 3, min 2)\n"
    "      --url URL --name NAME\n"
    "                          also write NAME.sources, NAME.list, NAME.gpg (keyring\n"
    "                          for Signed-By), NAME.asc and NAME.fingerprint in DIR\n";

static const char yum_help[] =
    "Usage: consign repo yum add|remove|list|publish [OPTIONS]\n"
    "\n"
    "An RPM repository: repodata/repomd.xml (+ .asc) with primary, filelists and\n"
    "other, and the packages under Packages/.\n"
    "\n"
    "Run 'consign repo yum COMMAND --help' for the options of a command.\n";

static const char yum_add_help[] =
    "Usage: consign repo yum add --root DIR [--keep N] PACKAGE.rpm...\n"
    "\n"
    "Copy .rpm files into DIR/Packages/n/. Nothing is published until 'consign\n"
    "repo yum publish'. --keep N keeps the newest N versions of each name and\n"
    "architecture (0: all; default 0).\n";

static const char yum_remove_help[] =
    "Usage: consign repo yum remove --root DIR NAME[=[EPOCH:]VERSION[-RELEASE]]...\n";

static const char yum_list_help[] =
    "Usage: consign repo yum list --root DIR\n"
    "\n"
    "Print NAME [EPOCH:]VERSION-RELEASE ARCH PATH for each package.\n";

static const char yum_publish_help[] =
    "Usage: consign repo yum publish --root DIR --keydir DIR [--compat] [--keep-metadata N]\n"
    "                                [--url URL --name NAME]\n"
    "                                [--passphrase-file FILE | --passphrase-env VAR]\n"
    "\n"
    "Write repodata/ (primary, filelists, other; zstd, or gzip with --compat for\n"
    "RHEL 7's yum) under checksum-prefixed names, sign repomd.xml (repomd.xml.asc,\n"
    "armored) and switch it in. --keep-metadata N keeps N generations of old\n"
    "repodata files (default 3). With --url and --name, also write NAME.repo,\n"
    "RPM-GPG-KEY-NAME and NAME.fingerprint in DIR.\n";

static int
parse_uint(struct cli *cli, const char *opt, const char *s, unsigned max, unsigned *out)
{
    unsigned long long v;
    if (consign_parse_u64(s, max, &v) != 0)
        return cli_usage(cli, "%s: not a number from 0 to %u: %s", opt, max, s);
    *out = (unsigned)v;
    return 0;
}

/* Parse options (those in allowed only); positional arguments end in a->rest. */
static int
parse(struct cli *cli, int argc, char **argv, const int *allowed, const char *help,
      struct repo_args *a)
{
    unsigned long long secs;
    const char *bad;
    int c, ok, rc;

    memset(a, 0, sizeof(*a));
    a->valid = -1;
    a->sha512 = -1;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", all_opts, NULL)) != -1) {
        if (c == 'h') {
            fputs(help, stdout);
            return -1;
        }
        bad = optind > 1 && optind <= argc ? argv[optind - 1] : "?";
        if (c == ':')
            return cli_usage(cli, "option '%s' needs a value", bad);
        if (c == '?')
            return cli_usage(cli, "unknown option '%s'", bad);
        ok = 0;
        for (int i = 0; allowed[i]; i++)
            ok |= allowed[i] == c;
        if (!ok)
            return cli_usage(cli, "unknown option '%s'", bad);
        switch (c) {
        case OPT_ROOT:
            a->root = optarg;
            break;
        case OPT_SUITE:
            if (a->nsuites == sizeof(a->suites) / sizeof(a->suites[0]))
                return cli_usage(cli, "too many --suite options");
            a->suites[a->nsuites++] = optarg;
            break;
        case OPT_COMPONENT:
            a->component = optarg;
            break;
        case OPT_KEEP:
            if ((rc = parse_uint(cli, "--keep", optarg, 100000, &a->keep)))
                return rc;
            break;
        case OPT_BYHASH_KEEP:
            if ((rc = parse_uint(cli, "--by-hash-keep", optarg, 1000, &a->byhash_keep)))
                return rc;
            break;
        case OPT_KEEP_METADATA:
            if ((rc = parse_uint(cli, "--keep-metadata", optarg, 1000, &a->keep_metadata)))
                return rc;
            break;
        case OPT_KEYDIR:
            a->keydir = optarg;
            break;
        case OPT_PASS_FILE:
            a->pass_file = optarg;
            break;
        case OPT_PASS_ENV:
            a->pass_env = optarg;
            break;
        case OPT_ORIGIN:
            a->origin = optarg;
            break;
        case OPT_LABEL:
            a->label = optarg;
            break;
        case OPT_ARCHS:
            a->archs = optarg;
            break;
        case OPT_DESCRIPTION:
            a->description = optarg;
            break;
        case OPT_VALID_FOR:
            if (strcmp(optarg, "0") == 0) {
                a->valid = 0;
                break;
            }
            /* A bare number is days (Release validity is thought of in days). */
            if (consign_parse_u64(optarg, 100000, &secs) == 0) {
                a->valid = (long long)secs * 86400;
                break;
            }
            if (strcmp(optarg, "never") == 0 ||
                consign_keys_parse_expire(&cli->ctx, optarg, &secs) != 0 || secs > (1ULL << 40))
                return cli_usage(cli, "--valid-for: use e.g. 30d, 2w, 3600s or 0: %s", optarg);
            a->valid = (long long)secs;
            break;
        case OPT_SHA512:
            a->sha512 = 1;
            break;
        case OPT_NO_SHA512:
            a->sha512 = 0;
            break;
        case OPT_URL:
            a->url = optarg;
            break;
        case OPT_NAME:
            a->name = optarg;
            break;
        case OPT_COMPAT:
            a->compat = 1;
            break;
        }
    }
    if (!a->root)
        return cli_usage(cli, "--root DIR is required");
    if (a->pass_file && a->pass_env)
        return cli_usage(cli, "--passphrase-file and --passphrase-env exclude each other");
    if ((a->url != NULL) != (a->name != NULL))
        return cli_usage(cli, "--url and --name go together");
    a->rest = argv + optind;
    a->nrest = argc - optind;
    return 0;
}

static int
load_pass(struct cli *cli, const struct repo_args *a, struct consign_secret **out)
{
    int rc = 0;

    *out = NULL;
    if (a->pass_file)
        rc = consign_secret_from_file(&cli->ctx, a->pass_file, out);
    else if (a->pass_env)
        rc = consign_secret_from_env(&cli->ctx, a->pass_env, out);
    if (rc)
        consign_err_context(&cli->ctx, rc, "passphrase");
    return rc;
}

static int
print_entry(struct consign_ctx *ctx, void *user, const struct consign_repo_entry *e)
{
    (void)ctx;
    if (*(int *)user)
        printf("%s %s %s %s %s %s\n", e->suite, e->component, e->name, e->version, e->arch,
               e->path);
    else
        printf("%s %s %s %s\n", e->name, e->version, e->arch, e->path);
    return 0;
}

/* --- apt ----------------------------------------------------------------------- */

static int
apt_add(struct cli *cli, int argc, char **argv)
{
    static const int allowed[] = {OPT_ROOT, OPT_SUITE, OPT_COMPONENT, OPT_KEEP, 0};
    struct repo_args a;
    struct consign_apt_add_opts o;
    int rc;

    if ((rc = parse(cli, argc, argv, allowed, apt_add_help, &a)))
        return rc < 0 ? 0 : rc;
    if (a.nsuites != 1)
        return cli_usage(cli, "give one --suite");
    if (a.nrest < 1)
        return cli_usage(cli, "no .deb files given");
    o.suite = a.suites[0];
    o.component = a.component;
    o.keep = a.keep;
    if ((rc = consign_repo_apt_add(&cli->ctx, a.root, &o, (const char *const *)a.rest,
                                   (size_t)a.nrest)))
        return cli_fail(cli, rc);
    return 0;
}

static int
apt_remove(struct cli *cli, int argc, char **argv)
{
    static const int allowed[] = {OPT_ROOT, OPT_SUITE, OPT_COMPONENT, 0};
    struct repo_args a;
    size_t removed;
    int rc;

    if ((rc = parse(cli, argc, argv, allowed, apt_remove_help, &a)))
        return rc < 0 ? 0 : rc;
    if (a.nsuites != 1)
        return cli_usage(cli, "give one --suite");
    if (a.nrest < 1)
        return cli_usage(cli, "no package names given");
    if ((rc = consign_repo_apt_remove(&cli->ctx, a.root, a.suites[0], a.component,
                                      (const char *const *)a.rest, (size_t)a.nrest, &removed)))
        return cli_fail(cli, rc);
    if (!cli->quiet)
        fprintf(stderr, "consign: removed %zu package(s) from %s\n", removed, a.suites[0]);
    return 0;
}

static int
apt_list(struct cli *cli, int argc, char **argv)
{
    static const int allowed[] = {OPT_ROOT, OPT_SUITE, 0};
    struct repo_args a;
    int rc, full = 1;

    if ((rc = parse(cli, argc, argv, allowed, apt_list_help, &a)))
        return rc < 0 ? 0 : rc;
    if (a.nrest)
        return cli_usage(cli, "unexpected argument '%s'", a.rest[0]);
    if (a.nsuites > 1)
        return cli_usage(cli, "give at most one --suite");
    if ((rc = consign_repo_apt_list(&cli->ctx, a.root, a.nsuites ? a.suites[0] : NULL, print_entry,
                                    &full)))
        return cli_fail(cli, rc);
    return 0;
}

static int
apt_publish(struct cli *cli, int argc, char **argv)
{
    static const int allowed[] = {OPT_ROOT,        OPT_SUITE,     OPT_KEYDIR, OPT_PASS_FILE,
                                  OPT_PASS_ENV,    OPT_ORIGIN,    OPT_LABEL,  OPT_ARCHS,
                                  OPT_DESCRIPTION, OPT_VALID_FOR, OPT_SHA512, OPT_NO_SHA512,
                                  OPT_BYHASH_KEEP, OPT_URL,       OPT_NAME,   0};
    struct repo_args a;
    struct consign_apt_publish_opts o;
    struct consign_secret *pass = NULL;
    int rc;

    if ((rc = parse(cli, argc, argv, allowed, apt_publish_help, &a)))
        return rc < 0 ? 0 : rc;
    if (a.nrest)
        return cli_usage(cli, "unexpected argument '%s'", a.rest[0]);
    if (!a.keydir)
        return cli_usage(cli, "--keydir DIR is required");
    if ((rc = load_pass(cli, &a, &pass)))
        return cli_fail(cli, rc);
    memset(&o, 0, sizeof(o));
    o.keydir = a.keydir;
    o.passphrase = pass;
    o.suites = a.suites;
    o.nsuites = a.nsuites;
    o.origin = a.origin;
    o.label = a.label;
    o.architectures = a.archs;
    o.description = a.description;
    o.valid_seconds = a.valid;
    o.sha512 = a.sha512;
    o.by_hash_keep = a.byhash_keep;
    o.url = a.url;
    o.name = a.name;
    rc = consign_repo_apt_publish(&cli->ctx, a.root, &o);
    consign_secret_free(pass);
    return rc ? cli_fail(cli, rc) : 0;
}

/* --- yum ----------------------------------------------------------------------- */

static int
yum_add(struct cli *cli, int argc, char **argv)
{
    static const int allowed[] = {OPT_ROOT, OPT_KEEP, 0};
    struct repo_args a;
    struct consign_yum_add_opts o;
    int rc;

    if ((rc = parse(cli, argc, argv, allowed, yum_add_help, &a)))
        return rc < 0 ? 0 : rc;
    if (a.nrest < 1)
        return cli_usage(cli, "no .rpm files given");
    o.keep = a.keep;
    if ((rc = consign_repo_yum_add(&cli->ctx, a.root, &o, (const char *const *)a.rest,
                                   (size_t)a.nrest)))
        return cli_fail(cli, rc);
    return 0;
}

static int
yum_remove(struct cli *cli, int argc, char **argv)
{
    static const int allowed[] = {OPT_ROOT, 0};
    struct repo_args a;
    size_t removed;
    int rc;

    if ((rc = parse(cli, argc, argv, allowed, yum_remove_help, &a)))
        return rc < 0 ? 0 : rc;
    if (a.nrest < 1)
        return cli_usage(cli, "no package names given");
    if ((rc = consign_repo_yum_remove(&cli->ctx, a.root, (const char *const *)a.rest,
                                      (size_t)a.nrest, &removed)))
        return cli_fail(cli, rc);
    if (!cli->quiet)
        fprintf(stderr, "consign: removed %zu package(s)\n", removed);
    return 0;
}

static int
yum_list(struct cli *cli, int argc, char **argv)
{
    static const int allowed[] = {OPT_ROOT, 0};
    struct repo_args a;
    int rc, full = 0;

    if ((rc = parse(cli, argc, argv, allowed, yum_list_help, &a)))
        return rc < 0 ? 0 : rc;
    if (a.nrest)
        return cli_usage(cli, "unexpected argument '%s'", a.rest[0]);
    if ((rc = consign_repo_yum_list(&cli->ctx, a.root, print_entry, &full)))
        return cli_fail(cli, rc);
    return 0;
}

static int
yum_publish(struct cli *cli, int argc, char **argv)
{
    static const int allowed[] = {OPT_ROOT,     OPT_KEYDIR, OPT_PASS_FILE,
                                  OPT_PASS_ENV, OPT_COMPAT, OPT_KEEP_METADATA,
                                  OPT_URL,      OPT_NAME,   0};
    struct repo_args a;
    struct consign_yum_publish_opts o;
    struct consign_secret *pass = NULL;
    int rc;

    if ((rc = parse(cli, argc, argv, allowed, yum_publish_help, &a)))
        return rc < 0 ? 0 : rc;
    if (a.nrest)
        return cli_usage(cli, "unexpected argument '%s'", a.rest[0]);
    if (!a.keydir)
        return cli_usage(cli, "--keydir DIR is required");
    if ((rc = load_pass(cli, &a, &pass)))
        return cli_fail(cli, rc);
    memset(&o, 0, sizeof(o));
    o.keydir = a.keydir;
    o.passphrase = pass;
    o.compat = a.compat;
    o.keep_metadata = a.keep_metadata;
    o.url = a.url;
    o.name = a.name;
    rc = consign_repo_yum_publish(&cli->ctx, a.root, &o);
    consign_secret_free(pass);
    return rc ? cli_fail(cli, rc) : 0;
}

static const struct cli_cmd apt_cmds[] = {
    {"add", "add packages", apt_add},
    {"remove", "remove packages", apt_remove},
    {"list", "list packages", apt_list},
    {"publish", "sign and publish", apt_publish},
};

static const struct cli_cmd yum_cmds[] = {
    {"add", "add packages", yum_add},
    {"remove", "remove packages", yum_remove},
    {"list", "list packages", yum_list},
    {"publish", "sign and publish", yum_publish},
};

static int
cmd_apt(struct cli *cli, int argc, char **argv)
{
    return cli_dispatch(cli, apt_cmds, sizeof(apt_cmds) / sizeof(apt_cmds[0]), argc, argv,
                        apt_help);
}

static int
cmd_yum(struct cli *cli, int argc, char **argv)
{
    return cli_dispatch(cli, yum_cmds, sizeof(yum_cmds) / sizeof(yum_cmds[0]), argc, argv,
                        yum_help);
}

static const struct cli_cmd repo_cmds[] = {
    {"apt", "APT repositories", cmd_apt},
    {"yum", "YUM repositories", cmd_yum},
};

int
cmd_repo(struct cli *cli, int argc, char **argv)
{
    return cli_dispatch(cli, repo_cmds, sizeof(repo_cmds) / sizeof(repo_cmds[0]), argc, argv,
                        repo_help);
}
