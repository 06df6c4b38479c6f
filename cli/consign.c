/* consign: the command-line front end. Each group lives in its own cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char help_text[] =
    "Usage: consign [--verbose|--quiet] COMMAND [ARGS...]\n"
    "\n"
    "Build, sign and ship a long-running agent and its bundled runtime.\n"
    "\n"
    "Commands:\n"
    "  bootstrap build the signed bootstrap downloader\n"
    "  keys      generate, export, list and use release signing keys\n"
    "  pkg       build the agent's and the runtime's .deb and .rpm packages\n"
    "  product   check and show a product file\n"
    "  repo      build and publish signed APT and YUM repositories\n"
    "  sfx       build the self-extracting installer (.bin)\n"
    "  stage     lay out a product's files under a sandbox root\n"
    "  tuf-client  fetch and verify files from a TUF repository (HTTP/HTTPS)\n"
    "  update    maintain the TUF repository agents update from\n"
    "  verify    check the signature of a .bin or a bootstrap\n"
    "\n"
    "Options:\n"
    "  -v, --verbose   more messages on stderr\n"
    "  -q, --quiet     only errors on stderr\n"
    "  -h, --help      this help; 'consign COMMAND --help' for a command\n"
    "  -V, --version   print the version\n"
    "\n"
    "Exit status: 0 success, 1 failure, 2 usage error or bad input.\n";

static const struct cli_cmd commands[] = {
    {"bootstrap", "bootstrap downloader", cmd_bootstrap},
    {"keys", "release signing keys", cmd_keys},
    {"pkg", "native packages", cmd_pkg},
    {"product", "product files", cmd_product},
    {"repo", "package repositories", cmd_repo},
    {"sfx", "self-extracting installer", cmd_sfx},
    {"stage", "lay out files under a root", cmd_stage},
    {"tuf-client", "TUF repositories", cmd_tuf_client},
    {"update", "TUF update repository", cmd_update},
    {"verify", "check a .bin or bootstrap", cmd_verify},
};

static void
log_stderr(void *user, enum consign_log_level level, const char *msg)
{
    (void)user;
    fprintf(stderr, "consign: %s%s\n",
            level == CONSIGN_LOG_ERROR  ? "error: "
            : level == CONSIGN_LOG_WARN ? "warning: "
                                        : "",
            msg);
}

int
main(int argc, char **argv)
{
    struct cli cli;
    int i;

    memset(&cli, 0, sizeof(cli));
    consign_ctx_init(&cli.ctx, log_stderr, NULL);
    cli.ctx.log_level = CONSIGN_LOG_WARN;
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0) {
            printf("consign %s\n", CONSIGN_VERSION);
            return 0;
        } else if (cli_is_help(argv[i])) {
            fputs(help_text, stdout);
            return 0;
        } else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            cli.verbose = 1;
            cli.ctx.log_level = CONSIGN_LOG_DEBUG;
        } else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) {
            cli.quiet = 1;
            cli.ctx.log_level = CONSIGN_LOG_ERROR;
        } else {
            return cli_usage(&cli, "unknown option '%s'", argv[i]);
        }
    }
    /* Reuse the group dispatcher: the "group" here is consign itself. */
    return cli_dispatch(&cli, commands, sizeof(commands) / sizeof(commands[0]), argc - i + 1,
                        argv + i - 1, help_text);
}
