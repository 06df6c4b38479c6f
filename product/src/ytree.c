/* libyaml adapter: events in, a bounded tree out, libyaml errors translated. */
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "consign/buf.h"
#include "ytree.h"

struct frame {
    struct ynode *node;
};

struct builder {
    struct consign_ctx *ctx;
    const char *name;
    struct frame stack[YTREE_MAX_DEPTH];
    size_t depth;
    size_t nodes;
    struct ynode *root;
};

void
ynode_free(struct ynode *n)
{
    size_t i;

    if (!n)
        return;
    for (i = 0; i < n->nkids; i++)
        ynode_free(n->kids[i]);
    free(n->kids);
    free(n->value);
    free(n);
}

const char *
ynode_kind_name(const struct ynode *n)
{
    switch (n->kind) {
    case YNODE_SCALAR:
        return "a scalar";
    case YNODE_SEQ:
        return "a list";
    case YNODE_MAP:
        return "a mapping";
    }
    return "?";
}

/* The dotted field path of the innermost open collections, for messages. */
static void
builder_path(const struct builder *b, char *out, size_t outsz)
{
    size_t i, n = 0;

    out[0] = '\0';
    for (i = 0; i < b->depth && n < outsz; i++) {
        const struct ynode *c = b->stack[i].node;
        int w = 0;
        if (c->kind == YNODE_MAP && c->nkids > 0) {
            /* An odd count means a key is waiting for its value. */
            const struct ynode *k = c->kids[(c->nkids - 1) & ~(size_t)1];
            if (k->kind == YNODE_SCALAR)
                w = snprintf(out + n, outsz - n, "%s%s", n ? "." : "", k->value);
        } else if (c->kind == YNODE_SEQ) {
            w = snprintf(out + n, outsz - n, "[%zu]", c->nkids ? c->nkids - 1 : 0);
        }
        if (w > 0)
            n += (size_t)w;
    }
}

static int
builder_fail(struct builder *b, size_t line, const char *what)
{
    char path[512];

    builder_path(b, path, sizeof(path));
    if (path[0])
        return consign_fail(b->ctx, CONSIGN_E_SYNTAX, "%s:%zu: %s: %s", b->name, line, path, what);
    return consign_fail(b->ctx, CONSIGN_E_SYNTAX, "%s:%zu: %s", b->name, line, what);
}

/* Attach a new node to the open collection (or make it the root). */
static int
builder_add(struct builder *b, struct ynode *n)
{
    struct ynode *parent, **kids;

    if (++b->nodes > YTREE_MAX_NODES) {
        ynode_free(n);
        return builder_fail(b, n->line, "too many nodes");
    }
    if (b->depth == 0) {
        b->root = n;
        return 0;
    }
    parent = b->stack[b->depth - 1].node;
    if (parent->kind == YNODE_MAP && parent->nkids % 2 == 0) {
        size_t i;
        if (n->kind != YNODE_SCALAR) {
            size_t line = n->line;
            ynode_free(n);
            return builder_fail(b, line, "mapping keys must be plain strings");
        }
        for (i = 0; i < parent->nkids; i += 2) {
            if (strcmp(parent->kids[i]->value, n->value) == 0) {
                char what[300];
                snprintf(what, sizeof(what), "duplicate key '%.200s' (first on line %zu)", n->value,
                         parent->kids[i]->line);
                size_t line = n->line;
                ynode_free(n);
                return builder_fail(b, line, what);
            }
        }
    }
    kids = realloc(parent->kids, (parent->nkids + 1) * sizeof(*kids));
    if (!kids) {
        ynode_free(n);
        return consign_fail(b->ctx, CONSIGN_E_NOMEM, NULL);
    }
    parent->kids = kids;
    parent->kids[parent->nkids++] = n;
    return 0;
}

static struct ynode *
node_new(struct consign_ctx *ctx, enum ynode_kind kind, const yaml_event_t *ev)
{
    struct ynode *n = consign_calloc(ctx, 1, sizeof(*n));
    if (n) {
        n->kind = kind;
        n->line = ev->start_mark.line + 1;
    }
    return n;
}

static int
handle_event(struct builder *b, const yaml_event_t *ev, int *done)
{
    struct ynode *n;
    int rc;

    switch (ev->type) {
    case YAML_STREAM_START_EVENT:
    case YAML_DOCUMENT_END_EVENT:
    case YAML_NO_EVENT:
        return 0;
    case YAML_DOCUMENT_START_EVENT:
        if (b->root)
            return builder_fail(b, ev->start_mark.line + 1, "only one YAML document is allowed");
        return 0;
    case YAML_STREAM_END_EVENT:
        *done = 1;
        return 0;
    case YAML_ALIAS_EVENT:
        return builder_fail(b, ev->start_mark.line + 1, "aliases are not supported");
    case YAML_SCALAR_EVENT:
        if (ev->data.scalar.length > YTREE_MAX_SCALAR)
            return builder_fail(b, ev->start_mark.line + 1, "value too long");
        if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length))
            return builder_fail(b, ev->start_mark.line + 1, "value contains a NUL character");
        if (!(n = node_new(b->ctx, YNODE_SCALAR, ev)))
            return CONSIGN_E_NOMEM;
        n->value =
            consign_strndup(b->ctx, (const char *)ev->data.scalar.value, ev->data.scalar.length);
        if (!n->value) {
            ynode_free(n);
            return CONSIGN_E_NOMEM;
        }
        n->len = ev->data.scalar.length;
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        return builder_add(b, n);
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (b->depth >= YTREE_MAX_DEPTH)
            return builder_fail(b, ev->start_mark.line + 1, "nested too deeply");
        n = node_new(b->ctx, ev->type == YAML_SEQUENCE_START_EVENT ? YNODE_SEQ : YNODE_MAP, ev);
        if (!n)
            return CONSIGN_E_NOMEM;
        if ((rc = builder_add(b, n)))
            return rc;
        b->stack[b->depth++].node = n;
        return 0;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        if (b->depth == 0)
            return builder_fail(b, ev->start_mark.line + 1, "unbalanced collection");
        b->depth--;
        return 0;
    }
    return 0;
}

int
ytree_parse(struct consign_ctx *ctx, const char *name, const char *data, size_t len,
            struct ynode **out)
{
    struct builder b;
    yaml_parser_t parser;
    yaml_event_t ev;
    int rc = 0, done = 0, parser_ok = 0;

    *out = NULL;
    memset(&b, 0, sizeof(b));
    b.ctx = ctx;
    b.name = name;
    if (!yaml_parser_initialize(&parser)) {
        rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
        goto out;
    }
    parser_ok = 1;
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    while (!done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            char what[512];
            size_t line = parser.problem_mark.line + 1;
            if (parser.error == YAML_MEMORY_ERROR) {
                rc = consign_fail(ctx, CONSIGN_E_NOMEM, NULL);
                goto out;
            }
            if (parser.context)
                snprintf(what, sizeof(what), "syntax error: %s %s", parser.problem, parser.context);
            else
                snprintf(what, sizeof(what), "syntax error: %s",
                         parser.problem ? parser.problem : "invalid YAML");
            rc = builder_fail(&b, line, what);
            goto out;
        }
        rc = handle_event(&b, &ev, &done);
        yaml_event_delete(&ev);
        if (rc)
            goto out;
    }
    if (!b.root) {
        rc = consign_fail(ctx, CONSIGN_E_SYNTAX, "%s:1: the file is empty", name);
        goto out;
    }
    *out = b.root;
    b.root = NULL;
out:
    if (parser_ok)
        yaml_parser_delete(&parser);
    ynode_free(b.root);
    return rc;
}
