/* Front-end helpers shared by every subcommand. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "consign/fileio.h"

#include "cli.h"

int
cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int
cli_fail(struct cli *cli, int code)
{
    if (cli->where[0])
        fprintf(stderr, "consign: %s: %s\n", cli->where, consign_err_msg(&cli->ctx));
    else
        fprintf(stderr, "consign: %s\n", consign_err_msg(&cli->ctx));
    return consign_exit_class(code);
}

int
cli_usage(struct cli *cli, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (cli->where[0])
        fprintf(stderr, "consign: %s: %s (see 'consign %s --help')\n", cli->where, msg, cli->where);
    else
        fprintf(stderr, "consign: %s (see 'consign --help')\n", msg);
    return 2;
}

int
cli_dispatch(struct cli *cli, const struct cli_cmd *cmds, size_t ncmds, int argc, char **argv,
             const char *help)
{
    size_t i, n;

    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(help, stdout);
        return argc < 2 ? 2 : 0;
    }
    for (i = 0; i < ncmds; i++) {
        if (strcmp(argv[1], cmds[i].name) != 0)
            continue;
        n = strlen(cli->where);
        snprintf(cli->where + n, sizeof(cli->where) - n, "%s%s", n ? " " : "", cmds[i].name);
        return cmds[i].run(cli, argc - 1, argv + 1);
    }
    return cli_usage(cli, "unknown command '%s'", argv[1]);
}

int
cli_write_output(struct cli *cli, const char *path, const void *data, size_t len, int mode)
{
    int rc;

    if (!path || strcmp(path, "-") == 0) {
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
            consign_fail(&cli->ctx, CONSIGN_E_IO, "standard output: write failed");
            return cli_fail(cli, CONSIGN_E_IO);
        }
        return 0;
    }
    rc = consign_file_write_atomic(&cli->ctx, path, data, len, (mode_t)mode);
    return rc ? cli_fail(cli, rc) : 0;
}
