/* Fuzz target: the PAC answer parser and the URL parser of bootstrap/
 * (pac_parse.c), not the JavaScript evaluation. The input goes through both.
 * What either accepts must survive a round trip: an answer written back as
 * "TYPE host:port" entries parses to the same list, and the URL the script
 * would see parses to itself, with no userinfo left. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consign/buf.h"
#include "consign/pac.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_entries(const struct consign_pac_result *r)
{
    struct consign_pac_result again;
    struct consign_ctx ctx;
    struct consign_buf b;
    size_t i;

    if (r->n == 0 || r->n > CONSIGN_PAC_MAX_ENTRIES)
        abort();
    consign_ctx_init(&ctx, NULL, NULL);
    consign_buf_init(&b, 16 * 300);
    for (i = 0; i < r->n; i++) {
        const struct consign_pac_entry *e = &r->e[i];
        int v6 = strchr(e->host, ':') != NULL;
        if (e->type == CONSIGN_PAC_DIRECT) {
            if (e->host[0] || e->port)
                abort();
            if (consign_buf_puts(&ctx, &b, "DIRECT;"))
                abort();
            continue;
        }
        if (!e->host[0] || e->port == 0 || e->port > 65535 ||
            strlen(e->host) > CONSIGN_PAC_HOST_MAX)
            abort();
        if (consign_buf_printf(&ctx, &b, "%s %s%s%s:%u;", consign_pac_type_name(e->type),
                               v6 ? "[" : "", e->host, v6 ? "]" : "", e->port))
            abort();
    }
    if (consign_pac_parse_result(&ctx, b.data, b.len, &again) || again.n != r->n ||
        again.dropped != 0)
        abort();
    for (i = 0; i < r->n; i++)
        if (again.e[i].type != r->e[i].type || again.e[i].port != r->e[i].port ||
            strcmp(again.e[i].host, r->e[i].host) != 0)
            abort();
    consign_buf_free(&b);
}

static void
check_url(const struct consign_pac_url *u)
{
    struct consign_pac_url again;
    struct consign_ctx ctx;
    const char *auth, *end;

    consign_ctx_init(&ctx, NULL, NULL);
    if (!u->scheme[0] || !u->host[0] || strchr(u->url, '\'') || strchr(u->url, '\\') ||
        strchr(u->url, '#'))
        abort();
    auth = strstr(u->url, "://");
    if (!auth)
        abort();
    auth += 3;
    end = auth + strcspn(auth, "/?");
    if (memchr(auth, '@', (size_t)(end - auth)))
        abort(); /* userinfo reached the script */
    if (consign_pac_parse_url(&ctx, u->url, &again) || strcmp(again.url, u->url) != 0 ||
        strcmp(again.host, u->host) != 0 || strcmp(again.scheme, u->scheme) != 0 ||
        again.port != u->port)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct consign_pac_result r;
    struct consign_pac_url u;
    struct consign_ctx ctx;
    char *s;

    consign_ctx_init(&ctx, NULL, NULL);
    if (consign_pac_parse_result(&ctx, (const char *)data, size, &r) == 0)
        check_entries(&r);
    else if (r.n != 0 || !consign_err_msg(&ctx)[0])
        abort();
    /* The URL parser takes a C string: stop at a NUL, as a caller would. */
    if (size > CONSIGN_PAC_URL_MAX + 16)
        size = CONSIGN_PAC_URL_MAX + 16;
    s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (consign_pac_parse_url(&ctx, s, &u) == 0)
        check_url(&u);
    free(s);
    return 0;
}
