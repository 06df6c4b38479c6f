/* Settings files: ROOT/var/opt/NAME/conf/agent.conf and secrets.conf, the
 * "key=value" format the agent reads. Secrets never share a file with the
 * rest, and each file is created with its final mode. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "consign/buf.h"
#include "consign/fileio.h"
#include "consign/install.h"

#define CONF_FILE_MAX  (64 * 1024)
#define CONF_VALUE_MAX 2048

static const char *const secret_keys[] = {"token", "proxy_password"};
static const char *const known_keys[] = {
    "token",       "proxy_pac_url", "proxy_host", "proxy_port", "proxy_user",  "proxy_password",
    "auto_update", "channel",       "agent_id",   "server_url", "health_port", "heartbeat_ms",
};

int
consign_conf_is_secret(const char *key)
{
    size_t i;

    for (i = 0; i < sizeof(secret_keys) / sizeof(secret_keys[0]); i++)
        if (strcmp(key, secret_keys[i]) == 0)
            return 1;
    return 0;
}

int
consign_conf_is_known(const char *key)
{
    size_t i;

    for (i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++)
        if (strcmp(key, known_keys[i]) == 0)
            return 1;
    return 0;
}

/* scheme://host[:port][/...] with a host of URL characters: enough to catch
 * typos before the agent meets them, not a full RFC 3986 parser. */
static int
url_ok(const char *v)
{
    const char *h, *e;

    if (strncmp(v, "http://", 7) == 0)
        h = v + 7;
    else if (strncmp(v, "https://", 8) == 0)
        h = v + 8;
    else if (strncmp(v, "file://", 7) == 0)
        return v[7] == '/';
    else
        return 0;
    for (e = h; *e && *e != '/' && *e != ':'; e++)
        if (!(('a' <= *e && *e <= 'z') || ('A' <= *e && *e <= 'Z') || ('0' <= *e && *e <= '9') ||
              *e == '.' || *e == '-' || *e == '[' || *e == ']'))
            return 0;
    if (e == h)
        return 0;
    if (*e == ':') {
        unsigned long long port;
        char num[8];
        size_t n = strcspn(e + 1, "/");
        if (n == 0 || n >= sizeof(num))
            return 0;
        memcpy(num, e + 1, n);
        num[n] = '\0';
        if (consign_parse_u64(num, 65535, &port) || port == 0)
            return 0;
    }
    for (; *e; e++)
        if ((unsigned char)*e <= ' ' || *e == 0x7f)
            return 0;
    return 1;
}

static int
host_ok(const char *v)
{
    size_t i, n = strlen(v);

    if (n == 0 || n > 253)
        return 0;
    for (i = 0; i < n; i++)
        if (!(('a' <= v[i] && v[i] <= 'z') || ('A' <= v[i] && v[i] <= 'Z') ||
              ('0' <= v[i] && v[i] <= '9') || v[i] == '.' || v[i] == '-' || v[i] == ':' ||
              v[i] == '[' || v[i] == ']'))
            return 0;
    return 1;
}

