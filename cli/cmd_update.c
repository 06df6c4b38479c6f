/* consign update init|publish|refresh-timestamp, and consign keys
 * tuf-rotate: the TUF repository agents update from (consign/tufrepo.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consign/delta.h"
#include "consign/product.h"
#include "consign/tufrepo.h"

#include "cli.h"

#define MAX_ARTIFACTS 64
#define MAX_DELTAS    8  /* --delta-from */
#define MAX_PATCHES   64 /* patches in one publish */
#define MAX_DAYS      36500

enum {
    OPT_KEYDIR = 256,
    OPT_REPO,
    OPT_PRODUCT,
    OPT_NAME,
    OPT_VERSION,
    OPT_CHANNEL,
    OPT_ROLLOUT,
    OPT_MIN_VERSION,
    OPT_ARCH,
    OPT_ROOT_KEYS,
    OPT_ROOT_THRESHOLD,
    OPT_EXPIRE_ROOT,
    OPT_EXPIRE_TARGETS,
    OPT_EXPIRE_SNAPSHOT,
    OPT_EXPIRE_TIMESTAMP,
    OPT_DELTA_FROM,
    OPT_DELTA_LEVEL,
};

#define EXPIRE_HELP                                                                                \
    "      --expire-ROLE DAYS     lifetime of what this command signs for ROLE (root,\n"           \
    "                             targets, snapshot, timestamp); defaults 365, 90, 7, 1\n"

static const char update_help[] =
    "Usage: consign update COMMAND [OPTIONS]\n"
    "\n"
    "Maintain the TUF repository (The Update Framework 1.0) that agents update\n"
    "from: roles root, targets, snapshot and timestamp, Ed25519 keys kept in\n"
    "KEYDIR/tuf/, consistent snapshots.\n"
    "\n"
    "Commands:\n"
    "  init                create the keys and the repository's first metadata\n"
    "  publish             add a release's .bin payloads as targets\n"
    "  refresh-timestamp   sign a new timestamp (run it from cron, daily or more)\n"
    "\n"
    "Keys are rotated with 'consign keys tuf-rotate ROLE'.\n"
    "Run 'consign update COMMAND --help' for the options of a command.\n";

static const char init_help[] =
    "Usage: consign update init --keydir DIR --repo DIR [--root-keys N]\n"
    "                           [--root-threshold N] [--expire-ROLE DAYS]...\n"
    "\n"
    "Create an Ed25519 key for each role in DIR/tuf/ (mode 0700, key files 0600;\n"
    "keys already there are reused) and the repository's version 1 metadata.\n"
    "\n"
    "      --keydir DIR           the key directory (keep it offline)\n"
    "      --repo DIR             the repository directory (served as is)\n"
    "      --root-keys N          root keys to make (default 1, at most 16)\n"
    "      --root-threshold N     root signatures a new root needs (default 1)\n" EXPIRE_HELP
    "  -h, --help                 this help\n"
    "\n"
    "SOURCE_DATE_EPOCH, when set, is the signing time: the same keys and inputs\n"
    "give byte-identical metadata.\n";

static const char publish_help[] =
    "Usage: consign update publish --keydir DIR --repo DIR --product FILE\n"
    "                              [--version V] [--channel C] [--rollout PCT]\n"
    "                              [--min-version V] [--arch ARCH] [--expire-ROLE DAYS]...\n"
    "                              [ARCH=]ARTIFACT...\n"
    "\n"
    "Add each ARTIFACT (a self-extracting .bin) as the target\n"
    "NAME/VERSION/linux-ARCH/FILE with the custom fields version, channel,\n"
    "rollout and min_version, then sign new targets, snapshot and timestamp\n"
    "metadata (the timestamp last). Publishes are serialised by REPO/.lock.\n"
    "\n"
    "      --keydir DIR           the key directory\n"
    "      --repo DIR             the repository directory\n"
    "      --product FILE         the product file: name, version, channel, arch\n"
    "      --name NAME            the product name (without --product)\n"
    "      --version V            the release's version (default: the product's)\n"
    "      --channel C            the update channel (default: the product's, or stable)\n"
    "      --rollout PCT          percentage of agents offered the release (default 100)\n"
    "      --min-version V        the oldest version that may update to this one\n"
    "      --arch ARCH            the artifacts' architecture (default: the "
    "product's)\n"
    "      --delta-from OLD.bin   also publish a patch from this earlier release's .bin\n"
    "                             (repeat for each of the previous K releases)\n"
    "      --delta-level N        zstd level of the patches, 1..19 (default 19)\n" EXPIRE_HELP
    "  -h, --help                 this help\n";

