/* consign bootstrap build: the signed bootstrap downloader; consign verify:
 * check a .bin's or a bootstrap's appended signature. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consign/bootconf.h"
#include "consign/bootstrap.h"
#include "consign/product.h"
#include "consign/secret.h"
#include "consign/sfx.h"
#include "consign/sfx_install.h"

#include "cli.h"
#include "defines.h"

static const char build_help[] =
    "Usage: consign bootstrap build --product FILE --keydir DIR --url URL [--url MIRROR]...\n"
    "                               --out NAME-bootstrap [OPTIONS]\n"
    "\n"
    "Build the bootstrap downloader: a static program with the product name, the\n"
    "channel, the update repository's URLs, the release key and the TUF root\n"
    "embedded, signed like a .bin (consign verify checks it), and NAME-bootstrap.asc\n"
    "beside it (gpg --verify). Customers run 'sudo ./NAME-bootstrap /i /q\n"
    "PROPERTY_TOKEN=...'; see docs/bootstrap.md.\n"
    "\n"
    "  -p, --product FILE        the product file\n"
    "  -k, --keydir DIR          the release key directory (signs; its active key is\n"
    "                            the one the downloaded .bin must be signed by)\n"
    "  -u, --url URL             base URL of the TUF update repository (consign update);\n"
    "                            repeat for mirrors, tried in order. Default: the\n"
    "                            product file's distribution.url and mirrors\n"
    "  -o, --out FILE            the bootstrap to write (mode 0755); FILE.asc too\n"
    "  -c, --channel NAME        the release channel (default: the product's, or stable)\n"
    "      --tuf-root FILE       the TUF root to trust (default: KEYDIR/tuf/root.json)\n"
    "      --also-signer FPR     another release key the .bin may be signed by (a key\n"
    "                            rotation announced ahead); repeatable\n"
    "      --pin sha256//BASE64  also require the repository servers' public key (as\n"
    "                            curl --pinnedpubkey; ';' between several)\n"
    "  -D, --define NAME=VALUE   value for ${NAME} in the product file\n"
    "      --passphrase-file F   the key's passphrase, from a file\n"
    "      --passphrase-env VAR  the key's passphrase, from an environment variable\n"
    "      --program PATH        the bootstrap program (default: the one built with consign)\n"
    "\n"
    "SOURCE_DATE_EPOCH, when set, makes both files byte-for-byte reproducible.\n";

static const char bootstrap_help[] =
    "Usage: consign bootstrap build --product FILE --keydir DIR --url URL --out FILE\n"
    "\n"
    "Commands:\n"
    "  build     build the signed bootstrap downloader\n";

#define MAX_LIST 16

/* A bootstrap carries no files of the product: a source path variable that
 * nothing defines may stay unresolved. */
static const char *
lookup_or_placeholder(void *user, const char *name)
{
    const char *v = cli_define_lookup(user, name);

    return v ? v : "/nonexistent";
}

