/* A small bounded YAML document tree built from libyaml's event stream.
 * Private to the product parser; libyaml never leaks past ytree.c. */
#ifndef CONSIGN_YTREE_H
#define CONSIGN_YTREE_H

#include <stddef.h>

#include "consign/error.h"

#define YTREE_MAX_DEPTH  32
#define YTREE_MAX_NODES  100000
#define YTREE_MAX_SCALAR (256 * 1024)

enum ynode_kind { YNODE_SCALAR, YNODE_SEQ, YNODE_MAP };

struct ynode {
    enum ynode_kind kind;
    size_t line;         /* 1-based */
    char *value;         /* scalars: NUL-terminated */
    size_t len;          /* scalars: length without the NUL (may contain no NUL) */
    int plain;           /* scalars: written without quotes */
    struct ynode **kids; /* seq: items; map: key0, value0, key1, value1, ... */
    size_t nkids;
};

/* Parse one YAML document. Errors read "NAME:LINE: FIELD: what" where FIELD is
 * the dotted path being read when the error struck (omitted at top level). */
int ytree_parse(struct consign_ctx *ctx, const char *name, const char *data, size_t len,
                struct ynode **out);
void ynode_free(struct ynode *n);
const char *ynode_kind_name(const struct ynode *n);

#endif