static const char refresh_help[] =
    "Usage: consign update refresh-timestamp --keydir DIR --repo DIR\n"
    "                                        [--expire-timestamp DAYS]\n"
    "\n"
    "Sign the next timestamp version for the current snapshot. Clients refuse an\n"
    "expired timestamp: run this more often than its lifetime (default 1 day).\n"
    "\n"
    "      --keydir DIR              the key directory (only the timestamp key is used)\n"
    "      --repo DIR                the repository directory\n"
    "      --expire-timestamp DAYS   the new timestamp's lifetime (default 1)\n"
    "  -h, --help                    this help\n";

static const char rotate_help[] =
    "Usage: consign keys tuf-rotate --keydir DIR --repo DIR [--root-keys N]\n"
    "                               [--root-threshold N] [--expire-ROLE DAYS]... ROLE\n"
    "\n"
    "Replace the keys of ROLE (root, targets, snapshot or timestamp) with new ones\n"
    "and write root version N+1, signed by a threshold of the old root keys and by\n"
    "the new root's keys, so clients trusting root N move on; the metadata the new\n"
    "keys cover is re-signed. The old key files move to DIR/tuf/retired/.\n"
    "\n"
    "      --keydir DIR           the key directory\n"
    "      --repo DIR             the repository directory\n"
    "      --root-keys N          root only: how many new root keys (default: as many)\n"
    "      --root-threshold N     root only: the new threshold (default: as before)\n" EXPIRE_HELP
    "  -h, --help                 this help\n";

static const struct option all_opts[] = {
    {"keydir", required_argument, NULL, OPT_KEYDIR},
    {"repo", required_argument, NULL, OPT_REPO},
    {"product", required_argument, NULL, OPT_PRODUCT},
    {"name", required_argument, NULL, OPT_NAME},
    {"version", required_argument, NULL, OPT_VERSION},
    {"channel", required_argument, NULL, OPT_CHANNEL},
    {"rollout", required_argument, NULL, OPT_ROLLOUT},
    {"min-version", required_argument, NULL, OPT_MIN_VERSION},
    {"arch", required_argument, NULL, OPT_ARCH},
    {"root-keys", required_argument, NULL, OPT_ROOT_KEYS},
    {"root-threshold", required_argument, NULL, OPT_ROOT_THRESHOLD},
    {"expire-root", required_argument, NULL, OPT_EXPIRE_ROOT},
    {"expire-targets", required_argument, NULL, OPT_EXPIRE_TARGETS},
    {"expire-snapshot", required_argument, NULL, OPT_EXPIRE_SNAPSHOT},
    {"expire-timestamp", required_argument, NULL, OPT_EXPIRE_TIMESTAMP},
    {"delta-from", required_argument, NULL, OPT_DELTA_FROM},
    {"delta-level", required_argument, NULL, OPT_DELTA_LEVEL},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct update_args {
    struct consign_tufrepo_options o;
    const char *product, *name, *version, *channel, *min_version, *arch;
    int rollout;
    const char *delta_from[MAX_DELTAS]; /* earlier .bins to patch from */
    size_t n_delta_from;
    int delta_level;
    int first; /* argv index of the first operand */
};

static const char *
opt_name(int id)
{
    size_t i;

    for (i = 0; all_opts[i].name; i++)
        if (all_opts[i].val == id)
            return all_opts[i].name;
    return "?";
}

static int
parse_count(struct cli *cli, const char *opt, const char *s, unsigned long long max,
            unsigned long long *out)
{
    if (consign_parse_u64(s, max, out) || *out == 0)
        return cli_usage(cli, "--%s: expected a number from 1 to %llu, got '%s'", opt, max, s);
    return 0;
}

/* Like consign keys: only the options in allowed (0-terminated) are
 * accepted. 0, -1 after printing help, or the usage exit code. */
static int
parse_args(struct cli *cli, int argc, char **argv, const int *allowed, const char *help,
           struct update_args *a)
{
    unsigned long long v;
    const char *bad;
    int c, i, ok, rc;

    memset(a, 0, sizeof(*a));
    consign_tufrepo_options_init(&a->o);
    a->rollout = 100;
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
        for (i = 0, ok = 0; allowed[i]; i++)
            ok |= allowed[i] == c;
        if (!ok)
            return cli_usage(cli, "unknown option '--%s'", opt_name(c));
        switch (c) {
        case OPT_KEYDIR:
            a->o.keydir = optarg;
            break;
        case OPT_REPO:
            a->o.repo = optarg;
            break;
        case OPT_PRODUCT:
            a->product = optarg;
            break;
        case OPT_NAME:
            a->name = optarg;
            break;
        case OPT_VERSION:
            a->version = optarg;
            break;
        case OPT_CHANNEL:
            a->channel = optarg;
            break;
        case OPT_MIN_VERSION:
            a->min_version = optarg;
            break;
        case OPT_DELTA_FROM:
            if (a->n_delta_from == MAX_DELTAS)
                return cli_usage(cli, "at most %d --delta-from", MAX_DELTAS);
            a->delta_from[a->n_delta_from++] = optarg;
            break;
        case OPT_DELTA_LEVEL: {
            unsigned long long lv;
            if ((rc = parse_count(cli, "delta-level", optarg, 19, &lv)))
                return rc;
            a->delta_level = (int)lv;
            break;
        }
        case OPT_ARCH:
            a->arch = optarg;
            break;
        case OPT_ROLLOUT:
            if (consign_parse_u64(optarg, 100, &v))
                return cli_usage(cli, "--rollout: expected a percentage from 0 to 100, got '%s'",
                                 optarg);
            a->rollout = (int)v;
            break;
        case OPT_ROOT_KEYS:
        case OPT_ROOT_THRESHOLD:
            if ((rc = parse_count(cli, opt_name(c), optarg, CONSIGN_TUFREPO_MAX_ROOT_KEYS, &v)))
                return rc;
            if (c == OPT_ROOT_KEYS)
                a->o.root_keys = (unsigned)v;
            else
                a->o.root_threshold = (unsigned)v;
            break;
        case OPT_EXPIRE_ROOT:
        case OPT_EXPIRE_TARGETS:
        case OPT_EXPIRE_SNAPSHOT:
        case OPT_EXPIRE_TIMESTAMP:
            if ((rc = parse_count(cli, opt_name(c), optarg, MAX_DAYS, &v)))
                return rc;
            a->o.expiry[c == OPT_EXPIRE_ROOT       ? CONSIGN_TUF_ROOT
                        : c == OPT_EXPIRE_TARGETS  ? CONSIGN_TUF_TARGETS
                        : c == OPT_EXPIRE_SNAPSHOT ? CONSIGN_TUF_SNAPSHOT
                                                   : CONSIGN_TUF_TIMESTAMP] = (long long)v * 86400;
            break;
        default:
            return cli_usage(cli, "unknown option");
        }
    }
    a->first = optind;
    if (!a->o.keydir)
        return cli_usage(cli, "--keydir is required");
    if (!a->o.repo)
        return cli_usage(cli, "--repo is required");
    return 0;
}