static int
bootstrap_build(struct cli *cli, int argc, char **argv)
{
    enum { O_ROOT = 256, O_SIGNER, O_PFILE, O_PENV, O_PROGRAM, O_PIN };
    static const struct option opts[] = {{"product", required_argument, NULL, 'p'},
                                         {"keydir", required_argument, NULL, 'k'},
                                         {"url", required_argument, NULL, 'u'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"channel", required_argument, NULL, 'c'},
                                         {"define", required_argument, NULL, 'D'},
                                         {"tuf-root", required_argument, NULL, O_ROOT},
                                         {"also-signer", required_argument, NULL, O_SIGNER},
                                         {"passphrase-file", required_argument, NULL, O_PFILE},
                                         {"passphrase-env", required_argument, NULL, O_PENV},
                                         {"program", required_argument, NULL, O_PROGRAM},
                                         {"pin", required_argument, NULL, O_PIN},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *product = NULL, *out = NULL, *pass_file = NULL, *pass_env = NULL;
    const char *urls[MAX_LIST], *signers[MAX_LIST];
    struct consign_bootstrap_build_opts o;
    struct consign_product *p = NULL;
    struct consign_secret *pass = NULL;
    struct cli_defines defs;
    int c, rc;

    memset(&o, 0, sizeof(o));
    memset(&defs, 0, sizeof(defs));
    o.program_path = getenv("CONSIGN_BOOTSTRAP_PROGRAM") ? getenv("CONSIGN_BOOTSTRAP_PROGRAM")
                                                         : CONSIGN_BOOTSTRAP_PATH;
    o.urls = urls;
    o.extra_signers = signers;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+p:k:u:o:c:D:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            product = optarg;
            break;
        case 'k':
            o.keydir = optarg;
            break;
        case 'u':
            if (o.n_urls == MAX_LIST)
                return cli_usage(cli, "at most %d --url", MAX_LIST);
            urls[o.n_urls++] = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'c':
            if (!consign_bootconf_name_ok(optarg))
                return cli_usage(cli, "--channel: letters, digits and ._+~- expected");
            o.channel = optarg;
            break;
        case 'D':
            if ((rc = cli_define_add(cli, &defs, optarg)))
                return rc;
            break;
        case O_ROOT:
            o.tuf_root = optarg;
            break;
        case O_SIGNER:
            if (o.n_extra_signers == 7)
                return cli_usage(cli, "at most 7 --also-signer");
            signers[o.n_extra_signers++] = optarg;
            break;
        case O_PFILE:
            pass_file = optarg;
            break;
        case O_PENV:
            pass_env = optarg;
            break;
        case O_PROGRAM:
            o.program_path = optarg;
            break;
        case O_PIN:
            o.pin = optarg;
            break;
        case 'h':
            fputs(build_help, stdout);
            return 0;
        default:
            return cli_usage(cli, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    if (!product || !o.keydir || !out)
        return cli_usage(cli, "--product, --keydir and --out are required");
    if (pass_file && pass_env)
        return cli_usage(cli, "give --passphrase-file or --passphrase-env, not both");
    if ((pass_file && (rc = consign_secret_from_file(&cli->ctx, pass_file, &pass))) ||
        (pass_env && (rc = consign_secret_from_env(&cli->ctx, pass_env, &pass))) ||
        (rc = consign_product_load(&cli->ctx, product, lookup_or_placeholder, &defs, &p)))
        goto out;
    o.passphrase = pass;
    rc = consign_bootstrap_build(&cli->ctx, p, &o, out);
out:
    consign_secret_free(pass);
    consign_product_free(p);
    return rc ? cli_fail(cli, rc) : 0;
}

int
cmd_bootstrap(struct cli *cli, int argc, char **argv)
{
    static const struct cli_cmd cmds[] = {
        {"build", "build the signed bootstrap downloader", bootstrap_build},
    };
    return cli_dispatch(cli, cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv, bootstrap_help);
}

static const char verify_help[] =
    "Usage: consign verify [--expect-signer FPR] FILE...\n"
    "\n"
    "Check the appended signature of a self-extracting installer (.bin) or a\n"
    "bootstrap: the signed header, then the SHA-256 of the whole file. Prints the\n"
    "product, version, kind and the signer's fingerprint of each good file.\n"
    "\n"
    "  -e, --expect-signer FPR   also require this signer (40 hex digits, spaces allowed)\n"
    "\n"
    "Exit status: 0 every file is good, 1 one is not, 2 usage error.\n";

static int
verify_one(struct cli *cli, const char *path, const char *expect)
{
    const struct consign_sfx_info *info;
    struct consign_sfx *s = NULL;
    char g[64];
    int fd, rc;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        rc = consign_fail_errno(&cli->ctx, errno, "%s", path);
        goto out;
    }
    if ((rc = consign_sfx_open(&cli->ctx, fd, &s)) || (rc = consign_sfx_verify(&cli->ctx, s)))
        goto out;
    info = consign_sfx_info_get(s);
    consign_fpr_group(consign_sfx_signer(s), g);
    if (expect && !consign_fpr_equal(expect, consign_sfx_signer(s))) {
        rc = consign_fail(&cli->ctx, CONSIGN_E_UNTRUSTED, "signed by %s, not by %s", g, expect);
        goto out;
    }
    printf("%s: good: %s %s (%s), signed by %s\n", path, info->name, info->version, info->kind, g);
out:
    if (rc)
        consign_err_context(&cli->ctx, rc, "%s", path);
    consign_sfx_free(s);
    if (fd >= 0)
        close(fd);
    return rc;
}

int
cmd_verify(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {{"expect-signer", required_argument, NULL, 'e'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *expect = NULL;
    int c, rc, bad = 0;

    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+e:h", opts, NULL)) != -1) {
        switch (c) {
        case 'e':
            expect = optarg;
            break;
        case 'h':
            fputs(verify_help, stdout);
            return 0;
        default:
            return cli_usage(cli, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage(cli, "no file to verify");
    for (; optind < argc; optind++)
        if ((rc = verify_one(cli, argv[optind], expect))) {
            cli_fail(cli, rc);
            bad = 1;
        }
    return bad;
}
