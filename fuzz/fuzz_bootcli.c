/* Fuzz target: the bootstrap's command line (bootstrap/src/bootcli.c).
 *
 * The input is split on NUL bytes into argv[1..]. The first byte picks where
 * the harness adds a secret of its own (a marker the input may not contain):
 * nowhere, first or last, as PROPERTY_TOKEN=, --token= or
 * PROPERTY_PROXY_PASSWORD=; the environment carries two more. Checks:
 * - the result is 0, 1639 or 1603, with a message on failure;
 * - no marker ever reaches the message or the log;
 * - a full parse leaves no marker in argv;
 * - what a successful parse returns obeys the rules (proxy fields agree, a
 *   quiet install has a token, ports are in range, URLs are http(s)).
 * Inputs naming a secret file are skipped: files are the unit test's job
 * (and /dev/stdin would block). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "consign/bootcli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MARK     "Vq7Secr3t"
#define MAX_ARGS 128

static int leaked;

static void
watch(void *user, enum consign_log_level level, const char *msg)
{
    (void)user;
    (void)level;
    if (strstr(msg, MARK))
        leaked = 1;
}

static void
check_result(const struct consign_bootcli *b)
{
    struct consign_bootcli_setting s[CONSIGN_BOOTCLI_SETTINGS_MAX];
    size_t n, k;

    if (b->action == CONSIGN_BOOTCLI_HELP || b->action == CONSIGN_BOOTCLI_VERSION)
        return;
    if (b->action == CONSIGN_BOOTCLI_INSTALL && b->quiet && !b->token)
        abort();
    if (b->action == CONSIGN_BOOTCLI_UNINSTALL &&
        (b->token || b->use_proxy || b->proxy_password || b->auto_update_given))
        abort();
    if (b->purge && b->action != CONSIGN_BOOTCLI_UNINSTALL)
        abort();
    if (b->proxy_pac_url && (b->proxy_host || b->proxy_port || b->proxy_user || b->proxy_password))
        abort();
    if (b->proxy_pac_url && strncmp(b->proxy_pac_url, "http://", 7) != 0 &&
        strncmp(b->proxy_pac_url, "https://", 8) != 0)
        abort();
    if (b->use_proxy != (b->proxy_pac_url || b->proxy_host))
        abort();
    if (!b->proxy_host && (b->proxy_port || b->proxy_user))
        abort();
    if (b->proxy_host && (b->proxy_port < 1 || b->proxy_port > 65535 || !b->proxy_port_str[0]))
        abort();
    if (b->proxy_password && !b->proxy_user)
        abort();
    if (b->token && (b->token->len == 0 || b->token->len > CONSIGN_BOOTCLI_VALUE_MAX ||
                     strlen(b->token->data) != b->token->len))
        abort();
    n = consign_bootcli_settings(b, s);
    if (n > CONSIGN_BOOTCLI_SETTINGS_MAX)
        abort();
    for (k = 0; k < n; k++)
        if (!s[k].key || (s[k].value && !s[k].value[0]))
            abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const env[] = {"CONSIGN_TOKEN=" MARK "Env",
                                      "CONSIGN_PROXY_PASSWORD=" MARK "Pw", NULL};
    static const char *const forms[] = {"PROPERTY_TOKEN=" MARK "Tok", "--token=" MARK "Tok",
                                        "PROPERTY_PROXY_PASSWORD=" MARK "Pw"};
    char *argv[MAX_ARGS + 3], *buf, *p, *end, *extra = NULL;
    struct consign_bootcli b;
    struct consign_ctx ctx;
    unsigned sel;
    int argc = 0, rc, i;

    if (size < 1)
        return 0;
    sel = data[0];
    data++;
    size--;
    buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    /* The harness owns the marker; secret files are not read here. */
    if (memmem(buf, size, "Secr3t", 6) || memmem(buf, size, "-file", 5)) {
        free(buf);
        return 0;
    }
    argv[argc++] = "consign-bootstrap";
    if (sel % 7 != 0)
        extra = strdup(forms[(sel % 7 - 1) % 3]);
    if (extra && sel % 7 <= 3)
        argv[argc++] = extra;
    for (p = buf, end = buf + size; p <= end && argc < MAX_ARGS; p += strlen(p) + 1)
        argv[argc++] = p;
    if (extra && sel % 7 > 3)
        argv[argc++] = extra;
    argv[argc] = NULL;

    leaked = 0;
    consign_ctx_init(&ctx, watch, NULL);
    ctx.log_level = CONSIGN_LOG_DEBUG;
    rc = consign_bootcli_parse(&ctx, argc, argv, (sel & 0x80) ? env : NULL, &b);
    if (rc != 0 && rc != CONSIGN_BOOTCLI_EXIT_BADCMD && rc != CONSIGN_BOOTCLI_EXIT_FATAL)
        abort();
    if (rc != 0 && !consign_err_msg(&ctx)[0])
        abort();
    if (leaked || strstr(consign_err_msg(&ctx), MARK))
        abort();
    if (rc == 0) {
        check_result(&b);
        if (b.action == CONSIGN_BOOTCLI_INSTALL || b.action == CONSIGN_BOOTCLI_UNINSTALL)
            for (i = 0; i < argc; i++)
                if (strstr(argv[i], MARK))
                    abort();
    }
    consign_bootcli_free(&b);
    free(extra);
    free(buf);
    return 0;
}