static int
no_operands(struct cli *cli, int argc, char **argv, const struct update_args *a)
{
    if (a->first < argc)
        return cli_usage(cli, "unexpected argument '%s'", argv[a->first]);
    return 0;
}

static int
run_init(struct cli *cli, int argc, char **argv)
{
    static const int allowed[] = {OPT_KEYDIR,
                                  OPT_REPO,
                                  OPT_ROOT_KEYS,
                                  OPT_ROOT_THRESHOLD,
                                  OPT_EXPIRE_ROOT,
                                  OPT_EXPIRE_TARGETS,
                                  OPT_EXPIRE_SNAPSHOT,
                                  OPT_EXPIRE_TIMESTAMP,
                                  0};
    struct update_args a;
    int rc;

    if ((rc = parse_args(cli, argc, argv, allowed, init_help, &a)))
        return rc < 0 ? 0 : rc;
    if ((rc = no_operands(cli, argc, argv, &a)))
        return rc;
    if ((rc = consign_tufrepo_init(&cli->ctx, &a.o)))
        return cli_fail(cli, rc);
    if (!cli->quiet)
        printf("%s: TUF repository initialised (root: %u key%s, threshold %u)\n", a.o.repo,
               a.o.root_keys ? a.o.root_keys : 1, a.o.root_keys > 1 ? "s" : "",
               a.o.root_threshold ? a.o.root_threshold : 1);
    return 0;
}

