/* --define NAME=VALUE handling shared by every command that reads a product file. */
#ifndef CONSIGN_CLI_DEFINES_H
#define CONSIGN_CLI_DEFINES_H

#include "cli.h"

#define CLI_MAX_DEFINES 64

struct cli_defines {
    const char *kv[CLI_MAX_DEFINES]; /* borrowed from argv: "NAME=VALUE" */
    int n;
};

/* Record one --define argument; returns 0 or prints a usage error and returns 2. */
int cli_define_add(struct cli *cli, struct cli_defines *d, const char *arg);
/* consign_product_var_fn: defines first, then the environment. */
const char *cli_define_lookup(void *user, const char *name);

#endif
