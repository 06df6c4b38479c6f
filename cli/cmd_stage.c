/* consign stage: lay a product out under a sandbox root, as an install would. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consign/product.h"

#include "cli.h"
#include "defines.h"

static const char stage_help[] =
    "Usage: consign stage --product FILE --root DIR [--define NAME=VALUE]...\n"
    "\n"
    "Copy every file of the agent and its runtime to DIR + its target path, write the\n"
    "launch file and the launcher (/opt/NAME/bin/NAME-launch), and create\n"
    "/var/opt/NAME/{conf,logs}. No service is installed: start the agent with\n"
    "DIR/opt/NAME/bin/NAME-launch --root DIR. For tests, demos and image builds.\n"
    "\n"
    "  -p, --product FILE        the product file\n"
    "  -r, --root DIR            the sandbox root (created if missing)\n"
    "  -D, --define NAME=VALUE   value for ${NAME} in source paths (else the environment)\n"
    "      --launcher PATH       the launcher binary to install (default: the one built\n"
    "                            with consign, or $CONSIGN_LAUNCHER)\n";

int
cmd_stage(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"product", required_argument, NULL, 'p'}, {"root", required_argument, NULL, 'r'},
        {"define", required_argument, NULL, 'D'},  {"launcher", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    struct cli_defines defs = {.n = 0};
    struct consign_product *p = NULL;
    const char *product = NULL, *root = NULL, *launcher = getenv("CONSIGN_LAUNCHER");
    int c, rc;

    if (!launcher || !launcher[0])
        launcher = CONSIGN_LAUNCHER_PATH;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+p:r:D:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            product = optarg;
            break;
        case 'r':
            root = optarg;
            break;
        case 'L':
            launcher = optarg;
            break;
        case 'D':
            if ((rc = cli_define_add(cli, &defs, optarg)))
                return rc;
            break;
        case 'h':
            fputs(stage_help, stdout);
            return 0;
        default:
            return cli_usage(cli, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    if (!product || !root)
        return cli_usage(cli, "--product and --root are required");
    if (!root[0] || strcmp(root, "/") == 0)
        return cli_usage(cli, "--root must name a sandbox directory, not the system root");
    if ((rc = consign_product_load(&cli->ctx, product, cli_define_lookup, &defs, &p)) ||
        (rc = consign_product_check_files(&cli->ctx, p)) ||
        (rc = consign_product_stage(&cli->ctx, p, root, launcher))) {
        rc = cli_fail(cli, rc);
        goto out;
    }
    if (!cli->quiet)
        printf("staged %s %s-%s under %s\n", p->name, p->version, p->release, root);
out:
    consign_product_free(p);
    return rc;
}