static int
run_publish(struct cli *cli, int argc, char **argv)
{
    static const int allowed[] = {OPT_KEYDIR,
                                  OPT_REPO,
                                  OPT_PRODUCT,
                                  OPT_NAME,
                                  OPT_VERSION,
                                  OPT_CHANNEL,
                                  OPT_ROLLOUT,
                                  OPT_MIN_VERSION,
                                  OPT_ARCH,
                                  OPT_EXPIRE_TARGETS,
                                  OPT_EXPIRE_SNAPSHOT,
                                  OPT_EXPIRE_TIMESTAMP,
                                  OPT_DELTA_FROM,
                                  OPT_DELTA_LEVEL,
                                  0};
    struct consign_tufrepo_artifact arts[MAX_ARTIFACTS + MAX_PATCHES];
    struct consign_tufrepo_patch patches[MAX_PATCHES];
    struct consign_delta_info infos[MAX_PATCHES];
    char *patch_files[MAX_PATCHES] = {NULL};
    char *tmpdir = NULL;
    size_t n_full = 0, k, np = 0;
    struct consign_tufrepo_release rel;
    struct consign_product *p = NULL;
    struct update_args a;
    const char *arch;
    int rc, i;
    size_t n = 0;

    if ((rc = parse_args(cli, argc, argv, allowed, publish_help, &a)))
        return rc < 0 ? 0 : rc;
    if (!a.product && !a.name)
        return cli_usage(cli, "--product (or --name and --version) is required");
    if (a.product && a.name)
        return cli_usage(cli, "--product and --name exclude each other");
    if (a.first >= argc)
        return cli_usage(cli, "expected at least one artifact");
    if (argc - a.first > MAX_ARTIFACTS)
        return cli_usage(cli, "at most %d artifacts", MAX_ARTIFACTS);
    if (a.product && (rc = consign_product_load(&cli->ctx, a.product, NULL, NULL, &p))) {
        rc = cli_fail(cli, rc);
        goto out;
    }
    memset(&rel, 0, sizeof(rel));
    rel.product = p ? p->name : a.name;
    rel.version = a.version ? a.version : p ? p->version : NULL;
    rel.channel = a.channel ? a.channel : p ? p->dist.channel : NULL;
    rel.rollout = a.rollout;
    rel.min_version = a.min_version;
    arch = a.arch ? a.arch : p ? consign_arch_deb(p->arch) : NULL;
    if (!rel.version) {
        rc = cli_usage(cli, "--version is required without --product");
        goto out;
    }
    for (i = a.first; i < argc; i++, n++) {
        const char *eq = strchr(argv[i], '=');
        memset(&arts[n], 0, sizeof(arts[n]));
        if (eq && eq != argv[i] && strcspn(argv[i], "/") > (size_t)(eq - argv[i])) {
            /* ARCH=FILE: argv is ours to split. */
            argv[i][eq - argv[i]] = '\0';
            arts[n].arch = argv[i];
            arts[n].file = eq + 1;
        } else {
            arts[n].arch = arch;
            arts[n].file = argv[i];
        }
        if (!arts[n].arch) {
            rc = cli_usage(cli, "%s: no architecture (ARCH=FILE, --arch or --product)", argv[i]);
            goto out;
        }
    }
    /* Deltas: a patch from each earlier .bin to each artifact of its arch. */
    n_full = n;
    if (a.n_delta_from * n_full > MAX_PATCHES) {
        rc = cli_usage(cli, "at most %d patches in one publish", MAX_PATCHES);
        goto out;
    }
    if (a.n_delta_from) {
        char tmpl[] = "/tmp/consign-delta.XXXXXX";
        if (!(tmpdir = mkdtemp(tmpl)) || !(tmpdir = consign_strdup(&cli->ctx, tmpl))) {
            rc = cli_fail(cli, consign_fail_errno(&cli->ctx, errno, "mkdtemp"));
            goto out;
        }
    }
    for (k = 0; k < a.n_delta_from; k++) {
        size_t j;
        for (j = 0; j < n_full; j++) {
            struct consign_delta_info *di = &infos[np];
            char *file = consign_asprintf(&cli->ctx, "%s/%zu.%zu.tmp", tmpdir, k, j);
            if (!file) {
                rc = cli_fail(cli, CONSIGN_E_NOMEM);
                goto out;
            }
            patch_files[np] = file;
            rc = consign_delta_make(&cli->ctx, a.delta_from[k], arts[j].file, a.delta_level, file,
                                    di);
            if (rc == CONSIGN_E_INVALID && strcmp(di->arch, arts[j].arch) != 0) {
                consign_err_clear(&cli->ctx); /* another architecture's artifact */
                unlink(file);
                free(file);
                patch_files[np] = NULL;
                rc = 0;
                continue;
            }
            if (rc) {
                rc = cli_fail(cli, rc);
                goto out;
            }
            /* The target's file name says what it patches. */
            {
                /* One directory per artifact: the same name for two architectures. */
                char *final = consign_asprintf(&cli->ctx, "%s/%zu/from-%s.patch", tmpdir, j,
                                               di->from_version);
                char *sub = consign_asprintf(&cli->ctx, "%s/%zu", tmpdir, j);
                if (sub)
                    mkdir(sub, 0700);
                free(sub);
                if (!final || rename(file, final) < 0) {
                    free(final);
                    rc = cli_fail(cli, consign_fail_errno(&cli->ctx, errno, "patch"));
                    goto out;
                }
                patch_files[np] = final;
                free(file);
            }
            patches[np].from_version = di->from_version;
            patches[np].from_sha256 = di->from_sha256;
            patches[np].from_length = (long long)di->from_length;
            patches[np].install_version = di->version;
            patches[np].sha256 = di->sha256;
            patches[np].length = (long long)di->length;
            patches[np].signer = di->signer;
            memset(&arts[n], 0, sizeof(arts[n]));
            arts[n].file = patch_files[np];
            arts[n].arch = arts[j].arch;
            arts[n].patch = &patches[np];
            if (!cli->quiet)
                printf("patch %s -> %s (%s): %llu bytes for a %llu-byte payload\n",
                       di->from_version, di->version, di->arch, di->patch_length, di->length);
            n++;
            np++;
        }
    }
    rel.artifacts = arts;
    rel.n_artifacts = n;
    if ((rc = consign_tufrepo_publish(&cli->ctx, &a.o, &rel))) {
        rc = cli_fail(cli, rc);
        goto out;
    }
    if (!cli->quiet)
        printf("%s %s (channel %s, rollout %d%%): %zu target%s published\n", rel.product,
               rel.version, rel.channel ? rel.channel : "stable", rel.rollout, n,
               n == 1 ? "" : "s");
out:
    for (k = 0; k < MAX_PATCHES; k++) {
        if (patch_files[k])
            unlink(patch_files[k]);
        free(patch_files[k]);
    }
    for (k = 0; tmpdir && k < n_full; k++) {
        char *sub = consign_asprintf(&cli->ctx, "%s/%zu", tmpdir, k);
        if (sub)
            rmdir(sub);
        free(sub);
    }
    if (tmpdir)
        rmdir(tmpdir);
    free(tmpdir);
    consign_product_free(p);
    return rc;
}

