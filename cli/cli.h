/* The consign front end: shared helpers for the thin subcommand files.
 * Exit codes: 0 success, 1 failure, 2 usage or bad input. */
#ifndef CONSIGN_CLI_H
#define CONSIGN_CLI_H

#include <stddef.h>

#include "consign/buf.h"
#include "consign/error.h"

struct cli {
    struct consign_ctx ctx;
    int verbose;
    int quiet;
    char where[128]; /* "keys generate": prefixes every error line */
};

struct cli_cmd {
    const char *name;
    const char *summary;
    int (*run)(struct cli *cli, int argc, char **argv);
};

/* Print "consign: <where>: <ctx message>" on stderr; return the exit code for code. */
int cli_fail(struct cli *cli, int code);
/* Print a usage error and the --help hint on stderr; return 2. */
int cli_usage(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Dispatch argv[1] among cmds (argv[0] is the group's own name). help is the
 * group's help text printed for --help/-h or no argument. */
int cli_dispatch(struct cli *cli, const struct cli_cmd *cmds, size_t ncmds, int argc, char **argv,
                 const char *help);
/* Write data to path atomically with mode, or to stdout when path is NULL or "-". */
int cli_write_output(struct cli *cli, const char *path, const void *data, size_t len, int mode);
/* Is this argument -h or --help? */
int cli_is_help(const char *arg);

/* Subcommand groups. */
int cmd_keys(struct cli *cli, int argc, char **argv);
int cmd_pkg(struct cli *cli, int argc, char **argv);
int cmd_product(struct cli *cli, int argc, char **argv);
int cmd_repo(struct cli *cli, int argc, char **argv);
int cmd_sfx(struct cli *cli, int argc, char **argv);
int cmd_stage(struct cli *cli, int argc, char **argv);
int cmd_update(struct cli *cli, int argc, char **argv);
/* consign keys tuf-rotate (cmd_update.c). */
int cmd_keys_tuf_rotate(struct cli *cli, int argc, char **argv);
int cmd_tuf_client(struct cli *cli, int argc, char **argv);
int cmd_bootstrap(struct cli *cli, int argc, char **argv);
int cmd_verify(struct cli *cli, int argc, char **argv);

#endif
