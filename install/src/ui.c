/* The terminal front of the on-target programs, and the settings questions
 * they all ask (consign/ui.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "consign/buf.h"
#include "consign/fileio.h"
#include "consign/secret.h"
#include "consign/ui.h"

#define LINE_MAX_IN 4096

struct tty {
    int quiet;
    char line[LINE_MAX_IN];
};

/* One line from stdin without its newline; echo off for secrets. */
static char *
tty_ask(void *user, const char *prompt, int secret)
{
    struct tty *t = user;
    struct termios old, noecho;
    int restored = 1;
    size_t n;

    /* Echo off before the prompt shows, and without discarding input, so a
     * secret typed as soon as the prompt appears is never echoed. */
    if (secret && isatty(0) && tcgetattr(0, &old) == 0) {
        noecho = old;
        noecho.c_lflag &= ~(tcflag_t)ECHO;
        noecho.c_lflag |= ECHONL;
        restored = tcsetattr(0, TCSANOW, &noecho) != 0;
    }
    fputs(prompt, stdout);
    fflush(stdout);
    if (!fgets(t->line, sizeof(t->line), stdin)) {
        if (!restored)
            tcsetattr(0, TCSANOW, &old);
        return NULL;
    }
    if (!restored)
        tcsetattr(0, TCSANOW, &old);
    n = strlen(t->line);
    while (n && (t->line[n - 1] == '\n' || t->line[n - 1] == '\r'))
        t->line[--n] = '\0';
    return t->line;
}

/* A pager of our own: the targets may have no `less`. */
static void
tty_page(void *user, const char *text, size_t len)
{
    struct winsize ws;
    int rows = 24, shown = 0;
    size_t i = 0;

    if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 4)
        rows = ws.ws_row;
    while (i < len) {
        size_t e = i;
        while (e < len && text[e] != '\n')
            e++;
        fwrite(text + i, 1, e - i, stdout);
        fputc('\n', stdout);
        i = e + 1;
        if (++shown >= rows - 2 && i < len && isatty(0) && isatty(1)) {
            char *a = tty_ask(user, "-- More -- (Enter: next page, q: end) ", 0);
            shown = 0;
            if (!a || a[0] == 'q' || a[0] == 'Q')
                break;
        }
    }
    fflush(stdout);
}

static void
tty_say(void *user, const char *msg)
{
    struct tty *t = user;

    if (t->quiet)
        return;
    fputs(msg, stdout);
    fflush(stdout);
}

void
consign_ui_tty(struct consign_ui *ui, int quiet)
{
    static struct tty t;

    t.quiet = quiet;
    ui->ask = tty_ask;
    ui->page = tty_page;
    ui->say = tty_say;
    ui->user = &t;
}

void
consign_ui_sayf(const struct consign_ui *ui, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;

    if (!ui || !ui->say)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ui->say(ui->user, msg);
}

static char *
ask(const struct consign_ui *ui, const char *prompt, int secret)
{
    return ui && ui->ask ? ui->ask(ui->user, prompt, secret) : NULL;
}

int
consign_ui_yes_no(const struct consign_ui *ui, const char *prompt, int def)
{
    for (;;) {
        char *a = ask(ui, prompt, 0);
        if (!a || !a[0])
            return def;
        if (strcasecmp(a, "y") == 0 || strcasecmp(a, "yes") == 0)
            return 1;
        if (strcasecmp(a, "n") == 0 || strcasecmp(a, "no") == 0)
            return 0;
        consign_ui_sayf(ui, "Please answer yes or no.\n");
    }
}

/* Ask for key until the answer is valid (or input ends). */
static void
ask_valid(struct consign_ctx *ctx, const struct consign_ui *ui, struct consign_conf *c,
          const char *prompt, const char *key)
{
    char *a;

    while ((a = ask(ui, prompt, 0)) && consign_conf_set(ctx, c, key, a) != 0) {
        consign_ui_sayf(ui, "%s\n", consign_err_msg(ctx));
        consign_err_clear(ctx);
    }
}

int
consign_answers_prompt(struct consign_ctx *ctx, const struct consign_ui *ui, int token_required,
                       int want_proxy, int want_auto, const struct consign_conf *cur,
                       struct consign_conf *c)
{
    char *a;
    int rc;