static int
run_refresh(struct cli *cli, int argc, char **argv)
{
    static const int allowed[] = {OPT_KEYDIR, OPT_REPO, OPT_EXPIRE_TIMESTAMP, 0};
    struct update_args a;
    int rc;

    if ((rc = parse_args(cli, argc, argv, allowed, refresh_help, &a)))
        return rc < 0 ? 0 : rc;
    if ((rc = no_operands(cli, argc, argv, &a)))
        return rc;
    if ((rc = consign_tufrepo_refresh_timestamp(&cli->ctx, &a.o)))
        return cli_fail(cli, rc);
    return 0;
}

int
cmd_keys_tuf_rotate(struct cli *cli, int argc, char **argv)
{
    static const int allowed[] = {OPT_KEYDIR,
                                  OPT_REPO,
                                  OPT_ROOT_KEYS,
                                  OPT_ROOT_THRESHOLD,
                                  OPT_EXPIRE_ROOT,
                                  OPT_EXPIRE_TARGETS,
                                  OPT_EXPIRE_SNAPSHOT,
                                  OPT_EXPIRE_TIMESTAMP,
                                  0};
    enum consign_tuf_type role;
    struct update_args a;
    long long version = 0;
    int rc;

    if ((rc = parse_args(cli, argc, argv, allowed, rotate_help, &a)))
        return rc < 0 ? 0 : rc;
    if (a.first != argc - 1)
        return cli_usage(cli, "expected one role (root, targets, snapshot or timestamp)");
    if (consign_tufrepo_role_parse(argv[a.first], &role))
        return cli_usage(cli, "expected root, targets, snapshot or timestamp, not '%s'",
                         argv[a.first]);
    if (role != CONSIGN_TUF_ROOT && (a.o.root_keys || a.o.root_threshold))
        return cli_usage(cli, "--root-keys and --root-threshold are for the root role");
    if ((rc = consign_tufrepo_rotate(&cli->ctx, &a.o, role, &version)))
        return cli_fail(cli, rc);
    if (!cli->quiet)
        printf("%s: %s keys replaced, root version %lld\n", a.o.repo, argv[a.first], version);
    return 0;
}

static const struct cli_cmd update_cmds[] = {
    {"init", "create the keys and the repository", run_init},
    {"publish", "add a release's targets", run_publish},
    {"refresh-timestamp", "sign a new timestamp", run_refresh},
};

int
cmd_update(struct cli *cli, int argc, char **argv)
{
    return cli_dispatch(cli, update_cmds, sizeof(update_cmds) / sizeof(update_cmds[0]), argc, argv,
                        update_help);
}
