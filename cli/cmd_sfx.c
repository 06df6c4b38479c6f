/* consign sfx build: the self-extracting installer NAME-V.bin. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consign/product.h"
#include "consign/secret.h"
#include "consign/sfx.h"

#include "cli.h"
#include "defines.h"

static const char build_help[] =
    "Usage: consign sfx build --product FILE --keydir DIR --out NAME-V.bin [OPTIONS]\n"
    "\n"
    "Build a self-extracting installer: the static stub, the agent's and the\n"
    "runtime's files as one zstd-compressed tar stream, and a trailer with the\n"
    "SHA-256 of everything before it, signed by the key directory's active key.\n"
    "Customers run it with 'sudo ./NAME-V.bin' (see docs/sfx-stub.md).\n"
    "\n"
    "  -p, --product FILE        the product file\n"
    "  -k, --keydir DIR          the release key directory (consign keys generate)\n"
    "  -o, --out FILE            the installer to write (atomically, mode 0755)\n"
    "  -D, --define NAME=VALUE   value for ${NAME} in source paths (else the environment)\n"
    "  -l, --level N             zstd level 1..19 (default 19)\n"
    "      --threads N           compression threads (default: all CPUs; the output\n"
    "                            does not depend on it)\n"
    "      --passphrase-file F   the key's passphrase, from a file\n"
    "      --passphrase-env VAR  the key's passphrase, from an environment variable\n"
    "      --launcher PATH       the launcher to ship (default: the one built with consign)\n"
    "      --stub PATH           the stub to put first (default: the one built with consign)\n"
    "      --payload-tar FILE    testing: use this tar stream as the payload, unchecked\n"
    "\n"
    "SOURCE_DATE_EPOCH, when set, makes the output byte-for-byte reproducible.\n";

static const char sfx_help[] = "Usage: consign sfx build --product FILE --keydir DIR --out FILE\n"
                               "\n"
                               "Commands:\n"
                               "  build     build a signed self-extracting installer (.bin)\n";

static int
parse_int(const char *s, int lo, int hi, int *out)
{
    unsigned long long v;

    if (consign_parse_u64(s, (unsigned long long)hi, &v) || (int)v < lo)
        return -1;
    *out = (int)v;
    return 0;
}

static int
sfx_build(struct cli *cli, int argc, char **argv)
{
    enum { O_THREADS = 256, O_PFILE, O_PENV, O_LAUNCHER, O_STUB, O_TAR };
    static const struct option opts[] = {{"product", required_argument, NULL, 'p'},
                                         {"keydir", required_argument, NULL, 'k'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"define", required_argument, NULL, 'D'},
                                         {"level", required_argument, NULL, 'l'},
                                         {"threads", required_argument, NULL, O_THREADS},
                                         {"passphrase-file", required_argument, NULL, O_PFILE},
                                         {"passphrase-env", required_argument, NULL, O_PENV},
                                         {"launcher", required_argument, NULL, O_LAUNCHER},
                                         {"stub", required_argument, NULL, O_STUB},
                                         {"payload-tar", required_argument, NULL, O_TAR},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *product = NULL, *out = NULL, *pass_file = NULL, *pass_env = NULL, *tar = NULL;
    struct consign_sfx_build_opts o;
    struct consign_product *p = NULL;
    struct consign_secret *pass = NULL;
    struct cli_defines defs;
    int c, rc;

    memset(&o, 0, sizeof(o));
    memset(&defs, 0, sizeof(defs));
    o.stub_path = getenv("CONSIGN_STUB") ? getenv("CONSIGN_STUB") : CONSIGN_STUB_PATH;
    o.launcher_path =
        getenv("CONSIGN_LAUNCHER") ? getenv("CONSIGN_LAUNCHER") : CONSIGN_LAUNCHER_PATH;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+p:k:o:D:l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            product = optarg;
            break;
        case 'k':
            o.keydir = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'D':
            if ((rc = cli_define_add(cli, &defs, optarg)))
                return rc;
            break;
        case 'l':
            if (parse_int(optarg, 1, 19, &o.level))
                return cli_usage(cli, "--level takes 1 to 19, not '%s'", optarg);
            break;
        case O_THREADS:
            if (parse_int(optarg, 1, 256, &o.threads))
                return cli_usage(cli, "--threads takes 1 to 256, not '%s'", optarg);
            break;
        case O_PFILE:
            pass_file = optarg;
            break;
        case O_PENV:
            pass_env = optarg;
            break;
        case O_LAUNCHER:
            o.launcher_path = optarg;
            break;
        case O_STUB:
            o.stub_path = optarg;
            break;
        case O_TAR:
            tar = optarg;
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
        (rc = consign_product_load(&cli->ctx, product, cli_define_lookup, &defs, &p)) ||
        (!tar && (rc = consign_product_check_files(&cli->ctx, p))))
        goto out;
    o.passphrase = pass;
    rc = tar ? consign_sfx_build_raw(&cli->ctx, p, &o, tar, out)
             : consign_sfx_build(&cli->ctx, p, &o, out);
out:
    consign_secret_free(pass);
    consign_product_free(p);
    return rc ? cli_fail(cli, rc) : 0;
}

int
cmd_sfx(struct cli *cli, int argc, char **argv)
{
    static const struct cli_cmd cmds[] = {
        {"build", "build a signed self-extracting installer", sfx_build},
    };
    return cli_dispatch(cli, cmds, sizeof(cmds) / sizeof(cmds[0]), argc, argv, sfx_help);
}
