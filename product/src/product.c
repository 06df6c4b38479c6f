/* The product file schema: walks the YAML tree, validates each field and
 * fills struct consign_product. Every message names file, line and field. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consign/buf.h"
#include "consign/fileio.h"
#include "consign/path.h"
#include "consign/product.h"
#include "ytree.h"

struct pstate {
    struct consign_ctx *ctx;
    const char *name; /* file name for messages */
    consign_product_var_fn vars;
    void *vars_user;
    struct consign_product *p;
};

__attribute__((format(printf, 4, 5))) static int
fail_at(struct pstate *st, size_t line, const char *field, const char *fmt, ...)
{
    char what[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return consign_fail(st->ctx, CONSIGN_E_INVALID, "%s:%zu: %s: %s", st->name, line, field, what);
}

static const struct ynode *
map_get(const struct ynode *map, const char *key)
{
    size_t i;
    for (i = 0; i + 1 < map->nkids; i += 2)
        if (strcmp(map->kids[i]->value, key) == 0)
            return map->kids[i + 1];
    return NULL;
}

static void
field_join(char *out, size_t outsz, const char *prefix, const char *key)
{
    snprintf(out, outsz, "%s%s%s", prefix, prefix[0] ? "." : "", key);
}

/* Refuse keys the schema does not know, so typos do not pass silently. */
static int
check_keys(struct pstate *st, const struct ynode *map, const char *prefix,
           const char *const *allowed)
{
    size_t i, j;
    char field[256];

    for (i = 0; i + 1 < map->nkids; i += 2) {
        const char *k = map->kids[i]->value;
        for (j = 0; allowed[j]; j++)
            if (strcmp(k, allowed[j]) == 0)
                break;
        if (!allowed[j]) {
            field_join(field, sizeof(field), prefix, k);
            return fail_at(st, map->kids[i]->line, field, "unknown field");
        }
    }
    return 0;
}

static int
want_kind(struct pstate *st, const struct ynode *n, enum ynode_kind kind, const char *field)
{
    static const char *const names[] = {"a string", "a list", "a mapping"};
    if (n->kind == kind)
        return 0;
    return fail_at(st, n->line, field, "expected %s, got %s", names[kind], ynode_kind_name(n));
}

/* A required (or optional) mapping member that must be a scalar string. */
static int
get_str(struct pstate *st, const struct ynode *map, const char *prefix, const char *key,
        int required, const char *def, char **out)
{
    const struct ynode *n = map_get(map, key);
    char field[256];
    int rc;

    field_join(field, sizeof(field), prefix, key);
    if (!n) {
        if (required)
            return fail_at(st, map->line, field, "required field is missing");
        *out = def ? consign_strdup(st->ctx, def) : NULL;
        return def && !*out ? CONSIGN_E_NOMEM : 0;
    }
    if ((rc = want_kind(st, n, YNODE_SCALAR, field)))
        return rc;
    if (n->plain && (n->len == 0 || strcmp(n->value, "~") == 0 || strcmp(n->value, "null") == 0))
        return fail_at(st, n->line, field, "must not be empty");
    if (n->len == 0)
        return fail_at(st, n->line, field, "must not be empty");
    *out = consign_strdup(st->ctx, n->value);
    return *out ? 0 : CONSIGN_E_NOMEM;
}

static int
parse_bool_word(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    size_t i;
    for (i = 0; i < 3; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *out = 1, 0;
        if (strcasecmp(s, no[i]) == 0)
            return *out = 0, 0;
    }
    return -1;
}

static int
get_bool(struct pstate *st, const struct ynode *map, const char *prefix, const char *key, int def,
         int *out)
{
    const struct ynode *n = map_get(map, key);
    char field[256];
    int rc;

    field_join(field, sizeof(field), prefix, key);
    *out = def;
    if (!n)
        return 0;
    if ((rc = want_kind(st, n, YNODE_SCALAR, field)))
        return rc;
    if (!n->plain || parse_bool_word(n->value, out) < 0)
        return fail_at(st, n->line, field, "expected true or false, got '%.80s'", n->value);
    return 0;
}

static int
get_uint(struct pstate *st, const struct ynode *map, const char *prefix, const char *key,
         unsigned long max, unsigned long def, unsigned long *out, int *present)
{
    const struct ynode *n = map_get(map, key);
    unsigned long long v;
    char field[256];
    int rc;

    field_join(field, sizeof(field), prefix, key);
    *out = def;
    if (present)
        *present = n != NULL;
    if (!n)
        return 0;
    if ((rc = want_kind(st, n, YNODE_SCALAR, field)))
        return rc;
    if (consign_parse_u64(n->value, max, &v) < 0)
        return fail_at(st, n->line, field, "expected a whole number from 0 to %lu, got '%.80s'",
                       max, n->value);
    *out = (unsigned long)v;
    return 0;
}

/* One of a fixed set of words; returns the index in *out. */
static int
get_enum(struct pstate *st, const struct ynode *map, const char *prefix, const char *key,
         const char *const *words, int def, int *out)
{
    const struct ynode *n = map_get(map, key);
    char field[256], list[256] = "";
    size_t i, used = 0;
    int rc;

    field_join(field, sizeof(field), prefix, key);
    *out = def;
    if (!n)
        return 0;
    if ((rc = want_kind(st, n, YNODE_SCALAR, field)))
        return rc;
    for (i = 0; words[i]; i++)
        if (strcmp(n->value, words[i]) == 0)
            return *out = (int)i, 0;
    for (i = 0; words[i] && used < sizeof(list); i++) {
        int w = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", words[i]);
        if (w > 0)
            used += (size_t)w;
    }
    return fail_at(st, n->line, field, "expected one of %s, got '%.80s'", list, n->value);
}

static int
get_str_list(struct pstate *st, const struct ynode *map, const char *prefix, const char *key,
             int required, char ***out, size_t *count)
{
    const struct ynode *n = map_get(map, key);
    char field[256], item[280];
    size_t i;
    int rc;

    field_join(field, sizeof(field), prefix, key);
    *out = NULL;
    *count = 0;
    if (!n)
        return required ? fail_at(st, map->line, field, "required field is missing") : 0;
    if ((rc = want_kind(st, n, YNODE_SEQ, field)))
        return rc;
    if (n->nkids == 0 && required)
        return fail_at(st, n->line, field, "must not be empty");
    if (!(*out = consign_calloc(st->ctx, n->nkids, sizeof(char *))))
        return CONSIGN_E_NOMEM;
    for (i = 0; i < n->nkids; i++) {
        snprintf(item, sizeof(item), "%s[%zu]", field, i);
        if ((rc = want_kind(st, n->kids[i], YNODE_SCALAR, item)))
            return rc;
        if (n->kids[i]->len == 0)
            return fail_at(st, n->kids[i]->line, item, "must not be empty");
        if (!((*out)[i] = consign_strdup(st->ctx, n->kids[i]->value)))
            return CONSIGN_E_NOMEM;
        *count = i + 1;
    }
    return 0;
}

static size_t
line_of(const struct ynode *map, const char *key)
{
    const struct ynode *n = map_get(map, key);
    return n ? n->line : map->line;
}

/* Package names: Debian's rule (lower case, digits, + - .), which RPM also accepts. */
static int
valid_pkg_name(const char *s)
{
    size_t n = strlen(s), i;
    if (n < 2 || n > 64 || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
        return 0;
    for (i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && !strchr("+-.", s[i]))
            return 0;
    return 1;
}

/* Upstream version: starts with a digit; letters, digits, . + ~ only (no '-', no ':'),
 * the intersection of what dpkg and rpm accept. */
static int
valid_version(const char *s, int must_start_digit)
{
    size_t n = strlen(s), i;
    if (n == 0 || n > 64)
        return 0;
    if (must_start_digit ? !isdigit((unsigned char)s[0]) : !isalnum((unsigned char)s[0]))
        return 0;
    for (i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr(".+~", s[i]))
            return 0;
    return 1;
}

static int
valid_user(const char *s)
{
    size_t n = strlen(s), i;
    if (n == 0 || n > 32 || !(islower((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    for (i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && !strchr("_-", s[i]))
            return 0;
    return 1;
}

static int
valid_url(const char *s, int https_only)
{
    const char *rest;
    size_t i;
    if (strncmp(s, "https://", 8) == 0)
        rest = s + 8;
    else if (!https_only && strncmp(s, "http://", 7) == 0)
        rest = s + 7;
    else
        return 0;
    if (!rest[0] || rest[0] == '/')
        return 0;
    for (i = 0; s[i]; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            return 0;
    return 1;
}

static int
one_line(const char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r' || *s == '\t')
            return 0;
    return 1;
}

/* Expand ${VAR}, ${VAR:-default} and $$ in a source path. */
static int
expand_vars(struct pstate *st, const char *in, size_t line, const char *field, char **out)
{
    struct consign_buf b;
    int rc = 0;

    *out = NULL;
    consign_buf_init(&b, CONSIGN_PATH_MAX);
    while (*in) {
        const char *end, *def = NULL, *val;
        char name[128];
        size_t nlen;

        if (in[0] != '$') {
            if ((rc = consign_buf_append(st->ctx, &b, in, 1)))
                goto out;
            in++;
            continue;
        }
        if (in[1] == '$') {
            if ((rc = consign_buf_append(st->ctx, &b, "$", 1)))
                goto out;
            in += 2;
            continue;
        }
        if (in[1] != '{' || !(end = strchr(in + 2, '}'))) {
            rc = fail_at(st, line, field, "'$' must start ${VARIABLE} (write $$ for a dollar)");
            goto out;
        }
        nlen = (size_t)(end - (in + 2));
        if (nlen >= sizeof(name)) {
            rc = fail_at(st, line, field, "variable name too long");
            goto out;
        }
        memcpy(name, in + 2, nlen);
        name[nlen] = '\0';
        {
            char *sep = strstr(name, ":-");
            if (sep) {
                *sep = '\0';
                def = sep + 2;
            }
        }
        if (!name[0] || !(isalpha((unsigned char)name[0]) || name[0] == '_')) {
            rc = fail_at(st, line, field, "bad variable name '%s'", name);
            goto out;
        }
        for (size_t i = 0; name[i]; i++) {
            if (!isalnum((unsigned char)name[i]) && name[i] != '_') {
                rc = fail_at(st, line, field, "bad variable name '%s'", name);
                goto out;
            }
        }
        val = st->vars ? st->vars(st->vars_user, name) : getenv(name);
        if (!val || !val[0])
            val = def;
        if (!val) {
            rc = fail_at(st, line, field, "variable %s is not set (define it or export it)", name);
            goto out;
        }
        if ((rc = consign_buf_puts(st->ctx, &b, val)))
            goto out;
        in = end + 1;
    }
    if (!b.data && (rc = consign_buf_append(st->ctx, &b, "", 0)))
        goto out;
    *out = consign_buf_steal(&b, NULL);
out:
    if (rc == CONSIGN_E_TOOBIG)
        rc = fail_at(st, line, field, "path too long");
    consign_buf_free(&b);
    return rc;
}

static int
resolve_src(struct pstate *st, const char *raw, size_t line, const char *field, char **out)
{
    char *exp = NULL;
    int rc;

    if ((rc = expand_vars(st, raw, line, field, &exp)))
        return rc;
    if (!exp[0]) {
        free(exp);
        return fail_at(st, line, field, "must not be empty");
    }
    rc = consign_path_resolve(st->ctx, st->p->basedir, exp, out);
    free(exp);
    return rc;
}

static int
abs_path(struct pstate *st, const char *raw, size_t line, const char *field, char **out)
{
    int rc = consign_path_normalize_abs(st->ctx, raw, out);
    if (rc == CONSIGN_E_UNSAFE_PATH)
        return fail_at(st, line, field, "expected an absolute path without '..', got '%.200s'",
                       raw);
    return rc;
}

static int
parse_mode(struct pstate *st, const struct ynode *n, const char *field, int *mode)
{
    unsigned v = 0;
    size_t i;

    if (n->kind != YNODE_SCALAR || n->len == 0 || n->len > 5)
        goto bad;
    for (i = 0; i < n->len; i++) {
        if (n->value[i] < '0' || n->value[i] > '7')
            goto bad;
        v = v * 8 + (unsigned)(n->value[i] - '0');
    }
    if (v > 07777)
        goto bad;
    *mode = (int)v;
    return 0;
bad:
    return fail_at(st, n->line, field, "expected an octal mode such as 0644, got %s",
                   n->kind == YNODE_SCALAR ? n->value : ynode_kind_name(n));
}

static int
parse_files(struct pstate *st, const struct ynode *pkg, const char *prefix,
            struct consign_package_spec *spec)
{
    static const char *const keys[] = {"src", "dst", "mode", "config", NULL};
    const struct ynode *list = map_get(pkg, "files");
    char field[256], item[280];
    size_t i;
    int rc;

    field_join(field, sizeof(field), prefix, "files");
    if (!list)
        return fail_at(st, pkg->line, field, "required field is missing");
    if ((rc = want_kind(st, list, YNODE_SEQ, field)))
        return rc;
    if (list->nkids == 0)
        return fail_at(st, list->line, field, "must list at least one file or directory");
    if (!(spec->files = consign_calloc(st->ctx, list->nkids, sizeof(*spec->files))))
        return CONSIGN_E_NOMEM;
    for (i = 0; i < list->nkids; i++) {
        const struct ynode *e = list->kids[i];
        struct consign_file_spec *f = &spec->files[i];
        char *raw = NULL;
        char sub[300];

        snprintf(item, sizeof(item), "%s[%zu]", field, i);
        spec->nfiles = i + 1;
        f->mode = -1;
        f->line = e->line;
        if ((rc = want_kind(st, e, YNODE_MAP, item)) || (rc = check_keys(st, e, item, keys)))
            return rc;
        if ((rc = get_str(st, e, item, "src", 1, NULL, &raw)))
            return rc;
        snprintf(sub, sizeof(sub), "%s.src", item);
        rc = resolve_src(st, raw, line_of(e, "src"), sub, &f->src);
        free(raw);
        if (rc)
            return rc;
        if ((rc = get_str(st, e, item, "dst", 1, NULL, &raw)))
            return rc;
        snprintf(sub, sizeof(sub), "%s.dst", item);
        rc = abs_path(st, raw, line_of(e, "dst"), sub, &f->dst);
        free(raw);
        if (rc)
            return rc;
        if (strcmp(f->dst, "/") == 0)
            return fail_at(st, line_of(e, "dst"), sub, "cannot install over /");
        if (map_get(e, "mode")) {
            snprintf(sub, sizeof(sub), "%s.mode", item);
            if ((rc = parse_mode(st, map_get(e, "mode"), sub, &f->mode)))
                return rc;
        }
        if ((rc = get_bool(st, e, item, "config", 0, &f->config)))
            return rc;
    }
    return 0;
}

static int
parse_agent(struct pstate *st, const struct ynode *root)
{
    static const char *const keys[] = {"files", NULL};
    const struct ynode *n = map_get(root, "agent");
    int rc;

    if (!n)
        return fail_at(st, root->line, "agent", "required field is missing");
    if ((rc = want_kind(st, n, YNODE_MAP, "agent")) || (rc = check_keys(st, n, "agent", keys)))
        return rc;
    if (!(st->p->agent.name = consign_strdup(st->ctx, st->p->name)) ||
        !(st->p->agent.summary = consign_strdup(st->ctx, st->p->summary)))
        return CONSIGN_E_NOMEM;
    return parse_files(st, n, "agent", &st->p->agent);
}

static int
parse_runtime(struct pstate *st, const struct ynode *root)
{
    static const char *const keys[] = {"package", "summary", "files", NULL};
    const struct ynode *n = map_get(root, "runtime");
    struct consign_package_spec *rt = &st->p->runtime;
    char *def = NULL;
    int rc;

    if (!n)
        return 0;
    if ((rc = want_kind(st, n, YNODE_MAP, "runtime")) || (rc = check_keys(st, n, "runtime", keys)))
        return rc;
    if (!(def = consign_asprintf(st->ctx, "%s-runtime", st->p->name)))
        return CONSIGN_E_NOMEM;
    rc = get_str(st, n, "runtime", "package", 0, def, &rt->name);
    free(def);
    if (rc)
        return rc;
    if (!valid_pkg_name(rt->name))
        return fail_at(st, line_of(n, "package"), "runtime.package",
                       "'%.80s' is not a valid package name (a-z, 0-9, + - ., at least 2)",
                       rt->name);
    if (strcmp(rt->name, st->p->name) == 0)
        return fail_at(st, line_of(n, "package"), "runtime.package",
                       "must differ from the agent's name");
    if (!(def = consign_asprintf(st->ctx, "Runtime for %s", st->p->name)))
        return CONSIGN_E_NOMEM;
    rc = get_str(st, n, "runtime", "summary", 0, def, &rt->summary);
    free(def);
    if (rc)
        return rc;
    return parse_files(st, n, "runtime", rt);
}

/* The updater asks the agent itself, never another host, and without TLS
 * (nothing to trust on the loopback). */
static int
loopback_http_url(const char *u)
{
    static const char *const hosts[] = {"http://127.0.0.1", "http://[::1]", "http://localhost"};
    size_t i, n;

    if (strlen(u) > 512 || strpbrk(u, " \t\r\n\"'\\"))
        return 0;
    for (i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        n = strlen(hosts[i]);
        if (strncmp(u, hosts[i], n) == 0 && (u[n] == ':' || u[n] == '/' || u[n] == '\0'))
            return 1;
    }
    return 0;
}

static int
parse_service(struct pstate *st, const struct ynode *root)
{
    static const char *const keys[] = {"name",         "description", "exec",        "user",
                                       "group",        "restart",     "restart_sec", "stop_timeout",
                                       "options_file", "health_url",  "probation",   NULL};
    static const char *const restarts[] = {"on-failure", "always", "no", NULL};
    const struct ynode *n = map_get(root, "service");
    struct consign_product *p = st->p;
    char *def = NULL, *raw = NULL;
    int rc, restart;

    if (!n)
        return fail_at(st, root->line, "service", "required field is missing");
    if ((rc = want_kind(st, n, YNODE_MAP, "service")) || (rc = check_keys(st, n, "service", keys)))
        return rc;
    if ((rc = get_str(st, n, "service", "name", 0, p->name, &p->service.name)))
        return rc;
    if (!valid_pkg_name(p->service.name))
        return fail_at(st, line_of(n, "name"), "service.name", "'%.80s' is not a valid name",
                       p->service.name);
    if ((rc = get_str(st, n, "service", "description", 0, p->summary, &p->service.description)))
        return rc;
    if ((rc = get_str_list(st, n, "service", "exec", 1, &p->service.exec, &p->service.nexec)))
        return rc;
    if (p->service.exec[0][0] != '/')
        return fail_at(st, line_of(n, "exec"), "service.exec[0]",
                       "the program must be an absolute path, got '%.200s'", p->service.exec[0]);
    if ((rc = get_str(st, n, "service", "user", 0, "root", &p->service.user)))
        return rc;
    if (!valid_user(p->service.user))
        return fail_at(st, line_of(n, "user"), "service.user", "'%.80s' is not a valid user name",
                       p->service.user);
    if ((rc = get_str(st, n, "service", "group", 0, p->service.user, &p->service.group)))
        return rc;
    if (!valid_user(p->service.group))
        return fail_at(st, line_of(n, "group"), "service.group",
                       "'%.80s' is not a valid group name", p->service.group);
    if ((rc = get_enum(st, n, "service", "restart", restarts, 0, &restart)))
        return rc;
    p->service.restart = (enum consign_restart)restart;
    if ((rc = get_uint(st, n, "service", "restart_sec", 3600, 5, &p->service.restart_sec, NULL)) ||
        (rc = get_uint(st, n, "service", "stop_timeout", 3600, 30, &p->service.stop_timeout_sec,
                       NULL)) ||
        (rc = get_uint(st, n, "service", "probation", 86400, 120, &p->service.probation_sec, NULL)))
        return rc;
    if ((rc = get_str(st, n, "service", "health_url", 0, NULL, &p->service.health_url)))
        return rc;
    if (p->service.health_url && !loopback_http_url(p->service.health_url))
        return fail_at(st, line_of(n, "health_url"), "service.health_url",
                       "must be an http:// URL on 127.0.0.1, [::1] or localhost, got '%.200s'",
                       p->service.health_url);
    if (!(def = consign_asprintf(st->ctx, "/etc/opt/%s/start-agent.ini", p->name)))
        return CONSIGN_E_NOMEM;
    rc = get_str(st, n, "service", "options_file", 0, def, &raw);
    free(def);
    if (rc)
        return rc;
    rc = abs_path(st, raw, line_of(n, "options_file"), "service.options_file",
                  &p->service.options_file);
    free(raw);
    return rc;
}

static int
parse_settings(struct pstate *st, const struct ynode *root)
{
    static const char *const keys[] = {"token", "proxy", "auto_update", NULL};
    static const char *const tokens[] = {"required", "optional", "none", NULL};
    const struct ynode *n = map_get(root, "settings");
    struct consign_product *p = st->p;
    int rc, tok;

    p->settings.token = CONSIGN_TOKEN_REQUIRED;
    p->settings.proxy = 1;
    p->settings.auto_update = 1;
    if (!n)
        return 0;
    if ((rc = want_kind(st, n, YNODE_MAP, "settings")) ||
        (rc = check_keys(st, n, "settings", keys)))
        return rc;
    if ((rc = get_enum(st, n, "settings", "token", tokens, 0, &tok)))
        return rc;
    p->settings.token = (enum consign_token_policy)tok;
    if ((rc = get_bool(st, n, "settings", "proxy", 1, &p->settings.proxy)))
        return rc;
    return get_bool(st, n, "settings", "auto_update", 1, &p->settings.auto_update);
}

static int
valid_channel(const char *s)
{
    size_t n = strlen(s), i;
    if (n == 0 || n > 32 || !isalnum((unsigned char)s[0]))
        return 0;
    for (i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && !strchr("._-", s[i]))
            return 0;
    return 1;
}

static int
parse_distribution(struct pstate *st, const struct ynode *root)
{
    static const char *const keys[] = {"url", "mirrors", "channel", NULL};
    const struct ynode *n = map_get(root, "distribution");
    struct consign_product *p = st->p;
    char **mirrors = NULL, *url = NULL;
    size_t nmirrors = 0, i;
    int rc;

    if (!n)
        return (p->dist.channel = consign_strdup(st->ctx, "stable")) ? 0 : CONSIGN_E_NOMEM;
    if ((rc = want_kind(st, n, YNODE_MAP, "distribution")) ||
        (rc = check_keys(st, n, "distribution", keys)))
        return rc;
    if ((rc = get_str(st, n, "distribution", "url", 1, NULL, &url)))
        goto out;
    if (!valid_url(url, 1)) {
        rc = fail_at(st, line_of(n, "url"), "distribution.url",
                     "expected an https:// URL, got '%.200s'", url);
        goto out;
    }
    if ((rc = get_str_list(st, n, "distribution", "mirrors", 0, &mirrors, &nmirrors)))
        goto out;
    if (!(p->dist.urls = consign_calloc(st->ctx, nmirrors + 1, sizeof(char *)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    p->dist.urls[p->dist.nurls++] = url;
    url = NULL;
    for (i = 0; i < nmirrors; i++) {
        if (!valid_url(mirrors[i], 1)) {
            char field[64];
            snprintf(field, sizeof(field), "distribution.mirrors[%zu]", i);
            rc = fail_at(st, map_get(n, "mirrors")->kids[i]->line, field,
                         "expected an https:// URL, got '%.200s'", mirrors[i]);
            goto out;
        }
        p->dist.urls[p->dist.nurls++] = mirrors[i];
        mirrors[i] = NULL;
    }
    if ((rc = get_str(st, n, "distribution", "channel", 0, "stable", &p->dist.channel)))
        goto out;
    if (!valid_channel(p->dist.channel))
        rc = fail_at(st, line_of(n, "channel"), "distribution.channel",
                     "'%.80s' is not a valid channel name (a-z, 0-9, . _ -)", p->dist.channel);
out:
    for (i = 0; mirrors && i < nmirrors; i++)
        free(mirrors[i]);
    free(mirrors);
    free(url);
    return rc;
}

static int
parse_top(struct pstate *st, const struct ynode *root)
{
    static const char *const keys[] = {
        "consign", "name",       "version",  "release", "epoch",    "summary",      "description",
        "vendor",  "maintainer", "homepage", "license", "eula",     "architecture", "section",
        "group",   "agent",      "runtime",  "service", "settings", "distribution", NULL};
    static const char *const arches[] = {"amd64", "arm64", "all", NULL};
    struct consign_product *p = st->p;
    unsigned long fmt;
    int rc, arch, present;
    char *raw = NULL;

    if ((rc = want_kind(st, root, YNODE_MAP, "(top level)")) ||
        (rc = check_keys(st, root, "", keys)))
        return rc;
    if (!map_get(root, "consign"))
        return fail_at(st, root->line, "consign",
                       "required field is missing (the product file format, 1)");
    if ((rc = get_uint(st, root, "", "consign", 1000, 0, &fmt, NULL)))
        return rc;
    if (fmt != CONSIGN_PRODUCT_FORMAT)
        return fail_at(st, line_of(root, "consign"), "consign",
                       "unsupported product file format %lu (this consign reads %d)", fmt,
                       CONSIGN_PRODUCT_FORMAT);

    if ((rc = get_str(st, root, "", "name", 1, NULL, &p->name)))
        return rc;
    if (!valid_pkg_name(p->name))
        return fail_at(st, line_of(root, "name"), "name",
                       "'%.80s' is not a valid package name (a-z, 0-9, + - ., at least 2)",
                       p->name);
    if ((rc = get_str(st, root, "", "version", 1, NULL, &p->version)))
        return rc;
    if (!valid_version(p->version, 1))
        return fail_at(st, line_of(root, "version"), "version",
                       "'%.80s' is not a valid version (a digit first, then letters, digits, "
                       ". + ~; no '-' or ':')",
                       p->version);
    if ((rc = get_str(st, root, "", "release", 0, "1", &p->release)))
        return rc;
    if (!valid_version(p->release, 0))
        return fail_at(st, line_of(root, "release"), "release",
                       "'%.80s' is not a valid release (letters, digits, . + ~)", p->release);
    if ((rc = get_uint(st, root, "", "epoch", 2147483647UL, 0, &p->epoch, &present)))
        return rc;
    p->has_epoch = present;

    if ((rc = get_str(st, root, "", "summary", 1, NULL, &p->summary)))
        return rc;
    if (!one_line(p->summary) || strlen(p->summary) > 200)
        return fail_at(st, line_of(root, "summary"), "summary",
                       "must be one line of at most 200 characters");
    if ((rc = get_str(st, root, "", "description", 1, NULL, &p->description)) ||
        (rc = get_str(st, root, "", "maintainer", 1, NULL, &p->maintainer)) ||
        (rc = get_str(st, root, "", "license", 1, NULL, &p->license)) ||
        (rc = get_str(st, root, "", "vendor", 0, NULL, &p->vendor)) ||
        (rc = get_str(st, root, "", "homepage", 0, NULL, &p->homepage)) ||
        (rc = get_str(st, root, "", "section", 0, "misc", &p->section)) ||
        (rc = get_str(st, root, "", "group", 0, "Applications/System", &p->group)))
        return rc;
    {
        const char *lt = strchr(p->maintainer, '<');
        size_t ml = strlen(p->maintainer);
        if (!one_line(p->maintainer) || !lt || lt == p->maintainer || !strchr(lt, '@') ||
            p->maintainer[ml - 1] != '>')
            return fail_at(st, line_of(root, "maintainer"), "maintainer",
                           "expected 'Full Name <address@example.com>', got '%.200s'",
                           p->maintainer);
    }
    if (!one_line(p->license))
        return fail_at(st, line_of(root, "license"), "license", "must be one line");
    if (p->vendor && !one_line(p->vendor))
        return fail_at(st, line_of(root, "vendor"), "vendor", "must be one line");
    if (p->homepage && !valid_url(p->homepage, 0))
        return fail_at(st, line_of(root, "homepage"), "homepage",
                       "expected an http:// or https:// URL, got '%.200s'", p->homepage);
    if ((rc = get_str(st, root, "", "eula", 0, NULL, &raw)))
        return rc;
    if (raw) {
        rc = resolve_src(st, raw, line_of(root, "eula"), "eula", &p->eula);
        free(raw);
        if (rc)
            return rc;
    }
    if ((rc = get_enum(st, root, "", "architecture", arches, 0, &arch)))
        return rc;
    p->arch = (enum consign_arch)arch;

    if ((rc = parse_agent(st, root)) || (rc = parse_runtime(st, root)) ||
        (rc = parse_service(st, root)) || (rc = parse_settings(st, root)) ||
        (rc = parse_distribution(st, root)))
        return rc;
    return 0;
}

int
consign_product_parse(struct consign_ctx *ctx, const char *name, const char *data, size_t len,
                      consign_product_var_fn vars, void *vars_user, struct consign_product **out)
{
    struct pstate st;
    struct ynode *root = NULL;
    struct consign_product *p = NULL;
    int rc;

    *out = NULL;
    if (len > CONSIGN_PRODUCT_MAX_BYTES) {
        rc = consign_fail(ctx, CONSIGN_E_TOOBIG, "%s: larger than %d bytes", name,
                          CONSIGN_PRODUCT_MAX_BYTES);
        goto out;
    }
    if ((rc = ytree_parse(ctx, name, data, len, &root)))
        goto out;
    if (!(p = consign_calloc(ctx, 1, sizeof(*p)))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    if (!(p->path = consign_strdup(ctx, name)) ||
        !(p->basedir = consign_path_dirname_dup(ctx, name))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    st.ctx = ctx;
    st.name = name;
    st.vars = vars;
    st.vars_user = vars_user;
    st.p = p;
    if ((rc = parse_top(&st, root)))
        goto out;
    *out = p;
    p = NULL;
out:
    ynode_free(root);
    consign_product_free(p);
    return rc;
}

int
consign_product_load(struct consign_ctx *ctx, const char *path, consign_product_var_fn vars,
                     void *vars_user, struct consign_product **out)
{
    char *data = NULL;
    size_t len = 0;
    int rc;

    *out = NULL;
    if ((rc = consign_file_read(ctx, path, CONSIGN_PRODUCT_MAX_BYTES, &data, &len)))
        return rc;
    rc = consign_product_parse(ctx, path, data, len, vars, vars_user, out);
    free(data);
    return rc;
}

static int
check_spec_files(struct consign_ctx *ctx, const struct consign_product *p,
                 const struct consign_package_spec *spec, const char *prefix)
{
    size_t i;
    for (i = 0; i < spec->nfiles; i++) {
        const struct consign_file_spec *f = &spec->files[i];
        if (access(f->src, F_OK) < 0)
            return consign_fail(ctx, CONSIGN_E_NOTFOUND,
                                "%s:%zu: %s.files[%zu].src: %s: no such file or directory", p->path,
                                f->line, prefix, i, f->src);
        if (!consign_is_file(f->src) && !consign_is_dir(f->src))
            return consign_fail(ctx, CONSIGN_E_INVALID,
                                "%s:%zu: %s.files[%zu].src: %s: not a regular file or directory",
                                p->path, f->line, prefix, i, f->src);
        if (f->config && !consign_is_file(f->src))
            return consign_fail(ctx, CONSIGN_E_INVALID,
                                "%s:%zu: %s.files[%zu].config: only a regular file can be a "
                                "configuration file",
                                p->path, f->line, prefix, i);
    }
    return 0;
}

int
consign_product_check_files(struct consign_ctx *ctx, const struct consign_product *p)
{
    int rc;
    if (p->eula && !consign_is_file(p->eula))
        return consign_fail(ctx, CONSIGN_E_NOTFOUND, "%s: eula: %s: no such file", p->path,
                            p->eula);
    if ((rc = check_spec_files(ctx, p, &p->agent, "agent")))
        return rc;
    return check_spec_files(ctx, p, &p->runtime, "runtime");
}

static void
spec_free(struct consign_package_spec *s)
{
    size_t i;
    for (i = 0; i < s->nfiles; i++) {
        free(s->files[i].src);
        free(s->files[i].dst);
    }
    free(s->files);
    free(s->name);
    free(s->summary);
}

static void
strv_free(char **v, size_t n)
{
    size_t i;
    for (i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void
consign_product_free(struct consign_product *p)
{
    if (!p)
        return;
    free(p->path);
    free(p->basedir);
    free(p->name);
    free(p->version);
    free(p->release);
    free(p->summary);
    free(p->description);
    free(p->vendor);
    free(p->maintainer);
    free(p->homepage);
    free(p->license);
    free(p->eula);
    free(p->section);
    free(p->group);
    spec_free(&p->agent);
    spec_free(&p->runtime);
    free(p->service.name);
    strv_free(p->service.exec, p->service.nexec);
    free(p->service.user);
    free(p->service.group);
    free(p->service.options_file);
    free(p->service.health_url);
    free(p->service.description);
    strv_free(p->dist.urls, p->dist.nurls);
    free(p->dist.channel);
    free(p);
}

const char *
consign_arch_deb(enum consign_arch a)
{
    return a == CONSIGN_ARCH_ARM64 ? "arm64" : a == CONSIGN_ARCH_ALL ? "all" : "amd64";
}

const char *
consign_arch_rpm(enum consign_arch a)
{
    return a == CONSIGN_ARCH_ARM64 ? "aarch64" : a == CONSIGN_ARCH_ALL ? "noarch" : "x86_64";
}

const char *
consign_restart_name(enum consign_restart r)
{
    return r == CONSIGN_RESTART_ALWAYS ? "always" : r == CONSIGN_RESTART_NO ? "no" : "on-failure";
}

const char *
consign_token_policy_name(enum consign_token_policy t)
{
    return t == CONSIGN_TOKEN_OPTIONAL ? "optional" : t == CONSIGN_TOKEN_NONE ? "none" : "required";
}