    if (!consign_conf_get(c, "token")) {
        int have = cur && consign_conf_get(cur, "token") != NULL;
        for (;;) {
            a = ask(ui,
                    have             ? "Install token (Enter keeps the current one): "
                    : token_required ? "Install token: "
                                     : "Install token (optional): ",
                    1);
            if (!a)
                return consign_fail(ctx, CONSIGN_E_USAGE, "no answer for the install token");
            if (!a[0] && (have || !token_required))
                break;
            if (a[0] && consign_conf_set(ctx, c, "token", a) == 0) {
                explicit_bzero(a, strlen(a));
                break;
            }
            if (a[0]) {
                explicit_bzero(a, strlen(a));
                consign_ui_sayf(ui, "%s\n", consign_err_msg(ctx));
            }
            consign_err_clear(ctx);
        }
    }
    if (want_proxy && !consign_conf_get(c, "proxy_pac_url") && !consign_conf_get(c, "proxy_host")) {
        a = ask(ui, "Proxy: [n]one, [p]AC URL, or [m]anual host and port? [n] ", 0);
        if (a && (a[0] == 'p' || a[0] == 'P')) {
            ask_valid(ctx, ui, c, "PAC URL: ", "proxy_pac_url");
        } else if (a && (a[0] == 'm' || a[0] == 'M')) {
            ask_valid(ctx, ui, c, "Proxy host: ", "proxy_host");
            ask_valid(ctx, ui, c, "Proxy port: ", "proxy_port");
            a = ask(ui, "Proxy user (Enter: none): ", 0);
            if (a && a[0]) {
                if ((rc = consign_conf_set(ctx, c, "proxy_user", a)))
                    return rc;
                a = ask(ui, "Proxy password: ", 1);
                if (a && a[0]) {
                    rc = consign_conf_set(ctx, c, "proxy_password", a);
                    explicit_bzero(a, strlen(a));
                    if (rc)
                        return rc;
                }
            }
        }
    }
    if (want_auto && !consign_conf_get(c, "auto_update")) {
        int yes = consign_ui_yes_no(ui, "Enable automatic updates? [Y/n] ", 1);
        if ((rc = consign_conf_set(ctx, c, "auto_update", yes ? "yes" : "no")))
            return rc;
    }
    return 0;
}

char *
consign_answers_env_name(const char *name, const char *suffix)
{
    size_t n = strlen(name), m = strlen(suffix), i;
    char *s = malloc(n + m + 2);

    if (!s)
        return NULL;
    for (i = 0; i < n; i++)
        s[i] = name[i] == '-' || name[i] == '.' || name[i] == '+'
                   ? '_'
                   : (char)(('a' <= name[i] && name[i] <= 'z') ? name[i] - 32 : name[i]);
    s[n] = '_';
    memcpy(s + n + 1, suffix, m + 1);
    return s;
}

int
consign_answers_from_file(struct consign_ctx *ctx, struct consign_conf *c, const char *key,
                          const char *path)
{
    struct consign_secret *s = NULL;
    int rc;

    if ((rc = consign_secret_from_file(ctx, path, &s)))
        return rc;
    rc = consign_conf_set(ctx, c, key, s->data);
    consign_secret_free(s);
    return rc;
}

int
consign_answers_from_env(struct consign_ctx *ctx, struct consign_conf *c, const char *key,
                         const char *var)
{
    struct consign_secret *s = NULL;
    int rc = 0;

    if (consign_secret_from_env(ctx, var, &s) == 0) {
        rc = consign_conf_set(ctx, c, key, s->data);
        consign_secret_free(s);
    } else
        consign_err_clear(ctx);
    return rc;
}

int
consign_answers_read(struct consign_ctx *ctx, const char *path, struct consign_conf *c, int *accept)
{
    char *data = NULL, *line, *next;
    size_t len = 0;
    int rc, lineno = 0;

    if ((rc = consign_file_read(ctx, path, 64 * 1024, &data, &len)))
        return rc;
    for (line = data; !rc && line && *line; line = next) {
        char *eq;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (!(eq = strchr(line, '='))) {
            rc = consign_fail(ctx, CONSIGN_E_SYNTAX, "%s line %d: not key=value", path, lineno);
            break;
        }
        *eq++ = '\0';
        if (strcmp(line, "accept_eula") == 0)
            *accept = strcmp(eq, "yes") == 0;
        else if ((rc = consign_conf_set(ctx, c, line, eq)))
            rc = consign_err_context(ctx, rc, "%s line %d", path, lineno);
    }
    explicit_bzero(data, len);
    free(data);
    return rc;
}

int
consign_answers_save(struct consign_ctx *ctx, const char *path, const struct consign_conf *c)
{
    struct consign_buf b;
    size_t i;
    int rc;

    consign_buf_init(&b, 128 * 1024);
    rc = consign_buf_puts(ctx, &b,
                          "# Answers of an install, for --response-file. It holds secrets: "
                          "keep it 0600.\naccept_eula=yes\n");
    for (i = 0; !rc && i < c->n; i++)
        rc = consign_buf_printf(ctx, &b, "%s=%s\n", c->items[i].key, c->items[i].value);
    if (!rc)
        rc = consign_file_write_atomic(ctx, path, b.data, b.len, 0600);
    consign_buf_free_secure(&b);
    return rc;
}