int
consign_conf_validate(struct consign_ctx *ctx, const char *key, const char *value)
{
    unsigned long long n;
    size_t i, len = strlen(value);

    if (!consign_conf_is_known(key))
        return consign_fail(ctx, CONSIGN_E_INVALID, "unknown setting '%.64s'", key);
    if (len > CONF_VALUE_MAX)
        return consign_fail(ctx, CONSIGN_E_TOOBIG, "%s: longer than %d characters", key,
                            CONF_VALUE_MAX);
    for (i = 0; i < len; i++)
        if ((unsigned char)value[i] < ' ' || value[i] == 0x7f)
            return consign_fail(ctx, CONSIGN_E_INVALID, "%s: control characters not allowed", key);
    if (len && (value[0] == ' ' || value[len - 1] == ' '))
        return consign_fail(ctx, CONSIGN_E_INVALID, "%s: leading or trailing spaces", key);
    if (strcmp(key, "proxy_port") == 0 || strcmp(key, "health_port") == 0) {
        if (consign_parse_u64(value, 65535, &n) || n == 0)
            return consign_fail(ctx, CONSIGN_E_INVALID,
                                "%s: '%.16s' is not a port number (1-65535)", key, value);
    } else if (strcmp(key, "heartbeat_ms") == 0) {
        if (consign_parse_u64(value, 86400000, &n) || n < 100)
            return consign_fail(ctx, CONSIGN_E_INVALID, "%s: not a number in [100, 86400000]", key);
    } else if (strcmp(key, "auto_update") == 0) {
        if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
            return consign_fail(ctx, CONSIGN_E_INVALID, "%s: 'yes' or 'no'", key);
    } else if (strcmp(key, "proxy_pac_url") == 0 || strcmp(key, "server_url") == 0) {
        if (!url_ok(value))
            return consign_fail(ctx, CONSIGN_E_INVALID,
                                "%s: not an http://, https:// or file:// URL", key);
    } else if (strcmp(key, "proxy_host") == 0) {
        if (!host_ok(value))
            return consign_fail(ctx, CONSIGN_E_INVALID, "%s: not a host name or address", key);
    } else if (strcmp(key, "channel") == 0 || strcmp(key, "agent_id") == 0) {
        for (i = 0; i < len; i++)
            if (!(('a' <= value[i] && value[i] <= 'z') || ('0' <= value[i] && value[i] <= '9') ||
                  value[i] == '-' || value[i] == '_' || value[i] == '.'))
                return consign_fail(ctx, CONSIGN_E_INVALID, "%s: use [a-z0-9._-] only", key);
        if (len == 0 || len > 64)
            return consign_fail(ctx, CONSIGN_E_INVALID, "%s: 1 to 64 characters", key);
    }
    return 0;
}

const char *
consign_conf_get(const struct consign_conf *c, const char *key)
{
    size_t i;

    for (i = 0; c && i < c->n; i++)
        if (strcmp(c->items[i].key, key) == 0)
            return c->items[i].value;
    return NULL;
}

static void
wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

static int
conf_put(struct consign_ctx *ctx, struct consign_conf *c, const char *key, const char *value)
{
    struct consign_conf_item *it;
    char *k = NULL, *v = NULL;
    size_t i;

    for (i = 0; i < c->n; i++)
        if (strcmp(c->items[i].key, key) == 0)
            break;
    if (!value) {
        if (i < c->n) {
            free(c->items[i].key);
            wipe_free(c->items[i].value);
            memmove(&c->items[i], &c->items[i + 1], (c->n - i - 1) * sizeof(c->items[0]));
            c->n--;
        }
        return 0;
    }
    if (!(v = consign_strdup(ctx, value)))
        return CONSIGN_E_NOMEM;
    if (i < c->n) {
        wipe_free(c->items[i].value);
        c->items[i].value = v;
        return 0;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        it = consign_reallocarray(ctx, c->items, cap, sizeof(*it));
        if (!it) {
            wipe_free(v);
            return CONSIGN_E_NOMEM;
        }
        c->items = it;
        c->cap = cap;
    }
    if (!(k = consign_strdup(ctx, key))) {
        wipe_free(v);
        return CONSIGN_E_NOMEM;
    }
    c->items[c->n].key = k;
    c->items[c->n].value = v;
    c->n++;
    return 0;
}

int
consign_conf_set(struct consign_ctx *ctx, struct consign_conf *c, const char *key,
                 const char *value)
{
    int rc;

    if (value && (rc = consign_conf_validate(ctx, key, value)))
        return rc;
    return conf_put(ctx, c, key, value);
}

int
consign_conf_set_removal(struct consign_ctx *ctx, struct consign_conf *c, const char *key)
{
    if (!consign_conf_is_known(key))
        return consign_fail(ctx, CONSIGN_E_INVALID, "unknown setting '%.64s'", key);
    return conf_put(ctx, c, key, "");
}

/* One file: unknown keys and malformed lines are kept out (with a warning)
 * rather than failing, as the agent itself does. */
