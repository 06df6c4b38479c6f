/* consign sfx build: the self-extracting installer NAME-V.bin. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "consign/bootconf.h"
#include "consign/bootstrap.h"
#include "consign/buf.h"
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
    enum {
        O_THREADS = 256,
        O_PFILE,
        O_PENV,
        O_LAUNCHER,
        O_STUB,
        O_TAR,
        O_TOOL,
        O_TUFROOT,
        O_URL,
        O_CHANNEL,
        O_SIGNER,
        O_PIN,
        O_NOUPDATE
    };
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
                                         {"tool", required_argument, NULL, O_TOOL},
                                         {"tuf-root", required_argument, NULL, O_TUFROOT},
                                         {"update-url", required_argument, NULL, O_URL},
                                         {"channel", required_argument, NULL, O_CHANNEL},
                                         {"also-signer", required_argument, NULL, O_SIGNER},
                                         {"pin", required_argument, NULL, O_PIN},
                                         {"no-update", no_argument, NULL, O_NOUPDATE},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *product = NULL, *out = NULL, *pass_file = NULL, *pass_env = NULL, *tar = NULL;
    struct consign_sfx_build_opts o;
    struct consign_bootstrap_build_opts bo;
    const char *urls[CONSIGN_BOOTCONF_URLS], *signers[CONSIGN_BOOTCONF_SIGNERS];
    struct consign_buf uconf;
    char *uroot = NULL, *default_root = NULL;
    size_t uroot_len = 0;
    int no_update = 0;
    struct consign_product *p = NULL;
    struct consign_secret *pass = NULL;
    struct cli_defines defs;
    int c, rc;

    memset(&o, 0, sizeof(o));
    memset(&bo, 0, sizeof(bo));
    memset(&defs, 0, sizeof(defs));
    consign_buf_init(&uconf, CONSIGN_BOOTCONF_MAX);
    bo.urls = urls;
    bo.extra_signers = signers;
    o.tool_path = getenv("CONSIGN_TARGET") ? getenv("CONSIGN_TARGET") : CONSIGN_TARGET_PATH;
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
        case O_TOOL:
            o.tool_path = optarg;
            break;
        case O_TUFROOT:
            bo.tuf_root = optarg;
            break;
        case O_URL:
            if (bo.n_urls == CONSIGN_BOOTCONF_URLS)
                return cli_usage(cli, "at most %d --update-url", CONSIGN_BOOTCONF_URLS);
            urls[bo.n_urls++] = optarg;
            break;
        case O_CHANNEL:
            bo.channel = optarg;
            break;
        case O_SIGNER:
            if (bo.n_extra_signers == CONSIGN_BOOTCONF_SIGNERS - 1)
                return cli_usage(cli, "at most %d --also-signer", CONSIGN_BOOTCONF_SIGNERS - 1);
            signers[bo.n_extra_signers++] = optarg;
            break;
        case O_PIN:
            bo.pin = optarg;
            break;
        case O_NOUPDATE:
            no_update = 1;
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
    /* The updater's configuration: asked for, or the key directory's TUF root. */
    /* The default root only where the product says where updates are. */
    if (!no_update && !bo.tuf_root && (bo.n_urls || p->dist.nurls) &&
        (default_root = consign_asprintf(&cli->ctx, "%s/tuf/root.json", o.keydir)) &&
        access(default_root, F_OK) == 0)
        bo.tuf_root = default_root;
    if (!no_update && bo.tuf_root) {
        bo.keydir = o.keydir;
        bo.passphrase = pass;
        if ((rc = consign_bootstrap_make_conf(&cli->ctx, p, &bo, 1, &uconf, &uroot, &uroot_len))) {
            rc = consign_err_context(&cli->ctx, rc, "update configuration");
            goto out;
        }
        o.update_conf = uconf.data;
        o.update_conf_len = uconf.len;
        o.update_root = uroot;
        o.update_root_len = uroot_len;
    } else if (!no_update && (bo.n_urls || bo.n_extra_signers || bo.pin || bo.channel)) {
        rc = consign_fail(&cli->ctx, CONSIGN_E_USAGE,
                          "--update-url, --channel, --also-signer and --pin need a TUF root "
                          "(--tuf-root, or KEYDIR/tuf/root.json)");
        goto out;
    }
    rc = tar ? consign_sfx_build_raw(&cli->ctx, p, &o, tar, out)
             : consign_sfx_build(&cli->ctx, p, &o, out);
out:
    consign_buf_free(&uconf);
    free(uroot);
    free(default_root);
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