static int
load_file(struct consign_ctx *ctx, const char *path, struct consign_conf *c)
{
    char *data = NULL, *line, *next;
    size_t len = 0;
    int rc, lineno = 0;

    rc = consign_file_read(ctx, path, CONF_FILE_MAX, &data, &len);
    if (rc == CONSIGN_E_NOTFOUND) {
        consign_err_clear(ctx);
        return 0;
    }
    if (rc)
        return rc;
    for (line = data; line && *line; line = next) {
        char *eq, *k, *v, *e;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        while (*line == ' ' || *line == '\t')
            line++;
        if (*line == '\0' || *line == '#')
            continue;
        eq = strchr(line, '=');
        if (!eq || eq == line) {
            consign_log(ctx, CONSIGN_LOG_WARN, "%s line %d: not key=value, ignored", path, lineno);
            continue;
        }
        *eq = '\0';
        k = line;
        for (e = eq; e > k && (e[-1] == ' ' || e[-1] == '\t'); e--)
            e[-1] = '\0';
        v = eq + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'); e--)
            e[-1] = '\0';
        if (!consign_conf_is_known(k)) {
            consign_log(ctx, CONSIGN_LOG_WARN, "%s line %d: unknown key, ignored", path, lineno);
            continue;
        }
        if ((rc = consign_conf_set(ctx, c, k, v))) {
            consign_log(ctx, CONSIGN_LOG_WARN, "%s line %d: %s", path, lineno,
                        consign_err_msg(ctx));
            consign_err_clear(ctx);
            rc = 0;
        }
    }
    if (data) {
        explicit_bzero(data, len);
        free(data);
    }
    return rc;
}

int
consign_conf_load(struct consign_ctx *ctx, const char *confdir, struct consign_conf *out)
{
    char *p = NULL;
    int rc = 0;

    if (!(p = consign_asprintf(ctx, "%s/agent.conf", confdir)) || (rc = load_file(ctx, p, out)))
        goto out;
    free(p);
    if (!(p = consign_asprintf(ctx, "%s/secrets.conf", confdir)) || (rc = load_file(ctx, p, out)))
        goto out;
out:
    if (!p && !rc)
        rc = CONSIGN_E_NOMEM;
    free(p);
    return rc;
}

static int
save_file(struct consign_ctx *ctx, const char *confdir, const char *file, int secrets,
          const struct consign_conf *c, mode_t mode)
{
    struct consign_buf b;
    char *path = NULL;
    size_t i;
    int rc;

    consign_buf_init(&b, CONF_FILE_MAX);
    rc = consign_buf_puts(ctx, &b,
                          secrets ? "# Secrets of this agent (install token, proxy password).\n"
                                    "# Root only (0600). Edit with NAME-config.\n"
                                  : "# Settings of this agent: key=value. Edit with NAME-config.\n"
                                    "# Secrets live in secrets.conf.\n");
    for (i = 0; !rc && i < c->n; i++)
        if (consign_conf_is_secret(c->items[i].key) == secrets)
            rc = consign_buf_printf(ctx, &b, "%s=%s\n", c->items[i].key, c->items[i].value);
    if (rc)
        goto out;
    if (!(path = consign_asprintf(ctx, "%s/%s", confdir, file))) {
        rc = CONSIGN_E_NOMEM;
        goto out;
    }
    rc = consign_file_write_atomic(ctx, path, b.data, b.len, mode);
out:
    free(path);
    consign_buf_free_secure(&b);
    return rc;
}

int
consign_conf_save(struct consign_ctx *ctx, const char *confdir, const struct consign_conf *c)
{
    int rc;

    if ((rc = consign_mkdirs(ctx, confdir, 0750)))
        return rc;
    if ((rc = save_file(ctx, confdir, "secrets.conf", 1, c, 0600)) ||
        (rc = save_file(ctx, confdir, "agent.conf", 0, c, 0640)))
        return consign_err_context(ctx, rc, "settings");
    return 0;
}

void
consign_conf_free(struct consign_conf *c)
{
    size_t i;

    if (!c)
        return;
    for (i = 0; i < c->n; i++) {
        free(c->items[i].key);
        wipe_free(c->items[i].value);
    }
    free(c->items);
    memset(c, 0, sizeof(*c));
}
